//! The orchestrator: runs the pipeline as a DAG of tasks (the `runner` crate; the tasks
//! themselves are `pipeline::plan`) with retries, records every run and task in the warehouse's
//! run history ([`crate::warehouse::history`]), and starts runs from the CLI, the HTTP API, a schedule
//! ([`schedule`]) or files arriving in an inbox ([`sensor`]); failed runs are announced
//! to a webhook ([`notify`]). One run at a time per orchestrator: the others wait (the
//! schedule, the sensor) or are refused with the running run's id (the API).

pub mod notify;
pub mod schedule;
pub mod sensor;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use chrono::Utc;
use contract::runs::{RunRow, RunStatus, TaskRow};

use crate::pipeline::ingest::{
    self, IngestError, IngestOptions, Progress, SourceConfig, TimeChoice,
};
use crate::pipeline::spark::{self, SparkError};
use crate::pipeline::{Engine, PipelineError, RunOptions, RunSummary};
use crate::warehouse::Location;
use crate::warehouse::history::{RunHistory, RunHistoryError, seconds, timestamp};
use runner::{FailureKind, Policy, TaskRecord, TaskState};

/// How runs are made.
#[derive(Debug, Clone)]
pub struct Config {
    pub warehouse: Location,
    pub policy: Policy,
    /// Quarantined rows fail the run.
    pub strict: bool,
    /// The share of a batch's rows (0..=1) that may be quarantined before the run fails.
    pub max_quarantine: f64,
    /// Where failure notifications are POSTed.
    pub notify_url: Option<String>,
    /// Told how far each run's ingest has read (the CLI's progress bar).
    pub progress: Option<Arc<dyn Progress>>,
    /// `--config`: the `heymax.toml` every run reads its input with; `None`: the one
    /// beside each input, if any.
    pub source_config: Option<PathBuf>,
    /// `--timezone` and `--source-timezone` (they win over `heymax.toml`'s `[time]`).
    pub time: TimeChoice,
    /// `--engine`: heymax's own, or a Spark cluster.
    pub engine: Engine,
}

