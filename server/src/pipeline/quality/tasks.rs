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

/// What a table's row tests may need of the run.
pub(in crate::pipeline) fn context(ctx: &Ctx<'_>) -> Context {
    Context {
        last_day: lock(&ctx.last_day).unwrap_or_default(),
        event_types: ctx.options.ingest.source.events.clone(),
    }
}

/// The `test_<table>` task: a table built from gold, with the growth mart it must count
/// to when it is a lifecycle table. A lifecycle table that its `mart_` task tested period
/// by period as it wrote them gets those results here, with its counts compared to the
/// growth mart; one the Spark engine built is tested whole. A lifecycle table rebuilt
/// only in some periods is tested there (its other parts passed when they were written),
/// against those periods of the growth mart, and the growth mart's other periods must be
/// as the previous run left them: the rows there were not rebuilt, so they count to the
/// old numbers.
pub(in crate::pipeline) fn test_mart(ctx: &Ctx<'_>, table: Table) -> Result<Done, PipelineError> {
    let streamed = lock(&ctx.part_tests).remove(&table);
    let (df, other) = {
        let marts = lock(&ctx.marts);
        let df = match streamed {
            Some(_) => None,
            None => Some(
                marts
                    .get(&table)
                    .cloned()
                    .ok_or_else(|| gone(table.name()))?,
            ),
        };
        let other = table
            .reconciles_with()
            .and_then(|m| marts.get(&m).cloned().map(|d| (m, d)));
        (df, other)
    };
    let scope = match table {
        Table::Lifecycle(grain) => lock(&ctx.scopes).get(&grain).cloned(),
        _ => None,
    };
    let context = context(ctx);
    let run = || -> PolarsResult<Vec<TestResult>> {
        let (other, unchanged) = match (&scope, other) {
            (Some(scope), Some((mart, growth))) => {
                let rebuilt = scope.mask(&growth)?;
                let kept = growth.filter(&!&rebuilt)?;
                let before = &scope.previous_growth;
                let before = before.filter(&!&scope.mask(before)?)?;
                let test = TestResult::new(
                    mart.name(),
                    "unchanged_periods(rows of the periods not rebuilt equal the previous run's)"
                        .into(),
                    Severity::Error,
                    differing_rows(&kept, &before)?,
                );
                (Some((mart, growth.filter(&rebuilt)?)), Some(test))
            }
            (_, other) => (other, None),
        };
        let lookup = |t: &str| {
            other
                .as_ref()
                .filter(|(m, _)| t == m.name())
                .map(|(_, d)| d.clone())
        };
        let mut tests = match (streamed, &df) {
            (Some(streamed), _) => streamed.finish(table.name(), &lookup)?,
            (None, Some(df)) => run_table(table.name(), df, &context, &lookup)?,
            (None, None) => polars_bail!(ComputeError: "{} has nothing to test", table.name()),
        };
        tests.extend(unchanged);
        Ok(tests)
    };
    let tests = run().map_err(compute("mart tests"))?;
    gate(ctx, tests)
}

/// A growth row's period, country and four counts.
type GrowthCounts = (Option<i32>, Option<String>, [i64; 4]);

/// Growth rows of `a` and `b` whose counts differ, compared in (period, country) order.
/// Only the counts come from lifecycle rows (`complete` turns true as later days arrive),
/// and a country first seen in this batch adds zero rows to every period: those are
/// left out.
fn differing_rows(a: &DataFrame, b: &DataFrame) -> PolarsResult<u64> {
    const COUNTS: [&str; 4] = [
        "new_users",
        "retained_users",
        "resurrected_users",
        "churned_users",
    ];
    let rows = |df: &DataFrame| -> PolarsResult<Vec<GrowthCounts>> {
        let period = df.column("period")?.cast(&DataType::Int32)?;
        let period = period.i32()?;
        let country = df.column("country")?.str()?;
        let counts = COUNTS
            .iter()
            .map(|c| Ok(df.column(c)?.cast(&DataType::Int64)?.i64()?.clone()))
            .collect::<PolarsResult<Vec<_>>>()?;
        let mut rows: Vec<_> = (0..df.height())
            .map(|i| {
                let n = [0, 1, 2, 3].map(|k| counts[k].get(i).unwrap_or(0));
                (period.get(i), country.get(i).map(str::to_string), n)
            })
            .filter(|(_, _, n)| n.iter().any(|&v| v != 0))
            .collect();
        rows.sort();
        Ok(rows)
    };
    let (a, b) = (rows(a)?, rows(b)?);
    let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    Ok((a.len().max(b.len()) - same) as u64)
}
