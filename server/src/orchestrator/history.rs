//! The run history: a `runs` table (one row per pipeline run) and a `task_runs` table
//! (one row per task of a run), kept in the warehouse so it outlives the process.
//!
//! - A folder warehouse: `_heymax/runs.parquet` and one `_heymax/task_runs/run=<id>.parquet`
//!   per run, each rewritten whole (to a temporary name, then renamed) when it changes;
//!   `_heymax/runs.lock` serialises writers from several processes.
//! - PostgreSQL: `heymax.runs` and `heymax.task_runs`, written outside the pipeline's
//!   load transaction so a run in progress is visible while it runs.
//!
//! A run left `running` by a process that no longer exists (killed, machine restarted)
//! reads as `failed` with that reason.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use contract::runs::{RunDetail, RunRow, RunStatus, TaskRow, TaskState};
use polars::prelude::*;
use postgres::types::ToSql;

use crate::warehouse::postgres::{connect, query_err};
use crate::warehouse::{Location, PgUrl, WarehouseError, parquet};
use runner::TaskRecord;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
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

type Result<T, E = HistoryError> = std::result::Result<T, E>;

/// Times as the API shows them: RFC 3339 in UTC, to the millisecond.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn seconds(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<f64> {
    let (a, b) = (a?, b?);
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

