//! Pipeline runs as the server's run history keeps them and as the API and the Pipeline
//! page exchange them: `GET /api/runs` (and `<base>/data/runs.json`) is a [`RunList`],
//! `GET /api/runs/{id}` (and `<base>/data/runs/<id>.json`) a [`RunDetail`]. One set of
//! types for both ends, so the server cannot send what the page cannot read.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A run's status: `running` until its last task ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Success,
    Failed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 3] = [RunStatus::Running, RunStatus::Success, RunStatus::Failed];

    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Success => "success",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A task's state, as `dbt build` and Airflow name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Queued,
    Running,
    Success,
    Failed,
    UpForRetry,
    Skipped,
}

impl TaskState {
    pub const ALL: [TaskState; 6] = [
        TaskState::Queued,
        TaskState::Running,
        TaskState::Success,
        TaskState::Failed,
        TaskState::UpForRetry,
        TaskState::Skipped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Success => "success",
            TaskState::Failed => "failed",
            TaskState::UpForRetry => "up_for_retry",
            TaskState::Skipped => "skipped",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Ended, one way or another: nothing more happens to it in this run.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            TaskState::Success | TaskState::Failed | TaskState::Skipped
        )
    }
}

// Padded like a string, so `{:<8}` lines up the CLI's tables.
impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// One run of the pipeline (a row of the `runs` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub run_id: i64,
    /// What started it: `cli`, `api`, `schedule` or `sensor`.
    pub trigger: String,
    /// The input it loaded (a CSV file or a folder of them).
    pub input: String,
    pub status: RunStatus,
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
    pub state: TaskState,
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
        self.status == RunStatus::Running
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
                status: RunStatus::Failed,
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
                state: TaskState::Skipped,
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
        assert!(json.contains(r#""status":"failed""#) && json.contains(r#""state":"skipped""#));
        assert_eq!(serde_json::from_str::<RunDetail>(&json).unwrap(), detail);
    }
}

#[cfg(test)]
mod names {
    use super::*;

    #[test]
    fn states_serialize_as_their_names() {
        for s in TaskState::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
            assert_eq!(TaskState::parse(s.name()), Some(s));
        }
        for s in RunStatus::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.name())
            );
            assert_eq!(RunStatus::parse(s.name()), Some(s));
        }
        assert_eq!(format!("[{:<9}]", TaskState::Success), "[success  ]");
    }
}
