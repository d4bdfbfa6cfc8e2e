//! The run history of a PostgreSQL warehouse: `heymax.runs` and `heymax.task_runs`.
//!
//! Rows go in and out through plain statements on a connection of the history's own,
//! outside the pipeline's load transaction, so a run in progress (and its tasks' states)
//! is visible while it runs, and a run that fails to load still keeps its history. The
//! tables are created on first use, and the connection is made again after one dropped:
//! a history outlives a restarting server.

use ::postgres::Client;
use ::postgres::types::ToSql;
use chrono::{DateTime, Utc};
use contract::runs::{RunRow, TaskRow};

use super::{Owner, Result, RunHistoryError, Store, StoredRun, StoredTask, parse_time};
use crate::warehouse::postgres::{connect, query_err};
use crate::warehouse::{PgUrl, WarehouseError};

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

/// The history kept in the database at `url`.
pub(super) struct Postgres {
    url: PgUrl,
    client: Option<Box<Client>>,
}

impl Postgres {
    pub(super) fn new(url: &PgUrl) -> Self {
        Self {
            url: url.clone(),
            client: None,
        }
    }

    /// A connection (and the URL its errors name), made with the tables on first use and
    /// again after one dropped.
    fn session(&mut self) -> Result<(&mut Client, &PgUrl)> {
        let Self { url, client } = self;
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            let mut c = connect(url)?;
            c.batch_execute(PG_DDL)
                .map_err(query_err(url, "creating the run history tables"))?;
            *client = Some(Box::new(c));
        }
        match client.as_deref_mut() {
            Some(c) => Ok((c, url)),
            None => Err(RunHistoryError::Warehouse(WarehouseError::Missing(
                url.to_string(),
            ))),
        }
    }
}

impl Store for Postgres {
    fn insert_run(&mut self, run: &RunRow, owner: &Owner, now: DateTime<Utc>) -> Result<i64> {
        let (c, url) = self.session()?;
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
        Ok(row.get(0))
    }

    fn update_run(&mut self, run: &RunRow) -> Result<()> {
        let (c, url) = self.session()?;
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

    fn recent_runs(&mut self, limit: usize) -> Result<Vec<(RunRow, Option<Owner>)>> {
        let (c, url) = self.session()?;
        let rows = c
            .query(
                "SELECT run_id, trigger, input, status, started_at, ended_at, batch_id,
                                rows, failed_task, error, host, pid
                         FROM heymax.runs ORDER BY run_id DESC LIMIT $1",
                &[&(limit as i64)],
            )
            .map_err(query_err(url, "reading the run history"))?;
        Ok(rows.iter().map(run_row).collect())
    }

    fn run(&mut self, run_id: i64) -> Result<Option<(RunRow, Option<Owner>)>> {
        let (c, url) = self.session()?;
        Ok(c.query_opt(
            "SELECT run_id, trigger, input, status, started_at, ended_at, batch_id,
                            rows, failed_task, error, host, pid
                     FROM heymax.runs WHERE run_id = $1",
            &[&run_id],
        )
        .map_err(query_err(url, "reading a run"))?
        .as_ref()
        .map(run_row))
    }

    fn insert_tasks(&mut self, _run_id: i64, rows: &[TaskRow]) -> Result<()> {
        let (c, url) = self.session()?;
        for (i, row) in rows.iter().enumerate() {
            upsert_task(c, url, i, row)?;
        }
        Ok(())
    }

    fn save_task(&mut self, _run_id: i64, position: usize, row: &TaskRow) -> Result<()> {
        let (c, url) = self.session()?;
        upsert_task(c, url, position, row)
    }

    fn tasks(&mut self, run_id: i64) -> Result<Vec<TaskRow>> {
        let (c, url) = self.session()?;
        Ok(c.query(
            "SELECT task, task_group, upstream, state, attempts, started_at, ended_at,
                            rows, error, note
                     FROM heymax.task_runs WHERE run_id = $1 ORDER BY position",
            &[&run_id],
        )
        .map_err(query_err(url, "reading a run's tasks"))?
        .iter()
        .map(|r| task_row(run_id, r))
        .collect())
    }
}

fn upsert_task(c: &mut Client, url: &PgUrl, position: usize, row: &TaskRow) -> Result<()> {
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

/// A `heymax.runs` row, in the column order of the SELECTs above.
fn run_row(r: &::postgres::Row) -> (RunRow, Option<Owner>) {
    let started: DateTime<Utc> = r.get(4);
    let owner = Owner {
        host: r.get(10),
        pid: r.get::<_, i32>(11) as u32,
    };
    let run = StoredRun {
        run_id: r.get(0),
        trigger: r.get(1),
        input: r.get(2),
        status: r.get(3),
        started_at: Some(started),
        ended_at: r.get(5),
        batch_id: r.get(6),
        rows: r.get(7),
        failed_task: r.get(8),
        error: r.get(9),
    };
    (run.into_row(), Some(owner))
}

/// A `heymax.task_runs` row, in the column order of the SELECT above.
fn task_row(run_id: i64, r: &::postgres::Row) -> TaskRow {
    StoredTask {
        task: r.get(0),
        group: r.get(1),
        upstream: r.get(2),
        state: r.get(3),
        attempts: r.get::<_, i32>(4).into(),
        started_at: r.get(5),
        ended_at: r.get(6),
        rows: r.get(7),
        error: r.get(8),
        note: r.get(9),
    }
    .into_row(run_id)
}
