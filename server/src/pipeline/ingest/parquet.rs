//! Parquet input: the mapped columns of a Parquet file, read a slice of rows at a time,
//! written as the texts a CSV of the same events would hold and validated by the same
//! row rules, so an event has the same id whichever format brought it. A quarantined
//! row is named by its row number (1-based) and shown as its values joined by commas.
//!
//! Texts: strings as they are; integers in decimal; floats as Rust's `{:?}` writes them
//! (`516.0`, the way the sample writes miles); timestamps as `YYYY-MM-DD HH:MM:SS[.ffffff]`
//! with `Z` when the column has a time zone (its values are instants), none when it is
//! zone-less; dates at midnight.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use super::IngestError;
use super::IngestOptions;
use super::chunk::{ChunkBuilder, ParsedPiece};
use super::config::SourceConfig;
use super::header::{self, Header};
use super::input::Format;
use super::row::{self, Layout};

/// Rows read at a time: a slice's texts take a few hundred MB at most.
const SLICE_ROWS: usize = 1 << 20;

fn frame_err(path: &Path) -> impl FnOnce(PolarsError) -> IngestError + '_ {
    move |source| IngestError::Frame {
        path: path.to_path_buf(),
        source,
    }
}

fn open(path: &Path) -> Result<ParquetReader<File>, IngestError> {
    File::open(path)
        .map(ParquetReader::new)
        .map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// The file's columns, placed as `config` maps them.
pub fn read_header(path: &Path, config: &SourceConfig) -> Result<Header, IngestError> {
    let empty = open(path)?
        .with_slice(Some((0, 0)))
        .finish()
        .map_err(frame_err(path))?;
    let found: Vec<String> = empty
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut header = header::blank(path, Format::Parquet);
    let order = header::place(path, &found, config, &mut header.detected)?;
    header.columns = std::array::from_fn(|i| order[i].map(|p| found[p].clone()));
    Ok(header)
}

/// The file's column names and its first `rows` rows as texts (for `heymax init`).
pub fn sample(path: &Path, rows: usize) -> Result<super::guess::Sample, IngestError> {
    let df = open(path)?
        .with_slice(Some((0, rows)))
        .finish()
        .map_err(frame_err(path))?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let columns = df
        .columns()
        .iter()
        .map(|c| texts(c.as_materialized_series()))
        .collect::<PolarsResult<Vec<_>>>()
        .map_err(frame_err(path))?;
    let rows = (0..df.height())
        .map(|i| {
            columns
                .iter()
                .map(|c| c.get(i).unwrap_or_default().to_string())
                .collect()
        })
        .collect();
    Ok((names, rows, None))
}

/// Reads every row of the file, a slice at a time, and hands each parsed piece to `sink`
/// with the row numbers before it.
pub fn read(
    path: &Path,
    header: &Header,
    options: &IngestOptions,
    mut sink: impl FnMut(ParsedPiece, u64) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let rows = open(path)?.num_rows().map_err(frame_err(path))?;
    let columns: Vec<String> = header.columns.iter().flatten().cloned().collect();
    let mut offset = 0;
    while offset < rows {
        let len = SLICE_ROWS.min(rows - offset);
        let df = open(path)?
            .with_columns(Some(columns.clone()))
            .with_slice(Some((offset, len)))
            .finish()
            .map_err(frame_err(path))?;
        let texts: Vec<Option<StringChunked>> = header
            .columns
            .iter()
            .map(|c| {
                c.as_ref()
                    .map(|name| {
                        df.column(name)
                            .and_then(|col| texts(col.as_materialized_series()))
                    })
                    .transpose()
            })
            .collect::<PolarsResult<_>>()
            .map_err(frame_err(path))?;
        let part = len.div_ceil(options.threads.max(1)).max(1);
        let pieces = (0..len)
            .step_by(part)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| parse_rows(&texts, start, (start + part).min(len), options))
            .collect::<PolarsResult<Vec<_>>>()
            .map_err(frame_err(path))?;
        let mut before = offset as u64;
        for piece in pieces {
            let lines = piece.lines;
            sink(piece, before)?;
            before += lines;
        }
        offset += len;
    }
    Ok(())
}

fn parse_rows(
    texts: &[Option<StringChunked>],
    start: usize,
    end: usize,
    options: &IngestOptions,
) -> PolarsResult<ParsedPiece> {
    let layout = Layout::canonical();
    let mut builder = ChunkBuilder::with_capacity(end - start);
    for (line, i) in (start..end).enumerate() {
        let fields: [&[u8]; 8] = std::array::from_fn(|c| {
            texts[c]
                .as_ref()
                .and_then(|t| t.get(i))
                .map_or(&b""[..], str::as_bytes)
        });
        match row::parse_row(&fields, &layout, options) {
            Ok(r) => builder.push(&r),
            Err(reason) => builder.reject(line as u64 + 1, &fields.join(&b","[..]), reason),
        }
    }
    builder.finish((end - start) as u64)
}

/// A column's values as texts (see the module comment for how each type is written).
fn texts(series: &Series) -> PolarsResult<StringChunked> {
    let name = series.name().clone();
    Ok(match series.dtype() {
        DataType::String => series.str()?.clone(),
        DataType::Float32 | DataType::Float64 => series
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .map(|v| v.map(|x| format!("{x:?}")))
            .collect::<StringChunked>()
            .with_name(name),
        DataType::Datetime(unit, zone) => {
            let per_micro = match unit {
                TimeUnit::Nanoseconds => 1000,
                TimeUnit::Microseconds => 1,
                TimeUnit::Milliseconds => -1000,
            };
            let suffix = if zone.is_some() { "Z" } else { "" };
            series
                .to_physical_repr()
                .i64()?
                .iter()
                .map(|v| {
                    v.and_then(|t| {
                        let micros = if per_micro > 0 {
                            t.div_euclid(per_micro)
                        } else {
                            t.checked_mul(-per_micro)?
                        };
                        Some(format!("{}{suffix}", utc_text(micros)?))
                    })
                })
                .collect::<StringChunked>()
                .with_name(name)
        }
        DataType::Date => series
            .cast(&DataType::String)?
            .str()?
            .iter()
            .map(|v| v.map(|d| format!("{d} 00:00:00")))
            .collect::<StringChunked>()
            .with_name(name),
        _ => series.cast(&DataType::String)?.str()?.clone(),
    })
}

/// Microseconds since 1970-01-01 as `YYYY-MM-DD HH:MM:SS[.ffffff]`.
fn utc_text(micros: i64) -> Option<String> {
    let t = chrono::DateTime::from_timestamp_micros(micros)?.naive_utc();
    Some(if micros.rem_euclid(1_000_000) == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_a_csv_would_hold_them() {
        let floats = Series::new("m".into(), [Some(516.0f64), None, Some(0.5)]);
        let t = texts(&floats).unwrap();
        assert_eq!(t.get(0), Some("516.0"));
        assert_eq!(t.get(1), None);
        assert_eq!(t.get(2), Some("0.5"));
        let times = Series::new(
            "t".into(),
            [1_746_352_220_784_808i64, 1_746_352_220_000_000],
        )
        .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
        .unwrap();
        let t = texts(&times).unwrap();
        assert_eq!(t.get(0), Some("2025-05-04 09:50:20.784808"));
        assert_eq!(t.get(1), Some("2025-05-04 09:50:20"));
        let ints = Series::new("i".into(), [7i64]);
        assert_eq!(texts(&ints).unwrap().get(0), Some("7"));
    }
}
