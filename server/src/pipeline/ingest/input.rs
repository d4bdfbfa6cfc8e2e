//! Input files: which files a path names, what format each is in, and their bytes,
//! decompressed when the file is gzip or zstd (told by its first bytes, not its name).
//!
//! Formats go by extension under the compression one (`events.csv.gz` is gzip CSV),
//! unless `heymax.toml` names one: `.csv` `.tsv` `.txt` are CSV, `.ndjson` `.jsonl`
//! `.json` are NDJSON (one JSON object per line), `.parquet` is Parquet.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::IngestError;
use super::config::{FILE_NAME, FormatChoice};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Ndjson => "NDJSON",
            Format::Parquet => "Parquet",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

const COMPRESSED: [(&str, Compression); 3] = [
    ("gz", Compression::Gzip),
    ("gzip", Compression::Gzip),
    ("zst", Compression::Zstd),
];

const FORMATS: [(&str, Format); 7] = [
    ("csv", Format::Csv),
    ("tsv", Format::Csv),
    ("txt", Format::Csv),
    ("ndjson", Format::Ndjson),
    ("jsonl", Format::Ndjson),
    ("json", Format::Ndjson),
    ("parquet", Format::Parquet),
];

/// The format of `path` by its extensions, `None` when it has none heymax reads.
pub fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let mut parts = name.rsplit('.');
    let mut ext = parts.next()?;
    if COMPRESSED.iter().any(|(e, _)| *e == ext) {
        ext = parts.next()?;
    }
    FORMATS.iter().find(|(e, _)| *e == ext).map(|(_, f)| *f)
}

/// The format a file is read as: the configured one, or its extension's.
pub fn format_for(path: &Path, choice: FormatChoice) -> Format {
    match choice {
        FormatChoice::Csv => Format::Csv,
        FormatChoice::Ndjson => Format::Ndjson,
        FormatChoice::Parquet => Format::Parquet,
        FormatChoice::Auto => format_of(path).unwrap_or(Format::Csv),
    }
}

/// The event files named by `input`: the file itself, or a folder's files in a format
/// heymax reads (any mix), sorted by name.
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
            && path.file_name().is_some_and(|n| n != FILE_NAME)
            && format_of(&path).is_some()
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

/// How the file's bytes are compressed, from its first bytes.
pub fn compression_of(path: &Path) -> Result<Compression, IngestError> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut read = 0;
    while read < magic.len() {
        match file.read(&mut magic[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(IngestError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(match &magic[..read] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::None,
    })
}

/// A reader that counts the bytes read from the file under it (the compressed ones),
/// for the progress bar.
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An open input file: its decompressed bytes, and how many of the file's own bytes have
/// been read so far.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    pub consumed: Arc<AtomicU64>,
    pub compression: Compression,
}

pub fn open(path: &Path) -> Result<Opened, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let compression = compression_of(path)?;
    let consumed = Arc::new(AtomicU64::new(0));
    let file = Counted {
        inner: File::open(path).map_err(io)?,
        count: consumed.clone(),
    };
    let reader: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file).map_err(io)?),
    };
    Ok(Opened {
        reader,
        consumed,
        compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn formats_go_by_the_extension_under_the_compression_one() {
        let f = |n: &str| format_of(Path::new(n));
        assert_eq!(f("a.csv"), Some(Format::Csv));
        assert_eq!(f("A.CSV.GZ"), Some(Format::Csv));
        assert_eq!(f("a.tsv.zst"), Some(Format::Csv));
        assert_eq!(f("a.jsonl"), Some(Format::Ndjson));
        assert_eq!(f("a.ndjson.gz"), Some(Format::Ndjson));
        assert_eq!(f("a.parquet"), Some(Format::Parquet));
        assert_eq!(f("a.gz"), None);
        assert_eq!(f("heymax.toml"), None);
        assert_eq!(f("notes"), None);
    }

    #[test]
    fn compressed_files_read_as_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"event_time,user_id\n1,2\n".repeat(100);
        let gz = dir.path().join("a.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(&text).unwrap();
        enc.finish().unwrap();
        let zst = dir.path().join("a.csv.zst");
        std::fs::write(&zst, zstd::stream::encode_all(&text[..], 3).unwrap()).unwrap();
        let plain = dir.path().join("a.csv");
        std::fs::write(&plain, &text).unwrap();
        for (path, want) in [
            (&gz, Compression::Gzip),
            (&zst, Compression::Zstd),
            (&plain, Compression::None),
        ] {
            let mut opened = open(path).unwrap();
            assert_eq!(opened.compression, want);
            let mut out = Vec::new();
            opened.reader.read_to_end(&mut out).unwrap();
            assert_eq!(out, text, "{}", path.display());
            let size = std::fs::metadata(path).unwrap().len();
            assert_eq!(opened.consumed.load(Ordering::Relaxed), size);
        }
        let files = resolve_inputs(dir.path()).unwrap();
        assert_eq!(files.len(), 3);
    }
}
