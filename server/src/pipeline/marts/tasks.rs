//! The marts' tasks: `activity` (gold's events and users -> who was active on which day,
//! shared by every mart) and one `mart_<table>` per table built from gold, which builds
//! it with this folder's builders and writes it. Out: each table staged in the run's
//! transaction and kept in the run's context for its tests.
//!
//! In a folder warehouse a lifecycle table is kept as one part per period, so a run that
//! appends a batch rebuilds and writes only the periods the batch can change
//! (`scope.rs`); the first run, a run into PostgreSQL and a run on a table kept whole
//! rebuild it all.

use std::path::PathBuf;
use std::sync::Arc;

use contract::Grain;
use polars::prelude::*;
use runner::Done;

use super::activity::Activity;
use super::lifecycle::Rows;
use super::scope::{self, Scope};
use super::{Names, build_one};
use crate::pipeline::catalog::Table;
use crate::pipeline::context::{Ctx, Gold, gone, lock, staged_name};
use crate::pipeline::quality::{self, Streamed};
use crate::pipeline::{PipelineError, compute};
use crate::warehouse::{Location, parquet};

/// The `activity` task: who was active on which day, what every mart is counted from.
pub(in crate::pipeline) fn activity(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let g = lock(&ctx.gold).clone().ok_or_else(|| gone("gold"))?;
    let act = Activity::new(&g.slim, &g.dim);
    let names = Names::new(&g.slim, &ctx.options.ingest.source.events);
    let pairs = act.pairs();
    let scopes = scopes(ctx, &g, &act)?;
    *lock(&ctx.scopes) = scopes;
    *lock(&ctx.last_day) = Some(act.last_day);
    *lock(&ctx.activity) = Some(Arc::new((act, names)));
    Ok(Done::rows(pairs).with_note("active (user, day) pairs"))
}

/// The lifecycle tables this run rebuilds only in part: in a folder warehouse whose
/// table is kept by period and which had events before this batch.
fn scopes(
    ctx: &Ctx<'_>,
    g: &Gold,
    act: &Activity,
) -> Result<std::collections::BTreeMap<Grain, Arc<Scope>>, PipelineError> {
    let mut scopes = std::collections::BTreeMap::new();
    let existing = lock(&ctx.ingested)
        .as_ref()
        .map_or(0, |i| i.existing_events);
    if existing == 0 || !matches!(ctx.options.warehouse, Location::Dir(_)) {
        return Ok(scopes);
    }
    let mut warehouse = lock(&ctx.warehouse);
    let wh = warehouse.as_mut().ok_or_else(|| gone("the warehouse"))?;
    let mut computed = None;
    for grain in Grain::ALL {
        let table = Table::Lifecycle(grain).name();
        let growth = Table::Mart(contract::Mart::Growth(grain)).name();
        let Some(parts) = wh
            .folder_files(table)
            .and_then(|(_, files)| scope::period_parts(table, files))
        else {
            continue;
        };
        if !wh.has_table(growth) {
            continue;
        }
        let previous_growth = wh.read_table(growth, None)?;
        let before = match &g.before {
            Some(before) => before,
            None => computed.get_or_insert_with(|| g.slim.dim_users_of(existing)),
        };
        let rebuild = scope::rebuild(&g.slim, act, before, &g.dim, existing, grain);
        scopes.insert(
            grain,
            Arc::new(Scope {
                grain,
                first_idx: grain.ordinal(act.first_day),
                rebuild,
                parts,
                previous_growth,
            }),
        );
    }
    Ok(scopes)
}

/// Threads writing a lifecycle table's period parts: each holds one period's frame.
const WRITERS: usize = 2;

/// What a `mart_<table>` task built: a mart as one frame, or a lifecycle table as rows
/// to write a period at a time.
enum Built {
    Frame(DataFrame),
    Periods(Rows),
}

/// The `mart_<table>` task: builds `table` from gold and the activity, and writes it. A
/// lifecycle table is written and tested a period at a time (`write_periods`), so it is
/// never one frame in memory; the others are kept whole for their tests.
pub(in crate::pipeline) fn build(ctx: &Ctx<'_>, table: Table) -> Result<Done, PipelineError> {
    let shared = lock(&ctx.activity)
        .clone()
        .ok_or_else(|| gone("activity"))?;
    let (act, names) = (&shared.0, &shared.1);
    let g = lock(&ctx.gold).clone().ok_or_else(|| gone("gold"))?;
    let scope = match table {
        Table::Lifecycle(grain) => lock(&ctx.scopes).get(&grain).cloned(),
        _ => None,
    };
    let started = std::time::Instant::now();
    let built = match table {
        Table::Lifecycle(grain) => {
            let rebuild = scope.as_ref().map(|s| s.rebuild.as_slice());
            Rows::new(&g.slim, act, names, grain, rebuild).map(Built::Periods)
        }
        _ => build_one(table, &g.slim, act, names).map(Built::Frame),
    }
    .map_err(compute("marts"))?;
    let built_s = started.elapsed();
    drop((shared, g));
    {
        // The last mart built frees what they all shared.
        let mut left = lock(&ctx.marts_left);
        *left -= 1;
        if *left == 0 {
            *lock(&ctx.activity) = None;
            *lock(&ctx.gold) = None;
        }
    }
    let rows = match built {
        Built::Frame(mut df) => {
            ctx.write_replace(table, &mut df)?;
            let rows = df.height();
            lock(&ctx.marts).insert(table, df);
            rows
        }
        Built::Periods(rows) => {
            let tests = write_periods(ctx, table, &rows, scope.as_deref())?;
            lock(&ctx.part_tests).insert(table, tests);
            rows.len()
        }
    } as u64;
    tracing::debug!(
        table = table.short_name(),
        rows,
        built_s = built_s.as_secs_f64(),
        written_s = (started.elapsed() - built_s).as_secs_f64(),
        "mart built and written"
    );
    lock(&ctx.rows)
        .marts
        .insert(table.short_name().to_string(), rows);
    let done = Done::rows(rows);
    Ok(match scope {
        Some(s) => {
            let (rebuilt, all) = s.counts();
            done.with_note(format!("{rebuilt} of {all} periods rebuilt (the batch's)"))
        }
        None => done,
    })
}

