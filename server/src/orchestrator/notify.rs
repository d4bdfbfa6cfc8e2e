//! Failure notifications: a JSON POST to `--notify-url` when a run fails (a Slack or
//! Teams webhook relay, an alerting service, a test's listener). A notification that
//! cannot be sent is logged and never fails the run.

use std::time::Duration;

use contract::runs::{RunRow, RunStatus};
use serde::Serialize;

/// What is POSTed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Notification {
    /// Always `run_failed`.
    pub event: &'static str,
    pub run_id: i64,
    pub status: RunStatus,
    pub trigger: String,
    pub input: String,
    pub failed_task: Option<String>,
    pub error: Option<String>,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// The run on the dashboard's Pipeline page, when a server shows it.
    pub url: Option<String>,
}

impl Notification {
    pub fn failed(run: &RunRow, url: Option<String>) -> Self {
        Self {
            event: "run_failed",
            run_id: run.run_id,
            status: run.status,
            trigger: run.trigger.clone(),
            input: run.input.clone(),
            failed_task: run.failed_task.clone(),
            error: run.error.clone(),
            started_at: run.started_at.clone(),
            ended_at: run.ended_at.clone(),
            url,
        }
    }
}

/// How long a webhook may take before the notification is given up.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `note` to `url`; the error says why it could not be delivered. Blocks the
/// calling thread (a run's own thread, never an async one) for at most [`TIMEOUT`].
pub fn send(url: &str, note: &Notification) -> Result<(), String> {
    // A small runtime of its own: the caller is a plain thread, and reqwest is async.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("heymax/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let response = client
            .post(url)
            .json(note)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "POST {url}: the endpoint answered {}",
                response.status()
            ))
        }
    })
}

/// Sends the failure of `run` if a URL is configured, logging the outcome either way.
pub fn run_failed(notify_url: Option<&str>, run: &RunRow, link: Option<String>) {
    tracing::error!(
        run = run.run_id,
        task = run.failed_task.as_deref().unwrap_or("-"),
        "run failed: {}",
        run.error.as_deref().unwrap_or("see its tasks")
    );
    let Some(url) = notify_url else { return };
    match send(url, &Notification::failed(run, link)) {
        Ok(()) => tracing::info!(run = run.run_id, "failure notification sent to {url}"),
        Err(e) => tracing::warn!(
            run = run.run_id,
            "failure notification not delivered (the run's outcome is unchanged): {e}"
        ),
    }
}
