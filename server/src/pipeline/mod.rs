//! The pipeline: input CSVs -> ingest -> bronze -> silver -> gold -> marts, with the
//! quality tests of each layer run before the next layer is built. One run loads one batch
//! and commits it to the warehouse atomically; a failed error-severity test commits only
//! the quarantine (so bad rows can be inspected) and leaves every layer as it was.
//!
//! `plan.rs` lists the tasks and wires them; each task is in the file named after what
//! it builds (`bronze.rs`, `silver.rs`, `gold.rs`, `ingest/task.rs`, `marts/tasks.rs`,
//! `quality/tasks.rs`, `commit.rs`), and they hand each other their results through
//! `context.rs`. `summary.rs` turns a finished run into its summary.

pub mod bronze;
pub mod catalog;
pub mod codes;
mod commit;
mod context;
pub mod gold;
pub mod gold_slim;
pub mod ingest;
pub mod load;
pub mod marts;
pub mod plan;
pub mod quality;
pub mod schema;
pub mod silver;
pub mod slim;
pub mod spark;
mod summary;
pub mod task;

use std::sync::Arc;

use polars::prelude::*;

use crate::warehouse::{Location, WarehouseError};
use ingest::{IngestError, IngestOptions, Progress};
use runner::Policy;
pub use summary::{LayerRows, RunSummary, Stage};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Zone(#[from] ingest::time::ZoneError),
    #[error(transparent)]
    Spark(#[from] spark::SparkError),
    #[error("the loader thread stopped unexpectedly; see the error logged before this one")]
    LoaderStopped,
    /// Ingest stopped early: so many lines were bad that the batch would fail anyway, and
    /// keeping every bad line in memory is what a hostile file would make heymax do.
    #[error(
        "stopped reading after {quarantined} of {records} lines were quarantined (more than --max-quarantine {percent}%); the first: {first}. The input does not look like events: fix it, or raise --max-quarantine to load what parses. Nothing was written."
    )]
    TooMuchQuarantine {
        quarantined: u64,
        records: u64,
        percent: f64,
        first: String,
    },
    #[error("the pipeline's plan is broken: {0}")]
    Plan(String),
    /// An error-severity test failed: the task fails (and is not retried), its downstream
    /// is skipped and the run commits only the quarantine.
    #[error("{count} error-severity test(s) failed: {failed}")]
    TestsFailed { count: usize, failed: String },
    #[error("task {task} failed: {message}")]
    Task { task: String, message: String },
    #[error("computing {stage}: {source}")]
    Compute {
        stage: &'static str,
        source: PolarsError,
    },
}

impl From<PolarsError> for PipelineError {
    fn from(source: PolarsError) -> Self {
        PipelineError::Compute {
            stage: "a frame",
            source,
        }
    }
}

pub(crate) fn compute(stage: &'static str) -> impl FnOnce(PolarsError) -> PipelineError {
    move |source| PipelineError::Compute { stage, source }
}

/// Quarantined lines a batch may hold before ingest stops early, when their share is over
/// `--max-quarantine` (the run would fail anyway): bounds the memory a file of bad lines
/// takes (a quarantined line keeps at most 1 KiB of its text).
pub const QUARANTINE_STOP: u64 = 100_000;

/// `--max-quarantine`'s default: a tenth of the batch.
pub const DEFAULT_MAX_QUARANTINE: f64 = 0.10;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub input: std::path::PathBuf,
    pub warehouse: Location,
    /// Quarantined rows fail the run instead of warning.
    pub strict: bool,
    /// The share of the batch's rows (0..=1) that may be quarantined; above it the run
    /// fails like a failed error-severity test. A batch where nothing loads always fails.
    pub max_quarantine: f64,
    pub ingest: IngestOptions,
    /// Told how far ingest has read (the CLI's progress bar); `None`: nobody watches.
    pub progress: Option<Arc<dyn Progress>>,
}

/// Peak resident memory of this process so far (Linux; 0 elsewhere).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

pub(crate) fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Which engine computes the layers and marts: heymax's own (the fast path on one
/// machine) or an Apache Spark cluster. Both write the same warehouse.
#[derive(Debug, Clone, Default)]
pub enum Engine {
    #[default]
    Native,
    Spark(spark::SparkOptions),
}

impl Engine {
    /// The tasks of a run, queued.
    pub fn task_list(&self) -> Vec<runner::TaskRecord> {
        match self {
            Engine::Native => plan::task_list(),
            Engine::Spark(s) => spark::task_list(s),
        }
    }

    /// Runs the pipeline's DAG with `policy`; `observe` sees every task state change.
    pub fn run(
        &self,
        options: &RunOptions,
        policy: &Policy,
        observe: &(dyn Fn(&runner::TaskRecord) + Sync),
    ) -> plan::Outcome {
        match self {
            Engine::Native => plan::run(options, policy, observe),
            Engine::Spark(s) => spark::run(options, s, policy, observe),
        }
    }
}

/// Runs the whole pipeline on `options.input` into `options.warehouse`, as the DAG of
/// [`plan`] with the default retries, and returns its summary.
pub fn run(options: &RunOptions) -> Result<RunSummary, PipelineError> {
    plan::run(options, &Policy::default(), &|_| {}).summary
}