/// Writes a lifecycle table a period at a time, testing each period's frame as it is
/// written (what the table's `test_` task then reports). A folder warehouse keeps one
/// part per period, written side by side: all of the table's parts, or with a scope,
/// those of the rebuilt periods (a rebuilt period left without rows loses its part). A
/// database gets one file of a row group per period.
fn write_periods(
    ctx: &Ctx<'_>,
    table: Table,
    rows: &Rows,
    scope: Option<&Scope>,
) -> Result<Streamed, PipelineError> {
    let context = quality::tasks::context(ctx);
    let test = |tests: &mut Streamed, frame: &DataFrame| {
        tests
            .add(table.name(), frame, &context)
            .map_err(compute("lifecycle tests"))
    };
    let mut tests = Streamed::default();
    let filled = rows.filled();
    if !matches!(ctx.options.warehouse, Location::Dir(_)) {
        let path = ctx.with_tx(|tx| tx.stage(&staged_name(table)))?;
        let empty = rows.frame(0..0).map_err(compute("lifecycle parts"))?;
        let mut writer = parquet::StreamWriter::create(&path, empty.schema())?;
        for &i in &filled {
            let frame = rows.frame(i..i + 1).map_err(compute("lifecycle parts"))?;
            writer.write(&frame)?;
            test(&mut tests, &frame)?;
        }
        writer.finish()?;
        ctx.with_tx(|tx| tx.replace(&table.spec(), &path))?;
        return Ok(tests);
    }
    // Periods are written on plain threads, each taking every n-th period. Not a rayon
    // `par_iter`: polars' Parquet writer joins on rayon's pool, and a pool thread waiting
    // there steals the next period, so every period's frame came to be alive at once
    // (heaptrack: 518 MB of gathered views at the peak, all 91 days of the table).
    let write_one = |i: usize| -> Result<(PathBuf, String, Streamed), PipelineError> {
        let mut frame = rows.frame(i..i + 1).map_err(compute("lifecycle parts"))?;
        let name = scope::part_name(i64::from(rows.start(i)));
        let path = ctx.with_tx(|tx| tx.stage(&format!("{}-{name}.parquet", table.name())))?;
        parquet::write(&path, &mut frame)?;
        let mut tests = Streamed::default();
        test(&mut tests, &frame)?;
        Ok((path, name, tests))
    };
    let threads = WRITERS.min(filled.len()).max(1);
    let mut written: Vec<Option<(PathBuf, String, Streamed)>> = Vec::new();
    written.resize_with(filled.len(), || None);
    std::thread::scope(|s| -> Result<(), PipelineError> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (filled, write_one) = (&filled, &write_one);
                s.spawn(move || {
                    (t..filled.len())
                        .step_by(threads)
                        .map(|k| write_one(filled[k]).map(|w| (k, w)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        for handle in handles {
            let done = handle
                .join()
                .map_err(|_| PipelineError::Plan("a lifecycle writer thread panicked".into()))??;
            for (k, w) in done {
                written[k] = Some(w);
            }
        }
        Ok(())
    })?;
    let mut parts = Vec::with_capacity(written.len());
    for (path, name, part) in written.into_iter().flatten() {
        tests.merge(part).map_err(compute("lifecycle tests"))?;
        parts.push((path, name));
    }
    let spec = table.spec();
    ctx.with_tx(|tx| match scope {
        None => tx.replace_parts(&spec, &parts),
        Some(scope) => {
            let written: Vec<&String> = parts.iter().map(|(_, name)| name).collect();
            let removed: Vec<String> = scope
                .parts
                .iter()
                .filter(|p| !written.contains(p))
                .filter(|p| {
                    p.strip_prefix("period=")
                        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                        .is_some_and(|d| scope.rebuilds(contract::calendar::day_number(d)))
                })
                .cloned()
                .collect();
            tx.update_parts(&spec, &parts, &removed);
        }
    })?;
    Ok(tests)
}
