//! Gold: the current truth. `fact_events` holds each event once (deduplicated by
//! `event_id`, first load wins); each batch adds a part with only its new events.
//! `dim_users` has one row per user (latest country, first and last seen).
//! See: METRICS.md, Layers (gold).

use polars::prelude::*;

use super::catalog::Table;
use super::schema::EVENT_ID;
use super::slim::{DimUsers, SlimEvents};
use crate::warehouse::{Result, Warehouse, WarehouseError};

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

pub fn load_existing(wh: &mut Warehouse) -> Result<Existing> {
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
    wh.read_parts(FACT, Some(&columns), |df| {
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
        existing.slim.append_frame(&df).map_err(err)?;
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
