//! A file's header: which source column feeds each input column, checked before any
//! row is read, so that a file heymax cannot place fails the run with nothing written.
//!
//! CSV: the first line names the columns (delimiter `,` `;` tab or `|`, detected unless
//! configured); NDJSON: the configured paths, checked against the first object; Parquet:
//! the file's schema. Names match case-insensitively and with spaces trimmed. The three
//! required columns must be there; a missing optional column is empty for every event, and
//! source columns heymax does not map are ignored. Both are said in the run summary.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::IngestError;
use super::config::SourceConfig;
use super::input::{self, Compression, Format};
use super::row::{Layout, preview};
use super::split::MAX_LINE_BYTES;
use crate::pipeline::schema::{EVENT_TIME, EVENT_TYPE, INPUT_COLUMNS, USER_ID};

/// Input columns every event needs; the others may be absent from a source.
pub const REQUIRED: [usize; 3] = [EVENT_TIME, USER_ID, EVENT_TYPE];

/// How a file is read, and what its header says.
#[derive(Debug, Clone)]
pub struct Header {
    pub format: Format,
    pub compression: Compression,
    /// CSV's field separator (unused for the other formats).
    pub delimiter: u8,
    /// NDJSON: each input column's path into the object (`properties.country`).
    pub paths: [Vec<String>; 8],
    /// Parquet: each input column's source column.
    pub columns: [Option<String>; 8],
    pub layout: Layout,
    /// Bytes and lines before the first record (the header line of a CSV).
    pub bytes: u64,
    pub lines: u64,
    pub detected: Detected,
}

/// What the run summary says about a file: how it was read and mapped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Detected {
    pub file: String,
    pub format: String,
    /// `gzip`, `zstd`, or empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub compression: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub delimiter: String,
    /// `heymax column <- source column`, for the columns whose names differ.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mapped: Vec<String>,
    /// Optional input columns the source does not have (empty for every event).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Source columns heymax does not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

impl Detected {
    /// Read as the sample is (plain CSV with commas and the sample's column names): the
    /// summaries say nothing about such a file.
    pub fn is_plain(&self) -> bool {
        self.format == "CSV"
            && self.compression.is_empty()
            && self.delimiter == ","
            && self.mapped.is_empty()
            && self.missing.is_empty()
            && self.ignored.is_empty()
    }

    /// One line for the CLI's summary.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.format.clone()];
        if !self.compression.is_empty() {
            parts.push(self.compression.clone());
        }
        if !self.delimiter.is_empty() {
            parts.push(format!("delimiter {}", self.delimiter));
        }
        if !self.mapped.is_empty() {
            parts.push(format!("mapped {}", self.mapped.join(", ")));
        }
        if !self.missing.is_empty() {
            parts.push(format!("absent (empty) {}", self.missing.join(", ")));
        }
        if !self.ignored.is_empty() {
            parts.push(format!("ignored {}", list(&self.ignored)));
        }
        format!("{}: {}", self.file, parts.join("; "))
    }
}

/// A few names, the rest counted.
fn list(names: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut shown: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| preview(n).escape_debug().to_string())
        .collect();
    if names.len() > SHOWN {
        shown.push(format!("… {} more", names.len() - SHOWN));
    }
    shown.join(", ")
}

/// Reads and checks the header of `path` as `config` says to read it. Reads at most one
/// line's limit, and quotes at most a short, escaped prefix of it.
pub fn read_header(path: &Path, config: &SourceConfig) -> Result<Header, IngestError> {
    let format = input::format_for(path, config.format);
    match format {
        Format::Parquet => super::parquet::read_header(path, config),
        Format::Csv | Format::Ndjson => {
            let opened = input::open(path)?;
            let compression = opened.compression;
            let mut reader = BufReader::new(opened.reader.take(MAX_LINE_BYTES as u64 + 1));
            let mut line = Vec::new();
            reader
                .read_until(b'\n', &mut line)
                .map_err(|source| IngestError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            let mut header = if format == Format::Csv {
                csv_header(path, &line, config)?
            } else {
                super::ndjson::read_header(path, &line, config)?
            };
            header.compression = compression;
            header.detected.compression = match compression {
                Compression::None => String::new(),
                Compression::Gzip => "gzip".into(),
                Compression::Zstd => "zstd".into(),
            };
            Ok(header)
        }
    }
}

/// A header with nothing placed yet, for `format`.
pub fn blank(path: &Path, format: Format) -> Header {
    Header {
        format,
        compression: Compression::None,
        delimiter: b',',
        paths: Default::default(),
        columns: Default::default(),
        layout: Layout::canonical(),
        bytes: 0,
        lines: 0,
        detected: Detected {
            file: path.display().to_string(),
            format: format.name().into(),
            ..Detected::default()
        },
    }
}

/// The first line's checks shared by CSV and NDJSON: UTF-16, lone CR line ends, length.
pub fn check_first_line(path: &Path, line: &[u8], expected: &str) -> Result<(), IngestError> {
    if line.starts_with(b"\xff\xfe") || line.starts_with(b"\xfe\xff") || line.contains(&0) {
        return Err(IngestError::Utf16 {
            path: path.to_path_buf(),
        });
    }
    let content = line.strip_suffix(b"\n").unwrap_or(line);
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
            expected: expected.to_string(),
        });
    }
    Ok(())
}

