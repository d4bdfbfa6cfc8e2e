//! Slim events: gold's events reduced to what the marts read (user, time, type, category,
//! miles, country), with dictionary codes instead of strings.
//!
//! Ingest fills it chunk by chunk as it parses; a later run fills it from gold's Parquet
//! parts. Either way the marts see the same codes.

use polars::prelude::*;

use super::codes::{Gained, Interner, NULL_CODE, SharedMaps, remap};
use super::schema::{EventTypes, UNDECLARED};

/// Slim columns of one parsed chunk, with codes local to the chunk (its own interners), or
/// with `shared` the codes of a parser thread's interners.
#[derive(Debug, Default)]
pub struct SlimChunk {
    pub user: Vec<u32>,
    pub time: Vec<i64>,
    pub event_type: Vec<u8>,
    pub category: Vec<u32>,
    pub miles: Vec<f64>,
    pub country: Vec<u32>,
    pub users: Interner,
    pub categories: Interner,
    pub countries: Interner,
    pub shared: Option<Shared>,
}

/// The interners one parser thread keeps for a whole input: interning a user once per
/// thread, not once per piece, took what a piece's interner and its merge cost (two
/// lookups and a `Box<str>` per distinct user per piece: 13 % of a 10M-event run's
/// profile, `Interner::intern` + `memcmp`) down to one lookup per row.
#[derive(Debug, Default)]
pub struct Dictionaries {
    pub users: Interner,
    pub categories: Interner,
    pub countries: Interner,
}

impl Dictionaries {
    pub fn lens(&self) -> [usize; 3] {
        [
            self.users.len(),
            self.categories.len(),
            self.countries.len(),
        ]
    }

    pub fn gained_since(&self, lens: [usize; 3]) -> [Gained; 3] {
        [
            self.users.gained_since(lens[0]),
            self.categories.gained_since(lens[1]),
            self.countries.gained_since(lens[2]),
        ]
    }
}

/// A chunk coded by parser thread `source`'s [`Dictionaries`], with the gains (of any
/// thread) to replay before its codes are read: a piece parsed after a later one of its
/// block may use values that piece brought, so a block's gains travel with its first piece.
#[derive(Debug, Default)]
pub struct Shared {
    pub source: usize,
    pub gains: Vec<(usize, [Gained; 3])>,
}

impl SlimChunk {
    /// The slim columns of a gold-shaped frame, with codes local to it. Event types are
    /// interned like the other text columns, then mapped to their declared codes once per
    /// distinct name (a declared type matches whatever its case).
    pub fn from_frame(df: &DataFrame, types: &EventTypes) -> PolarsResult<Self> {
        let user = df.column("user_id")?.str()?;
        let time = df.column("event_time")?.cast(&DataType::Int64)?;
        let time = time.i64()?;
        let event_type = df.column("event_type")?.str()?;
        let category = df.column("transaction_category")?.str()?;
        let miles = df.column("miles_amount")?.f64()?;
        let country = df.column("country")?.str()?;
        if user.null_count() + time.null_count() + event_type.null_count() > 0 {
            polars_bail!(ComputeError: "gold has a row with a null user_id, event_time or event_type");
        }
        let mut chunk = SlimChunk::default();
        let n = df.height();
        chunk.user.reserve(n);
        chunk
            .user
            .extend(user.iter().flatten().map(|u| chunk.users.intern(u)));
        chunk.time = time.into_no_null_iter().collect();
        let mut type_names = Interner::default();
        let local: Vec<u32> = event_type
            .iter()
            .flatten()
            .map(|t| type_names.intern(t))
            .collect();
        let declared: Vec<u8> = type_names
            .values()
            .iter()
            .map(|name| {
                types
                    .names()
                    .iter()
                    .position(|e| e.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
                    .map_or(UNDECLARED, |c| c as u8)
            })
            .collect();
        chunk.event_type = local.iter().map(|&c| declared[c as usize]).collect();
        let codes = |column: &StringChunked, dict: &mut Interner| -> Vec<u32> {
            column
                .iter()
                .map(|v| v.map_or(NULL_CODE, |v| dict.intern(v)))
                .collect()
        };
        chunk.category = codes(category, &mut chunk.categories);
        chunk.miles = miles.iter().map(|m| m.unwrap_or(0.0)).collect();
        chunk.country = codes(country, &mut chunk.countries);
        Ok(chunk)
    }
}

/// Every gold event the marts will read, with codes into run-wide dictionaries.
#[derive(Debug, Default)]
pub struct SlimEvents {
    pub user: Vec<u32>,
    pub time: Vec<i64>,
    pub event_type: Vec<u8>,
    pub category: Vec<u32>,
    pub miles: Vec<f64>,
    pub country: Vec<u32>,
    pub users: Interner,
    pub categories: Interner,
    pub countries: Interner,
}

impl SlimEvents {
    pub fn len(&self) -> usize {
        self.user.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }

