//! The marts' tasks: `activity` (gold's events and users -> who was active on which day,
//! shared by every mart) and one `mart_<table>` per table built from gold, which builds
//! it with this folder's builders and writes it. Out: each table staged in the run's
//! transaction and kept in the run's context for its tests.

use std::sync::Arc;

use runner::Done;

use super::activity::Activity;
use super::{Names, build_one};
use crate::pipeline::catalog::Table;
use crate::pipeline::context::{Ctx, gone, lock};
use crate::pipeline::{PipelineError, compute};

/// The `activity` task: who was active on which day, what every mart is counted from.
pub(in crate::pipeline) fn activity(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let g = lock(&ctx.gold).clone().ok_or_else(|| gone("gold"))?;
    let act = Activity::new(&g.slim, &g.dim);
    let names = Names::new(&g.slim, &ctx.options.ingest.source.events);
    let pairs = act.pairs();
    *lock(&ctx.last_day) = Some(act.last_day);
    *lock(&ctx.activity) = Some(Arc::new((act, names)));
    Ok(Done::rows(pairs).with_note("active (user, day) pairs"))
}

/// The `mart_<table>` task: builds `table` from gold and the activity, and writes it.
pub(in crate::pipeline) fn build(ctx: &Ctx<'_>, table: Table) -> Result<Done, PipelineError> {
    let shared = lock(&ctx.activity)
        .clone()
        .ok_or_else(|| gone("activity"))?;
    let (act, names) = (&shared.0, &shared.1);
    let g = lock(&ctx.gold).clone().ok_or_else(|| gone("gold"))?;
    let started = std::time::Instant::now();
    let mut df = build_one(table, &g.slim, act, names).map_err(compute("marts"))?;
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
    ctx.write_replace(table, &mut df)?;
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
    Ok(Done::rows(rows))
}
