//! The DAG runner: tasks with dependencies, run by a few worker threads in dependency
//! order, independent tasks at the same time. A task that fails with a transient error is
//! retried after an exponential backoff (`up_for_retry`); any other failure is final. A
//! task whose upstream failed or was skipped is skipped, like `dbt build`, unless it
//! asked to run once everything upstream is done ([`Trigger::AllDone`], Airflow's
//! `all_done`: the commit, which keeps a failed run's quarantine).
//!
//! Written here rather than taken from a crate: the runner is ~200 lines over std's
//! threads, a mutex and a condvar; the workflow crates on crates.io are async (the
//! pipeline is CPU-bound threads) or bring a scheduler service of their own.
//!
//! A crate of its own at the bottom of the server's layers: it knows nothing of the
//! pipeline whose tasks it runs nor of the orchestrator that records them, so both can
//! depend on it without depending on each other. Tasks are closures returning [`Done`]
//! or a [`TaskError`]; callers see every state change of a [`TaskRecord`], and log what
//! they want of it (the runner has no logger: std and chrono only).

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A task's state (shared with the run history and the Pipeline page).
pub use contract::runs::TaskState;

/// Why a task failed; decides whether it is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The world, not the data: a dropped database connection, a locked warehouse.
    Transient,
    /// An error-severity data-quality test failed: the same data fails again.
    Quality,
    /// Anything else (bad input, a bug): retrying would not help.
    Fatal,
}

#[derive(Debug, Clone)]
pub struct TaskError {
    pub kind: FailureKind,
    pub message: String,
}

impl TaskError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Transient,
            message: message.into(),
        }
    }
    pub fn quality(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Quality,
            message: message.into(),
        }
    }
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Fatal,
            message: message.into(),
        }
    }
}

/// What a successful task reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Done {
    pub rows: Option<u64>,
    pub note: Option<String>,
}

impl Done {
    pub fn rows(rows: u64) -> Self {
        Self {
            rows: Some(rows),
            note: None,
        }
    }
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// When a task may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Every upstream task succeeded (the default).
    AllSuccess,
    /// Every upstream task finished, whatever its state.
    AllDone,
}

type TaskFn<'a> = Box<dyn Fn() -> Result<Done, TaskError> + Send + Sync + 'a>;

pub struct Task<'a> {
    pub name: String,
    /// What kind of step: `ingest`, `layer`, `mart`, `test`, `commit`.
    pub group: &'static str,
    pub upstream: Vec<String>,
    pub trigger: Trigger,
    run: TaskFn<'a>,
}

/// A task's record, updated as it runs; observers see every change.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub name: String,
    pub group: &'static str,
    pub upstream: Vec<String>,
    pub state: TaskState,
    pub attempts: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub rows: Option<u64>,
    pub error: Option<String>,
    pub failure: Option<FailureKind>,
    pub note: Option<String>,
}

/// Retries and parallelism.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts after the first, for transient failures.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_delay: Duration,
    /// Tasks run at once.
    pub workers: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            retries: 2,
            retry_delay: Duration::from_secs(5),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

impl Policy {
    /// The wait before attempt `attempt + 1`, after `attempt` attempts failed.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.retry_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
    }
}

/// A DAG that cannot run. `Display` and `Error` are written out rather than derived: the
/// runner stays on std and chrono alone, and these are three messages.
#[derive(Debug)]
pub enum DagError {
    UnknownUpstream { task: String, missing: String },
    Duplicate(String),
    Cycle(String),
}

impl std::fmt::Display for DagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DagError::UnknownUpstream { task, missing } => write!(
                f,
                "task {task} depends on {missing}, which is not a task of this pipeline"
            ),
            DagError::Duplicate(task) => write!(f, "task {task} appears twice"),
            DagError::Cycle(tasks) => {
                write!(f, "the tasks {tasks} depend on each other in a cycle")
            }
        }
    }
}

impl std::error::Error for DagError {}

/// A validated DAG: tasks in an order where every task comes after its upstream.
pub struct Dag<'a> {
    tasks: Vec<Task<'a>>,
    /// Index of each task's upstream tasks.
    upstream: Vec<Vec<usize>>,
}