/// A task record as a `task_runs` row.
pub fn task_row(run_id: i64, r: &TaskRecord) -> TaskRow {
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
/// A stored run status; one this version does not know (a damaged or future history)
/// reads as failed, so nothing waits on it.
fn run_status(name: &str) -> RunStatus {
    RunStatus::parse(name).unwrap_or(RunStatus::Failed)
}

/// A stored task state, read the same way as [`run_status`].
fn task_state(name: &str) -> TaskState {
    TaskState::parse(name).unwrap_or(TaskState::Failed)
}

fn heal(mut run: RunRow, owner: Option<Owner>) -> RunRow {
    if run.status == RunStatus::Running && owner.is_some_and(|o| o.is_gone()) {
        run.status = RunStatus::Failed;
        run.error = Some(
            "the heymax process running it stopped before it finished (killed or restarted)".into(),
        );
    }
    run
}

/// An open run history.
pub enum History {
    Dir {
        meta: PathBuf,
    },
    Postgres {
        url: PgUrl,
        client: Option<Box<postgres::Client>>,
    },
}

const PG_DDL: &str = "
CREATE SCHEMA IF NOT EXISTS heymax;
CREATE TABLE IF NOT EXISTS heymax.runs (
    run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger text NOT NULL,
    input text NOT NULL,
    status text NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    batch_id bigint,
    rows bigint NOT NULL DEFAULT 0,
    failed_task text,
    error text,
    host text NOT NULL,
    pid integer NOT NULL
);
COMMENT ON TABLE heymax.runs IS 'Every pipeline run: what started it, its status, the batch it loaded and why it failed.';
CREATE TABLE IF NOT EXISTS heymax.task_runs (
    run_id bigint NOT NULL REFERENCES heymax.runs ON DELETE CASCADE,
    position integer NOT NULL,
    task text NOT NULL,
    task_group text NOT NULL,
    upstream text[] NOT NULL,
    state text NOT NULL,
    attempts integer NOT NULL,
    started_at timestamptz,
    ended_at timestamptz,
    rows bigint,
    error text,
    note text,
    PRIMARY KEY (run_id, task)
);
COMMENT ON TABLE heymax.task_runs IS 'Every task of every pipeline run: state (queued, running, success, failed, up_for_retry, skipped), attempts, times, rows, error.';
";

impl History {
    /// Opens the history of the warehouse at `location` (created on first write).
    pub fn open(location: &Location) -> Self {
        match location {
            Location::Dir(root) => History::Dir {
                meta: root.join("_heymax"),
            },
            Location::Postgres(url) => History::Postgres {
                url: url.clone(),
                client: None,
            },
        }
    }

    /// A connection, made (with the tables) on first use and again after one dropped.
    fn client<'c>(
        url: &PgUrl,
        client: &'c mut Option<Box<postgres::Client>>,
    ) -> Result<&'c mut postgres::Client> {
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            let mut c = connect(url)?;
            c.batch_execute(PG_DDL)
                .map_err(query_err(url, "creating the run history tables"))?;
            *client = Some(Box::new(c));
        }
        client
            .as_deref_mut()
            .ok_or_else(|| HistoryError::Warehouse(WarehouseError::Missing(url.to_string())))
    }

    /// Records a new run (status `running`) with its tasks queued; returns its id.
    pub fn begin(&mut self, trigger: &str, input: &str, tasks: &[TaskRecord]) -> Result<RunRow> {
        let now = Utc::now();
        let owner = Owner::me();
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
        match self {
            History::Dir { meta } => {
                let _lock = lock(meta)?;
                let mut runs = read_runs(meta)?;
                run.run_id = runs.iter().map(|(r, _)| r.run_id).max().unwrap_or(0) + 1;
                runs.push((run.clone(), Some(owner)));
                write_runs(meta, &runs)?;
            }
            History::Postgres { url, client } => {
                let c = Self::client(url, client)?;
                let row = c
                    .query_one(
                        "INSERT INTO heymax.runs (trigger, input, status, started_at, host, pid)
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING run_id",
                        &[
                            &run.trigger as &(dyn ToSql + Sync),
                            &run.input,
                            &run.status.name(),
                            &now,
                            &owner.host,
                            &(owner.pid as i32),
                        ],
                    )
                    .map_err(query_err(url, "recording a new run"))?;
                run.run_id = row.get(0);
            }
        }
        let rows: Vec<TaskRow> = tasks.iter().map(|t| task_row(run.run_id, t)).collect();
        self.write_tasks(run.run_id, &rows)?;
        Ok(run)
    }

    /// Saves a task's new state.
    pub fn task(&mut self, run_id: i64, position: usize, record: &TaskRecord) -> Result<()> {
        let row = task_row(run_id, record);
        match self {
            History::Dir { meta } => {
                let path = task_path(meta, run_id);
                let mut rows = read_tasks(&path)?;
                match rows.iter_mut().find(|r| r.task == row.task) {
                    Some(r) => *r = row,
                    None => rows.insert(position.min(rows.len()), row),
                }
                write_tasks(&path, &rows)
            }
            History::Postgres { url, client } => {
                let c = Self::client(url, client)?;
                upsert_task(c, url, position, &row)
            }
        }
    }

    fn write_tasks(&mut self, run_id: i64, rows: &[TaskRow]) -> Result<()> {
        match self {
            History::Dir { meta } => write_tasks(&task_path(meta, run_id), rows),
            History::Postgres { url, client } => {
                let c = Self::client(url, client)?;
                for (i, row) in rows.iter().enumerate() {
                    upsert_task(c, url, i, row)?;
                }
                Ok(())
            }
        }
    }

    /// Saves a run's end (or any other change to its row).
    pub fn update(&mut self, run: &RunRow) -> Result<()> {
        match self {
            History::Dir { meta } => {
                let _lock = lock(meta)?;
                let mut runs = read_runs(meta)?;
                if let Some((r, _)) = runs.iter_mut().find(|(r, _)| r.run_id == run.run_id) {
                    *r = run.clone();
                }
                write_runs(meta, &runs)
            }
            History::Postgres { url, client } => {
                let c = Self::client(url, client)?;
                let ended = run.ended_at.as_deref().and_then(parse_time);
                c.execute(
                    "UPDATE heymax.runs SET status = $2, ended_at = $3, batch_id = $4, rows = $5,
                     failed_task = $6, error = $7 WHERE run_id = $1",
                    &[
                        &run.run_id as &(dyn ToSql + Sync),
                        &run.status.name(),
                        &ended,
                        &run.batch_id,
                        &(run.rows as i64),
                        &run.failed_task,
                        &run.error,
                    ],
                )
                .map_err(query_err(url, "recording the end of a run"))?;
                Ok(())
            }
        }
    }

    /// The `limit` most recent runs, newest first. No history yet: none.
    pub fn list(&mut self, limit: usize) -> Result<Vec<RunRow>> {
        match self {
            History::Dir { meta } => {
                let mut runs = read_runs(meta)?;
                runs.reverse();
                runs.truncate(limit);
                Ok(runs.into_iter().map(|(r, o)| heal(r, o)).collect())
            }
            History::Postgres { url, client } => {
                let c = Self::client(url, client)?;
                let rows = c
                    .query(
                        "SELECT run_id, trigger, input, status, started_at, ended_at, batch_id,
                                rows, failed_task, error, host, pid
                         FROM heymax.runs ORDER BY run_id DESC LIMIT $1",
                        &[&(limit as i64)],
                    )
                    .map_err(query_err(url, "reading the run history"))?;
                Ok(rows.iter().map(pg_run).collect())
            }
        }
    }

    /// One run with its tasks, in the DAG's order.
    pub fn get(&mut self, run_id: i64) -> Result<Option<RunDetail>> {
        let run = match self {
            History::Dir { meta } => read_runs(meta)?
                .into_iter()
                .find(|(r, _)| r.run_id == run_id)
                .map(|(r, o)| heal(r, o)),
            History::Postgres { url, client } => {
                let c = Self::client(url, client)?;
                c.query_opt(
                    "SELECT run_id, trigger, input, status, started_at, ended_at, batch_id,
                            rows, failed_task, error, host, pid
                     FROM heymax.runs WHERE run_id = $1",
                    &[&run_id],
                )
                .map_err(query_err(url, "reading a run"))?
                .as_ref()
                .map(pg_run)
            }
        };
        let Some(run) = run else { return Ok(None) };
        let tasks = match self {
            History::Dir { meta } => read_tasks(&task_path(meta, run_id))?,
            History::Postgres { url, client } => {
                let c = Self::client(url, client)?;
                c.query(
                    "SELECT task, task_group, upstream, state, attempts, started_at, ended_at,
                            rows, error, note
                     FROM heymax.task_runs WHERE run_id = $1 ORDER BY position",
                    &[&run_id],
                )
                .map_err(query_err(url, "reading a run's tasks"))?
                .iter()
                .map(|r| pg_task(run_id, r))
                .collect()
            }
        };
        Ok(Some(RunDetail { run, tasks }))
    }
}

