//! The marts' encoding: a mart's frame -> its bytes as CSV or JSON, with METRICS.md's
//! columns in order; null is an empty CSV field / JSON null, booleans are true/false,
//! dates are `YYYY-MM-DD`, numbers are written unrounded (shortest exact form). What
//! `heymax marts export` writes to files, the server sends and the static site holds.
//!
//! Only the encoding: which marts are written where is the caller's, and the command
//! line's `--format` flag is the CLI's own type (`cli.rs`), so the pipeline needs no
//! command-line crate.

use std::io::Write;

use polars::prelude::*;

/// How a mart is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// One cell as text (`None` for null).
fn text(value: &AnyValue<'_>) -> Option<String> {
    match value {
        AnyValue::Null => None,
        AnyValue::Boolean(b) => Some(b.to_string()),
        AnyValue::String(s) => Some(s.to_string()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        AnyValue::Date(d) => Some(contract::calendar::date(i64::from(*d)).to_string()),
        AnyValue::Float64(f) => Some(f.to_string()),
        AnyValue::Float32(f) => Some(f.to_string()),
        other => Some(other.to_string()),
    }
}

fn json(value: &AnyValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(*b),
        AnyValue::Int64(v) => Value::from(*v),
        AnyValue::Int32(v) => Value::from(*v),
        AnyValue::UInt32(v) => Value::from(*v),
        AnyValue::UInt64(v) => Value::from(*v),
        AnyValue::Float64(v) => serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number),
        other => text(other).map_or(Value::Null, Value::String),
    }
}

/// Writes `df` in `format` to `out`.
pub fn write(df: &DataFrame, format: Format, out: &mut dyn Write) -> anyhow::Result<()> {
    let columns = df.columns();
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(columns.iter().map(|c| c.name().as_str()))?;
            for row in 0..df.height() {
                let mut record = Vec::with_capacity(columns.len());
                for c in columns {
                    record.push(text(&c.get(row)?).unwrap_or_default());
                }
                w.write_record(&record)?;
            }
            w.flush()?;
        }
        Format::Json => {
            let mut rows = Vec::with_capacity(df.height());
            for row in 0..df.height() {
                let mut obj = serde_json::Map::with_capacity(columns.len());
                for c in columns {
                    obj.insert(c.name().to_string(), json(&c.get(row)?));
                }
                rows.push(serde_json::Value::Object(obj));
            }
            serde_json::to_writer(&mut *out, &rows)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DataFrame {
        DataFrame::new(
            2,
            vec![
                Int32Chunked::from_vec("period".into(), vec![20_000, 20_001])
                    .into_date()
                    .into_column(),
                Column::new("country".into(), [Some("SG"), None]),
                Column::new("quick_ratio".into(), [Some(1.0f64 / 3.0), None]),
                Column::new("is_complete".into(), [true, false]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn csv_has_empty_nulls_iso_dates_and_unrounded_numbers() {
        let mut out = Vec::new();
        write(&sample(), Format::Csv, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "period,country,quick_ratio,is_complete\n2024-10-04,SG,0.3333333333333333,true\n2024-10-05,,,false\n"
        );
    }

    #[test]
    fn json_keeps_column_order_and_types() {
        let mut out = Vec::new();
        write(&sample(), Format::Json, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            r#"[{"period":"2024-10-04","country":"SG","quick_ratio":0.3333333333333333,"is_complete":true}"#
        ), "{text}");
        assert!(text.contains(
            r#"{"period":"2024-10-05","country":null,"quick_ratio":null,"is_complete":false}"#
        ));
    }
}
