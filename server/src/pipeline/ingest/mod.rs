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
pub mod time;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

pub use chunk::QuarantineRow;
pub use progress::{Progress, Silent};
pub use row::{MAX_FIELD_BYTES, preview};
pub use split::MAX_LINE_BYTES;
pub use time::{TimeOptions, parse_timestamp};

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
    pub time: TimeOptions,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            block_size: 16 << 20,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            time: TimeOptions::default(),
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
                    .map(|p| parse_piece(p, &header.order, &options.time))
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

fn parse_piece(piece: &[u8], order: &[usize; 8], time: &TimeOptions) -> PolarsResult<ParsedPiece> {
    let mut builder = ChunkBuilder::with_capacity(piece.len() / 64 + 16);
    let mut line = 0u64;
    for record in Records::new(piece) {
        line += 1;
        if record.is_empty() {
            builder.blank_lines += 1;
            continue;
        }
        let parsed = row::with_fields(record, |fields| {
            row::parse_row(fields, order, time).map(|r| builder.push(&r))
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
mod tests;
