//! Pipeline runs as the server's run history keeps them and as the API and the Pipeline
//! page exchange them: `GET /api/runs` (and `<base>/data/runs.json`) is a [`RunList`],
//! `GET /api/runs/{id}` (and `<base>/data/runs/<id>.json`) a [`RunDetail`]. One set of
//! types for both ends, so the server cannot send what the page cannot read.

use serde::{Deserialize, Serialize};

/// A run's status. `running` until its last task ends.
pub const RUN_RUNNING: &str = "running";
pub const RUN_SUCCESS: &str = "success";
pub const RUN_FAILED: &str = "failed";

/// A task's states, as `dbt build` and Airflow name them.
pub const TASK_STATES: [&str; 6] = [
    "queued",
    "running",
    "success",
    "failed",
    "up_for_retry",
    "skipped",
];

/// One run of the pipeline (a row of the `runs` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub run_id: i64,
    /// What started it: `cli`, `api`, `schedule` or `sensor`.
    pub trigger: String,
    /// The input it loaded (a CSV file or a folder of them).
    pub input: String,
    /// `running`, `success` or `failed`.
    pub status: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub ended_at: Option<String>,
    pub seconds: Option<f64>,
    /// The warehouse batch it loaded, once ingest has begun one.
    pub batch_id: Option<i64>,
    /// Rows read from the input.
    pub rows: u64,
    /// The first task that failed, and its error.
    pub failed_task: Option<String>,
    pub error: Option<String>,
}

/// One task of one run (a row of the `task_runs` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub run_id: i64,
    /// `ingest`, `bronze`, `test_bronze`, `silver`, `gold`, `mart_<name>`, ...
    pub task: String,
    /// `ingest`, `layer`, `mart`, `test` or `commit`: what kind of step it is.
    pub group: String,
    /// The tasks it waits for.
    pub upstream: Vec<String>,
    /// One of [`TASK_STATES`].
    pub state: String,
    /// Attempts started (0 while queued or when skipped).
    pub attempts: u32,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub seconds: Option<f64>,
    /// Rows it produced (or tested), when it produces rows.
    pub rows: Option<u64>,
    /// The last attempt's error.
    pub error: Option<String>,
    /// Extra facts (quality warnings, duplicates skipped, ...).
    pub note: Option<String>,
}

/// `GET /api/runs`: the most recent runs first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunList {
    pub runs: Vec<RunRow>,
    /// The run in progress in this server, if any.
    pub running: Option<i64>,
    /// When the schedule (`serve --schedule`) starts the next run, RFC 3339.
    pub next_scheduled_at: Option<String>,
    /// The schedule's cron expression, when there is one.
    pub schedule: Option<String>,
}

/// `GET /api/runs/{id}`: a run with its tasks, in the DAG's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: RunRow,
    pub tasks: Vec<TaskRow>,
}

impl RunRow {
    pub fn is_running(&self) -> bool {
        self.status == RUN_RUNNING
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_detail_round_trips_through_json() {
        let detail = RunDetail {
            run: RunRow {
                run_id: 3,
                trigger: "api".into(),
                input: "events.csv".into(),
                status: RUN_FAILED.into(),
                started_at: "2026-11-26T10:00:00Z".into(),
                ended_at: Some("2026-11-26T10:00:02Z".into()),
                seconds: Some(2.0),
                batch_id: Some(4),
                rows: 10,
                failed_task: Some("test_bronze".into()),
                error: Some("1 error-severity test failed".into()),
            },
            tasks: vec![TaskRow {
                run_id: 3,
                task: "silver".into(),
                group: "layer".into(),
                upstream: vec!["test_bronze".into()],
                state: "skipped".into(),
                attempts: 0,
                started_at: None,
                ended_at: None,
                seconds: None,
                rows: None,
                error: None,
                note: None,
            }],
        };
        let json = serde_json::to_string(&detail).unwrap();
        assert_eq!(serde_json::from_str::<RunDetail>(&json).unwrap(), detail);
    }
}