impl<'a> Dag<'a> {
    pub fn new() -> Self {
        Self {
            tasks: Vec::new(),
            upstream: Vec::new(),
        }
    }

    /// Adds a task that runs once every task in `upstream` succeeded.
    pub fn task(
        &mut self,
        name: impl Into<String>,
        group: &'static str,
        upstream: &[&str],
        run: impl Fn() -> Result<Done, TaskError> + Send + Sync + 'a,
    ) -> &mut Self {
        self.tasks.push(Task {
            name: name.into(),
            group,
            upstream: upstream.iter().map(|s| s.to_string()).collect(),
            trigger: Trigger::AllSuccess,
            run: Box::new(run),
        });
        self
    }

    /// Changes the last added task's trigger.
    pub fn trigger(&mut self, trigger: Trigger) -> &mut Self {
        if let Some(t) = self.tasks.last_mut() {
            t.trigger = trigger;
        }
        self
    }

    /// Checks names and edges and sorts the tasks topologically (stable: among ready
    /// tasks, the order they were added in).
    pub fn validate(mut self) -> Result<Self, DagError> {
        let index = |name: &str| self.tasks.iter().position(|t| t.name == name);
        for (i, t) in self.tasks.iter().enumerate() {
            if index(&t.name) != Some(i) {
                return Err(DagError::Duplicate(t.name.clone()));
            }
            for u in &t.upstream {
                if index(u).is_none() {
                    return Err(DagError::UnknownUpstream {
                        task: t.name.clone(),
                        missing: u.clone(),
                    });
                }
            }
        }
        let mut order = Vec::with_capacity(self.tasks.len());
        let mut placed = vec![false; self.tasks.len()];
        while order.len() < self.tasks.len() {
            let next = (0..self.tasks.len()).find(|&i| {
                !placed[i]
                    && self.tasks[i]
                        .upstream
                        .iter()
                        .all(|u| index(u).is_some_and(|j| placed[j]))
            });
            let Some(i) = next else {
                let stuck: Vec<&str> = (0..self.tasks.len())
                    .filter(|&i| !placed[i])
                    .map(|i| self.tasks[i].name.as_str())
                    .collect();
                return Err(DagError::Cycle(stuck.join(", ")));
            };
            placed[i] = true;
            order.push(i);
        }
        let mut slots: Vec<Option<Task<'a>>> = self.tasks.drain(..).map(Some).collect();
        self.tasks = order.iter().filter_map(|&i| slots[i].take()).collect();
        let names: Vec<String> = self.tasks.iter().map(|t| t.name.clone()).collect();
        self.upstream = self
            .tasks
            .iter()
            .map(|t| {
                t.upstream
                    .iter()
                    .filter_map(|u| names.iter().position(|n| n == u))
                    .collect()
            })
            .collect();
        Ok(self)
    }

    /// The records before anything runs (every task queued).
    pub fn records(&self) -> Vec<TaskRecord> {
        self.tasks
            .iter()
            .map(|t| TaskRecord {
                name: t.name.clone(),
                group: t.group,
                upstream: t.upstream.clone(),
                state: TaskState::Queued,
                attempts: 0,
                started_at: None,
                ended_at: None,
                rows: None,
                error: None,
                failure: None,
                note: None,
            })
            .collect()
    }

