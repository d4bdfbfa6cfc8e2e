//! Gold's slim parts: beside each file of `gold.fact_events`, the same events in the form
//! the marts read them (dictionary codes, times as integers), in two hidden tables of a
//! folder warehouse: `gold._slim_events` (one row per event) and `gold._slim_dicts` (the
//! part's dictionaries). A run that appends a batch reads gold's history from them as
//! integer columns instead of decoding gold's strings and interning every row again, which
//! was most of a small append's time (see the measurements in the issue 17 note: reading
//! 10M gold rows back as strings cost about 5 s of a 10 s append).
//!
//! A slim part is a cache; the gold file is the truth. A gold file without one (written by
//! the Spark engine or by an older heymax) is read from gold, and the `gold_slim` task
//! writes its slim part in the same commit, so the next run finds it. A slim part is used
//! only when it has as many rows as its gold file and its codes are in range; when the
//! declared event types changed since it was written, only when it holds no undeclared
//! type (whose name it does not keep). A PostgreSQL warehouse keeps no slim parts: it
//! reads gold's rows.

use std::ops::Range;
use std::sync::Arc;

use polars::prelude::*;
use runner::Done;

use super::codes::{Interner, NULL_CODE};
use super::context::{Ctx, Gold, lock};
use super::schema::{EVENT_ID, EventTypes, UNDECLARED};
use super::slim::SlimEvents;
use super::{PipelineError, compute};
use crate::warehouse::TableSpec;
use crate::warehouse::parquet::StreamWriter;

/// The events of the slim parts, one file per gold file.
pub const EVENTS: &str = "gold._slim_events";
/// The dictionaries of the slim parts (`kind`, `value`), one file per gold file.
pub const DICTS: &str = "gold._slim_dicts";

const USER: &str = "user";
const CATEGORY: &str = "category";
const COUNTRY: &str = "country";
const EVENT_TYPE: &str = "event_type";
const COLUMNS: [&str; 7] = [
    EVENT_ID, USER, "time", EVENT_TYPE, CATEGORY, "miles", COUNTRY,
];

/// The part name of a gold file (`gold/fact_events/batch=000002.parquet` ->
/// `batch=000002`): its slim part has the same name in the slim tables.
pub fn part_of(gold_file: &str) -> Option<&str> {
    gold_file
        .strip_prefix("gold/fact_events/")?
        .strip_suffix(".parquet")
}

/// The file of a slim table's part, relative to the warehouse root.
pub fn file_of(table: &str, part: &str) -> String {
    format!("{}/{part}.parquet", table.replacen('.', "/", 1))
}

/// Slim parts the `gold_slim` task writes: each a gold file's part name and its rows in
/// the run's slim events; the ids are those rows' event ids, in the same order.
pub(super) struct Pending {
    pub gold: Arc<Gold>,
    pub ids: Vec<i64>,
    pub parts: Vec<(String, Range<usize>)>,
}

/// One column's codes renumbered in first-seen order over the blocks of a part, with the
/// values they stand for.
struct Local<'d> {
    dict: &'d Interner,
    map: Vec<u32>,
    values: Vec<&'d str>,
}

impl<'d> Local<'d> {
    fn new(dict: &'d Interner) -> Self {
        Self {
            dict,
            map: vec![NULL_CODE; dict.len()],
            values: Vec::new(),
        }
    }

    fn codes(&mut self, codes: &[u32]) -> Vec<u32> {
        codes
            .iter()
            .map(|&c| {
                if c == NULL_CODE {
                    return NULL_CODE;
                }
                let m = &mut self.map[c as usize];
                if *m == NULL_CODE {
                    *m = self.values.len() as u32;
                    self.values.push(&*self.dict.values()[c as usize]);
                }
                *m
            })
            .collect()
    }
}

/// Builds one slim part block by block (a block's frame is all that is in memory at
/// once, not the part's): the events of some rows of the run's slim events, with codes
/// local to the part, then the part's dictionaries.
pub struct PartWriter<'s> {
    slim: &'s SlimEvents,
    types: &'s EventTypes,
    users: Local<'s>,
    categories: Local<'s>,
    countries: Local<'s>,
}

impl<'s> PartWriter<'s> {
    pub fn new(slim: &'s SlimEvents, types: &'s EventTypes) -> Self {
        Self {
            slim,
            types,
            users: Local::new(&slim.users),
            categories: Local::new(&slim.categories),
            countries: Local::new(&slim.countries),
        }
    }

