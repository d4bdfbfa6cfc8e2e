//! Frames in and out of PostgreSQL with binary COPY: no text formatting or parsing on either
//! side, so floats, timestamps and text (quotes, newlines, `\N`) round-trip exactly.
//!
//! Polars types map to the nearest PostgreSQL type (`TYPES`); unsigned integers widen to
//! the next signed one (`u32` -> `bigint`), as PostgreSQL has no unsigned types.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use polars::prelude::*;
use postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutIter};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// A column's PostgreSQL type: its type, its SQL name, and the Polars type its values are
/// cast to before they are sent.
pub(super) fn pg_type(dtype: &DataType) -> Option<(Type, &'static str, DataType)> {
    use DataType as D;
    Some(match dtype {
        D::Boolean => (Type::BOOL, "boolean", D::Boolean),
        D::Int8 | D::Int16 | D::UInt8 => (Type::INT2, "smallint", D::Int16),
        D::Int32 | D::UInt16 => (Type::INT4, "integer", D::Int32),
        D::Int64 | D::UInt32 | D::UInt64 => (Type::INT8, "bigint", D::Int64),
        D::Float32 => (Type::FLOAT4, "real", D::Float32),
        D::Float64 => (Type::FLOAT8, "double precision", D::Float64),
        D::String | D::Null | D::Categorical(_, _) => (Type::TEXT, "text", D::String),
        D::Date => (Type::DATE, "date", D::Date),
        D::Datetime(_, None) => (
            Type::TIMESTAMP,
            "timestamp",
            D::Datetime(TimeUnit::Microseconds, None),
        ),
        D::Datetime(_, Some(tz)) => (
            Type::TIMESTAMPTZ,
            "timestamptz",
            D::Datetime(TimeUnit::Microseconds, Some(tz.clone())),
        ),
        _ => return None,
    })
}

/// The Polars type a PostgreSQL column is read as.
pub(super) fn polars_type(ty: &Type) -> Option<DataType> {
    Some(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DataType::String,
        Type::DATE => DataType::Date,
        Type::TIMESTAMP => DataType::Datetime(TimeUnit::Microseconds, None),
        Type::TIMESTAMPTZ => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        _ => return None,
    })
}

/// One value on its way to PostgreSQL.
#[derive(Debug)]
enum Cell<'a> {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(&'a str),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
}

impl ToSql for Cell<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Bool(v) => v.to_sql(ty, out),
            Cell::I16(v) => v.to_sql(ty, out),
            Cell::I32(v) => v.to_sql(ty, out),
            Cell::I64(v) => v.to_sql(ty, out),
            Cell::F32(v) => v.to_sql(ty, out),
            Cell::F64(v) => v.to_sql(ty, out),
            Cell::Text(v) => v.to_sql(ty, out),
            Cell::Date(v) => v.to_sql(ty, out),
            Cell::Timestamp(v) => v.to_sql(ty, out),
            Cell::TimestampTz(v) => v.to_sql(ty, out),
        }
    }

    // The column types are chosen by `pg_type`, which only pairs matching types.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column ready to be sent: cast to its wire type, one chunk.
enum Source {
    Bool(BooleanChunked),
    I16(Int16Chunked),
    I32(Int32Chunked),
    I64(Int64Chunked),
    F32(Float32Chunked),
    F64(Float64Chunked),
    Text(StringChunked),
    Date(Int32Chunked),
    Timestamp(Int64Chunked),
    TimestampTz(Int64Chunked),
}

impl Source {
    fn new(column: &Column) -> PolarsResult<(Self, Type)> {
        let Some((ty, _, wire)) = pg_type(column.dtype()) else {
            polars_bail!(ComputeError: "column {} has type {}, which has no PostgreSQL counterpart here", column.name(), column.dtype());
        };
        let cast = column.strict_cast(&wire)?.rechunk();
        let phys = cast.to_physical_repr();
        let source = match ty {
            Type::BOOL => Source::Bool(phys.bool()?.clone()),
            Type::INT2 => Source::I16(phys.i16()?.clone()),
            Type::INT4 => Source::I32(phys.i32()?.clone()),
            Type::INT8 => Source::I64(phys.i64()?.clone()),
            Type::FLOAT4 => Source::F32(phys.f32()?.clone()),
            Type::FLOAT8 => Source::F64(phys.f64()?.clone()),
            Type::DATE => Source::Date(phys.i32()?.clone()),
            Type::TIMESTAMP => Source::Timestamp(phys.i64()?.clone()),
            Type::TIMESTAMPTZ => Source::TimestampTz(phys.i64()?.clone()),
            _ => Source::Text(phys.str()?.clone()),
        };
        Ok((source, ty))
    }

