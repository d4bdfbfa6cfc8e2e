//! The pipeline as a DAG of tasks (run by the `runner` crate):
//!
//! ```text
//! ingest -> bronze -> test_bronze -> silver ---------------------------------------+
//!                                 -> gold -> test_gold -> activity -> mart_<m> -> test_<m> -> commit
//!                                         -> gold_slim ------------------------------------+
//! ```
//!
//! one `mart_`/`test_` pair per mart and lifecycle table (the lifecycle tests also wait for
//! the growth mart of their grain, which they reconcile with). `commit` runs once
//! everything else is done: with every layer when all succeeded, with only the quarantine
//! otherwise.
//!
//! This file only lists the tasks and wires them, as DataFusion's `Optimizer::new()` lists
//! its rules: each task is a function of the run's context ([`Ctx`]) in the file named
//! after it, with one signature, `Fn(&Ctx) -> Result<Done, PipelineError>`; the tasks hand
//! each other their results through the context's slots.

use std::sync::atomic::Ordering;

use runner::{Dag, DagError, Done, Policy, TaskRecord, TaskState, Trigger};

use super::catalog::Table;
use super::context::{Ctx, lock};
use super::task::Task;
use super::{PipelineError, RunOptions, RunSummary, bronze, commit, gold, gold_slim, ingest};
use super::{marts, quality};
use super::{silver, summary};