    /// The events of `rows` (`ids` are their event ids), the part's next block.
    pub fn events(&mut self, ids: &[i64], rows: Range<usize>) -> PolarsResult<DataFrame> {
        if ids.len() != rows.len() || rows.end > self.slim.len() {
            polars_bail!(ComputeError: "{} event ids for slim rows {rows:?}", ids.len());
        }
        let slim = self.slim;
        DataFrame::new(
            rows.len(),
            vec![
                Column::new(COLUMNS[0].into(), ids),
                Column::new(
                    COLUMNS[1].into(),
                    self.users.codes(&slim.user[rows.clone()]),
                ),
                Column::new(COLUMNS[2].into(), &slim.time[rows.clone()]),
                // polars here has no u8 columns: a type code is written as a u32.
                Column::new(
                    COLUMNS[3].into(),
                    slim.event_type[rows.clone()]
                        .iter()
                        .map(|&t| u32::from(t))
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    COLUMNS[4].into(),
                    self.categories.codes(&slim.category[rows.clone()]),
                ),
                Column::new(COLUMNS[5].into(), &slim.miles[rows.clone()]),
                Column::new(
                    COLUMNS[6].into(),
                    self.countries.codes(&slim.country[rows.clone()]),
                ),
            ],
        )
    }

    /// The dictionaries of every block written: (`kind`, `value`) rows.
    pub fn dicts(self) -> PolarsResult<DataFrame> {
        let names: Vec<&str> = self.types.names().iter().map(String::as_str).collect();
        let mut kind = Vec::new();
        let mut value = Vec::new();
        for (k, values) in [
            (USER, &self.users.values),
            (CATEGORY, &self.categories.values),
            (COUNTRY, &self.countries.values),
            (EVENT_TYPE, &names),
        ] {
            kind.extend(std::iter::repeat_n(k, values.len()));
            value.extend_from_slice(values);
        }
        DataFrame::new(
            kind.len(),
            vec![
                Column::new("kind".into(), kind),
                Column::new("value".into(), value),
            ],
        )
    }
}

/// The two frames of the slim part of `rows` of `slim` in one block (`ids` are those
/// rows' event ids).
pub fn frames(
    slim: &SlimEvents,
    ids: &[i64],
    rows: Range<usize>,
    types: &EventTypes,
) -> PolarsResult<(DataFrame, DataFrame)> {
    let mut writer = PartWriter::new(slim, types);
    let events = writer.events(ids, rows)?;
    Ok((events, writer.dicts()?))
}

/// A slim part's dictionaries, read back.
pub struct Dicts {
    users: Interner,
    categories: Interner,
    countries: Interner,
    /// Event type code in the part -> code among the declared types of this run.
    types: Vec<u8>,
    /// The declared types are not those the part was written with.
    types_changed: bool,
}

impl Dicts {
    /// `None` when the frame is not a well-formed set of dictionaries.
    pub fn read(df: &DataFrame, types: &EventTypes) -> PolarsResult<Option<Self>> {
        let kind = df.column("kind")?.str()?;
        let value = df.column("value")?.str()?;
        let mut dicts = Dicts {
            users: Interner::default(),
            categories: Interner::default(),
            countries: Interner::default(),
            types: Vec::new(),
            types_changed: false,
        };
        let mut part_types = Vec::new();
        for (k, v) in kind.iter().zip(value.iter()) {
            let (Some(k), Some(v)) = (k, v) else {
                return Ok(None);
            };
            let dict = match k {
                USER => &mut dicts.users,
                CATEGORY => &mut dicts.categories,
                COUNTRY => &mut dicts.countries,
                EVENT_TYPE => {
                    part_types.push(v);
                    continue;
                }
                _ => return Ok(None),
            };
            // Each value once, in code order: interning gives it its own position.
            let expected = dict.len() as u32;
            if dict.intern(v) != expected {
                return Ok(None);
            }
        }
        let declared = types.names();
        dicts.types_changed = part_types.len() != declared.len()
            || part_types.iter().zip(declared).any(|(p, d)| *p != d);
        dicts.types = part_types
            .iter()
            .map(|name| {
                declared
                    .iter()
                    .position(|d| d.eq_ignore_ascii_case(name))
                    .map_or(UNDECLARED, |c| c as u8)
            })
            .collect();
        Ok(Some(dicts))
    }

    /// The part's dictionaries merged into `slim`'s: old code -> `slim`'s code, per column.
    pub fn merge_into(&self, slim: &mut SlimEvents) -> Maps {
        Maps {
            users: slim.users.merge(&self.users),
            categories: slim.categories.merge(&self.categories),
            countries: slim.countries.merge(&self.countries),
        }
    }
}

/// A slim part's codes -> the run's codes.
pub struct Maps {
    users: Vec<u32>,
    categories: Vec<u32>,
    countries: Vec<u32>,
}

