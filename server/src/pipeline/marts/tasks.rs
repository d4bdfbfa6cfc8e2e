//! The marts' tasks: `activity` (gold's events and users -> who was active on which day,
//! shared by every mart) and one `mart_<table>` per table built from gold, which builds
//! it with this folder's builders and writes it. Out: each table staged in the run's
//! transaction and kept in the run's context for its tests.
//!
//! In a folder warehouse a lifecycle table is kept as one part per period, so a run that
//! appends a batch rebuilds and writes only the periods the batch can change
//! (`scope.rs`); the first run, a run into PostgreSQL and a run on a table kept whole
//! rebuild it all.

use std::sync::Arc;

use contract::Grain;
use polars::prelude::*;
use runner::Done;

use super::activity::Activity;
use super::scope::{self, Scope};
use super::{Names, build_one};
use crate::pipeline::catalog::Table;
use crate::pipeline::context::{Ctx, Gold, gone, lock};
use crate::pipeline::{PipelineError, compute};
use crate::warehouse::Location;

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
    let mut before = None;
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
        let before = before.get_or_insert_with(|| g.slim.dim_users_of(existing));
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

/// The `mart_<table>` task: builds `table` from gold and the activity, and writes it.
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
    let rebuild = scope.as_ref().map(|s| s.rebuild.as_slice());
    let mut df = build_one(table, &g.slim, act, names, rebuild).map_err(compute("marts"))?;
    let built = started.elapsed();
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
    let by_period =
        matches!(table, Table::Lifecycle(_)) && matches!(ctx.options.warehouse, Location::Dir(_));
    if by_period {
        write_periods(ctx, table, &df, scope.as_deref())?;
    } else {
        ctx.write_replace(table, &mut df)?;
    }
    let rows = df.height() as u64;
    tracing::debug!(
        table = table.short_name(),
        rows,
        built_s = built.as_secs_f64(),
        written_s = (started.elapsed() - built).as_secs_f64(),
        "mart built and written"
    );
    lock(&ctx.rows)
        .marts
        .insert(table.short_name().to_string(), rows);
    lock(&ctx.marts).insert(table, df);
    let done = Done::rows(rows);
    Ok(match scope {
        Some(s) => {
            let (rebuilt, all) = s.counts();
            done.with_note(format!("{rebuilt} of {all} periods rebuilt (the batch's)"))
        }
        None => done,
    })
}

/// Writes a lifecycle table's rows (grouped by period) as one part per period: all of
/// the table's parts, or with a scope, those of the rebuilt periods (a rebuilt period
/// left without rows loses its part).
fn write_periods(
    ctx: &Ctx<'_>,
    table: Table,
    df: &DataFrame,
    scope: Option<&Scope>,
) -> Result<(), PipelineError> {
    let period = df
        .column("period")
        .and_then(|c| c.cast(&DataType::Int32))
        .map_err(compute("lifecycle parts"))?;
    let period = period.i32().map_err(compute("lifecycle parts"))?;
    let days: Vec<i32> = period.iter().map(|d| d.unwrap_or(i32::MIN)).collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..=days.len() {
        if i < days.len() && days[i] == days[start] {
            continue;
        }
        let name = scope::part_name(i64::from(days[start]));
        let mut slice = df.slice(start as i64, i - start);
        let path = ctx.with_tx(|tx| tx.stage(&format!("{}-{name}.parquet", table.name())))?;
        crate::warehouse::parquet::write(&path, &mut slice)?;
        parts.push((path, name));
        start = i;
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
    Ok(())
}