    /// Room for `additional` more events, so ingest's appends do not copy the columns
    /// each time they double (untouched capacity costs no memory).
    pub fn reserve(&mut self, additional: usize) {
        self.user.reserve(additional);
        self.time.reserve(additional);
        self.event_type.reserve(additional);
        self.category.reserve(additional);
        self.miles.reserve(additional);
        self.country.reserve(additional);
    }

    /// Appends a chunk whose codes are already this run's (its dictionaries are ignored).
    pub fn extend_coded(&mut self, chunk: SlimChunk) {
        self.user.extend_from_slice(&chunk.user);
        self.time.extend_from_slice(&chunk.time);
        self.event_type.extend_from_slice(&chunk.event_type);
        self.category.extend_from_slice(&chunk.category);
        self.miles.extend_from_slice(&chunk.miles);
        self.country.extend_from_slice(&chunk.country);
    }

    /// Drops the events from `len` on (the dictionaries keep their values).
    pub fn truncate(&mut self, len: usize) {
        self.user.truncate(len);
        self.time.truncate(len);
        self.event_type.truncate(len);
        self.category.truncate(len);
        self.miles.truncate(len);
        self.country.truncate(len);
    }

    /// [`append`](Self::append) for a chunk ingest parsed: one coded by a parser thread's
    /// interners is mapped through `maps` (grown by the gains it brings).
    pub fn append_parsed(
        &mut self,
        mut chunk: SlimChunk,
        keep: Option<&[bool]>,
        maps: &mut [SharedMaps; 3],
    ) -> PolarsResult<()> {
        let Some(shared) = chunk.shared.take() else {
            self.append(chunk, keep);
            return Ok(());
        };
        let mut ok = true;
        for (source, [users, categories, countries]) in &shared.gains {
            ok &= maps[0].replay(&mut self.users, *source, users);
            ok &= maps[1].replay(&mut self.categories, *source, categories);
            ok &= maps[2].replay(&mut self.countries, *source, countries);
        }
        let s = shared.source;
        ok &= maps[0].remap(s, &mut chunk.user);
        ok &= maps[1].remap(s, &mut chunk.category);
        ok &= maps[2].remap(s, &mut chunk.country);
        if !ok {
            polars_bail!(ComputeError: "a parsed piece uses codes its parser's dictionary never sent (a bug: please report it)");
        }
        self.push_kept(chunk, keep);
        Ok(())
    }

    /// Puts the codes dictionaries gained from `bases` on (`[users, categories,
    /// countries]`) in the order of their first use by events from `from` on, so the
    /// codes do not depend on which parser thread met a value first.
    pub fn first_use_order(&mut self, from: usize, bases: [usize; 3]) {
        let from = from.min(self.len());
        self.users.first_use_order(bases[0], &mut self.user[from..]);
        self.categories
            .first_use_order(bases[1], &mut self.category[from..]);
        self.countries
            .first_use_order(bases[2], &mut self.country[from..]);
    }

