//! Data-quality tests between layers, in the spirit of `dbt build`: each test is declared
//! as data in `specs.rs` (table, check, severity); the runner counts failing rows. An
//! error-severity failure stops everything downstream of its layer; a warning is reported
//! and the run goes on.

pub mod specs;
pub(in crate::pipeline) mod tasks;

use std::collections::HashSet;
use std::fmt;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::pipeline::schema::{EventTypes, Unknown};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        })
    }
}

/// What a test checks; each counts failing rows of one table.
#[derive(Clone, Copy)]
pub enum Check {
    NotNull(&'static str),
    /// Rows whose key appears more than once (all but the first of each key).
    Unique(&'static [&'static str]),
    AcceptedValues(&'static str, &'static [&'static str]),
    /// Values of the column that are not a declared event type (none fail when unknown
    /// types are kept and `everywhere` is set: bronze keeps them, the interactions mart
    /// never does).
    EventTypes {
        column: &'static str,
        kept_count: bool,
    },
    /// Non-null numbers outside `[min, max]`.
    Range(&'static str, f64, f64),
    /// Non-null values of `column` missing from `to_column` of the table `to`.
    Relationship {
        column: &'static str,
        to: &'static str,
        to_column: &'static str,
    },
    /// A row-level invariant: the function returns the number of rows breaking it.
    Rows(&'static str, fn(&DataFrame, &Context) -> PolarsResult<u64>),
    /// A user-level table counted by (period, country, status) equals the growth mart
    /// `to`: the number of (period, country, status) counts that differ.
    Reconciles {
        to: &'static str,
    },
}

impl Check {
    pub fn name(&self) -> String {
        match self {
            Check::NotNull(c) => format!("not_null({c})"),
            Check::Unique(cs) => format!("unique({})", cs.join(", ")),
            Check::AcceptedValues(c, _) | Check::EventTypes { column: c, .. } => {
                format!("accepted_values({c})")
            }
            Check::Range(c, lo, hi) if *hi == f64::MAX => format!("range({c} >= {lo})"),
            Check::Range(c, lo, hi) => format!("range({c}, {lo}..={hi})"),
            Check::Relationship {
                column,
                to,
                to_column,
            } => format!("relationships({column} -> {to}.{to_column})"),
            Check::Rows(name, _) => (*name).to_string(),
            Check::Reconciles { to } => format!("counts_match({to})"),
        }
    }
}

/// Facts about the run that row invariants may need.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Last calendar day in gold (days since 1970-01-01).
    pub last_day: i64,
    /// The declared event types, for [`Check::EventTypes`].
    pub event_types: EventTypes,
}

/// A declared test.
#[derive(Clone, Copy)]
pub struct TestSpec {
    pub table: &'static str,
    pub check: Check,
    pub severity: Severity,
}

/// The outcome of one test.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestResult {
    pub table: String,
    pub test: String,
    pub severity: Severity,
    pub status: Status,
    pub failing_rows: u64,
}

impl TestResult {
    pub fn new(table: &str, test: String, severity: Severity, failing_rows: u64) -> Self {
        let status = match (failing_rows, severity) {
            (0, _) => Status::Pass,
            (_, Severity::Warn) => Status::Warn,
            (_, Severity::Error) => Status::Fail,
        };
        Self {
            table: table.to_string(),
            test,
            severity,
            status,
            failing_rows,
        }
    }
}

/// Distinct rows over the columns `cs`. A hash per row first: 8 bytes a row, where a
/// table of the rows themselves would take a gigabyte for the 6 million rows of a
/// 10M-event `user_lifecycle_day`. Only rows that hash alike (a duplicate, or a
/// collision) have their keys compared, so the count is exact.
fn distinct_rows(df: &DataFrame, cs: &[&str]) -> PolarsResult<usize> {
    let columns = cs
        .iter()
        .map(|c| KeyColumn::new(df.column(c)?))
        .collect::<PolarsResult<Vec<_>>>()?;
    let n = df.height();
    // Rows grouped by the first key (each value in one run, as a lifecycle table's periods
    // are): each run's rows are counted on their own, by the other keys. One sort of a
    // run's 130,000 hashes stays in cache where one of 12M did not (the lifecycle day
    // table's `unique(period, user_id)`: about 1 s of a 10M-event run).
    if let [first, rest @ ..] = columns.as_slice()
        && !rest.is_empty()
        && let Some(runs) = runs_of(first, n)
    {
        return Ok(runs.into_iter().map(|r| distinct_in(rest, r)).sum());
    }
    Ok(distinct_in(&columns, 0..n))
}

/// Distinct values of a column (a null counts as one value).
fn distinct_values(column: &Column) -> PolarsResult<usize> {
    if let Ok(ids) = column.i64()
        && ids.null_count() == 0
    {
        return Ok(match ids.cont_slice() {
            Ok(values) => distinct_i64(values),
            Err(_) => distinct_i64(&ids.into_no_null_iter().collect::<Vec<_>>()),
        });
    }
    column.n_unique()
}

/// Distinct values among 64-bit integers (gold's 10M event ids on every run), radix-
/// partitioned by a mix of their bits into 256 parts that are each sorted on their own,
/// in parallel: a part's sort stays in cache, where polars' `n_unique` probes one hash
/// table of the whole column (0.4–0.7 s of `test_gold` at 10M, memory-latency bound).
fn distinct_i64(values: &[i64]) -> usize {
    use rayon::prelude::*;
    const PARTS: usize = 256;
    let part = |v: i64| ((v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
    let mut counts = [0usize; PARTS];
    for &v in values {
        counts[part(v)] += 1;
    }
    let mut next = [0usize; PARTS];
    let mut start = 0;
    for (n, c) in next.iter_mut().zip(&counts) {
        *n = start;
        start += c;
    }
    let mut parted = vec![0i64; values.len()];
    for &v in values {
        let p = part(v);
        parted[next[p]] = v;
        next[p] += 1;
    }
    let mut parts = Vec::with_capacity(PARTS);
    let mut rest = parted.as_mut_slice();
    for &c in &counts {
        let (head, tail) = rest.split_at_mut(c);
        parts.push(head);
        rest = tail;
    }
    parts
        .into_par_iter()
        .map(|p| {
            p.sort_unstable();
            p.chunk_by(|a, b| a == b).count()
        })
        .sum()
}

/// The runs of equal values of `column`, when no value comes back after its run ends.
fn runs_of(column: &KeyColumn, n: usize) -> Option<Vec<std::ops::Range<usize>>> {
    let mut runs = Vec::new();
    let mut seen = HashSet::new();
    let (mut start, mut previous, mut key) = (0, Vec::new(), Vec::new());
    for i in 0..n {
        key.clear();
        column.push_key(i, &mut key);
        if i == 0 || key != previous {
            if !seen.insert(key.clone()) {
                return None;
            }
            if i > 0 {
                runs.push(start..i);
            }
            start = i;
            std::mem::swap(&mut previous, &mut key);
        }
    }
    if n > 0 {
        runs.push(start..n);
    }
    Some(runs)
}

/// Distinct keys (over `columns`) among rows `rows`: a sort of 64-bit row hashes, with
/// the rows of a repeated hash compared by their keys.
fn distinct_in(columns: &[KeyColumn], rows: std::ops::Range<usize>) -> usize {
    let key = |i: usize, row: &mut Vec<u8>| {
        row.clear();
        for column in columns {
            column.push_key(i, row);
        }
    };
    let mut hashes = Vec::with_capacity(rows.len());
    let mut row = Vec::new();
    for i in rows {
        key(i, &mut row);
        hashes.push((xxhash_rust::xxh3::xxh3_64(&row), i as u32));
    }
    hashes.sort_unstable();
    let mut distinct = 0;
    for run in hashes.chunk_by(|a, b| a.0 == b.0) {
        if let [_] = run {
            distinct += 1;
            continue;
        }
        let mut keys: Vec<Vec<u8>> = run
            .iter()
            .map(|&(_, i)| {
                key(i as usize, &mut row);
                row.clone()
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        distinct += keys.len();
    }
    distinct
}

/// A column as the bytes of a row key: text as its bytes, anything else (dates, numbers,
/// codes) as its physical integer, so a 12-million-row lifecycle table's dates are not
/// formatted as text to be compared (that was a third of the table's tests).
enum KeyColumn {
    Text(StringChunked),
    Int(Int64Chunked),
}

impl KeyColumn {
    fn new(column: &Column) -> PolarsResult<Self> {
        Ok(match column.dtype() {
            DataType::String => Self::Text(column.str()?.clone()),
            DataType::Float32 | DataType::Float64 => {
                Self::Text(column.cast(&DataType::String)?.str()?.clone())
            }
            _ => Self::Int(
                column
                    .to_physical_repr()
                    .cast(&DataType::Int64)?
                    .i64()?
                    .clone(),
            ),
        })
    }

    fn len(&self) -> usize {
        match self {
            Self::Text(c) => c.len(),
            Self::Int(c) => c.len(),
        }
    }

    /// Appends row `i`'s key: a null marker, the value, a separator (UTF-8 never holds
    /// 0xff, and integers are fixed-width). Returns whether the value was not null.
    fn push_key(&self, i: usize, row: &mut Vec<u8>) -> bool {
        let present = match self {
            Self::Text(c) => c.get(i).map(|v| {
                row.push(1);
                row.extend_from_slice(v.as_bytes());
            }),
            Self::Int(c) => c.get(i).map(|v| {
                row.push(1);
                row.extend_from_slice(&v.to_le_bytes());
            }),
        };
        if present.is_none() {
            row.push(0);
        }
        row.push(0xff);
        present.is_some()
    }
}

/// Counts the rows of `df` failing `check`. `lookup` finds the other side of a relationship.
pub fn failing_rows(
    check: &Check,
    df: &DataFrame,
    ctx: &Context,
    lookup: &dyn Fn(&str) -> Option<DataFrame>,
) -> PolarsResult<u64> {
    Ok(match *check {
        Check::NotNull(c) => df.column(c)?.null_count() as u64,
        Check::Unique([c]) => (df.height() - distinct_values(df.column(c)?)?) as u64,
        Check::Unique(cs) => (df.height() - distinct_rows(df, cs)?) as u64,
        // A handful of values: a scan of the list beats hashing each of 12M rows.
        Check::AcceptedValues(c, values) => df
            .column(c)?
            .str()?
            .iter()
            .flatten()
            .filter(|v| !values.contains(v))
            .count() as u64,
        Check::EventTypes { column, kept_count } => {
            if kept_count && ctx.event_types.unknown() == Unknown::Keep {
                0
            } else {
                df.column(column)?
                    .str()?
                    .iter()
                    .flatten()
                    .filter(|v| !ctx.event_types.names().iter().any(|n| n == v))
                    .count() as u64
            }
        }
        Check::Range(c, lo, hi) => df
            .column(c)?
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .flatten()
            .filter(|v| !(lo..=hi).contains(v))
            .count() as u64,
        Check::Relationship {
            column,
            to,
            to_column,
        } => {
            let Some(other) = lookup(to) else {
                polars_bail!(ComputeError: "relationship target {to} is not available");
            };
            if let (Ok(from), Ok(keys)) = (df.column(column)?.u32(), other.column(to_column)?.u32())
            {
                // Dense codes: a bitmap of the keys beats a join.
                let mut present = vec![false; keys.max().map_or(0, |m| m as usize + 1)];
                for k in keys.iter().flatten() {
                    present[k as usize] = true;
                }
                return Ok(from
                    .iter()
                    .flatten()
                    .filter(|&v| !present.get(v as usize).copied().unwrap_or(false))
                    .count() as u64);
            }
            missing_keys(df.column(column)?, other.column(to_column)?)?
        }
        Check::Rows(_, f) => f(df, ctx)?,
        Check::Reconciles { to } => {
            let Some(growth) = lookup(to) else {
                polars_bail!(ComputeError: "reconciliation target {to} is not available");
            };
            reconcile(df, &growth)?
        }
    })
}

/// Non-null values of `from` that are not among `keys`: a hash set of the keys (the
/// 200,000 users of `dim_users` at 10M events), one lookup per row.
fn missing_keys(from: &Column, keys: &Column) -> PolarsResult<u64> {
    if let (Ok(from), Ok(keys)) = (from.str(), keys.str()) {
        let present: PlHashSet<&str> = keys.iter().flatten().collect();
        return Ok(from
            .iter()
            .flatten()
            .filter(|v| !present.contains(v))
            .count() as u64);
    }
    let (from, keys) = (KeyColumn::new(from)?, KeyColumn::new(keys)?);
    let mut row = Vec::new();
    let mut present = PlHashSet::new();
    for i in 0..keys.len() {
        row.clear();
        if keys.push_key(i, &mut row) {
            present.insert(row.clone());
        }
    }
    let mut missing = 0;
    for i in 0..from.len() {
        row.clear();
        if from.push_key(i, &mut row) && !present.contains(&row) {
            missing += 1;
        }
    }
    Ok(missing)
}

/// Lifecycle rows counted by (period, country, status) against the growth mart's
/// new / retained / resurrected / churned columns; returns how many counts differ.
fn reconcile(lifecycle: &DataFrame, growth: &DataFrame) -> PolarsResult<u64> {
    let mut tally = Tally::default();
    tally.add(lifecycle)?;
    tally.differences(growth)
}

/// The growth mart's four counts, then a slot for a status that is none of them.
const STATUSES: usize = contract::Status::ALL.len() + 1;

/// Lifecycle rows counted by (period, country, status), added up part by part.
#[derive(Default)]
struct Tally {
    countries: PlHashMap<Option<String>, usize>,
    /// (period, country index) -> the cell's index in `counts`.
    cells: PlHashMap<(Option<i32>, usize), usize>,
    counts: Vec<[i64; STATUSES]>,
}

impl Tally {
    /// A dense index per (period, country), so a row costs a lookup of its country and
    /// period, not a hash of the whole key (12M rows at 10M events in the steady shape).
    fn cell(&mut self, day: Option<i32>, country: Option<&str>) -> usize {
        let c = match self.countries.get(&country.map(str::to_string)) {
            Some(&c) => c,
            None => {
                let c = self.countries.len();
                self.countries.insert(country.map(str::to_string), c);
                c
            }
        };
        let next = self.cells.len();
        let cell = *self.cells.entry((day, c)).or_insert(next);
        if cell == self.counts.len() {
            self.counts.push([0; STATUSES]);
        }
        cell
    }

    fn add(&mut self, lifecycle: &DataFrame) -> PolarsResult<()> {
        let period = days(lifecycle)?;
        let country = lifecycle.column("country")?.str()?;
        let status = lifecycle.column("status")?.str()?;
        let mut last = None;
        for ((day, c), s) in period.iter().zip(country.iter()).zip(status.iter()) {
            // Rows come grouped by period: the cell of the previous row is usually this one's.
            let cell = match last {
                Some((d, k, cell)) if d == day && k == c => cell,
                _ => self.cell(day, c),
            };
            last = Some((day, c, cell));
            let k = s
                .and_then(contract::Status::parse)
                .map_or(contract::Status::ALL.len(), contract::Status::index);
            self.counts[cell][k] += 1;
        }
        Ok(())
    }

    /// How many (period, country, status) counts differ from the growth mart's.
    fn differences(mut self, growth: &DataFrame) -> PolarsResult<u64> {
        let period = days(growth)?;
        let country = growth.column("country")?.str()?;
        let counts = [
            "new_users",
            "retained_users",
            "resurrected_users",
            "churned_users",
        ]
        .iter()
        .map(|c| Ok(growth.column(c)?.cast(&DataType::Int64)?.i64()?.clone()))
        .collect::<PolarsResult<Vec<_>>>()?;
        for (i, (day, c)) in period.iter().zip(country.iter()).enumerate() {
            let cell = self.cell(day, c);
            for (k, column) in counts.iter().enumerate() {
                self.counts[cell][k] -= column.get(i).unwrap_or(0);
            }
        }
        Ok(self.counts.iter().flatten().filter(|&&d| d != 0).count() as u64)
    }

    fn merge(&mut self, other: Tally) {
        let mut names: Vec<(Option<String>, usize)> = other.countries.into_iter().collect();
        names.sort_by_key(|(_, c)| *c);
        let names: Vec<Option<String>> = names.into_iter().map(|(n, _)| n).collect();
        for ((day, c), cell) in other.cells {
            let to = self.cell(day, names[c].as_deref());
            for (acc, n) in self.counts[to].iter_mut().zip(other.counts[cell]) {
                *acc += n;
            }
        }
    }
}

fn days(df: &DataFrame) -> PolarsResult<Int32Chunked> {
    Ok(df.column("period")?.cast(&DataType::Int32)?.i32()?.clone())
}

/// Runs every spec declared for `table` against `df`.
pub fn run_table(
    table: &str,
    df: &DataFrame,
    ctx: &Context,
    lookup: &dyn Fn(&str) -> Option<DataFrame>,
) -> PolarsResult<Vec<TestResult>> {
    specs::declared()
        .iter()
        .filter(|s| s.table == table)
        .map(|s| {
            failing_rows(&s.check, df, ctx, lookup)
                .map(|n| TestResult::new(table, s.check.name(), s.severity, n))
        })
        .collect()
}

/// A table's tests run over its parts as they are written, so the whole table is never
/// in memory (bronze's chunks, a lifecycle table's periods). Row checks add up over the
/// parts; `unique` does too because every key starts with a column no two parts share
/// (a part is whole periods, and a period met in two parts fails the run); a
/// reconciliation adds up the parts' counts and compares them at [`Streamed::finish`].
#[derive(Default)]
pub struct Streamed {
    /// Per declared test: failing rows so far (a reconciliation's stay 0).
    failing: Vec<u64>,
    tally: Tally,
    /// The first key column's values met so far, when a test is `unique` over several.
    keys: PlHashSet<Vec<u8>>,
}

impl Streamed {
    pub fn add(&mut self, table: &str, df: &DataFrame, ctx: &Context) -> PolarsResult<()> {
        let none = |_: &str| None;
        let specs: Vec<TestSpec> = specs::declared()
            .into_iter()
            .filter(|s| s.table == table)
            .collect();
        self.failing.resize(specs.len(), 0);
        for (spec, failing) in specs.iter().zip(&mut self.failing) {
            match spec.check {
                Check::Reconciles { .. } => self.tally.add(df)?,
                Check::Unique([first, _, ..]) => {
                    let column = KeyColumn::new(df.column(first)?)?;
                    let Some(runs) = runs_of(&column, df.height()) else {
                        polars_bail!(ComputeError: "a part of {table} whose {first} values are not grouped");
                    };
                    for run in runs {
                        let mut key = Vec::new();
                        column.push_key(run.start, &mut key);
                        if !self.keys.insert(key) {
                            polars_bail!(ComputeError: "one {first} in two parts of {table}");
                        }
                    }
                    *failing += failing_rows(&spec.check, df, ctx, &none)?;
                }
                Check::Unique(_) | Check::Relationship { .. } => {
                    polars_bail!(ComputeError: "{} cannot be tested part by part", spec.check.name())
                }
                _ => *failing += failing_rows(&spec.check, df, ctx, &none)?,
            }
        }
        Ok(())
    }

    /// Adds another part's tests (parts tested side by side).
    pub fn merge(&mut self, other: Streamed) -> PolarsResult<()> {
        if self.failing.len() < other.failing.len() {
            self.failing.resize(other.failing.len(), 0);
        }
        for (acc, n) in self.failing.iter_mut().zip(other.failing) {
            *acc += n;
        }
        for key in other.keys {
            if !self.keys.insert(key) {
                polars_bail!(ComputeError: "one key in two parts of a table");
            }
        }
        self.tally.merge(other.tally);
        Ok(())
    }

    /// The results of `table`'s declared tests; `lookup` finds a reconciliation's growth
    /// mart (a table without one may give none).
    pub fn finish(
        self,
        table: &str,
        lookup: &dyn Fn(&str) -> Option<DataFrame>,
    ) -> PolarsResult<Vec<TestResult>> {
        let mut tally = Some(self.tally);
        specs::declared()
            .into_iter()
            .filter(|s| s.table == table)
            .enumerate()
            .map(|(i, s)| {
                let failing = match s.check {
                    Check::Reconciles { to } => {
                        let Some(growth) = lookup(to) else {
                            polars_bail!(ComputeError: "reconciliation target {to} is not available");
                        };
                        match tally.take() {
                            Some(t) => t.differences(&growth)?,
                            None => polars_bail!(ComputeError: "two reconciliations of {table}"),
                        }
                    }
                    _ => self.failing.get(i).copied().unwrap_or(0),
                };
                Ok(TestResult::new(table, s.check.name(), s.severity, failing))
            })
            .collect()
    }
}

pub fn has_failure(results: &[TestResult]) -> bool {
    results.iter().any(|r| r.status == Status::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_integers_are_counted_across_parts() {
        let mut values: Vec<i64> = (0..10_000).map(|i| i * 7_919 - 5_000_000).collect();
        values.extend([i64::MIN, i64::MAX, -1, 0]);
        let distinct = values.len();
        values.extend_from_within(..300);
        assert_eq!(distinct_i64(&values), distinct);
        assert_eq!(distinct_i64(&[]), 0);
        let df = df!["id" => [Some(3i64), None, Some(3), None]].unwrap();
        let unique = Check::Unique(&["id"]);
        let none = |_: &str| None;
        assert_eq!(
            failing_rows(&unique, &df, &Context::default(), &none).unwrap(),
            2
        );
    }

    #[test]
    fn unique_over_several_columns_counts_duplicates_nulls_included() {
        let df = df![
            "a" => [Some(1i64), Some(1), None, None, Some(2)],
            "b" => [Some("x"), Some("x"), None, None, Some("x")],
        ]
        .unwrap();
        let unique = Check::Unique(&["a", "b"]);
        let none = |_: &str| None;
        assert_eq!(
            failing_rows(&unique, &df, &Context::default(), &none).unwrap(),
            2
        );
        // The first key back after its run: every row counted together.
        let back = df!["a" => [1i64, 2, 1, 2], "b" => ["x", "y", "x", "x"]].unwrap();
        assert_eq!(
            failing_rows(&unique, &back, &Context::default(), &none).unwrap(),
            1
        );
        assert_eq!(
            runs_of(&KeyColumn::new(back.column("a").unwrap()).unwrap(), 4),
            None
        );
        let grouped = df!["a" => [1i64, 1, 2, 2], "b" => ["x", "y", "x", "x"]].unwrap();
        assert_eq!(
            failing_rows(&unique, &grouped, &Context::default(), &none).unwrap(),
            1
        );
        // "1" + "x" and "1x" + null must not hash alike.
        let tricky = df!["a" => [Some("1"), Some("1x")], "b" => [Some("x"), None]].unwrap();
        assert_eq!(
            failing_rows(&unique, &tricky, &Context::default(), &none).unwrap(),
            0
        );
    }

    #[test]
    fn checks_count_failing_rows() {
        let df = df![
            "id" => [1i64, 2, 2, 3],
            "kind" => [Some("like"), Some("poke"), None, Some("share")],
            "rate" => [0.0, 50.0, 100.5, -1.0],
        ]
        .unwrap();
        let dim = df!["id" => [1i64, 2]].unwrap();
        let lookup = |t: &str| (t == "dim").then(|| dim.clone());
        let count = |c: Check| failing_rows(&c, &df, &Context::default(), &lookup).unwrap();
        assert_eq!(count(Check::NotNull("kind")), 1);
        assert_eq!(count(Check::Unique(&["id"])), 1);
        assert_eq!(count(Check::Unique(&["id", "kind"])), 0);
        assert_eq!(count(Check::Unique(&["id", "rate"])), 0);
        assert_eq!(count(Check::AcceptedValues("kind", &["like", "share"])), 1);
        assert_eq!(count(Check::Range("rate", 0.0, 100.0)), 2);
        assert_eq!(
            count(Check::Relationship {
                column: "id",
                to: "dim",
                to_column: "id"
            }),
            1
        );
    }

    #[test]
    fn relationships_on_text_count_missing_values_not_nulls() {
        let facts = df!["user_id" => [Some("a"), Some("b"), None, Some("z"), Some("z")]].unwrap();
        let users = df!["user_id" => ["a", "b", "c"]].unwrap();
        let lookup = |t: &str| (t == "users").then(|| users.clone());
        let check = Check::Relationship {
            column: "user_id",
            to: "users",
            to_column: "user_id",
        };
        assert_eq!(
            failing_rows(&check, &facts, &Context::default(), &lookup).unwrap(),
            2
        );
    }

    #[test]
    fn severity_decides_warn_or_fail() {
        assert_eq!(
            TestResult::new("t", "x".into(), Severity::Warn, 3).status,
            Status::Warn
        );
        assert_eq!(
            TestResult::new("t", "x".into(), Severity::Error, 3).status,
            Status::Fail
        );
        assert_eq!(
            TestResult::new("t", "x".into(), Severity::Error, 0).status,
            Status::Pass
        );
    }
}

#[cfg(test)]
mod reconcile_tests {
    use super::*;

    fn growth() -> DataFrame {
        df!(
            "period" => [Some(20_000i32), Some(20_000)],
            "country" => [Some("SG"), Some("MY")],
            "new_users" => [2i64, 0],
            "retained_users" => [0i64, 1],
            "resurrected_users" => [0i64, 0],
            "churned_users" => [0i64, 1],
        )
        .unwrap()
    }

    fn lifecycle(statuses: [&str; 4]) -> DataFrame {
        df!(
            "period" => [20_000i32; 4],
            "user_id" => ["a", "b", "c", "d"],
            "country" => ["SG", "SG", "MY", "MY"],
            "status" => statuses,
        )
        .unwrap()
    }

    #[test]
    fn lifecycle_counts_must_equal_the_growth_mart() {
        let ok = lifecycle(["new", "new", "retained", "churned"]);
        assert_eq!(reconcile(&ok, &growth()).unwrap(), 0);
        // One user moved from new to retained: two counts differ.
        let bad = lifecycle(["new", "retained", "retained", "churned"]);
        assert_eq!(reconcile(&bad, &growth()).unwrap(), 2);
    }

    #[test]
    fn tests_run_part_by_part_add_up_to_the_whole_tables() {
        let table = "marts.user_lifecycle_day";
        let part = |day: i32, users: [&str; 3], statuses: [&str; 3]| {
            df!(
                "period" => [day; 3],
                "user_id" => users,
                "country" => ["SG", "SG", "MY"],
                "status" => statuses,
            )
            .unwrap()
        };
        // A duplicate user, a status that is none, and counts off the growth mart.
        let first = part(20_000, ["a", "a", "c"], ["new", "new", "retained"]);
        let second = part(20_001, ["a", "b", "c"], ["retained", "bogus", "churned"]);
        let growth = df!(
            "period" => [20_000i32, 20_000, 20_001, 20_001],
            "country" => ["SG", "MY", "SG", "MY"],
            "new_users" => [2i64, 0, 0, 0],
            "retained_users" => [0i64, 1, 1, 0],
            "resurrected_users" => [0i64, 0, 0, 0],
            "churned_users" => [0i64, 0, 1, 1],
        )
        .unwrap();
        let lookup = |t: &str| (t == "marts.user_growth_metrics_day").then(|| growth.clone());
        let ctx = Context::default();
        let whole = run_table(table, &first.vstack(&second).unwrap(), &ctx, &lookup).unwrap();
        let failing: Vec<u64> = whole.iter().map(|r| r.failing_rows).collect();
        // not_null x2, unique, accepted_values, counts_match (the bogus status, and the
        // churned SG user it is missing from).
        assert_eq!(failing, [0, 0, 1, 1, 2], "{whole:?}");
        let mut one = Streamed::default();
        one.add(table, &first, &ctx).unwrap();
        one.add(table, &second, &ctx).unwrap();
        assert_eq!(one.finish(table, &lookup).unwrap(), whole);
        // Parts tested side by side, then merged.
        let (mut a, mut b) = (Streamed::default(), Streamed::default());
        b.add(table, &second, &ctx).unwrap();
        a.add(table, &first, &ctx).unwrap();
        b.merge(a).unwrap();
        assert_eq!(b.finish(table, &lookup).unwrap(), whole);
        // A period in two parts cannot be checked for duplicates part by part.
        let mut twice = Streamed::default();
        twice.add(table, &first, &ctx).unwrap();
        assert!(twice.add(table, &first, &ctx).is_err());
        let (mut a, mut b) = (Streamed::default(), Streamed::default());
        a.add(table, &first, &ctx).unwrap();
        b.add(table, &first, &ctx).unwrap();
        assert!(a.merge(b).is_err());
    }
}
