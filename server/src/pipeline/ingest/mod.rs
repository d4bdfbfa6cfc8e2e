//! Ingest: event CSV files -> validated, typed chunks (bronze-shaped frames + slim columns)
//! and quarantined rows with file, line, raw text and reason. Nothing is dropped silently:
//! every data record is either a good row or a quarantined one (blank lines are counted).
//!
//! A record is one line (see `split.rs` for why); lines and fields have documented limits
//! (`split::MAX_LINE_BYTES`, `row::MAX_FIELD_BYTES`), so every physical line of the input
//! is either a loaded row, a quarantined row with its line number and reason, or blank.
//!
//! Files are read in blocks that end on line ends; each block is split into
//! pieces parsed on all cores, and the pieces reach the sink in file order, so memory
//! stays at a few blocks whatever the file size.
//! See: METRICS.md, the input table.

mod chunk;
mod progress;
mod row;
mod split;
pub(in crate::pipeline) mod task;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

pub use chunk::QuarantineRow;
pub use progress::{Progress, Silent};
pub use row::{MAX_FIELD_BYTES, parse_timestamp, preview};
pub use split::MAX_LINE_BYTES;

use crate::pipeline::schema::INPUT_COLUMNS;
use crate::pipeline::slim::SlimChunk;
use chunk::{ChunkBuilder, ParsedPiece};
use row::Reason;
use split::{Block, BlockReader, Records, split_block};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("input path {0} does not exist: pass a CSV file or a directory of CSV files")]
    Missing(PathBuf),
    #[error("{0} holds no .csv files: put event CSVs in it or pass a file")]
    NoCsv(PathBuf),
    #[error("{path} is empty: expected a header line ({expected}) followed by events")]
    Empty { path: PathBuf, expected: String },
    #[error(
        "{path}: wrong header: expected columns [{expected}] (any order), found [{found}]; {hint}"
    )]
    BadHeader {
        path: PathBuf,
        expected: String,
        /// A short, escaped prefix of the header line.
        found: String,
        hint: String,
    },
    #[error(
        "{path} looks like UTF-16 text: heymax reads UTF-8; convert it, e.g. `iconv -f UTF-16 -t UTF-8 in.csv > out.csv`"
    )]
    Utf16 { path: PathBuf },
    #[error(
        "{path}: lines end with a lone carriage return (CR, old Mac style): convert them to LF, e.g. `tr '\\r' '\\n' < in.csv > out.csv`"
    )]
    CrLineEnds { path: PathBuf },
    #[error(
        "{path}: the header line is longer than {limit} bytes: is this an event CSV? The first line must name the columns ({expected})"
    )]
    HeaderTooLong {
        path: PathBuf,
        limit: usize,
        expected: String,
    },
    #[error("no events in {0}: the input has a header but no rows")]
    NoEvents(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("building frames from {path}: {source}")]
    Frame { path: PathBuf, source: PolarsError },
}

/// One parsed piece of an input file, handed to the sink in file order.
pub struct Piece {
    pub source: Arc<str>,
    /// Input columns (typed) plus `event_id`.
    pub events: DataFrame,
    pub slim: SlimChunk,
    /// Absolute line numbers (the header is line 1).
    pub quarantine: Vec<QuarantineRow>,
}

/// Counts over the whole input.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IngestStats {
    pub files: usize,
    pub bytes: u64,
    /// Data records read (good + quarantined).
    pub records: u64,
    pub good: u64,
    pub quarantined: u64,
    pub blank_lines: u64,
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub block_size: usize,
    pub threads: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            block_size: 16 << 20,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// The CSV files named by `input`: the file itself, or a directory's `*.csv` sorted by name.
pub fn resolve_inputs(input: &Path) -> Result<Vec<PathBuf>, IngestError> {
    if !input.exists() {
        return Err(IngestError::Missing(input.to_path_buf()));
    }
    if input.is_file() {
        return Ok(vec![input.to_path_buf()]);
    }
    let io = |source| IngestError::Io {
        path: input.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(input).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(IngestError::NoCsv(input.to_path_buf()));
    }
    Ok(files)
}

/// A file's header: where each input column sits and how many bytes/lines it takes.
#[derive(Debug, Clone)]
pub struct Header {
    pub order: [usize; 8],
    pub bytes: u64,
    pub lines: u64,
}

