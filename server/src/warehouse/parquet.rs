//! Reading and writing single Parquet files. LZ4 (raw) compression: the cheapest codec to
//! write, which matters because bronze is written on every run; every Parquet reader
//! (DuckDB, pyarrow, Spark, polars) reads it. Statistics are on, so outside tools can prune.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::{Result, WarehouseError, io_err};

fn parquet_err(path: &Path) -> impl FnOnce(PolarsError) -> WarehouseError + '_ {
    move |source| WarehouseError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

fn writer(file: File) -> ParquetWriter<File> {
    ParquetWriter::new(file).with_compression(ParquetCompression::Lz4Raw)
}

/// Writes a whole frame and fsyncs it.
pub fn write(path: &Path, df: &mut DataFrame) -> Result<u64> {
    let file = File::create(path).map_err(io_err(path))?;
    let sync = file.try_clone().map_err(io_err(path))?;
    let size = writer(file).finish(df).map_err(parquet_err(path))?;
    sync.sync_all().map_err(io_err(path))?;
    Ok(size)
}

/// Streams frames of one schema into a file, one row group (or more) per frame.
pub struct StreamWriter {
    path: std::path::PathBuf,
    inner: polars::io::parquet::write::BatchedWriter<File>,
    sync: File,
    pub rows: u64,
}

impl StreamWriter {
    pub fn create(path: &Path, schema: &Schema) -> Result<Self> {
        let file = File::create(path).map_err(io_err(path))?;
        let sync = file.try_clone().map_err(io_err(path))?;
        let inner = writer(file).batched(schema).map_err(parquet_err(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            inner,
            sync,
            rows: 0,
        })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        self.rows += df.height() as u64;
        self.inner.write_batch(df).map_err(parquet_err(&self.path))
    }

    pub fn finish(self) -> Result<u64> {
        let size = self.inner.finish().map_err(parquet_err(&self.path))?;
        self.sync.sync_all().map_err(io_err(&self.path))?;
        Ok(size)
    }
}

/// Reads a file, optionally only some columns.
pub fn read(path: &Path, columns: Option<&[&str]>) -> Result<DataFrame> {
    read_rows(path, columns, None)
}

/// Reads rows `offset..offset + len` of a file (all rows when `slice` is `None`), optionally
/// only some columns. Only the row groups the slice overlaps are decoded.
pub fn read_rows(
    path: &Path,
    columns: Option<&[&str]>,
    slice: Option<(usize, usize)>,
) -> Result<DataFrame> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut reader = ParquetReader::new(file).with_slice(slice);
    if let Some(cols) = columns {
        reader = reader.with_columns(Some(cols.iter().map(|c| c.to_string()).collect()));
    }
    reader.finish().map_err(parquet_err(path))
}

/// Rows in a file (from its footer; no data is read).
pub fn num_rows(path: &Path) -> Result<usize> {
    let file = File::open(path).map_err(io_err(path))?;
    ParquetReader::new(file)
        .num_rows()
        .map_err(parquet_err(path))
}

/// Reads rows `offset..offset + len` of a file (an empty frame with the file's columns when
/// `len` is 0).
pub fn read_slice(path: &Path, offset: usize, len: usize) -> Result<DataFrame> {
    read_rows(path, None, Some((offset, len)))
}
