//! The run history of a folder warehouse: two Parquet tables under `_heymax/`.
//!
//! `runs.parquet` holds every run (with the host and pid that run it) and
//! `task_runs/run=<id>.parquet` one run's tasks. Each file is rewritten whole, under a
//! temporary name and then renamed, so a reader sees the old or the new table, never half
//! of one; `runs.lock` (an OS file lock) is held while a process reads, changes and
//! rewrites `runs.parquet`, so runs started by several processes all keep their rows.
//! Each run's tasks have a file of their own because only that run's process writes them.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use contract::runs::{RunRow, TaskRow};
use polars::prelude::*;

use super::{Owner, Result, RunHistoryError, Store, StoredRun, StoredTask, parse_time};
use crate::warehouse::parquet;

/// The history kept in `<warehouse>/_heymax`.
pub(super) struct Folder {
    meta: PathBuf,
}

impl Folder {
    pub(super) fn new(root: &Path) -> Self {
        Self {
            meta: root.join("_heymax"),
        }
    }
}

impl Store for Folder {
    fn insert_run(&mut self, run: &RunRow, owner: &Owner, _now: DateTime<Utc>) -> Result<i64> {
        let _lock = lock(&self.meta)?;
        let mut runs = read_runs(&self.meta)?;
        let run_id = runs.iter().map(|(r, _)| r.run_id).max().unwrap_or(0) + 1;
        let run = RunRow {
            run_id,
            ..run.clone()
        };
        runs.push((run, Some(owner.clone())));
        write_runs(&self.meta, &runs)?;
        Ok(run_id)
    }

    fn update_run(&mut self, run: &RunRow) -> Result<()> {
        let _lock = lock(&self.meta)?;
        let mut runs = read_runs(&self.meta)?;
        if let Some((r, _)) = runs.iter_mut().find(|(r, _)| r.run_id == run.run_id) {
            *r = run.clone();
        }
        write_runs(&self.meta, &runs)
    }

    fn recent_runs(&mut self, limit: usize) -> Result<Vec<(RunRow, Option<Owner>)>> {
        let mut runs = read_runs(&self.meta)?;
        runs.reverse();
        runs.truncate(limit);
        Ok(runs)
    }

    fn run(&mut self, run_id: i64) -> Result<Option<(RunRow, Option<Owner>)>> {
        Ok(read_runs(&self.meta)?
            .into_iter()
            .find(|(r, _)| r.run_id == run_id))
    }

    fn insert_tasks(&mut self, run_id: i64, rows: &[TaskRow]) -> Result<()> {
        write_tasks(&task_path(&self.meta, run_id), rows)
    }

    fn save_task(&mut self, run_id: i64, position: usize, row: &TaskRow) -> Result<()> {
        let path = task_path(&self.meta, run_id);
        let mut rows = read_tasks(&path)?;
        match rows.iter_mut().find(|r| r.task == row.task) {
            Some(r) => *r = row.clone(),
            None => rows.insert(position.min(rows.len()), row.clone()),
        }
        write_tasks(&path, &rows)
    }

    fn tasks(&mut self, run_id: i64) -> Result<Vec<TaskRow>> {
        read_tasks(&task_path(&self.meta, run_id))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunHistoryError + '_ {
    move |source| RunHistoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn format_err(path: &Path) -> impl FnOnce(PolarsError) -> RunHistoryError + '_ {
    move |source| RunHistoryError::Format {
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
    parquet::write(&tmp, df).map_err(RunHistoryError::Warehouse)?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn micros(s: &Option<String>) -> Option<i64> {
    s.as_deref()
        .and_then(parse_time)
        .map(|t| t.timestamp_micros())
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
    let df = parquet::read(&path, None).map_err(RunHistoryError::Warehouse)?;
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
                let run = StoredRun {
                    run_id: ids[i].unwrap_or_default(),
                    trigger: trigger[i].clone().unwrap_or_default(),
                    input: input[i].clone().unwrap_or_default(),
                    status: status[i].clone().unwrap_or_default(),
                    started_at: started[i].and_then(DateTime::from_timestamp_micros),
                    ended_at: ended[i].and_then(DateTime::from_timestamp_micros),
                    batch_id: batch[i],
                    rows: rows[i].unwrap_or_default(),
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
                (run.into_row(), owner)
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
    let df = parquet::read(path, None).map_err(RunHistoryError::Warehouse)?;
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
                StoredTask {
                    task: task[i].clone().unwrap_or_default(),
                    group: group[i].clone().unwrap_or_default(),
                    upstream: upstream[i]
                        .as_deref()
                        .unwrap_or_default()
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                    state: state[i].clone().unwrap_or_default(),
                    attempts: attempts[i].unwrap_or_default(),
                    started_at: started[i].and_then(DateTime::from_timestamp_micros),
                    ended_at: ended[i].and_then(DateTime::from_timestamp_micros),
                    rows: rows[i],
                    error: error[i].clone(),
                    note: note[i].clone(),
                }
                .into_row(ids[i].unwrap_or_default())
            })
            .collect())
    };
    parse().map_err(format_err(path))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use contract::runs::{RunStatus, TaskState};

    use super::super::{RunHistory, timestamp};
    use super::TaskRow;
    use crate::warehouse::Location;

    fn row(name: &str, state: TaskState) -> TaskRow {
        TaskRow {
            run_id: 0,
            task: name.into(),
            group: "layer".into(),
            upstream: vec!["ingest".into()],
            state,
            attempts: 1,
            started_at: Some(timestamp(Utc::now())),
            ended_at: Some(timestamp(Utc::now())),
            seconds: Some(0.0),
            rows: Some(5),
            error: None,
            note: Some("a note".into()),
        }
    }

    #[test]
    fn a_folder_history_keeps_runs_and_tasks_across_openings() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Dir(dir.path().join("wh"));
        let mut h = RunHistory::open(&location);
        assert!(h.list(10).unwrap().is_empty());
        let tasks = vec![
            row("ingest", TaskState::Queued),
            row("bronze", TaskState::Queued),
        ];
        let mut run = h.begin("cli", "events.csv", &tasks).unwrap();
        assert_eq!(run.run_id, 1);
        let failed = TaskRow {
            run_id: run.run_id,
            ..row("bronze", TaskState::Failed)
        };
        h.task(1, &failed).unwrap();
        run.status = RunStatus::Failed;
        run.ended_at = Some(timestamp(Utc::now()));
        run.failed_task = Some("bronze".into());
        h.update(&run).unwrap();
        let second = h.begin("api", "more.csv", &tasks).unwrap();
        assert_eq!(second.run_id, 2);

        let mut again = RunHistory::open(&location);
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
        assert_eq!(detail.tasks[0].run_id, 1);
        assert_eq!(detail.tasks[1].task, "bronze");
        assert_eq!(detail.tasks[1].state, TaskState::Failed);
        assert_eq!(detail.tasks[1].upstream, vec!["ingest".to_string()]);
        assert_eq!(detail.tasks[1].rows, Some(5));
        assert!(again.get(9).unwrap().is_none());
        assert_eq!(again.get(2).unwrap().unwrap().tasks[0].run_id, 2);
    }
}