    /// Appends the rows of `chunk` whose `keep` flag is set (all rows when `keep` is `None`).
    pub fn append(&mut self, mut chunk: SlimChunk, keep: Option<&[bool]>) {
        remap(&mut chunk.user, &self.users.merge(&chunk.users));
        remap(
            &mut chunk.category,
            &self.categories.merge(&chunk.categories),
        );
        remap(&mut chunk.country, &self.countries.merge(&chunk.countries));
        self.push_kept(chunk, keep);
    }

    fn push_kept(&mut self, chunk: SlimChunk, keep: Option<&[bool]>) {
        match keep {
            None => self.extend_coded(chunk),
            Some(keep) => {
                for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
                    self.user.push(chunk.user[i]);
                    self.time.push(chunk.time[i]);
                    self.event_type.push(chunk.event_type[i]);
                    self.category.push(chunk.category[i]);
                    self.miles.push(chunk.miles[i]);
                    self.country.push(chunk.country[i]);
                }
            }
        }
    }

    /// Reads slim columns out of gold-shaped frames (strings are interned here). A type
    /// `types` does not declare (declared in an earlier run, or kept as unknown) is
    /// [`UNDECLARED`]: still activity, not an interaction.
    ///
    /// Slices of the frame are read on every core, each into a [`SlimChunk`] with its own
    /// dictionaries, then merged in order like ingest's chunks: a run appending a small
    /// batch reads all of gold this way, and interning 10M rows on one thread, a row at a
    /// time through `get(i)`, was 9 s of a 15 s run (perf: `Interner::intern`, `memcmp`,
    /// `ChunkedArray::get` at the top).
    pub fn append_frame(&mut self, df: &DataFrame, types: &EventTypes) -> PolarsResult<()> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let size = df.height().div_ceil(threads).max(1 << 16);
        let slices: Vec<DataFrame> = (0..df.height())
            .step_by(size)
            .map(|offset| df.slice(offset as i64, size))
            .collect();
        let chunks = std::thread::scope(|scope| {
            let handles: Vec<_> = slices
                .iter()
                .map(|slice| scope.spawn(move || SlimChunk::from_frame(slice, types)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(
                        |_| polars_bail!(ComputeError: "a thread reading gold stopped"),
                    )
                })
                .collect::<PolarsResult<Vec<_>>>()
        })?;
        for chunk in chunks {
            self.append(chunk, None);
        }
        Ok(())
    }

    /// One row per user: first and last event time and the country of the latest event
    /// that has one. Two countries at the same instant: the greater name wins, so the
    /// result never depends on row order (a database returns rows in no set order).
    /// A single pass over dense codes.
    /// See: METRICS.md, Layers (gold: dim_users) and the input table (latest country wins).
    fn country_name(&self, code: u32) -> Option<&str> {
        self.countries.values().get(code as usize).map(|s| &**s)
    }

    pub fn dim_users(&self) -> DimUsers {
        self.dim_users_of(self.len())
    }

    /// `dim_users` as the first `events` events alone make it (gold before a batch), over
    /// every user code (a user without such an event has no first event: `i64::MAX`).
    pub fn dim_users_of(&self, events: usize) -> DimUsers {
        let n = self.users.len();
        let mut dim = DimUsers {
            country: vec![NULL_CODE; n],
            first: vec![i64::MAX; n],
            last: vec![i64::MIN; n],
            country_time: vec![i64::MIN; n],
        };
        self.add_to(&mut dim, 0..events.min(self.len()));
        dim
    }

    /// `dim_users` of all events from `before`, `dim_users_of(from)`: only the events
    /// from `from` on are read (an append's batch, not gold's history again). The same as
    /// `dim_users()`, as each field is a min or max over the user's events.
    pub fn dim_users_after(&self, before: &DimUsers, from: usize) -> DimUsers {
        let mut dim = before.clone();
        self.add_to(&mut dim, from.min(self.len())..self.len());
        dim
    }

    /// Adds the events `events` (in range) to `dim`.
    fn add_to(&self, dim: &mut DimUsers, events: std::ops::Range<usize>) {
        for i in events {
            let (u, t, c) = (self.user[i] as usize, self.time[i], self.country[i]);
            dim.first[u] = dim.first[u].min(t);
            dim.last[u] = dim.last[u].max(t);
            let later = t > dim.country_time[u]
                || (t == dim.country_time[u]
                    && self.country_name(c) > self.country_name(dim.country[u]));
            if c != NULL_CODE && later {
                dim.country[u] = c;
                dim.country_time[u] = t;
            }
        }
    }
}