/// Reads and checks a file's header line (a UTF-8 BOM and spaces around names are allowed).
/// Reads at most one line's limit, and quotes at most a short, escaped prefix of it.
pub fn read_header(path: &Path) -> Result<Header, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut reader = BufReader::new(file.take(MAX_LINE_BYTES as u64 + 1));
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).map_err(io)?;
    let expected = INPUT_COLUMNS.join(", ");
    if line.starts_with(b"\xff\xfe") || line.starts_with(b"\xfe\xff") || line.contains(&0) {
        return Err(IngestError::Utf16 {
            path: path.to_path_buf(),
        });
    }
    let content = line.strip_suffix(b"\n").unwrap_or(&line);
    let content = content.strip_suffix(b"\r").unwrap_or(content);
    if content.contains(&b'\r') {
        return Err(IngestError::CrLineEnds {
            path: path.to_path_buf(),
        });
    }
    if line.len() > MAX_LINE_BYTES {
        return Err(IngestError::HeaderTooLong {
            path: path.to_path_buf(),
            limit: MAX_LINE_BYTES,
            expected,
        });
    }
    let bytes = line.len() as u64;
    let text = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
    let found: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text)
        .byte_records()
        .next()
        .and_then(Result::ok)
        .map(|r| {
            r.iter()
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    if found.is_empty() || (found.len() == 1 && found[0].is_empty()) {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            expected,
        });
    }
    let position = |name: &str| found.iter().position(|f| f == name);
    let mut order = [0usize; 8];
    for (i, name) in INPUT_COLUMNS.iter().enumerate() {
        match position(name) {
            Some(p) if found.len() == INPUT_COLUMNS.len() => order[i] = p,
            _ => {
                return Err(IngestError::BadHeader {
                    path: path.to_path_buf(),
                    expected,
                    found: header_preview(&found),
                    hint: header_hint(&found),
                });
            }
        }
    }
    Ok(Header {
        order,
        bytes,
        lines: 1,
    })
}

/// The found column names as an error quotes them: the first few, each short and escaped.
fn header_preview(found: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut names: Vec<String> = found
        .iter()
        .take(SHOWN)
        .map(|n| preview(n).escape_debug().to_string())
        .collect();
    if found.len() > SHOWN {
        names.push(format!("… {} more", found.len() - SHOWN));
    }
    names.join(", ")
}

/// What to do about a wrong header: a delimiter that is not a comma is the usual cause.
fn header_hint(found: &[String]) -> String {
    if let [only] = found {
        for (sep, name) in [(';', "semicolons"), ('\t', "tabs"), ('|', "pipes")] {
            let parts: Vec<&str> = only.split(sep).map(str::trim).collect();
            if parts.len() > 1 && INPUT_COLUMNS.iter().all(|c| parts.contains(c)) {
                return format!(
                    "the columns look separated by {name}: heymax reads comma-separated files, so convert the file to commas (quoting fields that hold a comma)"
                );
            }
        }
    }
    "fix the header line and run again".into()
}

/// Parses every file in order and hands each piece to `sink`. All headers are checked
/// before any row is read, so a bad header writes nothing.
pub fn ingest<E: From<IngestError>>(
    files: &[PathBuf],
    options: &IngestOptions,
    progress: &dyn Progress,
    mut sink: impl FnMut(Piece) -> Result<(), E>,
) -> Result<IngestStats, E> {
    let headers = files
        .iter()
        .map(|f| read_header(f))
        .collect::<Result<Vec<_>, _>>()?;
    let mut stats = IngestStats {
        files: files.len(),
        ..Default::default()
    };
    for (path, header) in files.iter().zip(&headers) {
        let io = |source| IngestError::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        stats.bytes += len;
        progress.advance(header.bytes);
        file.seek(SeekFrom::Start(header.bytes)).map_err(io)?;
        let source: Arc<str> = path.display().to_string().into();
        let mut blocks = BlockReader::new(file.take(u64::MAX), options.block_size);
        let mut line_base = header.lines; // lines before the current piece
        while let Some(block) = blocks.next_block().map_err(io)? {
            let parsed = match &block {
                Block::Lines(lines) => split_block(lines, options.threads)
                    .par_iter()
                    .map(|p| parse_piece(p, &header.order))
                    .collect::<PolarsResult<Vec<_>>>(),
                Block::Overlong { prefix, bytes } => {
                    overlong_piece(prefix, *bytes).map(|p| vec![p])
                }
            }
            .map_err(|source| IngestError::Frame {
                path: path.clone(),
                source,
            })?;
            for piece in parsed {
                stats.records += piece.records;
                stats.quarantined += piece.quarantine.len() as u64;
                stats.blank_lines += piece.blank_lines;
                let quarantine = piece
                    .quarantine
                    .into_iter()
                    .map(|q| QuarantineRow {
                        line: line_base + q.line,
                        ..q
                    })
                    .collect();
                line_base += piece.lines;
                sink(Piece {
                    source: source.clone(),
                    events: piece.events,
                    slim: piece.slim,
                    quarantine,
                })?;
            }
            progress.advance(match &block {
                Block::Lines(lines) => lines.len() as u64,
                Block::Overlong { bytes, .. } => *bytes,
            });
        }
    }
    stats.good = stats.records - stats.quarantined;
    if stats.records == 0 {
        return Err(IngestError::NoEvents(files[0].clone()).into());
    }
    Ok(stats)
}