/// A column of a slim part's block, which must have no null.
fn column<'d, T: PolarsNumericType>(
    df: &'d DataFrame,
    name: &str,
) -> PolarsResult<&'d ChunkedArray<T>> {
    let ca: &ChunkedArray<T> = df.column(name)?.as_materialized_series().unpack::<T>()?;
    if ca.null_count() > 0 {
        polars_bail!(ComputeError: "a slim part has nulls in {name}");
    }
    Ok(ca)
}

/// Appends a column's values as they are.
fn extend<T: PolarsNumericType>(out: &mut Vec<T::Native>, ca: &ChunkedArray<T>) {
    for arr in ca.downcast_iter() {
        out.extend_from_slice(arr.values());
    }
}

/// Appends codes mapped through `map`; `false` when one is out of range (null stays
/// null, unless `nullable` is false).
fn extend_mapped(out: &mut Vec<u32>, codes: &UInt32Chunked, map: &[u32], nullable: bool) -> bool {
    for arr in codes.downcast_iter() {
        for &c in arr.values().iter() {
            let code = if c == NULL_CODE && nullable {
                NULL_CODE
            } else {
                match map.get(c as usize) {
                    Some(&code) => code,
                    None => return false,
                }
            };
            out.push(code);
        }
    }
    true
}

/// Appends one block of a slim part's events to `slim` in the run's codes, and their
/// event ids to `ids`, straight from the frame's arrays: a chunk in between was a second
/// copy of every event into fresh pages (a new day's append to 10M events spent a third of
/// its CPU time in the kernel zeroing pages, most under such copies). `false` when a code
/// is out of range or an undeclared type cannot be told apart: the block is then partly
/// appended, and the caller truncates both and reads the gold file instead. A missing
/// column or a null is an error, found before anything is appended.
pub fn append_block(
    df: &DataFrame,
    dicts: &Dicts,
    maps: &Maps,
    slim: &mut SlimEvents,
    ids: &mut Vec<i64>,
) -> PolarsResult<bool> {
    let event_ids = column::<Int64Type>(df, COLUMNS[0])?;
    let user = column::<UInt32Type>(df, COLUMNS[1])?;
    let category = column::<UInt32Type>(df, COLUMNS[4])?;
    let country = column::<UInt32Type>(df, COLUMNS[6])?;
    let kinds = column::<UInt32Type>(df, COLUMNS[3])?;
    let (time, miles) = (
        column::<Int64Type>(df, COLUMNS[2])?,
        column::<Float64Type>(df, COLUMNS[5])?,
    );
    if !(extend_mapped(&mut slim.user, user, &maps.users, false)
        && extend_mapped(&mut slim.category, category, &maps.categories, true)
        && extend_mapped(&mut slim.country, country, &maps.countries, true))
    {
        return Ok(false);
    }
    for t in kinds.into_no_null_iter() {
        slim.event_type.push(match dicts.types.get(t as usize) {
            Some(&code) => code,
            None if t == u32::from(UNDECLARED) && !dicts.types_changed => UNDECLARED,
            None => return Ok(false),
        });
    }
    extend(&mut slim.time, time);
    extend(&mut slim.miles, miles);
    extend(ids, event_ids);
    Ok(true)
}

/// Rows of a slim part written at a time.
const WRITE_BLOCK: usize = 1 << 20;

