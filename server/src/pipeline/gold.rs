//! Gold: the current truth. `fact_events` holds each event once (deduplicated by
//! `event_id`, first load wins); each batch adds a part with only its new events.
//! `dim_users` has one row per user (latest country, first and last seen). The `gold`
//! task writes both from what ingest left (bronze's file, the dedup mask, the slim events)
//! and leaves the slim events and users for gold's tests and the marts.
//! See: METRICS.md, Layers (gold).

use std::ops::Range;
use std::sync::Arc;

use polars::prelude::*;
use runner::Done;

use super::catalog::{Table, part_name};
use super::context::{Ctx, Gold, gone, lock};
use super::gold_slim;
use super::schema::EVENT_ID;
use super::schema::{EventTypes, MICROS_PER_DAY};
use super::slim::{DimUsers, SlimEvents};
use super::{PipelineError, compute};
use crate::warehouse::{Location, Result, Warehouse, WarehouseError, parquet};

/// Gold's fact table: what it is read and written as.
const FACT: &str = Table::GoldEvents.name();

/// Event ids already in gold or seen earlier in this batch.
///
/// Gold's ids wait in `by_day`, grouped by their event's UTC day, and join `seen` only
/// when the batch brings an event of that day: an id hashes the event's time (its UTC
/// instant, see `ingest::chunk::event_id`), so an event can only repeat one of its own
/// day. A new day's batch then hashes that day's ids instead of all of gold's (10M ids
/// into the set took about 0.5 s and 150 MB of a 10k-event append). Two different
/// events of different days with the same 64-bit id would both be kept, and gold's
/// `unique(event_id)` test would then fail the run, committing nothing.
#[derive(Default)]
pub struct Dedup {
    seen: PlHashSet<i64>,
    by_day: PlHashMap<i64, Vec<i64>>,
}

impl Dedup {
    pub fn reserve(&mut self, additional: usize) {
        self.seen.reserve(additional);
    }

    /// Gold's ids (with their events' times), to be checked against from now on.
    pub fn add_existing(&mut self, ids: &[i64], times: &[i64]) {
        for (&id, &t) in ids.iter().zip(times) {
            self.by_day.entry(day_of(t)).or_default().push(id);
        }
    }

    /// `true` for each id (of an event at `times`) not seen before (it is then
    /// remembered).
    pub fn keep(&mut self, ids: &[i64], times: &[i64]) -> Vec<bool> {
        let mut last_day = None;
        ids.iter()
            .zip(times)
            .map(|(&id, &t)| {
                let day = day_of(t);
                if last_day != Some(day) {
                    last_day = Some(day);
                    if let Some(old) = self.by_day.remove(&day) {
                        self.seen.reserve(old.len());
                        self.seen.extend(old);
                    }
                }
                self.seen.insert(id)
            })
            .collect()
    }
}

fn day_of(time: i64) -> i64 {
    time.div_euclid(MICROS_PER_DAY)
}

/// Gold as it stands before this run: its ids (for dedup and the unique test) and its
/// events in slim form (for the marts).
#[derive(Default)]
pub struct Existing {
    pub dedup: Dedup,
    pub ids: Vec<i64>,
    pub slim: SlimEvents,
    /// Gold files that had no slim part (read from gold): part name and slim rows.
    pub without_slim: Vec<(String, Range<usize>)>,
    /// Gold files are in a folder, so the run writes slim parts beside them.
    pub folder: bool,
}

impl Existing {
    fn reserve(&mut self, events: usize) {
        self.ids.reserve(events);
        self.slim.reserve(events);
    }

    /// Every id read goes to the dedup, by day (a slim part that turned out unusable took
    /// its ids back before this).
    fn remember_ids(&mut self) {
        self.dedup.add_existing(&self.ids, &self.slim.time);
    }
}

/// Rows of gold read at a time: ten of ingest's row groups, enough for every core.
const READ_BLOCK: usize = 1 << 20;

/// Gold's columns the slim events are read from.
const COLUMNS: [&str; 7] = [
    EVENT_ID,
    "user_id",
    "event_time",
    "event_type",
    "transaction_category",
    "miles_amount",
    "country",
];

/// Adds a block of gold's rows (gold's own columns) to `existing`.
fn add_gold_rows(existing: &mut Existing, df: &DataFrame, types: &EventTypes) -> PolarsResult<()> {
    let ids = df.column(EVENT_ID)?.i64()?;
    if ids.null_count() > 0 {
        polars_bail!(ComputeError: "gold has a row with a null event_id");
    }
    existing.ids.extend(ids.into_no_null_iter());
    existing.slim.append_frame(df, types)
}