    /// Runs every task; `observe` is called (from worker threads, one call at a time)
    /// after each state change with the changed record. Returns the final records.
    pub fn run(&self, policy: &Policy, observe: &(dyn Fn(&TaskRecord) + Sync)) -> Vec<TaskRecord> {
        let shared = Shared {
            sched: Mutex::new(Sched {
                records: self.records(),
                retry_at: vec![None; self.tasks.len()],
                claimed: vec![false; self.tasks.len()],
            }),
            wake: Condvar::new(),
        };
        let workers = policy.workers.clamp(1, self.tasks.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| self.work(&shared, policy, observe));
            }
        });
        let sched = shared.lock();
        sched.records.clone()
    }

    fn work(&self, shared: &Shared, policy: &Policy, observe: &(dyn Fn(&TaskRecord) + Sync)) {
        let mut sched = shared.lock();
        loop {
            // Settle what can be settled without running anything: skips propagate.
            for i in 0..self.tasks.len() {
                if sched.claimed[i] || sched.records[i].state.is_done() {
                    continue;
                }
                let ups = &self.upstream[i];
                if !ups.iter().all(|&u| sched.records[u].state.is_done()) {
                    continue;
                }
                let blocked = self.tasks[i].trigger == Trigger::AllSuccess
                    && ups
                        .iter()
                        .any(|&u| sched.records[u].state != TaskState::Success);
                if blocked {
                    sched.records[i].state = TaskState::Skipped;
                    observe(&sched.records[i]);
                    shared.wake.notify_all();
                }
            }
            if sched.records.iter().all(|r| r.state.is_done()) {
                shared.wake.notify_all();
                return;
            }
            let now = Instant::now();
            let ready = (0..self.tasks.len()).find(|&i| {
                let ups = &self.upstream[i];
                let upstream_ready = match self.tasks[i].trigger {
                    Trigger::AllSuccess => ups
                        .iter()
                        .all(|&u| sched.records[u].state == TaskState::Success),
                    Trigger::AllDone => ups.iter().all(|&u| sched.records[u].state.is_done()),
                };
                !sched.claimed[i]
                    && !sched.records[i].state.is_done()
                    && upstream_ready
                    && sched.retry_at[i].is_none_or(|at| at <= now)
            });
            let Some(i) = ready else {
                // Wait for a task to finish, or for the earliest retry to come due.
                let next_retry = (0..self.tasks.len())
                    .filter(|&i| !sched.claimed[i])
                    .filter_map(|i| sched.retry_at[i])
                    .min();
                sched = match next_retry {
                    Some(at) => {
                        let wait = at.saturating_duration_since(now);
                        shared
                            .wake
                            .wait_timeout(sched, wait)
                            .map_or_else(|p| p.into_inner().0, |(g, _)| g)
                    }
                    None => shared.wake.wait(sched).unwrap_or_else(|p| p.into_inner()),
                };
                continue;
            };
            sched.claimed[i] = true;
            sched.retry_at[i] = None;
            let rec = &mut sched.records[i];
            rec.state = TaskState::Running;
            rec.attempts += 1;
            rec.started_at = Some(Utc::now());
            rec.ended_at = None;
            observe(rec);
            drop(sched);

            let task = &self.tasks[i];
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (task.run)()))
                .unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("a panic");
                    Err(TaskError::fatal(format!("the task panicked: {what}")))
                });

            sched = shared.lock();
            sched.claimed[i] = false;
            let rec = &mut sched.records[i];
            rec.ended_at = Some(Utc::now());
            match result {
                Ok(done) => {
                    rec.state = TaskState::Success;
                    rec.rows = done.rows;
                    rec.note = done.note;
                    rec.error = None;
                    rec.failure = None;
                }
                Err(e) => {
                    rec.error = Some(e.message.clone());
                    rec.failure = Some(e.kind);
                    if e.kind == FailureKind::Transient && rec.attempts <= policy.retries {
                        let wait = policy.backoff(rec.attempts);
                        rec.state = TaskState::UpForRetry;
                        sched.retry_at[i] = Some(Instant::now() + wait);
                    } else {
                        rec.state = TaskState::Failed;
                    }
                }
            }
            observe(&sched.records[i]);
            shared.wake.notify_all();
        }
    }
}

impl Default for Dag<'_> {
    fn default() -> Self {
        Self::new()
    }
}

struct Sched {
    records: Vec<TaskRecord>,
    /// When an `up_for_retry` task may run again.
    retry_at: Vec<Option<Instant>>,
    /// Being run by a worker right now.
    claimed: Vec<bool>,
}

struct Shared {
    sched: Mutex<Sched>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Sched> {
        // A panicking task is caught before it could poison the lock; recover anyway.
        self.sched.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests;