fn upsert_task(
    c: &mut postgres::Client,
    url: &PgUrl,
    position: usize,
    row: &TaskRow,
) -> Result<()> {
    let started = row.started_at.as_deref().and_then(parse_time);
    let ended = row.ended_at.as_deref().and_then(parse_time);
    c.execute(
        "INSERT INTO heymax.task_runs
             (run_id, position, task, task_group, upstream, state, attempts, started_at, ended_at, rows, error, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (run_id, task) DO UPDATE SET state = EXCLUDED.state,
             attempts = EXCLUDED.attempts, started_at = EXCLUDED.started_at,
             ended_at = EXCLUDED.ended_at, rows = EXCLUDED.rows, error = EXCLUDED.error,
             note = EXCLUDED.note",
        &[
            &row.run_id as &(dyn ToSql + Sync),
            &(position as i32),
            &row.task,
            &row.group,
            &row.upstream,
            &row.state.name(),
            &(row.attempts as i32),
            &started,
            &ended,
            &row.rows.map(|r| r as i64),
            &row.error,
            &row.note,
        ],
    )
    .map_err(query_err(url, "recording a task's state"))?;
    Ok(())
}

fn pg_run(r: &postgres::Row) -> RunRow {
    let started: DateTime<Utc> = r.get(4);
    let ended: Option<DateTime<Utc>> = r.get(5);
    let owner = Owner {
        host: r.get(10),
        pid: r.get::<_, i32>(11) as u32,
    };
    heal(
        RunRow {
            run_id: r.get(0),
            trigger: r.get(1),
            input: r.get(2),
            status: run_status(r.get(3)),
            started_at: timestamp(started),
            ended_at: ended.map(timestamp),
            seconds: seconds(Some(started), ended),
            batch_id: r.get(6),
            rows: r.get::<_, i64>(7) as u64,
            failed_task: r.get(8),
            error: r.get(9),
        },
        Some(owner),
    )
}

fn pg_task(run_id: i64, r: &postgres::Row) -> TaskRow {
    let started: Option<DateTime<Utc>> = r.get(5);
    let ended: Option<DateTime<Utc>> = r.get(6);
    TaskRow {
        run_id,
        task: r.get(0),
        group: r.get(1),
        upstream: r.get(2),
        state: task_state(r.get(3)),
        attempts: r.get::<_, i32>(4) as u32,
        started_at: started.map(timestamp),
        ended_at: ended.map(timestamp),
        seconds: seconds(started, ended),
        rows: r.get::<_, Option<i64>>(7).map(|n| n as u64),
        error: r.get(8),
        note: r.get(9),
    }
}

// --- the folder backend: two Parquet tables ------------------------------------------

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HistoryError + '_ {
    move |source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn format_err(path: &Path) -> impl FnOnce(PolarsError) -> HistoryError + '_ {
    move |source| HistoryError::Format {
        path: path.to_path_buf(),
        source,
    }
}

