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
pub mod config;
pub mod guess;
mod header;
pub mod input;
mod ndjson;
mod parquet;
mod progress;
mod row;
mod split;
pub(in crate::pipeline) mod task;
pub mod time;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use polars::prelude::*;
use rayon::prelude::*;

pub use chunk::QuarantineRow;
pub use config::{ConfigError, SourceConfig, TimeChoice};
pub use header::{Detected, Header, read_header};
pub use input::{Format, resolve_inputs};
pub use progress::{Progress, Silent};
pub use row::{MAX_FIELD_BYTES, preview};
pub use split::MAX_LINE_BYTES;
pub use time::{TimeOptions, parse_timestamp};

use crate::pipeline::slim::{Dictionaries, SlimChunk};
use chunk::{ChunkBuilder, ParsedPiece};
use row::{Layout, Reason};
use split::{Block, BlockReader, Records, split_block};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "input path {0} does not exist: pass an event file (CSV, NDJSON or Parquet) or a folder of them"
    )]
    Missing(PathBuf),
    #[error(
        "{0} holds no event files: put .csv, .ndjson or .parquet files (optionally .gz or .zst) in it, or pass a file"
    )]
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
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The sink refused a piece (its own error is returned instead of this one).
    #[error("the loader stopped")]
    SinkStopped,
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
    /// How each file was read and mapped.
    #[serde(default)]
    pub detected: Vec<Detected>,
    /// The reporting zone periods are cut in (an IANA name).
    #[serde(default)]
    pub timezone: String,
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub block_size: usize,
    pub threads: usize,
    pub time: TimeOptions,
    /// How the files are read (`heymax.toml`).
    pub source: SourceConfig,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            block_size: 16 << 20,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            time: TimeOptions::default(),
            source: SourceConfig::default(),
        }
    }
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
        .map(|f| read_header(f, &options.source))
        .collect::<Result<Vec<_>, _>>()?;
    let mut stats = IngestStats {
        files: files.len(),
        detected: headers.iter().map(|h| h.detected.clone()).collect(),
        timezone: options.time.zone.name().to_string(),
        ..Default::default()
    };
    // One set of interners per parser thread for the whole input (see `Dictionaries`).
    let dicts: Vec<std::sync::Mutex<Dictionaries>> = (0..rayon::current_num_threads().max(1))
        .map(|_| Default::default())
        .collect();
    for (path, header) in files.iter().zip(&headers) {
        let len = std::fs::metadata(path)
            .map_err(|source| IngestError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        stats.bytes += len;
        let source: Arc<str> = path.display().to_string().into();
        // Lines before the current piece (the header is line 1 of a CSV).
        let mut line_base = header.lines;
        let mut hand = |piece: ParsedPiece, line_base: u64| -> Result<(), E> {
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
            sink(Piece {
                source: source.clone(),
                events: piece.events,
                slim: piece.slim,
                quarantine,
            })
        };
        if header.format == Format::Parquet {
            let mut failed = None;
            parquet::read(path, header, options, |piece, before| {
                hand(piece, before).map_err(|e| {
                    failed = Some(e);
                    IngestError::SinkStopped
                })
            })
            .map_err(|e| failed.take().unwrap_or_else(|| E::from(e)))?;
            progress.advance(len);
            continue;
        }
        let io = |source| IngestError::Io {
            path: path.clone(),
            source,
        };
        let opened = input::open(path)?;
        let consumed = opened.consumed.clone();
        let mut reader = opened.reader;
        // Past the header: read again rather than sought, as a compressed file cannot seek.
        std::io::copy(&mut (&mut reader).take(header.bytes), &mut std::io::sink()).map_err(io)?;
        let mut reported = 0u64;
        let mut blocks = BlockReader::new(reader, options.block_size);
        while let Some(block) = blocks.next_block().map_err(io)? {
            let parsed = match &block {
                Block::Lines(lines) => split_block(lines, options.threads)
                    .par_iter()
                    .map(|p| parse_piece(p, header, options, &dicts))
                    .collect::<PolarsResult<Vec<_>>>()
                    .map(gains_first),
                Block::Overlong { prefix, bytes } => {
                    overlong_piece(prefix, *bytes).map(|p| vec![p])
                }
            }
            .map_err(|source| IngestError::Frame {
                path: path.clone(),
                source,
            })?;
            for piece in parsed {
                let lines = piece.lines;
                hand(piece, line_base)?;
                line_base += lines;
            }
            let now = consumed.load(Ordering::Relaxed).min(len);
            progress.advance(now - reported);
            reported = now;
        }
        progress.advance(len - reported);
    }
    stats.good = stats.records - stats.quarantined;
    if stats.records == 0 {
        return Err(IngestError::NoEvents(files[0].clone()).into());
    }
    Ok(stats)
}

/// A block's pieces with all their dictionary gains on the first one (in file order): a
/// thread may parse a block's later piece before an earlier one, and the earlier one
/// then uses values the later one's gain brings.
fn gains_first(mut pieces: Vec<ParsedPiece>) -> Vec<ParsedPiece> {
    let mut gains: Vec<_> = pieces
        .iter_mut()
        .filter_map(|p| p.slim.shared.as_mut())
        .flat_map(|s| std::mem::take(&mut s.gains))
        .collect();
    gains.sort_by_key(|(source, g)| (*source, g[0].first, g[1].first, g[2].first));
    if let Some(first) = pieces.iter_mut().find_map(|p| p.slim.shared.as_mut()) {
        first.gains = gains;
    }
    pieces
}

fn parse_piece(
    piece: &[u8],
    header: &Header,
    options: &IngestOptions,
    dicts: &[std::sync::Mutex<Dictionaries>],
) -> PolarsResult<ParsedPiece> {
    let source = rayon::current_thread_index().unwrap_or(0) % dicts.len();
    let rows = piece.len() / 64 + 16;
    // Only this thread takes this lock. Should it be held anyway (this thread re-entered
    // while waiting on other work, or a panic poisoned it), the piece keeps interners of
    // its own, which the loader merges as before: never a wait, never a deadlock.
    let mut guard = dicts[source].try_lock().ok();
    let mut builder = match guard.as_deref_mut() {
        Some(d) => ChunkBuilder::with_shared(rows, source, d),
        None => ChunkBuilder::with_capacity(rows),
    };
    let mut line = 0u64;
    let canonical = Layout::canonical();
    // The piece checked as UTF-8 at once (a bad byte anywhere: each field on its own).
    let valid = std::str::from_utf8(piece).ok();
    for record in Records::new(piece) {
        line += 1;
        if record.is_empty() {
            builder.blank_lines += 1;
            continue;
        }
        let parsed = match header.format {
            Format::Ndjson => ndjson_record(record, header).map(|fields| {
                let fields: [&[u8]; 8] = std::array::from_fn(|i| fields[i].as_bytes());
                row::parse_row(&fields, &canonical, options).map(|r| builder.push(&r))
            }),
            _ => row::with_fields(record, header.delimiter, |fields| {
                row::parse_row_in(fields, &header.layout, options, valid).map(|r| builder.push(&r))
            }),
        };
        if let Err(reason) = parsed.and_then(|r| r) {
            builder.reject(line, record, reason);
        }
    }
    builder.finish(line)
}

/// An NDJSON line's fields, under the same line limit as a CSV line.
fn ndjson_record(record: &[u8], header: &Header) -> Result<[String; 8], Reason> {
    if record.len() > MAX_LINE_BYTES {
        return Err(Reason::LineTooLong {
            bytes: record.len() as u64,
        });
    }
    ndjson::fields(record, &header.paths)
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
