//! The run history: a `runs` table (one row per pipeline run) and a `task_runs` table
//! (one row per task of a run), kept in the warehouse so it outlives the process.
//!
//! In flow [`RunRow`]s and [`TaskRow`]s (the contract's types, which the orchestrator
//! fills from its DAG); out flow the same rows for `heymax runs` and the Pipeline API.
//! Storage sits beside the warehouse's own two backends, one file each:
//!
//! - a folder warehouse ([`folder`]): `_heymax/runs.parquet` and one
//!   `_heymax/task_runs/run=<id>.parquet` per run, each rewritten whole (to a temporary
//!   name, then renamed) when it changes; `_heymax/runs.lock` serialises writers from
//!   several processes.
//! - PostgreSQL ([`postgres`]): `heymax.runs` and `heymax.task_runs`, written outside the
//!   pipeline's load transaction so a run in progress is visible while it runs.
//!
//! The backend is picked once, in [`RunHistory::open`]; this file keeps what both share:
//! how a stored row becomes a [`RunRow`] or [`TaskRow`], and the healing of a run left
//! `running` by a process that no longer exists (killed, machine restarted), which reads
//! as `failed` with that reason.

mod folder;
mod postgres;

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use contract::runs::{RunDetail, RunRow, RunStatus, TaskRow, TaskState};
use polars::prelude::PolarsError;

use super::{Location, WarehouseError};