/// The `gold_slim` task: writes the slim part of the batch's new events and of every gold
/// file that had none, for the next run to read.
pub(super) fn task(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let Some(pending) = lock(&ctx.gold_slim_parts).take() else {
        return Ok(Done::rows(0).with_note("no slim parts to write (a PostgreSQL warehouse)"));
    };
    let types = &ctx.options.ingest.source.events;
    let (mut written, mut offset) = (0u64, 0usize);
    for (part, rows) in &pending.parts {
        let ids = &pending.ids[offset..offset + rows.len()];
        offset += rows.len();
        let mut part_writer = PartWriter::new(&pending.gold.slim, types);
        let path = ctx.with_tx(|tx| tx.stage(&format!("{EVENTS}.parquet")))?;
        let mut file: Option<StreamWriter> = None;
        for start in (rows.start..rows.end).step_by(WRITE_BLOCK) {
            let end = (start + WRITE_BLOCK).min(rows.end);
            let block = &ids[start - rows.start..end - rows.start];
            let df = part_writer
                .events(block, start..end)
                .map_err(compute("gold slim parts"))?;
            let out = match &mut file {
                Some(out) => out,
                None => file.insert(StreamWriter::create(&path, df.schema())?),
            };
            out.write(&df)?;
        }
        let Some(file) = file else { continue };
        file.finish()?;
        ctx.with_tx(|tx| tx.append(&TableSpec::named(EVENTS), &path, part))?;
        let mut dicts = part_writer.dicts().map_err(compute("gold slim parts"))?;
        ctx.write_part(&TableSpec::named(DICTS), &mut dicts, part)?;
        written += rows.len() as u64;
    }
    Ok(Done::rows(written).with_note(format!("{} slim part(s)", pending.parts.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::slim::SlimChunk;

    fn slim(rows: &[(&str, Option<&str>, u8)]) -> SlimEvents {
        let mut chunk = SlimChunk::default();
        for (i, &(user, country, kind)) in rows.iter().enumerate() {
            chunk.user.push(chunk.users.intern(user));
            chunk.time.push(i as i64 * 1_000);
            chunk.event_type.push(kind);
            chunk.category.push(NULL_CODE);
            chunk.miles.push(i as f64 + 0.25);
            chunk
                .country
                .push(country.map_or(NULL_CODE, |c| chunk.countries.intern(c)));
        }
        let mut slim = SlimEvents::default();
        slim.append(chunk, None);
        slim
    }

    fn read_back(
        events: &DataFrame,
        dicts: &DataFrame,
        types: &EventTypes,
        into: &mut SlimEvents,
    ) -> Option<Vec<i64>> {
        let d = Dicts::read(dicts, types).ok()??;
        let maps = d.merge_into(into);
        let (start, mut ids) = (into.len(), Vec::new());
        if append_block(events, &d, &maps, into, &mut ids).ok()? {
            Some(ids)
        } else {
            into.truncate(start);
            None
        }
    }

    #[test]
    fn a_part_reads_back_as_the_same_events_in_the_readers_codes() {
        let types = EventTypes::default();
        let all = slim(&[("a", Some("SG"), 0), ("b", None, 1), ("c", Some("MY"), 2)]);
        // The part of rows 1..3 only: its codes are its own (b is 0 there).
        let (events, dicts) = frames(&all, &[7, 8], 1..3, &types).unwrap_or_else(|e| panic!("{e}"));
        let mut reader = slim(&[("c", Some("MY"), 0)]);
        let ids = read_back(&events, &dicts, &types, &mut reader).unwrap_or_default();
        assert_eq!(ids, vec![7, 8]);
        assert_eq!(reader.len(), 3);
        let users: Vec<&str> = reader
            .user
            .iter()
            .map(|&u| &*reader.users.values()[u as usize])
            .collect();
        assert_eq!(users, vec!["c", "b", "c"]);
        assert_eq!(reader.country[1], NULL_CODE);
        assert_eq!(
            &*reader.countries.values()[reader.country[2] as usize],
            "MY"
        );
        assert_eq!(reader.event_type[1..], [1, 2]);
        assert_eq!(reader.miles[1..], [1.25, 2.25]);
        assert_eq!(reader.time[1..], [1_000, 2_000]);
    }

    #[test]
    fn an_undeclared_type_is_read_from_gold_once_the_declared_types_change() {
        let types = EventTypes::default();
        let all = slim(&[("a", None, UNDECLARED)]);
        let (events, dicts) = frames(&all, &[1], 0..1, &types).unwrap_or_else(|e| panic!("{e}"));
        let mut same = SlimEvents::default();
        assert!(read_back(&events, &dicts, &types, &mut same).is_some());
        let other = EventTypes::new(vec!["like".into()], Default::default());
        let mut changed = SlimEvents::default();
        assert!(read_back(&events, &dicts, &other, &mut changed).is_none());
    }

    #[test]
    fn a_code_out_of_range_is_not_trusted() {
        let types = EventTypes::default();
        let all = slim(&[("a", None, 0)]);
        let (_, dicts) = frames(&all, &[1], 0..1, &types).unwrap_or_else(|e| panic!("{e}"));
        let events = df!(
            COLUMNS[0] => [1i64], COLUMNS[1] => [5u32], COLUMNS[2] => [0i64],
            COLUMNS[3] => [0u32], COLUMNS[4] => [NULL_CODE], COLUMNS[5] => [0.0f64],
            COLUMNS[6] => [NULL_CODE],
        )
        .unwrap_or_default();
        assert!(read_back(&events, &dicts, &types, &mut SlimEvents::default()).is_none());
    }

    #[test]
    fn gold_files_name_their_parts() {
        assert_eq!(
            part_of("gold/fact_events/batch=000002.parquet"),
            Some("batch=000002")
        );
        assert_eq!(
            part_of("gold/fact_events/event_date=2025-03-07/batch=000002.parquet"),
            Some("event_date=2025-03-07/batch=000002")
        );
        assert_eq!(part_of("silver/events/batch=000002.parquet"), None);
        assert_eq!(
            file_of(EVENTS, "batch=000002"),
            "gold/_slim_events/batch=000002.parquet"
        );
    }
}
