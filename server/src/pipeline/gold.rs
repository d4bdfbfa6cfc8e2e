//! Gold: the current truth. `fact_events` holds each event once (deduplicated by
//! `event_id`, first load wins); each batch adds a part with only its new events.
//! `dim_users` has one row per user (latest country, first and last seen). The `gold`
//! task writes both from what ingest left (bronze's file, the dedup mask, the slim events)
//! and leaves the slim events and users for gold's tests and the marts.
//! See: METRICS.md, Layers (gold).

use std::sync::Arc;

use polars::prelude::*;
use runner::Done;

use super::catalog::{Table, part_name};
use super::context::{Ctx, Gold, gone, lock};
use super::schema::EVENT_ID;
use super::schema::EventTypes;
use super::slim::{DimUsers, SlimEvents};
use super::{PipelineError, compute};
use crate::warehouse::{Result, Warehouse, WarehouseError, parquet};

/// Gold's fact table: what it is read and written as.
const FACT: &str = Table::GoldEvents.name();

/// Event ids already in gold or seen earlier in this batch.
#[derive(Default)]
pub struct Dedup {
    seen: PlHashSet<i64>,
}

impl Dedup {
    pub fn reserve(&mut self, additional: usize) {
        self.seen.reserve(additional);
    }

    /// `true` for each id not seen before (it is then remembered).
    pub fn keep(&mut self, ids: &[i64]) -> Vec<bool> {
        ids.iter().map(|&id| self.seen.insert(id)).collect()
    }
}

/// Gold as it stands before this run: its ids (for dedup and the unique test) and its
/// events in slim form (for the marts).
pub struct Existing {
    pub dedup: Dedup,
    pub ids: Vec<i64>,
    pub slim: SlimEvents,
}

/// Rows of gold read at a time: ten of ingest's row groups, enough for every core.
const READ_BLOCK: usize = 1 << 20;

pub fn load_existing(wh: &mut Warehouse, types: &EventTypes) -> Result<Existing> {
    let mut existing = Existing {
        dedup: Dedup::default(),
        ids: Vec::new(),
        slim: SlimEvents::default(),
    };
    if !wh.has_table(FACT) {
        return Ok(existing);
    }
    let columns = [
        EVENT_ID,
        "user_id",
        "event_time",
        "event_type",
        "transaction_category",
        "miles_amount",
        "country",
    ];
    wh.read_blocks(FACT, Some(&columns), READ_BLOCK, |df| {
        let err = |source| WarehouseError::Parquet {
            path: FACT.into(),
            source,
        };
        let ids = df
            .column(EVENT_ID)
            .and_then(|c| c.i64().cloned())
            .map_err(err)?;
        let ids: Vec<i64> = ids.into_no_null_iter().collect();
        existing.dedup.keep(&ids);
        existing.ids.extend(ids);
        existing.slim.append_frame(&df, types).map_err(err)?;
        Ok(())
    })?;
    Ok(existing)
}

/// `dim_users` as written: `user_id`, `country`, `first_seen_at`, `last_seen_at`.
pub fn dim_users_frame(slim: &SlimEvents, dim: &DimUsers) -> PolarsResult<DataFrame> {
    let ts = |name: &str, v: &[i64]| {
        Int64Chunked::from_slice(name.into(), v)
            .into_datetime(TimeUnit::Microseconds, None)
            .into_column()
    };
    let countries = slim.countries.values();
    let country: StringChunked = dim
        .country
        .iter()
        .map(|&c| countries.get(c as usize).map(|s| &**s))
        .collect();
    let user_id: StringChunked = slim.users.values().iter().map(|s| Some(&**s)).collect();
    DataFrame::new(
        dim.len(),
        vec![
            user_id.with_name("user_id".into()).into_column(),
            country.with_name("country".into()).into_column(),
            ts("first_seen_at", &dim.first),
            ts("last_seen_at", &dim.last),
        ],
    )
}

/// Keeps the rows of a bronze frame whose flag is set (a batch with duplicates).
pub fn filter_new(bronze: &DataFrame, keep: &[bool]) -> PolarsResult<DataFrame> {
    let mask: BooleanChunked = keep.iter().copied().collect();
    bronze.filter(&mask)
}

/// The `gold` task: the batch's new events as one more part of the fact table (bronze's
/// own file when the batch has no duplicate); dim_users rebuilt.
pub(super) fn task(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let (bronze_path, keep_mask, duplicates, bronze_rows, part) = {
        let ingested = lock(&ctx.ingested);
        let ing = ingested.as_ref().ok_or_else(|| gone("ingest's batch"))?;
        (
            ing.bronze_path.clone(),
            ing.keep_mask.clone(),
            ing.duplicates,
            ing.bronze_rows,
            part_name(ing.batch_id),
        )
    };
    let gold_new = bronze_rows - duplicates;
    if gold_new > 0 {
        if duplicates == 0 {
            ctx.link_append(Table::GoldEvents, &bronze_path, &part)?;
        } else {
            let bronze = parquet::read(&bronze_path, None)?;
            let mut new = filter_new(&bronze, &keep_mask).map_err(compute("gold"))?;
            ctx.write_append(Table::GoldEvents, &mut new, &part)?;
        }
    }
    drop(keep_mask);
    // The slim events stay with gold: the marts are built from them.
    let slim = lock(&ctx.gold_slim)
        .take()
        .ok_or_else(|| gone("ingest's slim events"))?;
    let dim = slim.dim_users();
    let mut dim_frame = dim_users_frame(&slim, &dim).map_err(compute("dim_users"))?;
    ctx.write_replace(Table::DimUsers, &mut dim_frame)?;
    let dim_rows = dim_frame.height() as u64;
    {
        let mut rows = lock(&ctx.rows);
        rows.gold_new = gold_new;
        rows.dim_users = dim_rows;
    }
    *lock(&ctx.dim_frame) = Some(dim_frame);
    *lock(&ctx.gold) = Some(Arc::new(Gold { slim, dim }));
    Ok(Done::rows(gold_new).with_note(format!(
        "{duplicates} duplicates skipped; dim_users {dim_rows} rows"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_first_occurrence_across_calls() {
        let mut d = Dedup::default();
        assert_eq!(d.keep(&[1, 2, 1]), vec![true, true, false]);
        assert_eq!(d.keep(&[2, 3]), vec![false, true]);
    }
}
