//! Ingest: event CSV files -> validated, typed chunks (bronze-shaped frames + slim columns)
//! and quarantined rows with file, line, raw text and reason. Nothing is dropped silently:
//! every data record is either a good row or a quarantined one (blank lines are counted).
//!
//! Files are read in blocks that end on record boundaries; each block is split into
//! pieces parsed on all cores, and the pieces reach the sink in file order, so memory
//! stays at a few blocks whatever the file size.
//! See: METRICS.md, the input table.

mod chunk;
mod row;
mod split;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

pub use chunk::QuarantineRow;
pub use row::parse_timestamp;

use crate::pipeline::schema::INPUT_COLUMNS;
use crate::pipeline::slim::SlimChunk;
use chunk::{ChunkBuilder, ParsedPiece};
use split::{BlockReader, Records, split_block};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("input path {0} does not exist: pass a CSV file or a directory of CSV files")]
    Missing(PathBuf),
    #[error("{0} holds no .csv files: put event CSVs in it or pass a file")]
    NoCsv(PathBuf),
    #[error("{path} is empty: expected a header line ({expected}) followed by events")]
    Empty { path: PathBuf, expected: String },
    #[error(
        "{path}: wrong header: expected columns [{expected}] (any order), found [{found}]; fix the header line and run again"
    )]
    BadHeader {
        path: PathBuf,
        expected: String,
        found: String,
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
pub fn read_header(path: &Path) -> Result<Header, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).map_err(io)?;
    let expected = INPUT_COLUMNS.join(", ");
    let bytes = line.len() as u64;
    let text = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&line);
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
                    found: found.join(", "),
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

/// Parses every file in order and hands each piece to `sink`. All headers are checked
/// before any row is read, so a bad header writes nothing.
pub fn ingest<E: From<IngestError>>(
    files: &[PathBuf],
    options: &IngestOptions,
    progress: &indicatif::ProgressBar,
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
        progress.inc(header.bytes);
        file.seek(SeekFrom::Start(header.bytes)).map_err(io)?;
        let source: Arc<str> = path.display().to_string().into();
        let mut blocks = BlockReader::new(file.take(u64::MAX), options.block_size);
        let mut line_base = header.lines; // lines before the current piece
        while let Some(block) = blocks.next_block().map_err(io)? {
            let pieces = split_block(&block, options.threads);
            let parsed = pieces
                .par_iter()
                .map(|p| parse_piece(p, &header.order))
                .collect::<PolarsResult<Vec<_>>>()
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
            progress.inc(block.len() as u64);
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
    let mut line = 1u64;
    for (record, lines) in Records::new(piece) {
        if record.is_empty() {
            builder.blank_lines += 1;
        } else {
            row::with_fields(record, |fields| match row::parse_row(fields, order) {
                Ok(r) => builder.push(&r),
                Err(reason) => builder.reject(line, record, reason),
            });
        }
        line += lines;
    }
    builder.finish(line - 1)
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
        let stats =
            ingest::<IngestError>(files, &options, &indicatif::ProgressBar::hidden(), |p| {
                pieces.push(p);
                Ok(())
            })
            .unwrap();
        (stats, pieces)
    }

    const HEADER: &str = "event_time,user_id,event_type,transaction_category,miles_amount,platform,utm_source,country\n";

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
            assert_eq!(stats.records, 6, "block {block}");
            assert_eq!(stats.good, 3);
            assert_eq!(stats.quarantined, 3);
            assert_eq!(stats.blank_lines, 1);
            let q: Vec<_> = pieces.iter().flat_map(|p| p.quarantine.clone()).collect();
            let lines: Vec<u64> = q.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![3, 7, 8], "block {block}");
            assert!(q[0].reason.contains("unknown event_type \"poke\""));
            assert!(q[1].reason.contains("invalid UTF-8 in user_id"));
            assert_eq!(q[2].raw, "2025-03-08 10:00:00,u_5,share");
            let rows: usize = pieces.iter().map(|p| p.events.height()).sum();
            assert_eq!(rows, 3);
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
        let err = ingest::<IngestError>(
            &[header_only],
            &IngestOptions::default(),
            &indicatif::ProgressBar::hidden(),
            |_| Ok(()),
        )
        .unwrap_err();
        assert!(matches!(err, IngestError::NoEvents(_)));
    }
}