/// `dim_users` by user code.
#[derive(Debug, Clone, PartialEq)]
pub struct DimUsers {
    pub country: Vec<u32>,
    pub first: Vec<i64>,
    pub last: Vec<i64>,
    country_time: Vec<i64>,
}

impl DimUsers {
    pub fn len(&self) -> usize {
        self.country.len()
    }

    pub fn is_empty(&self) -> bool {
        self.country.is_empty()
    }
}

/// Events for tests: one per `(user, day)` (days since 1970, at 00:00:00.000005), of type 0,
/// with no category, miles or country.
#[cfg(test)]
pub fn events_on_days(rows: &[(&str, i64)]) -> SlimEvents {
    let mut chunk = SlimChunk::default();
    for &(user, day) in rows {
        chunk.user.push(chunk.users.intern(user));
        chunk.time.push(day * super::schema::MICROS_PER_DAY + 5);
        chunk.event_type.push(0);
        chunk.category.push(NULL_CODE);
        chunk.miles.push(0.0);
        chunk.country.push(NULL_CODE);
    }
    let mut slim = SlimEvents::default();
    slim.append(chunk, None);
    slim
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(countries: &[&str]) -> SlimEvents {
        let n = countries.len();
        let df = df!(
            "user_id" => vec!["u"; n],
            "event_time" => vec![5i64; n],
            "event_type" => vec!["like"; n],
            "transaction_category" => vec![None::<&str>; n],
            "miles_amount" => vec![None::<f64>; n],
            "country" => countries.to_vec(),
        )
        .unwrap_or_default();
        let mut slim = SlimEvents::default();
        slim.append_frame(&df, &EventTypes::default())
            .unwrap_or_else(|e| panic!("{e}"));
        slim
    }

    #[test]
    fn a_tie_on_time_picks_the_same_country_in_any_row_order() {
        for order in [["MY", "SG"], ["SG", "MY"]] {
            let slim = events(&order);
            let dim = slim.dim_users();
            assert_eq!(slim.country_name(dim.country[0]), Some("SG"), "{order:?}");
        }
    }

    #[test]
    fn users_before_a_batch_then_the_batch_make_the_whole_dim_users() {
        let df = df!(
            "user_id" => ["a", "b", "a", "c", "b", "a", "c"],
            "event_time" => [5i64, 9, 2, 4, 9, 7, 1],
            "event_type" => vec!["like"; 7],
            "transaction_category" => vec![None::<&str>; 7],
            "miles_amount" => vec![None::<f64>; 7],
            "country" => [Some("SG"), Some("MY"), Some("TH"), None, Some("SG"), None, Some("ID")],
        )
        .unwrap_or_default();
        let mut slim = SlimEvents::default();
        slim.append_frame(&df, &EventTypes::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let whole = slim.dim_users();
        for split in 0..=slim.len() {
            let before = slim.dim_users_of(split);
            assert_eq!(
                slim.dim_users_after(&before, split),
                whole,
                "split at {split}"
            );
        }
        // b's two events tie on time: the greater name wins whichever part has it.
        assert_eq!(slim.country_name(whole.country[1]), Some("SG"));
        assert_eq!((whole.first[0], whole.last[0]), (2, 7));
    }
}