fn parse_piece(piece: &[u8], order: &[usize; 8]) -> PolarsResult<ParsedPiece> {
    let mut builder = ChunkBuilder::with_capacity(piece.len() / 64 + 16);
    let mut line = 0u64;
    for record in Records::new(piece) {
        line += 1;
        if record.is_empty() {
            builder.blank_lines += 1;
            continue;
        }
        let parsed = row::with_fields(record, |fields| {
            row::parse_row(fields, order).map(|r| builder.push(&r))
        });
        if let Err(reason) = parsed.and_then(|r| r) {
            builder.reject(line, record, reason);
        }
    }
    builder.finish(line)
}

/// The one-line piece of a line too long to read: quarantined with its first bytes.
fn overlong_piece(prefix: &[u8], bytes: u64) -> PolarsResult<ParsedPiece> {
    let mut builder = ChunkBuilder::with_capacity(0);
    let mut raw = prefix.to_vec();
    raw.extend_from_slice("…".as_bytes());
    builder.reject(1, &raw, Reason::LineTooLong { bytes });
    builder.finish(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content)
            .unwrap();
        path
    }

    fn run(files: &[PathBuf], block: usize) -> (IngestStats, Vec<Piece>) {
        let mut pieces = Vec::new();
        let options = IngestOptions {
            block_size: block,
            threads: 2,
        };
        let stats = ingest::<IngestError>(files, &options, &Silent, |p| {
            pieces.push(p);
            Ok(())
        })
        .unwrap();
        (stats, pieces)
    }

    const HEADER: &str = "event_time,user_id,event_type,transaction_category,miles_amount,platform,utm_source,country\n";

    #[test]
    fn progress_is_told_every_byte_of_every_file() {
        use std::sync::atomic::{AtomicU64, Ordering};
        #[derive(Default)]
        struct Count(AtomicU64);
        impl Progress for Count {
            fn advance(&self, bytes: u64) {
                self.0.fetch_add(bytes, Ordering::SeqCst);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut body = HEADER.as_bytes().to_vec();
        body.extend_from_slice(b"2025-03-07 20:45:15,u_1,like,,,web,organic,SG\n");
        body.extend_from_slice(b"2025-03-08 10:00:00,u_2,poke,,,web,organic,SG\n");
        let a = write(dir.path(), "a.csv", &body);
        let b = write(dir.path(), "b.csv", &body);
        let count = Count::default();
        let options = IngestOptions {
            block_size: 16,
            threads: 2,
        };
        ingest::<IngestError>(&[a, b], &options, &count, |_| Ok(())).unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 2 * body.len() as u64);
    }

    #[test]
    fn bad_rows_are_quarantined_with_their_line_and_good_rows_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = HEADER.as_bytes().to_vec();
        body.extend_from_slice(b"2025-03-07 20:45:15.694746,u_1,like,,,web,organic,SG\n");
        body.extend_from_slice(b"2025-03-07 20:45:15,u_2,poke,,,web,organic,SG\n");
        body.extend_from_slice(b"\n");
        body.extend_from_slice(b"2025-03-08 10:00:00,\"u_3\",share,,,\"w\neb\",organic,SG\n");
        body.extend_from_slice(b"2025-03-08 10:00:00,u_\xff,share,,,web,organic,SG\n");
        body.extend_from_slice(b"2025-03-08 10:00:00,u_5,share\n");
        body.extend_from_slice(b"2025-03-09 10:00:00,u_6,miles_earned,dining,12.5,ios,google,MY");
        let file = write(dir.path(), "a.csv", &body);
        for block in [8, 64, 1 << 20] {
            let (stats, pieces) = run(std::slice::from_ref(&file), block);
            assert_eq!(stats.records, 7, "block {block}");
            assert_eq!(stats.good, 2);
            assert_eq!(stats.quarantined, 5);
            assert_eq!(stats.blank_lines, 1);
            let q: Vec<_> = pieces.iter().flat_map(|p| p.quarantine.clone()).collect();
            let lines: Vec<u64> = q.iter().map(|r| r.line).collect();
            // A quoted line break is two lines, each with an unbalanced quote.
            assert_eq!(lines, vec![3, 5, 6, 7, 8], "block {block}");
            assert!(q[0].reason.contains("unknown event_type \"poke\""));
            assert!(q[1].reason.contains("unbalanced double quote"));
            assert!(q[2].reason.contains("unbalanced double quote"));
            assert!(q[3].reason.contains("invalid UTF-8 in user_id"));
            assert_eq!(q[4].raw, "2025-03-08 10:00:00,u_5,share");
            let rows: usize = pieces.iter().map(|p| p.events.height()).sum();
            assert_eq!(rows, 2);
        }
    }

    /// Physical lines of `body` (the text after the header): segments ended by `\n`, and a
    /// last one without it if it is not empty.
    fn physical_lines(body: &[u8]) -> u64 {
        let ends = memchr::memchr_iter(b'\n', body).count() as u64;
        ends + u64::from(!body.is_empty() && !body.ends_with(b"\n"))
    }

    fn mutated_line() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let good = (
            0u32..30,
            prop::sample::select(vec![
                "miles_earned",
                "like",
                "share",
                "reward_search",
                "miles_redeemed",
            ]),
        )
            .prop_map(|(u, t)| {
                format!("2025-03-07 20:45:15,u_{u},{t},dining,1.5,web,organic,SG").into_bytes()
            });
        let hostile = prop::sample::select(vec![
            b'"', b',', b'\0', b'\r', b'\n', 0xff, 0xc3, b'\t', b'x', b' ',
        ]);
        prop_oneof![
            4 => good.clone(),
            4 => (good, prop::collection::vec((any::<prop::sample::Index>(), hostile, any::<bool>()), 1..4))
                .prop_map(|(mut line, edits)| {
                    for (at, byte, insert) in edits {
                        let i = at.index(line.len() + 1);
                        if insert || i == line.len() {
                            line.insert(i, byte);
                        } else {
                            line[i] = byte;
                        }
                    }
                    line
                }),
            1 => prop::collection::vec(any::<u8>(), 0..200),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Every physical line is loaded, quarantined (once, with its own number) or blank,
        /// whatever the bytes and wherever blocks are cut; nothing panics.
        #[test]
        fn every_line_is_loaded_quarantined_or_blank(
            lines in proptest::collection::vec(mutated_line(), 0..40),
            trailing_newline: bool,
            block in 1usize..400,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut body = lines.join(&b'\n');
            if trailing_newline {
                body.push(b'\n');
            }
            let mut content = HEADER.as_bytes().to_vec();
            content.extend_from_slice(&body);
            let file = write(dir.path(), "p.csv", &content);
            let mut pieces = Vec::new();
            let options = IngestOptions { block_size: block, threads: 2 };
            let got = ingest::<IngestError>(
                std::slice::from_ref(&file),
                &options,
                &Silent,
                |p| {
                    pieces.push(p);
                    Ok(())
                },
            );
            let expected = physical_lines(&body);
            match got {
                Ok(stats) => {
                    proptest::prop_assert_eq!(stats.good + stats.quarantined + stats.blank_lines, expected);
                    let rows: u64 = pieces.iter().map(|p| p.events.height() as u64).sum();
                    proptest::prop_assert_eq!(rows, stats.good);
                    let q: Vec<u64> = pieces.iter().flat_map(|p| p.quarantine.iter().map(|r| r.line)).collect();
                    proptest::prop_assert_eq!(q.len() as u64, stats.quarantined);
                    proptest::prop_assert!(q.windows(2).all(|w| w[0] < w[1]), "{:?}", q);
                    proptest::prop_assert!(q.iter().all(|&l| (2..=expected + 1).contains(&l)), "{:?}", q);
                    for p in &pieces {
                        for r in &p.quarantine {
                            proptest::prop_assert!(!r.raw.contains('\0'));
                            proptest::prop_assert!(r.reason.len() < 300, "{}", r.reason);
                        }
                    }
                }
                // Only a body with no record at all (blank lines only) is refused.
                Err(e) => {
                    proptest::prop_assert!(matches!(e, IngestError::NoEvents(_)), "{}", e);
                    proptest::prop_assert!(pieces.iter().all(|p| p.events.height() == 0 && p.quarantine.is_empty()));
                }
            }
        }
    }

    #[test]
    fn a_stray_quote_costs_its_own_line_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = HEADER.as_bytes().to_vec();
        body.extend_from_slice(b"2025-03-07 20:45:15,u_0,like,,,\"web,organic,SG\n");
        for i in 1..=200 {
            body.extend_from_slice(
                format!("2025-03-07 20:45:15,u_{i},like,,,web,organic,SG\n").as_bytes(),
            );
        }
        let file = write(dir.path(), "a.csv", &body);
        for block in [64, 1 << 20] {
            let (stats, pieces) = run(std::slice::from_ref(&file), block);
            assert_eq!((stats.good, stats.quarantined), (200, 1), "block {block}");
            let q: Vec<_> = pieces.iter().flat_map(|p| p.quarantine.clone()).collect();
            assert_eq!(q[0].line, 2);
        }
    }

    #[test]
    fn an_overlong_line_is_quarantined_with_its_number_and_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = HEADER.as_bytes().to_vec();
        body.extend_from_slice(b"2025-03-07 20:45:15,u_1,like,,,web,organic,SG\n");
        body.extend_from_slice(b"2025-03-07 20:45:15,u_2,like,,,web,organic,\"");
        body.extend(std::iter::repeat_n(b'A', 3 * MAX_LINE_BYTES));
        body.extend_from_slice(b"\"\n2025-03-07 20:45:15,u_3,like,,,web,organic,SG\n");
        let file = write(dir.path(), "a.csv", &body);
        for block in [1024, 1 << 20] {
            let (stats, pieces) = run(std::slice::from_ref(&file), block);
            assert_eq!((stats.good, stats.quarantined), (2, 1), "block {block}");
            let q: Vec<_> = pieces.iter().flat_map(|p| p.quarantine.clone()).collect();
            assert_eq!(q[0].line, 3);
            assert!(
                q[0].reason.contains("longer than the limit"),
                "{}",
                q[0].reason
            );
            assert!(q[0].raw.len() <= chunk::RAW_LIMIT + 3, "{}", q[0].raw.len());
        }
    }

    #[test]
    fn header_problems_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(dir.path(), "empty.csv", b"");
        assert!(matches!(
            read_header(&empty),
            Err(IngestError::Empty { .. })
        ));
        let bad = write(dir.path(), "bad.csv", b"time,user\n1,2\n");
        let err = read_header(&bad).unwrap_err().to_string();
        assert!(
            err.contains("expected columns [event_time, user_id"),
            "{err}"
        );
        assert!(err.contains("found [time, user]"), "{err}");
        let semi = write(dir.path(), "semi.csv", HEADER.replace(',', ";").as_bytes());
        let err = read_header(&semi).unwrap_err().to_string();
        assert!(err.contains("separated by semicolons"), "{err}");
        let mut utf16 = vec![0xff, 0xfe];
        for b in HEADER.bytes() {
            utf16.extend_from_slice(&[b, 0]);
        }
        let err = read_header(&write(dir.path(), "u16.csv", &utf16)).unwrap_err();
        assert!(matches!(err, IngestError::Utf16 { .. }), "{err}");
        let cr = format!(
            "{}\r2025-03-07 20:45:15,u_1,like,,,web,organic,SG\r",
            HEADER.trim_end()
        );
        let err = read_header(&write(dir.path(), "cr.csv", cr.as_bytes())).unwrap_err();
        assert!(matches!(err, IngestError::CrLineEnds { .. }), "{err}");
        // A huge header is neither read whole nor echoed.
        let huge = write(dir.path(), "huge.csv", &vec![b'h'; 50 << 20]);
        let err = read_header(&huge).unwrap_err().to_string();
        assert!(err.len() < 500, "{} bytes", err.len());
        let wide = write(dir.path(), "wide.csv", "x".repeat(60_000).as_bytes());
        let err = read_header(&wide).unwrap_err().to_string();
        assert!(err.len() < 500, "{} bytes", err.len());
        let shuffled = write(
            dir.path(),
            "shuffled.csv",
            b"\xef\xbb\xbfcountry,user_id,event_type,transaction_category,miles_amount,platform,utm_source,event_time\r\n",
        );
        assert_eq!(
            read_header(&shuffled).unwrap().order,
            [7, 1, 2, 3, 4, 5, 6, 0]
        );
        assert!(matches!(
            resolve_inputs(&dir.path().join("nope")),
            Err(IngestError::Missing(_))
        ));
        let header_only = write(dir.path(), "h.csv", HEADER.as_bytes());
        let err = ingest::<IngestError>(&[header_only], &IngestOptions::default(), &Silent, |_| {
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(err, IngestError::NoEvents(_)));
    }
}
