//! Bronze: a parsed piece of the latest batch -> the events exactly as they arrived (typed),
//! plus `event_id` (added by ingest), `batch_id` and `loaded_at`. The `bronze` task makes
//! the file ingest staged the table's new contents, and the batch's quarantined rows one
//! more part of the quarantine.
//! See: METRICS.md, Layers (bronze).

use polars::prelude::*;
use runner::Done;

use super::catalog::{Table, part_name};
use super::context::{Ctx, gone, lock};
use super::schema::{BATCH_ID, EVENT_ID, INPUT_COLUMNS, LOADED_AT};
use super::{PipelineError, compute};

fn loaded_at_type() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, None)
}

/// The bronze (and silver, and gold fact) schema, in column order.
pub fn schema() -> Schema {
    let mut schema = Schema::default();
    for (i, name) in INPUT_COLUMNS.iter().enumerate() {
        let dtype = match i {
            0 => loaded_at_type(),
            4 => DataType::Float64,
            _ => DataType::String,
        };
        schema.with_column((*name).into(), dtype);
    }
    schema.with_column(EVENT_ID.into(), DataType::Int64);
    schema.with_column(BATCH_ID.into(), DataType::Int64);
    schema.with_column(LOADED_AT.into(), loaded_at_type());
    schema
}

/// Adds the batch columns to a piece (input columns + `event_id`).
pub fn build(mut events: DataFrame, batch_id: i64, loaded_at: i64) -> PolarsResult<DataFrame> {
    let height = events.height();
    let batch = Column::new_scalar(BATCH_ID.into(), Scalar::from(batch_id), height);
    let loaded = Column::new_scalar(
        LOADED_AT.into(),
        Scalar::new(
            loaded_at_type(),
            AnyValue::Datetime(loaded_at, TimeUnit::Microseconds, None),
        ),
        height,
    );
    events.with_column(batch)?;
    events.with_column(loaded)?;
    Ok(events)
}

/// The `bronze` task: bronze is the batch as it arrived; its rows that failed to parse go
/// to quarantine.
pub(super) fn task(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let mut ingested = lock(&ctx.ingested);
    let ing = ingested.as_mut().ok_or_else(|| gone("ingest's batch"))?;
    let (batch_id, loaded_at) = (ing.batch_id, ing.loaded_at);
    ctx.with_tx(|tx| tx.replace(&Table::Bronze.spec(), &ing.bronze_path))?;
    if ing.stats.quarantined > 0 {
        let mut frame = ing
            .quarantine
            .frame(batch_id, loaded_at)
            .map_err(compute("quarantine"))?;
        ctx.write_append(Table::Quarantine, &mut frame, &part_name(batch_id))?;
    }
    let mut rows = lock(&ctx.rows);
    rows.quarantined = ing.stats.quarantined;
    rows.bronze = ing.bronze_rows;
    Ok(Done::rows(ing.bronze_rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bronze_adds_batch_columns_and_matches_its_schema() {
        let mut events = df![
            "event_time" => [0i64], "user_id" => ["u"], "event_type" => ["like"],
            "transaction_category" => [None::<&str>], "miles_amount" => [None::<f64>],
            "platform" => ["web"], "utm_source" => ["g"], "country" => ["SG"], "event_id" => [7i64],
        ]
        .unwrap();
        let time = events
            .column("event_time")
            .unwrap()
            .cast(&loaded_at_type())
            .unwrap();
        events.with_column(time).unwrap();
        let bronze = build(events, 3, 1_000).unwrap();
        assert_eq!(bronze.schema().as_ref(), &schema());
        assert_eq!(
            bronze.column("batch_id").unwrap().i64().unwrap().get(0),
            Some(3)
        );
    }
}