#[derive(Debug, thiserror::Error)]
pub enum RunHistoryError {
    #[error("run history in {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("run history {path} is unreadable ({source}); move it away to start a new history")]
    Format { path: PathBuf, source: PolarsError },
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

type Result<T, E = RunHistoryError> = std::result::Result<T, E>;

/// Times as the API shows them: RFC 3339 in UTC, to the millisecond.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The inverse of [`timestamp`]; `None` for a text that is not a time.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Seconds from `a` to `b`, to the millisecond, once both are known.
pub fn seconds(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<f64> {
    let (a, b) = (a?, b?);
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

/// Who runs a run: a `running` run whose process is gone on this machine did not finish.
#[derive(Debug, Clone, PartialEq)]
struct Owner {
    host: String,
    pid: u32,
}

impl Owner {
    fn me() -> Self {
        Self {
            host: hostname(),
            pid: std::process::id(),
        }
    }

    fn is_gone(&self) -> bool {
        self.host == hostname() && !Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Marks a run whose process is gone as failed (on read; the table keeps what it had).
fn heal(mut run: RunRow, owner: Option<Owner>) -> RunRow {
    if run.status == RunStatus::Running && owner.is_some_and(|o| o.is_gone()) {
        run.status = RunStatus::Failed;
        run.error = Some(
            "the heymax process running it stopped before it finished (killed or restarted)".into(),
        );
    }
    run
}

/// A `runs` row as either backend stores it: typed times, the status as text.
struct StoredRun {
    run_id: i64,
    trigger: String,
    input: String,
    status: String,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    batch_id: Option<i64>,
    rows: i64,
    failed_task: Option<String>,
    error: Option<String>,
}

impl StoredRun {
    /// As the API shows it. A status this version does not know (a damaged or future
    /// history) reads as failed, so nothing waits on it.
    fn into_row(self) -> RunRow {
        RunRow {
            run_id: self.run_id,
            trigger: self.trigger,
            input: self.input,
            status: RunStatus::parse(&self.status).unwrap_or(RunStatus::Failed),
            started_at: self.started_at.map(timestamp).unwrap_or_default(),
            ended_at: self.ended_at.map(timestamp),
            seconds: seconds(self.started_at, self.ended_at),
            batch_id: self.batch_id,
            rows: self.rows as u64,
            failed_task: self.failed_task,
            error: self.error,
        }
    }
}

/// A `task_runs` row as either backend stores it.
struct StoredTask {
    task: String,
    group: String,
    upstream: Vec<String>,
    state: String,
    attempts: i64,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    rows: Option<i64>,
    error: Option<String>,
    note: Option<String>,
}

impl StoredTask {
    /// As the API shows it; an unknown state reads as failed, like a run's status.
    fn into_row(self, run_id: i64) -> TaskRow {
        TaskRow {
            run_id,
            task: self.task,
            group: self.group,
            upstream: self.upstream,
            state: TaskState::parse(&self.state).unwrap_or(TaskState::Failed),
            attempts: self.attempts as u32,
            started_at: self.started_at.map(timestamp),
            ended_at: self.ended_at.map(timestamp),
            seconds: seconds(self.started_at, self.ended_at),
            rows: self.rows.map(|n| n as u64),
            error: self.error,
            note: self.note,
        }
    }
}

/// What each backend does, once per operation; [`RunHistory`] adds what both share.
/// Runs come back as stored (with their owner, not healed): a folder rewrites them.
trait Store: Send {
    /// Adds `run` (started `now` by `owner`) and returns the id it was given.
    fn insert_run(&mut self, run: &RunRow, owner: &Owner, now: DateTime<Utc>) -> Result<i64>;
    /// Saves a run's row over the stored one.
    fn update_run(&mut self, run: &RunRow) -> Result<()>;
    /// The `limit` most recent runs, newest first.
    fn recent_runs(&mut self, limit: usize) -> Result<Vec<(RunRow, Option<Owner>)>>;
    fn run(&mut self, run_id: i64) -> Result<Option<(RunRow, Option<Owner>)>>;
    /// A new run's tasks, all at once, in the DAG's order.
    fn insert_tasks(&mut self, run_id: i64, rows: &[TaskRow]) -> Result<()>;
    /// One task's new state; `position` is its place in the DAG's order.
    fn save_task(&mut self, run_id: i64, position: usize, row: &TaskRow) -> Result<()>;
    /// A run's tasks, in the DAG's order.
    fn tasks(&mut self, run_id: i64) -> Result<Vec<TaskRow>>;
}

/// An open run history.
pub struct RunHistory {
    store: Box<dyn Store>,
}

impl RunHistory {
    /// Opens the history of the warehouse at `location` (created on first write).
    pub fn open(location: &Location) -> Self {
        let store: Box<dyn Store> = match location {
            Location::Dir(root) => Box::new(folder::Folder::new(root)),
            Location::Postgres(url) => Box::new(postgres::Postgres::new(url)),
        };
        Self { store }
    }

    /// Records a new run (status `running`) with its tasks (as `tasks`, queued); returns
    /// its row. The tasks' `run_id` is set to the new run's.
    pub fn begin(&mut self, trigger: &str, input: &str, tasks: &[TaskRow]) -> Result<RunRow> {
        let now = Utc::now();
        let mut run = RunRow {
            run_id: 0,
            trigger: trigger.to_string(),
            input: input.to_string(),
            status: RunStatus::Running,
            started_at: timestamp(now),
            ended_at: None,
            seconds: None,
            batch_id: None,
            rows: 0,
            failed_task: None,
            error: None,
        };
        run.run_id = self.store.insert_run(&run, &Owner::me(), now)?;
        let rows: Vec<TaskRow> = tasks
            .iter()
            .map(|t| TaskRow {
                run_id: run.run_id,
                ..t.clone()
            })
            .collect();
        self.store.insert_tasks(run.run_id, &rows)?;
        Ok(run)
    }

    /// Saves a task's new state; `position` is its place in the DAG's order.
    pub fn task(&mut self, position: usize, row: &TaskRow) -> Result<()> {
        self.store.save_task(row.run_id, position, row)
    }

    /// Saves a run's end (or any other change to its row).
    pub fn update(&mut self, run: &RunRow) -> Result<()> {
        self.store.update_run(run)
    }

    /// The `limit` most recent runs, newest first. No history yet: none.
    pub fn list(&mut self, limit: usize) -> Result<Vec<RunRow>> {
        let runs = self.store.recent_runs(limit)?;
        Ok(runs.into_iter().map(|(r, o)| heal(r, o)).collect())
    }

    /// One run with its tasks, in the DAG's order.
    pub fn get(&mut self, run_id: i64) -> Result<Option<RunDetail>> {
        let Some((run, owner)) = self.store.run(run_id)? else {
            return Ok(None);
        };
        let run = heal(run, owner);
        let tasks = self.store.tasks(run_id)?;
        Ok(Some(RunDetail { run, tasks }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<DateTime<Utc>> {
        parse_time(s)
    }

    fn running() -> RunRow {
        RunRow {
            run_id: 1,
            trigger: "cli".into(),
            input: "x".into(),
            status: RunStatus::Running,
            started_at: timestamp(Utc::now()),
            ended_at: None,
            seconds: None,
            batch_id: None,
            rows: 0,
            failed_task: None,
            error: None,
        }
    }

    #[test]
    fn a_run_whose_process_is_gone_reads_as_failed() {
        let run = running();
        let gone = Owner {
            host: hostname(),
            pid: u32::MAX - 1,
        };
        assert_eq!(heal(run.clone(), Some(gone)).status, RunStatus::Failed);
        assert_eq!(
            heal(run.clone(), Some(Owner::me())).status,
            RunStatus::Running
        );
        let elsewhere = Owner {
            host: "another-machine".into(),
            pid: u32::MAX - 1,
        };
        assert_eq!(
            heal(run.clone(), Some(elsewhere)).status,
            RunStatus::Running
        );
        // No owner recorded: nothing says it stopped.
        assert_eq!(heal(run, None).status, RunStatus::Running);
    }

    #[test]
    fn a_stored_run_reads_with_api_times_and_its_duration() {
        let run = StoredRun {
            run_id: 7,
            trigger: "api".into(),
            input: "events.csv".into(),
            status: "success".into(),
            started_at: at("2026-11-26T10:00:00Z"),
            ended_at: at("2026-11-26T10:00:01.250Z"),
            batch_id: Some(3),
            rows: 42,
            failed_task: None,
            error: None,
        }
        .into_row();
        assert_eq!(run.run_id, 7);
        assert_eq!(run.status, RunStatus::Success);
        assert_eq!(run.started_at, "2026-11-26T10:00:00.000Z");
        assert_eq!(run.ended_at.as_deref(), Some("2026-11-26T10:00:01.250Z"));
        assert_eq!(run.seconds, Some(1.25));
        assert_eq!((run.batch_id, run.rows), (Some(3), 42));
    }

    #[test]
    fn an_unknown_status_or_state_reads_as_failed() {
        let run = StoredRun {
            run_id: 1,
            trigger: String::new(),
            input: String::new(),
            status: "paused".into(),
            started_at: None,
            ended_at: None,
            batch_id: None,
            rows: 0,
            failed_task: None,
            error: None,
        }
        .into_row();
        assert_eq!(run.status, RunStatus::Failed);
        assert_eq!(run.started_at, "");
        assert_eq!(run.seconds, None);
        let task = StoredTask {
            task: "gold".into(),
            group: "layer".into(),
            upstream: vec!["silver".into()],
            state: "".into(),
            attempts: 2,
            started_at: at("2026-11-26T10:00:00Z"),
            ended_at: None,
            rows: Some(5),
            error: None,
            note: None,
        }
        .into_row(9);
        assert_eq!(task.state, TaskState::Failed);
        assert_eq!((task.run_id, task.attempts, task.rows), (9, 2, Some(5)));
        assert_eq!(task.started_at.as_deref(), Some("2026-11-26T10:00:00.000Z"));
        assert_eq!((task.ended_at, task.seconds), (None, None));
    }

    #[test]
    fn times_round_trip_through_the_api_text() {
        let t = at("2026-11-26T10:00:00.123Z");
        assert_eq!(
            t.map(timestamp).as_deref(),
            Some("2026-11-26T10:00:00.123Z")
        );
        assert_eq!(parse_time("not a time"), None);
        assert_eq!(seconds(t, None), None);
    }
}
