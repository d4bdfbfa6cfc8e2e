//! The test tasks: `test_bronze` (the batch's counts and bronze's streamed row tests),
//! `test_gold` (gold's facts and users) and one `test_<table>` per table built from gold,
//! each running this folder's declared specs on what its upstream left in the run's
//! context. Out: the results, recorded for the summary, and the gate: an error-severity
//! failure fails the task (not retried), which skips everything downstream.

use polars::prelude::*;
use runner::Done;

use super::{Context, Severity, Status, TestResult, run_table};
use crate::pipeline::catalog::Table;
use crate::pipeline::context::{Ctx, gone, lock};
use crate::pipeline::{PipelineError, compute, schema};

/// Records test results; an error-severity failure fails the task.
pub(in crate::pipeline) fn gate(
    ctx: &Ctx<'_>,
    results: Vec<TestResult>,
) -> Result<Done, PipelineError> {
    let failed: Vec<String> = results
        .iter()
        .filter(|t| t.status == Status::Fail)
        .map(|t| format!("{} {} ({} rows)", t.table, t.test, t.failing_rows))
        .collect();
    let warned = results.iter().filter(|t| t.status == Status::Warn).count();
    let count = results.len() as u64;
    lock(&ctx.tests).extend(results);
    if !failed.is_empty() {
        return Err(PipelineError::TestsFailed {
            count: failed.len(),
            failed: failed.join("; "),
        });
    }
    let done = Done::rows(count).with_note(format!("{count} tests passed"));
    Ok(if warned > 0 {
        done.with_note(format!("{count} tests: {warned} warning(s)"))
    } else {
        done
    })
}

/// The `test_bronze` task: the batch reconciles with what was read, something parsed,
/// not too much was quarantined; then bronze's row tests, counted while it streamed.
pub(in crate::pipeline) fn test_bronze(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let options = ctx.options;
    let mut ingested = lock(&ctx.ingested);
    let ing = ingested.as_mut().ok_or_else(|| gone("ingest's batch"))?;
    let stats = &ing.stats;
    let mut tests = vec![
        TestResult::new(
            Table::Bronze.name(),
            "row_count_reconciliation(ingested = bronze + quarantined)".into(),
            Severity::Error,
            stats.records.abs_diff(ing.bronze_rows + stats.quarantined),
        ),
        // A batch where nothing parsed is a wrong file, not an empty day: publishing
        // its (empty) marts would blank the dashboard.
        TestResult::new(
            Table::Bronze.name(),
            "rows_loaded(at least one row of the batch parses)".into(),
            Severity::Error,
            if stats.good == 0 { stats.records } else { 0 },
        ),
        TestResult::new(
            Table::Quarantine.name(),
            format!(
                "quarantined_share(at most {}% of the batch, --max-quarantine)",
                options.max_quarantine * 100.0
            ),
            Severity::Error,
            if stats.quarantined as f64 > options.max_quarantine * stats.records as f64 {
                stats.quarantined
            } else {
                0
            },
        ),
        TestResult::new(
            Table::Quarantine.name(),
            "no_quarantined_rows".into(),
            if options.strict {
                Severity::Error
            } else {
                Severity::Warn
            },
            stats.quarantined,
        ),
    ];
    tests.extend(std::mem::take(&mut ing.bronze_tests));
    drop(ingested);
    gate(ctx, tests)
}

/// The `test_gold` task: gold's facts (as event ids and user codes) and dim_users.
pub(in crate::pipeline) fn test_gold(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let g = lock(&ctx.gold).clone().ok_or_else(|| gone("gold"))?;
    let dim_frame = lock(&ctx.dim_frame)
        .take()
        .ok_or_else(|| gone("dim_users"))?;
    // Users are tested as their codes: one code per distinct user_id.
    let ids = std::mem::take(&mut *lock(&ctx.gold_ids));
    let run = || -> PolarsResult<Vec<TestResult>> {
        let fact = DataFrame::new(
            ids.len(),
            vec![
                Column::new(schema::EVENT_ID.into(), ids),
                Column::new("user_id".into(), g.slim.user.as_slice()),
            ],
        )?;
        let dim_codes = DataFrame::new(
            g.dim.len(),
            vec![Column::new(
                "user_id".into(),
                (0..g.dim.len() as u32).collect::<Vec<_>>(),
            )],
        )?;
        let lookup = |t: &str| (t == Table::DimUsers.name()).then(|| dim_codes.clone());
        let context = Context {
            event_types: ctx.options.ingest.source.events.clone(),
            ..Context::default()
        };
        let mut tests = run_table(Table::GoldEvents.name(), &fact, &context, &lookup)?;
        tests.extend(run_table(
            Table::DimUsers.name(),
            &dim_frame,
            &context,
            &lookup,
        )?);
        Ok(tests)
    };
    let tests = run().map_err(compute("gold tests"))?;
    gate(ctx, tests)
}

/// The `test_<table>` task: a table built from gold, with the growth mart it must count
/// to when it is a lifecycle table.
pub(in crate::pipeline) fn test_mart(ctx: &Ctx<'_>, table: Table) -> Result<Done, PipelineError> {
    let (df, other) = {
        let marts = lock(&ctx.marts);
        let df = marts
            .get(&table)
            .cloned()
            .ok_or_else(|| gone(table.name()))?;
        let other = table
            .reconciles_with()
            .and_then(|m| marts.get(&m).cloned().map(|d| (m, d)));
        (df, other)
    };
    let context = Context {
        last_day: lock(&ctx.last_day).unwrap_or_default(),
        event_types: ctx.options.ingest.source.events.clone(),
    };
    let lookup = |t: &str| {
        other
            .as_ref()
            .filter(|(m, _)| t == m.name())
            .map(|(_, d)| d.clone())
    };
    let tests = run_table(table.name(), &df, &context, &lookup).map_err(compute("mart tests"))?;
    gate(ctx, tests)
}