    fn cell(&self, i: usize) -> Cell<'_> {
        let micros = |v: i64| DateTime::from_timestamp_micros(v);
        let value = match self {
            Source::Bool(c) => c.get(i).map(Cell::Bool),
            Source::I16(c) => c.get(i).map(Cell::I16),
            Source::I32(c) => c.get(i).map(Cell::I32),
            Source::I64(c) => c.get(i).map(Cell::I64),
            Source::F32(c) => c.get(i).map(Cell::F32),
            Source::F64(c) => c.get(i).map(Cell::F64),
            Source::Text(c) => c.get(i).map(Cell::Text),
            Source::Date(c) => c
                .get(i)
                .and_then(NaiveDate::from_epoch_days)
                .map(Cell::Date),
            Source::Timestamp(c) => c
                .get(i)
                .and_then(micros)
                .map(|t| Cell::Timestamp(t.naive_utc())),
            Source::TimestampTz(c) => c.get(i).and_then(micros).map(Cell::TimestampTz),
        };
        value.unwrap_or(Cell::Null)
    }
}

/// Why a frame could not be sent or received.
#[derive(Debug)]
pub(super) enum CopyError {
    Frame(PolarsError),
    Db(postgres::Error),
}

impl From<PolarsError> for CopyError {
    fn from(e: PolarsError) -> Self {
        CopyError::Frame(e)
    }
}

impl From<postgres::Error> for CopyError {
    fn from(e: postgres::Error) -> Self {
        CopyError::Db(e)
    }
}

/// Sends every row of `df` through a `COPY ... FROM STDIN (FORMAT binary)` already begun.
pub(super) fn send(writer: postgres::CopyInWriter<'_>, df: &DataFrame) -> Result<u64, CopyError> {
    let mut sources = Vec::with_capacity(df.width());
    let mut types = Vec::with_capacity(df.width());
    for column in df.columns() {
        let (source, ty) = Source::new(column)?;
        sources.push(source);
        types.push(ty);
    }
    let mut writer = BinaryCopyInWriter::new(writer, &types);
    for i in 0..df.height() {
        writer.write_raw(sources.iter().map(|s| s.cell(i)))?;
    }
    Ok(writer.finish()?)
}

/// A column being filled from PostgreSQL rows.
enum Sink {
    Bool(Vec<Option<bool>>),
    I16(Vec<Option<i16>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    Text(StringChunkedBuilder),
    Date(Vec<Option<i32>>),
    Timestamp(Vec<Option<i64>>),
    TimestampTz(Vec<Option<i64>>),
}

impl Sink {
    fn new(ty: &Type, name: &str, capacity: usize) -> Self {
        match *ty {
            Type::BOOL => Sink::Bool(Vec::with_capacity(capacity)),
            Type::INT2 => Sink::I16(Vec::with_capacity(capacity)),
            Type::INT4 => Sink::I32(Vec::with_capacity(capacity)),
            Type::INT8 => Sink::I64(Vec::with_capacity(capacity)),
            Type::FLOAT4 => Sink::F32(Vec::with_capacity(capacity)),
            Type::FLOAT8 => Sink::F64(Vec::with_capacity(capacity)),
            Type::DATE => Sink::Date(Vec::with_capacity(capacity)),
            Type::TIMESTAMP => Sink::Timestamp(Vec::with_capacity(capacity)),
            Type::TIMESTAMPTZ => Sink::TimestampTz(Vec::with_capacity(capacity)),
            _ => Sink::Text(StringChunkedBuilder::new(name.into(), capacity)),
        }
    }