/// Gold before this run, with room for `batch` more events (the batch's expected count):
/// the columns are sized once, where growing them copied 10M events into fresh pages
/// twice over.
pub fn load_existing(wh: &mut Warehouse, types: &EventTypes, batch: usize) -> Result<Existing> {
    let mut existing = Existing::default();
    if !wh.has_table(FACT) {
        existing.folder = matches!(wh.location(), Location::Dir(_));
        return Ok(existing);
    }
    let Some((root, files)) = wh.folder_files(FACT) else {
        // A database: gold's rows, block by block.
        wh.read_blocks(FACT, Some(&COLUMNS), READ_BLOCK, |df| {
            add_gold_rows(&mut existing, &df, types).map_err(|source| WarehouseError::Parquet {
                path: FACT.into(),
                source,
            })
        })?;
        existing.remember_ids();
        return Ok(existing);
    };
    let (root, files) = (root.to_path_buf(), files.to_vec());
    existing.folder = true;
    let sizes = files
        .iter()
        .map(|file| parquet::num_rows(&root.join(file)))
        .collect::<Result<Vec<_>>>()?;
    existing.reserve(batch + sizes.iter().sum::<usize>());
    let has_slim = wh.has_table(gold_slim::EVENTS) && wh.has_table(gold_slim::DICTS);
    for (file, &rows) in files.iter().zip(&sizes) {
        let path = root.join(file);
        let start = existing.slim.len();
        let part = gold_slim::part_of(file);
        if let Some(part) = part.filter(|_| has_slim)
            && read_slim_part(&mut existing, &root, part, rows, types)?
        {
            continue;
        }
        for offset in (0..rows).step_by(READ_BLOCK) {
            let df = parquet::read_rows(&path, Some(&COLUMNS), Some((offset, READ_BLOCK)))?;
            add_gold_rows(&mut existing, &df, types).map_err(|source| WarehouseError::Parquet {
                path: path.clone(),
                source,
            })?;
        }
        if let Some(part) = part {
            existing
                .without_slim
                .push((part.to_string(), start..existing.slim.len()));
        }
    }
    existing.remember_ids();
    Ok(existing)
}

/// Reads the slim part `part` into `existing` when it is there and can be trusted for a
/// gold file of `rows` rows; `false` (having added nothing) otherwise.
fn read_slim_part(
    existing: &mut Existing,
    root: &std::path::Path,
    part: &str,
    rows: usize,
    types: &EventTypes,
) -> Result<bool> {
    let events = root.join(gold_slim::file_of(gold_slim::EVENTS, part));
    let dicts = root.join(gold_slim::file_of(gold_slim::DICTS, part));
    if !events.exists() || !dicts.exists() || parquet::num_rows(&events)? != rows {
        return Ok(false);
    }
    let err = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| WarehouseError::Parquet { path, source }
    };
    let Some(dicts) =
        gold_slim::Dicts::read(&parquet::read(&dicts, None)?, types).map_err(err(&dicts))?
    else {
        return Ok(false);
    };
    // The part's dictionaries join the run's first; if a block then turns out unusable,
    // what it added is taken back and the gold file is read instead. (The values it added
    // to the dictionaries stay: they only take codes, and no output depends on a code.)
    let maps = dicts.merge_into(&mut existing.slim);
    let (slim_start, ids_start) = (existing.slim.len(), existing.ids.len());
    for offset in (0..rows).step_by(READ_BLOCK) {
        let df = parquet::read_rows(&events, None, Some((offset, READ_BLOCK)))?;
        let slim = &mut existing.slim;
        if !gold_slim::append_block(&df, &dicts, &maps, slim, &mut existing.ids)
            .map_err(err(&events))?
        {
            tracing::warn!(
                part,
                "a slim part does not match its gold file: gold is read instead"
            );
            existing.slim.truncate(slim_start);
            existing.ids.truncate(ids_start);
            return Ok(false);
        }
    }
    Ok(true)
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
    let (bronze_path, keep_mask, duplicates, bronze_rows, part, slim_parts, existing) = {
        let mut ingested = lock(&ctx.ingested);
        let ing = ingested.as_mut().ok_or_else(|| gone("ingest's batch"))?;
        (
            ing.bronze_path.clone(),
            ing.keep_mask.clone(),
            ing.duplicates,
            ing.bronze_rows,
            part_name(ing.batch_id),
            std::mem::take(&mut ing.slim_parts),
            ing.existing_events,
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
    // With history, its users once (the lifecycle scopes compare with them), then the
    // batch's events on top: one pass over gold's events, not two.
    let before = (existing > 0).then(|| slim.dim_users_of(existing));
    let dim = match &before {
        Some(before) => slim.dim_users_after(before, existing),
        None => slim.dim_users(),
    };
    let mut dim_frame = dim_users_frame(&slim, &dim).map_err(compute("dim_users"))?;
    ctx.write_replace(Table::DimUsers, &mut dim_frame)?;
    let dim_rows = dim_frame.height() as u64;
    {
        let mut rows = lock(&ctx.rows);
        rows.gold_new = gold_new;
        rows.dim_users = dim_rows;
    }
    *lock(&ctx.dim_frame) = Some(dim_frame);
    let gold = Arc::new(Gold { slim, dim, before });
    if !slim_parts.is_empty() {
        // The ids of those rows, copied: gold's tests take the whole list.
        let all = lock(&ctx.gold_ids);
        let ids = slim_parts
            .iter()
            .flat_map(|(_, rows)| all[rows.clone()].iter().copied())
            .collect();
        *lock(&ctx.gold_slim_parts) = Some(gold_slim::Pending {
            gold: gold.clone(),
            ids,
            parts: slim_parts,
        });
    }
    *lock(&ctx.gold) = Some(gold);
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
        assert_eq!(d.keep(&[1, 2, 1], &[0; 3]), vec![true, true, false]);
        assert_eq!(d.keep(&[2, 3], &[0; 2]), vec![false, true]);
    }

    #[test]
    fn gold_ids_are_found_on_their_day_whenever_it_comes() {
        let day = MICROS_PER_DAY;
        let mut d = Dedup::default();
        d.add_existing(&[10, 11, 12], &[-1, day + 5, 2 * day]);
        // Day 1 first, then day -1 (late), then a day gold does not have.
        assert_eq!(d.keep(&[11, 13], &[day, day + 9]), vec![false, true]);
        assert_eq!(
            d.keep(&[10, 14, 12], &[-day + 3, 7 * day, 2 * day]),
            vec![false, true, false]
        );
        assert_eq!(d.keep(&[13, 14], &[day, 7 * day]), vec![false, false]);
    }
}