/// Held while a process reads, changes and rewrites `runs.parquet`.
fn lock(meta: &Path) -> Result<File> {
    std::fs::create_dir_all(meta).map_err(io(meta))?;
    let path = meta.join("runs.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    file.lock().map_err(io(&path))?;
    Ok(file)
}

fn runs_path(meta: &Path) -> PathBuf {
    meta.join("runs.parquet")
}

fn task_path(meta: &Path, run_id: i64) -> PathBuf {
    meta.join("task_runs")
        .join(format!("run={run_id:06}.parquet"))
}

/// Writes a whole file under a temporary name, then renames it over the old one, so a
/// reader sees the old or the new table, never half of one.
fn replace_file(path: &Path, df: &mut DataFrame) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    parquet::write(&tmp, df).map_err(HistoryError::Warehouse)?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn micros(s: &Option<String>) -> Option<i64> {
    s.as_deref()
        .and_then(parse_time)
        .map(|t| t.timestamp_micros())
}

fn from_micros(m: Option<i64>) -> Option<String> {
    m.and_then(DateTime::from_timestamp_micros).map(timestamp)
}

fn datetime(name: &str, values: Vec<Option<i64>>) -> PolarsResult<Column> {
    Column::new(name.into(), values).cast(&DataType::Datetime(TimeUnit::Microseconds, None))
}

fn write_runs(meta: &Path, runs: &[(RunRow, Option<Owner>)]) -> Result<()> {
    let path = runs_path(meta);
    let col = |f: fn(&RunRow) -> Option<String>| runs.iter().map(|(r, _)| f(r)).collect::<Vec<_>>();
    let frame = || -> PolarsResult<DataFrame> {
        DataFrame::new(
            runs.len(),
            vec![
                Column::new(
                    "run_id".into(),
                    runs.iter().map(|(r, _)| r.run_id).collect::<Vec<_>>(),
                ),
                Column::new("trigger".into(), col(|r| Some(r.trigger.clone()))),
                Column::new("input".into(), col(|r| Some(r.input.clone()))),
                Column::new("status".into(), col(|r| Some(r.status.name().to_string()))),
                datetime(
                    "started_at",
                    runs.iter()
                        .map(|(r, _)| micros(&Some(r.started_at.clone())))
                        .collect(),
                )?,
                datetime(
                    "ended_at",
                    runs.iter().map(|(r, _)| micros(&r.ended_at)).collect(),
                )?,
                Column::new(
                    "batch_id".into(),
                    runs.iter().map(|(r, _)| r.batch_id).collect::<Vec<_>>(),
                ),
                Column::new(
                    "rows".into(),
                    runs.iter().map(|(r, _)| r.rows as i64).collect::<Vec<_>>(),
                ),
                Column::new("failed_task".into(), col(|r| r.failed_task.clone())),
                Column::new("error".into(), col(|r| r.error.clone())),
                Column::new(
                    "host".into(),
                    runs.iter()
                        .map(|(_, o)| o.as_ref().map(|o| o.host.clone()))
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "pid".into(),
                    runs.iter()
                        .map(|(_, o)| o.as_ref().map(|o| o.pid as i64))
                        .collect::<Vec<_>>(),
                ),
            ],
        )
    };
    let mut df = frame().map_err(format_err(&path))?;
    replace_file(&path, &mut df)
}

fn strs(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    let c = df.column(name)?.str()?.clone();
    Ok((0..c.len()).map(|i| c.get(i).map(str::to_string)).collect())
}

fn ints(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    let c = df.column(name)?.cast(&DataType::Int64)?;
    let c = c.i64()?;
    Ok((0..c.len()).map(|i| c.get(i)).collect())
}

fn read_runs(meta: &Path) -> Result<Vec<(RunRow, Option<Owner>)>> {
    let path = runs_path(meta);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let df = parquet::read(&path, None).map_err(HistoryError::Warehouse)?;
    let parse = || -> PolarsResult<Vec<(RunRow, Option<Owner>)>> {
        let ids = ints(&df, "run_id")?;
        let trigger = strs(&df, "trigger")?;
        let input = strs(&df, "input")?;
        let status = strs(&df, "status")?;
        let started = ints(&df, "started_at")?;
        let ended = ints(&df, "ended_at")?;
        let batch = ints(&df, "batch_id")?;
        let rows = ints(&df, "rows")?;
        let failed = strs(&df, "failed_task")?;
        let error = strs(&df, "error")?;
        let host = strs(&df, "host")?;
        let pid = ints(&df, "pid")?;
        Ok((0..df.height())
            .map(|i| {
                let s = started[i].and_then(DateTime::from_timestamp_micros);
                let e = ended[i].and_then(DateTime::from_timestamp_micros);
                let run = RunRow {
                    run_id: ids[i].unwrap_or_default(),
                    trigger: trigger[i].clone().unwrap_or_default(),
                    input: input[i].clone().unwrap_or_default(),
                    status: run_status(status[i].as_deref().unwrap_or_default()),
                    started_at: s.map(timestamp).unwrap_or_default(),
                    ended_at: e.map(timestamp),
                    seconds: seconds(s, e),
                    batch_id: batch[i],
                    rows: rows[i].unwrap_or_default() as u64,
                    failed_task: failed[i].clone(),
                    error: error[i].clone(),
                };
                let owner = match (&host[i], pid[i]) {
                    (Some(h), Some(p)) => Some(Owner {
                        host: h.clone(),
                        pid: p as u32,
                    }),
                    _ => None,
                };
                (run, owner)
            })
            .collect())
    };
    parse().map_err(format_err(&path))
}

fn write_tasks(path: &Path, rows: &[TaskRow]) -> Result<()> {
    let col = |f: fn(&TaskRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let frame = || -> PolarsResult<DataFrame> {
        DataFrame::new(
            rows.len(),
            vec![
                Column::new(
                    "run_id".into(),
                    rows.iter().map(|r| r.run_id).collect::<Vec<_>>(),
                ),
                Column::new("task".into(), col(|r| Some(r.task.clone()))),
                Column::new("task_group".into(), col(|r| Some(r.group.clone()))),
                // A list column would do, but a joined string reads anywhere.
                Column::new("upstream".into(), col(|r| Some(r.upstream.join(",")))),
                Column::new("state".into(), col(|r| Some(r.state.name().to_string()))),
                Column::new(
                    "attempts".into(),
                    rows.iter().map(|r| r.attempts as i64).collect::<Vec<_>>(),
                ),
                datetime(
                    "started_at",
                    rows.iter().map(|r| micros(&r.started_at)).collect(),
                )?,
                datetime(
                    "ended_at",
                    rows.iter().map(|r| micros(&r.ended_at)).collect(),
                )?,
                Column::new(
                    "rows".into(),
                    rows.iter()
                        .map(|r| r.rows.map(|n| n as i64))
                        .collect::<Vec<_>>(),
                ),
                Column::new("error".into(), col(|r| r.error.clone())),
                Column::new("note".into(), col(|r| r.note.clone())),
            ],
        )
    };
    let mut df = frame().map_err(format_err(path))?;
    replace_file(path, &mut df)
}

fn read_tasks(path: &Path) -> Result<Vec<TaskRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let df = parquet::read(path, None).map_err(HistoryError::Warehouse)?;
    let parse = || -> PolarsResult<Vec<TaskRow>> {
        let ids = ints(&df, "run_id")?;
        let task = strs(&df, "task")?;
        let group = strs(&df, "task_group")?;
        let upstream = strs(&df, "upstream")?;
        let state = strs(&df, "state")?;
        let attempts = ints(&df, "attempts")?;
        let started = ints(&df, "started_at")?;
        let ended = ints(&df, "ended_at")?;
        let rows = ints(&df, "rows")?;
        let error = strs(&df, "error")?;
        let note = strs(&df, "note")?;
        Ok((0..df.height())
            .map(|i| {
                let s = started[i].and_then(DateTime::from_timestamp_micros);
                let e = ended[i].and_then(DateTime::from_timestamp_micros);
                TaskRow {
                    run_id: ids[i].unwrap_or_default(),
                    task: task[i].clone().unwrap_or_default(),
                    group: group[i].clone().unwrap_or_default(),
                    upstream: upstream[i]
                        .as_deref()
                        .unwrap_or_default()
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                    state: task_state(state[i].as_deref().unwrap_or_default()),
                    attempts: attempts[i].unwrap_or_default() as u32,
                    started_at: from_micros(started[i]),
                    ended_at: from_micros(ended[i]),
                    seconds: seconds(s, e),
                    rows: rows[i].map(|n| n as u64),
                    error: error[i].clone(),
                    note: note[i].clone(),
                }
            })
            .collect())
    };
    parse().map_err(format_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, state: TaskState) -> TaskRecord {
        TaskRecord {
            name: name.into(),
            group: "layer",
            upstream: vec!["ingest".into()],
            state,
            attempts: 1,
            started_at: Some(Utc::now()),
            ended_at: Some(Utc::now()),
            rows: Some(5),
            error: None,
            failure: None,
            note: Some("a note".into()),
        }
    }

    #[test]
    fn a_folder_history_keeps_runs_and_tasks_across_openings() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Dir(dir.path().join("wh"));
        let mut h = History::open(&location);
        assert!(h.list(10).unwrap().is_empty());
        let tasks = vec![
            record("ingest", TaskState::Queued),
            record("bronze", TaskState::Queued),
        ];
        let mut run = h.begin("cli", "events.csv", &tasks).unwrap();
        assert_eq!(run.run_id, 1);
        h.task(run.run_id, 1, &record("bronze", TaskState::Failed))
            .unwrap();
        run.status = RunStatus::Failed;
        run.ended_at = Some(timestamp(Utc::now()));
        run.failed_task = Some("bronze".into());
        h.update(&run).unwrap();
        let second = h.begin("api", "more.csv", &tasks).unwrap();
        assert_eq!(second.run_id, 2);

        let mut again = History::open(&location);
        let list = again.list(10).unwrap();
        assert_eq!(
            list.iter().map(|r| r.run_id).collect::<Vec<_>>(),
            vec![2, 1]
        );
        assert_eq!(list[1].failed_task.as_deref(), Some("bronze"));
        assert_eq!(list[1].status, RunStatus::Failed);
        // This process is alive: its run is still running.
        assert_eq!(list[0].status, RunStatus::Running);
        let detail = again.get(1).unwrap().unwrap();
        assert_eq!(detail.tasks.len(), 2);
        assert_eq!(detail.tasks[1].task, "bronze");
        assert_eq!(detail.tasks[1].state, TaskState::Failed);
        assert_eq!(detail.tasks[1].upstream, vec!["ingest".to_string()]);
        assert_eq!(detail.tasks[1].rows, Some(5));
        assert!(again.get(9).unwrap().is_none());
    }

    #[test]
    fn a_run_whose_process_is_gone_reads_as_failed() {
        let run = RunRow {
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
        };
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
        assert_eq!(heal(run, Some(elsewhere)).status, RunStatus::Running);
    }
}