    fn push(
        &mut self,
        row: &postgres::binary_copy::BinaryCopyOutRow,
        i: usize,
    ) -> Result<(), postgres::Error> {
        match self {
            Sink::Bool(v) => v.push(row.try_get(i)?),
            Sink::I16(v) => v.push(row.try_get(i)?),
            Sink::I32(v) => v.push(row.try_get(i)?),
            Sink::I64(v) => v.push(row.try_get(i)?),
            Sink::F32(v) => v.push(row.try_get(i)?),
            Sink::F64(v) => v.push(row.try_get(i)?),
            Sink::Text(b) => b.append_option(row.try_get::<Option<&str>>(i)?),
            Sink::Date(v) => v.push(
                row.try_get::<Option<NaiveDate>>(i)?
                    .map(|d| d.to_epoch_days()),
            ),
            Sink::Timestamp(v) => v.push(
                row.try_get::<Option<NaiveDateTime>>(i)?
                    .map(|t| t.and_utc().timestamp_micros()),
            ),
            Sink::TimestampTz(v) => v.push(
                row.try_get::<Option<DateTime<Utc>>>(i)?
                    .map(|t| t.timestamp_micros()),
            ),
        }
        Ok(())
    }

    fn finish(self, name: &str) -> PolarsResult<Column> {
        let name: PlSmallStr = name.into();
        let column = match self {
            Sink::Bool(v) => Column::new(name, v),
            Sink::I16(v) => Column::new(name, v),
            Sink::I32(v) => Column::new(name, v),
            Sink::I64(v) => Column::new(name, v),
            Sink::F32(v) => Column::new(name, v),
            Sink::F64(v) => Column::new(name, v),
            Sink::Text(b) => b.finish().into_column(),
            Sink::Date(v) => Int32Chunked::from_iter_options(name, v.into_iter())
                .into_date()
                .into_column(),
            Sink::Timestamp(v) => Int64Chunked::from_iter_options(name, v.into_iter())
                .into_datetime(TimeUnit::Microseconds, None)
                .into_column(),
            Sink::TimestampTz(v) => Int64Chunked::from_iter_options(name, v.into_iter())
                .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                .into_column(),
        };
        Ok(column)
    }
}

/// Receives the rows of a `COPY ... TO STDOUT (FORMAT binary)` already begun, as frames of
/// at most `block` rows handed to `each` in order.
pub(super) fn receive(
    reader: postgres::CopyOutReader<'_>,
    columns: &[(String, Type)],
    block: usize,
    each: &mut dyn FnMut(DataFrame) -> Result<(), CopyError>,
) -> Result<(), CopyError> {
    let types: Vec<Type> = columns.iter().map(|(_, t)| t.clone()).collect();
    let mut rows = BinaryCopyOutIter::new(reader, &types);
    let fresh = || -> Vec<Sink> {
        columns
            .iter()
            .map(|(name, ty)| Sink::new(ty, name, block.min(1 << 16)))
            .collect()
    };
    let mut sinks = fresh();
    let mut height = 0;
    let mut sent_any = false;
    let mut flush = |sinks: Vec<Sink>, height: usize| -> Result<(), CopyError> {
        let cols = sinks
            .into_iter()
            .zip(columns)
            .map(|(s, (name, _))| s.finish(name))
            .collect::<PolarsResult<Vec<_>>>()?;
        each(DataFrame::new(height, cols)?)
    };
    while let Some(row) = rows.next()? {
        for (i, sink) in sinks.iter_mut().enumerate() {
            sink.push(&row, i)?;
        }
        height += 1;
        if height == block {
            flush(std::mem::replace(&mut sinks, fresh()), height)?;
            height = 0;
            sent_any = true;
        }
    }
    if height > 0 || !sent_any {
        flush(sinks, height)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_written_type_reads_back_as_itself_or_wider() {
        let types = [
            DataType::Boolean,
            DataType::Int32,
            DataType::Int64,
            DataType::Float64,
            DataType::String,
            DataType::Date,
            DataType::Datetime(TimeUnit::Microseconds, None),
        ];
        for dtype in types {
            let (ty, _, wire) = pg_type(&dtype).unwrap_or_else(|| panic!("{dtype}"));
            assert_eq!(wire, dtype);
            assert_eq!(polars_type(&ty), Some(dtype));
        }
        let (ty, _, _) = pg_type(&DataType::UInt32).unwrap_or_else(|| panic!("u32"));
        assert_eq!(polars_type(&ty), Some(DataType::Int64));
    }

    #[test]
    fn dates_and_times_convert_at_the_epoch() {
        let col = Int32Chunked::from_vec("d".into(), vec![0, 20_000])
            .into_date()
            .into_column();
        let (source, _) = Source::new(&col).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(source.cell(0), Cell::Date(d) if d.to_string() == "1970-01-01"));
        assert!(matches!(source.cell(1), Cell::Date(d) if d.to_epoch_days() == 20_000));
    }
}