/// The first line without its line end and a UTF-8 byte order mark.
pub fn first_line_text(line: &[u8]) -> &[u8] {
    let content = line.strip_suffix(b"\n").unwrap_or(line);
    let content = content.strip_suffix(b"\r").unwrap_or(content);
    content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content)
}

fn csv_header(path: &Path, line: &[u8], config: &SourceConfig) -> Result<Header, IngestError> {
    let expected = expected(config);
    check_first_line(path, line, &expected)?;
    let text = first_line_text(line);
    let delimiter = config.delimiter.unwrap_or_else(|| detect_delimiter(text));
    let found: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
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
    let mut header = blank(path, Format::Csv);
    header.delimiter = delimiter;
    header.detected.delimiter = match delimiter {
        b'\t' => "tab".into(),
        d => (d as char).to_string(),
    };
    header.bytes = line.len() as u64;
    header.lines = 1;
    let order = place(path, &found, config, &mut header.detected)?;
    header.layout = Layout {
        order,
        fields: found.len(),
    };
    Ok(header)
}

/// Places each input column in `found` (the source's names) as `config` maps them, or
/// says which required one is missing.
pub fn place(
    path: &Path,
    found: &[String],
    config: &SourceConfig,
    detected: &mut Detected,
) -> Result<[Option<usize>; 8], IngestError> {
    let mut order = [None; 8];
    for (i, wanted) in config.columns.iter().enumerate() {
        order[i] = found.iter().position(|f| f.eq_ignore_ascii_case(wanted));
        match order[i] {
            Some(p) if found[p] != INPUT_COLUMNS[i] => detected.mapped.push(format!(
                "{} <- {}",
                INPUT_COLUMNS[i],
                preview(&found[p]).escape_debug()
            )),
            Some(_) => {}
            None if REQUIRED.contains(&i) => {
                return Err(IngestError::BadHeader {
                    path: path.to_path_buf(),
                    expected: expected(config),
                    found: list(found),
                    hint: hint(found, config, i),
                });
            }
            None => detected.missing.push(INPUT_COLUMNS[i].to_string()),
        }
    }
    detected.ignored = found
        .iter()
        .enumerate()
        .filter(|(p, _)| !order.contains(&Some(*p)))
        .map(|(_, f)| f.clone())
        .collect();
    Ok(order)
}

/// The column names an error says are expected: the configured source names.
pub fn expected(config: &SourceConfig) -> String {
    config.columns.join(", ")
}

/// The separator that splits the header line into the most names (a comma on a tie).
pub(super) fn detect_delimiter(line: &[u8]) -> u8 {
    let mut best = (b',', 0usize);
    for d in [b',', b';', b'\t', b'|'] {
        let n = memchr::memchr_iter(d, line).count();
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// What to do about a missing required column.
fn hint(found: &[String], config: &SourceConfig, missing: usize) -> String {
    let wanted = &config.columns[missing];
    if let [only] = found
        && (only.contains(',') || only.contains(';') || only.contains('\t'))
    {
        return "the names are not split by the delimiter configured in heymax.toml ([input] delimiter): fix it, or remove it to detect the delimiter".into();
    }
    match config.path.as_ref() {
        Some(p) => format!(
            "no column named {:?} (for {}): map it in {} ([columns] {} = \"your column\")",
            preview(wanted),
            INPUT_COLUMNS[missing],
            p.display(),
            INPUT_COLUMNS[missing]
        ),
        None => format!(
            "no column named {:?}: if your file names it differently, map it in a heymax.toml beside the input ([columns] {} = \"your column\"); `heymax init <file>` writes one for your file",
            preview(wanted),
            INPUT_COLUMNS[missing]
        ),
    }
}