impl Config {
    pub fn new(warehouse: Location) -> Self {
        Self {
            warehouse,
            policy: Policy::default(),
            strict: false,
            max_quarantine: crate::pipeline::DEFAULT_MAX_QUARANTINE,
            notify_url: None,
            progress: None,
            source_config: None,
            time: TimeChoice::default(),
            engine: Engine::Native,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error("run {0} is in progress; wait for it to finish (GET /api/runs/{0})")]
    Busy(i64),
    #[error("cannot record the run: {0}")]
    History(#[from] RunHistoryError),
    /// A missing path, an empty file or a wrong header: refused before anything is
    /// written, the run history included.
    #[error(transparent)]
    Input(#[from] IngestError),
    /// An input or setting the Spark engine does not read: refused before anything runs.
    #[error(transparent)]
    Spark(#[from] SparkError),
}

impl Config {
    /// How a run reads `input`: its `heymax.toml`, checked against every file's header
    /// (what every run checks before it is recorded).
    pub fn check_input(&self, input: &Path) -> Result<IngestOptions, OrchestratorError> {
        if matches!(self.engine, Engine::Spark(_)) {
            if let Location::Postgres(_) = &self.warehouse {
                return Err(SparkError::NotAFolder(self.warehouse.to_string()).into());
            }
            if spark::is_uri(input) {
                // The cluster reads it (and checks its header) itself.
                return Ok(IngestOptions::default());
            }
            let options = self.read_input(input)?;
            spark::check_input(input, &options)?;
            return Ok(options);
        }
        Ok(self.read_input(input)?)
    }

    fn read_input(&self, input: &Path) -> Result<IngestOptions, IngestError> {
        let source = SourceConfig::find(input, self.source_config.as_deref())?;
        for file in ingest::resolve_inputs(input)? {
            ingest::read_header(&file, &source)?;
        }
        Ok(IngestOptions {
            time: source.time_options(self.time)?,
            source,
            ..IngestOptions::default()
        })
    }
}

/// A finished run: its history row and the pipeline's summary (or the error that
/// stopped it).
pub struct Finished {
    pub run: RunRow,
    pub summary: Result<RunSummary, PipelineError>,
}

impl Finished {
    pub fn succeeded(&self) -> bool {
        self.run.status == RunStatus::Success
    }
}

pub struct Orchestrator {
    config: Config,
    /// The run in progress: `Some(0)` while it is being recorded, then its id.
    slot: Mutex<Option<i64>>,
    freed: Condvar,
    /// The dashboard's address (`http://host:port/base/`), once a server listens.
    dashboard: OnceLock<String>,
}

impl Orchestrator {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            slot: Mutex::new(None),
            freed: Condvar::new(),
            dashboard: OnceLock::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn slot(&self) -> MutexGuard<'_, Option<i64>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run in progress in this orchestrator.
    pub fn running(&self) -> Option<i64> {
        self.slot().filter(|id| *id > 0)
    }

    /// Says where the dashboard is, for links to runs in notifications.
    pub fn set_dashboard(&self, url: &str) {
        let _ = self.dashboard.set(url.to_string());
    }

    /// The dashboard page of a run, when a server shows one.
    pub fn link(&self, run_id: i64) -> Option<String> {
        self.dashboard
            .get()
            .map(|base| format!("{base}pipeline/?run={run_id}"))
    }

    /// Records a new run; the caller holds the slot.
    fn begin(
        &self,
        slot: &mut Option<i64>,
        trigger: &str,
        input: &Path,
    ) -> Result<RunRow, RunHistoryError> {
        *slot = Some(0);
        let tasks: Vec<TaskRow> = self
            .config
            .engine
            .task_list()
            .iter()
            .map(|t| task_row(0, t))
            .collect();
        let recorded = RunHistory::open(&self.config.warehouse).begin(
            trigger,
            &input.display().to_string(),
            &tasks,
        );
        match recorded {
            Ok(run) => {
                *slot = Some(run.run_id);
                Ok(run)
            }
            Err(e) => {
                *slot = None;
                self.freed.notify_all();
                Err(e)
            }
        }
    }

    /// Runs the pipeline on `input`, after waiting for any run in progress to finish.
    pub fn run(&self, trigger: &str, input: &Path) -> Result<Finished, OrchestratorError> {
        let ingest = self.config.check_input(input)?;
        let run = {
            let mut slot = self.slot();
            while slot.is_some() {
                slot = self.freed.wait(slot).unwrap_or_else(|p| p.into_inner());
            }
            self.begin(&mut slot, trigger, input)?
        };
        Ok(self.execute(run, input, ingest))
    }

    /// Starts a run on a thread of its own unless one is in progress; returns its id.
    pub fn start(
        self: &Arc<Self>,
        trigger: &str,
        input: PathBuf,
    ) -> Result<i64, OrchestratorError> {
        let ingest = self.config.check_input(&input)?;
        let run = {
            let mut slot = self.slot();
            if let Some(id) = *slot {
                return Err(OrchestratorError::Busy(id));
            }
            self.begin(&mut slot, trigger, &input)?
        };
        let id = run.run_id;
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("run-{id}"))
            .spawn(move || {
                me.execute(run, &input, ingest);
            });
        if let Err(e) = spawned {
            *self.slot() = None;
            self.freed.notify_all();
            tracing::error!("cannot start a thread for run {id}: {e}");
        }
        Ok(id)
    }

    /// Runs the DAG for a recorded run, keeps its history current, notifies on failure,
    /// and frees the slot.
    fn execute(&self, mut run: RunRow, input: &Path, ingest: IngestOptions) -> Finished {
        let options = RunOptions {
            input: input.to_path_buf(),
            warehouse: self.config.warehouse.clone(),
            strict: self.config.strict,
            max_quarantine: self.config.max_quarantine,
            ingest,
            progress: self.config.progress.clone(),
        };
        let positions: Vec<String> = self
            .config
            .engine
            .task_list()
            .into_iter()
            .map(|t| t.name)
            .collect();
        let history = Mutex::new(RunHistory::open(&self.config.warehouse));
        let observe = |record: &TaskRecord| {
            let position = positions
                .iter()
                .position(|n| *n == record.name)
                .unwrap_or(positions.len());
            let saved = history
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .task(position, &task_row(run.run_id, record));
            if let Err(e) = saved {
                tracing::warn!(run = run.run_id, task = %record.name, "task state not recorded: {e}");
            }
        };
        tracing::info!(run = run.run_id, trigger = %run.trigger, input = %input.display(), "run started");
        let outcome = self
            .config
            .engine
            .run(&options, &self.config.policy, &observe);
        finish(&mut run, &outcome.tasks, &outcome.summary);
        let saved = history
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .update(&run);
        if let Err(e) = saved {
            tracing::warn!(run = run.run_id, "run's end not recorded: {e}");
        }
        if run.status == RunStatus::Failed {
            notify::run_failed(
                self.config.notify_url.as_deref(),
                &run,
                self.link(run.run_id),
            );
        } else {
            tracing::info!(
                run = run.run_id,
                seconds = run.seconds.unwrap_or_default(),
                "run succeeded"
            );
        }
        *self.slot() = None;
        self.freed.notify_all();
        Finished {
            run,
            summary: outcome.summary,
        }
    }
}

/// Fills in a run's end from its tasks and summary.
fn finish(run: &mut RunRow, tasks: &[TaskRecord], summary: &Result<RunSummary, PipelineError>) {
    let ended = Utc::now();
    run.ended_at = Some(timestamp(ended));
    run.seconds = chrono::DateTime::parse_from_rfc3339(&run.started_at)
        .ok()
        .map(|s| (ended - s.with_timezone(&Utc)).num_milliseconds() as f64 / 1000.0);
    let failed = tasks.iter().find(|t| t.state == TaskState::Failed);
    if let Ok(s) = summary {
        run.batch_id = Some(s.batch_id);
        run.rows = s.ingest.records;
    }
    let ok = matches!(summary, Ok(s) if s.committed) && failed.is_none();
    run.status = if ok {
        RunStatus::Success
    } else {
        RunStatus::Failed
    };
    if !ok {
        run.failed_task = failed.map(|t| t.name.clone());
        run.error = match (failed, summary) {
            (Some(t), _) => {
                let retried = if t.failure == Some(FailureKind::Transient) && t.attempts > 1 {
                    format!(" (after {} attempts)", t.attempts)
                } else {
                    String::new()
                };
                Some(format!("{}{retried}", t.error.clone().unwrap_or_default()))
            }
            (None, Err(e)) => Some(e.to_string()),
            (None, Ok(_)) => Some("the run did not commit".into()),
        };
    }
}

/// A task record as the run history keeps it (a `task_runs` row of run `run_id`).
fn task_row(run_id: i64, r: &TaskRecord) -> TaskRow {
    TaskRow {
        run_id,
        task: r.name.clone(),
        group: r.group.to_string(),
        upstream: r.upstream.clone(),
        state: r.state,
        attempts: r.attempts,
        started_at: r.started_at.map(timestamp),
        ended_at: r.ended_at.map(timestamp),
        seconds: seconds(r.started_at, r.ended_at),
        rows: r.rows,
        error: r.error.clone(),
        note: r.note.clone(),
    }
}