/// A task's body: what every task of the pipeline is.
pub(in crate::pipeline) type Body =
    Box<dyn Fn(&Ctx<'_>) -> Result<Done, PipelineError> + Send + Sync>;

/// One task of the plan: what it is, what it waits for, and what it does.
pub(in crate::pipeline) struct Step {
    pub task: Task,
    pub upstream: Vec<Task>,
    pub trigger: Trigger,
    pub body: Body,
}

pub(in crate::pipeline) fn step(
    task: Task,
    upstream: &[Task],
    body: impl Fn(&Ctx<'_>) -> Result<Done, PipelineError> + Send + Sync + 'static,
) -> Step {
    Step {
        task,
        upstream: upstream.to_vec(),
        trigger: Trigger::AllSuccess,
        body: Box::new(body),
    }
}

/// Every task of a run, in the order workers take ready ones (the lifecycle tables'
/// chains, the longest, first).
fn steps() -> Vec<Step> {
    let mut steps = vec![
        step(Task::Ingest, &[], ingest::task::task),
        step(Task::Bronze, &[Task::Ingest], bronze::task),
        step(
            Task::TestBronze,
            &[Task::Bronze],
            quality::tasks::test_bronze,
        ),
        step(Task::Silver, &[Task::TestBronze], silver::task),
        step(Task::Gold, &[Task::TestBronze], gold::task),
        step(Task::TestGold, &[Task::Gold], quality::tasks::test_gold),
        step(Task::Activity, &[Task::TestGold], marts::tasks::activity),
    ];
    let tables = Table::built_from_gold();
    for &table in &tables {
        steps.push(step(Task::Mart(table), &[Task::Activity], move |ctx| {
            marts::tasks::build(ctx, table)
        }));
    }
    // Gold's slim parts are only for the next run: written beside the marts.
    steps.push(step(Task::GoldSlim, &[Task::Gold], gold_slim::task));
    let mut last = vec![Task::Silver, Task::GoldSlim];
    for &table in &tables {
        let mut upstream = vec![Task::Mart(table)];
        upstream.extend(table.reconciles_with().map(Task::Mart));
        steps.push(step(Task::TestMart(table), &upstream, move |ctx| {
            quality::tasks::test_mart(ctx, table)
        }));
        last.push(Task::TestMart(table));
    }
    // Whether everything before the commit succeeded is known when it runs: all_done.
    steps.push(Step {
        trigger: Trigger::AllDone,
        ..step(Task::Commit, &last, commit::task)
    });
    steps
}

/// The runner's DAG of `steps`, each body run on `ctx`; a failure is kept in `ctx`.
fn build<'c>(ctx: &'c Ctx<'c>, steps: Vec<Step>) -> Result<Dag<'c>, DagError> {
    let mut dag = Dag::new();
    for Step {
        task,
        upstream,
        trigger,
        body,
    } in steps
    {
        let upstream: Vec<String> = upstream.iter().map(|u| u.name()).collect();
        let upstream: Vec<&str> = upstream.iter().map(String::as_str).collect();
        dag.task(task.name(), task.group(), &upstream, move || {
            body(ctx).map_err(|e| ctx.fail(e))
        })
        .trigger(trigger);
    }
    dag.validate()
}

/// What a run produced: its summary (or the error that stopped it) and its tasks.
pub struct Outcome {
    pub summary: Result<RunSummary, PipelineError>,
    pub tasks: Vec<TaskRecord>,
}

/// The tasks of a run and their dependencies, each queued (for a run's record before it
/// starts, and for the graph).
pub fn task_list() -> Vec<TaskRecord> {
    records(steps())
}

/// The queued records of a list of steps (the native plan's or the Spark engine's).
pub(in crate::pipeline) fn records(steps: Vec<Step>) -> Vec<TaskRecord> {
    let options = RunOptions {
        input: Default::default(),
        warehouse: crate::warehouse::Location::Dir(Default::default()),
        strict: false,
        max_quarantine: super::DEFAULT_MAX_QUARANTINE,
        ingest: Default::default(),
        progress: None,
    };
    let ctx = Ctx::new(&options);
    build(&ctx, steps)
        .map(|dag| dag.records())
        .unwrap_or_default()
}

/// Logs a task's state change (the runner itself logs nothing).
fn log(r: &TaskRecord, policy: &Policy) {
    let error = r.error.as_deref().unwrap_or_default();
    match r.state {
        TaskState::Running => tracing::debug!(task = %r.name, "task started"),
        TaskState::Success => tracing::debug!(task = %r.name, "task succeeded"),
        TaskState::UpForRetry => tracing::warn!(
            task = %r.name,
            attempt = r.attempts,
            retry_in = ?policy.backoff(r.attempts),
            "task failed, will retry: {error}"
        ),
        // The run's failure is reported once, by whoever started it.
        TaskState::Failed => tracing::info!(task = %r.name, "task failed: {error}"),
        _ => {}
    }
}

/// Runs the pipeline's DAG with `policy`; `observe` sees every task state change.
pub fn run(
    options: &RunOptions,
    policy: &Policy,
    observe: &(dyn Fn(&TaskRecord) + Sync),
) -> Outcome {
    run_steps(options, policy, observe, steps())
}

/// Runs `steps` as a DAG with `policy`: the commit knows whether anything before it
/// failed, and the run's context becomes its summary.
pub(in crate::pipeline) fn run_steps(
    options: &RunOptions,
    policy: &Policy,
    observe: &(dyn Fn(&TaskRecord) + Sync),
    steps: Vec<Step>,
) -> Outcome {
    let started = std::time::Instant::now();
    let ctx = Ctx::new(options);
    let dag = match build(&ctx, steps) {
        Ok(dag) => dag,
        Err(e) => {
            return Outcome {
                summary: Err(PipelineError::Plan(e.to_string())),
                tasks: Vec::new(),
            };
        }
    };
    // The commit runs last (all_done) and must know whether anything before it failed.
    let commit = Task::Commit.name();
    let watch = |r: &TaskRecord| {
        if matches!(r.state, TaskState::Failed | TaskState::Skipped) && r.name != commit {
            ctx.trouble.store(true, Ordering::SeqCst);
        }
        log(r, policy);
        observe(r);
    };
    let tasks = dag.run(policy, &watch);
    let database_peak_rss_bytes = lock(&ctx.warehouse)
        .as_ref()
        .and_then(|w| w.database_peak_rss_bytes());
    drop(dag);
    let summary = summary::summarize(ctx, &tasks, started, database_peak_rss_bytes);
    Outcome { summary, tasks }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mart_has_a_build_and_a_test_task_before_the_commit() {
        let tasks = task_list();
        let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        for table in Table::built_from_gold() {
            assert!(names.contains(&Task::Mart(table).name().as_str()));
            assert!(names.contains(&Task::TestMart(table).name().as_str()));
        }
        assert_eq!(names.first(), Some(&"ingest"));
        assert_eq!(names.last(), Some(&"commit"));
        let commit = tasks.last().unwrap();
        // Every table's test, silver and gold's slim parts.
        assert_eq!(commit.upstream.len(), Table::built_from_gold().len() + 2);
        let lifecycle = tasks
            .iter()
            .find(|t| t.name == "test_user_lifecycle_week")
            .unwrap();
        assert!(
            lifecycle
                .upstream
                .contains(&"mart_user_growth_metrics_week".to_string())
        );
        // silver and gold only need bronze's tests: they run side by side.
        for layer in ["silver", "gold"] {
            let t = tasks.iter().find(|t| t.name == layer).unwrap();
            assert_eq!(t.upstream, vec!["test_bronze".to_string()]);
        }
    }
}
