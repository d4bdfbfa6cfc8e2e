//! `serve --watch <inbox>`: a file sensor. Each `*.csv` put in the inbox is loaded once
//! it is completely written, which it knows from a marker (`<name>.csv.done` or
//! `<name>.done`) or, without one, from its size and modification time staying the same
//! for `settle`. Then:
//!
//! - a wrong header: the file goes to `rejected/` with `<name>.reason` saying why (no run);
//! - otherwise it is loaded by a run of its own (incrementally, on top of the warehouse)
//!   and goes to `processed/`, or to `rejected/` with the run's error when the run failed
//!   on its data;
//! - a run that failed on the warehouse (unreachable after its retries) leaves the file
//!   in the inbox, to be tried again after `settle`; nothing is lost.
//!
//! Files are taken one at a time, oldest name first; runs wait for each other.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::pipeline::PipelineError;
use crate::pipeline::ingest;

use super::{Finished, Orchestrator, OrchestratorError};

pub const PROCESSED: &str = "processed";
pub const REJECTED: &str = "rejected";

#[derive(Debug, Clone)]
pub struct SensorConfig {
    pub inbox: PathBuf,
    /// How often the inbox is looked at.
    pub poll: Duration,
    /// How long a file without a marker must stay unchanged to count as complete.
    pub settle: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {source}; create the folder or name another with --watch")]
pub struct SensorError {
    path: PathBuf,
    source: std::io::Error,
}

/// What the sensor last saw of a file.
struct Seen {
    len: u64,
    modified: Option<SystemTime>,
    since: Instant,
}

pub struct Sensor {
    config: SensorConfig,
    seen: HashMap<PathBuf, Seen>,
    /// Files to leave alone until then (their run failed on the warehouse).
    wait_until: HashMap<PathBuf, Instant>,
}

impl Sensor {
    /// Checks the inbox and creates `processed/` and `rejected/` in it.
    pub fn new(config: SensorConfig) -> Result<Self, SensorError> {
        for dir in [
            config.inbox.clone(),
            config.inbox.join(PROCESSED),
            config.inbox.join(REJECTED),
        ] {
            std::fs::create_dir_all(&dir).map_err(|source| SensorError {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(Self {
            config,
            seen: HashMap::new(),
            wait_until: HashMap::new(),
        })
    }

    /// Polls until `stop` is set.
    pub fn watch(mut self, orchestrator: &Orchestrator, stop: &AtomicBool) {
        tracing::info!(
            inbox = %self.config.inbox.display(),
            "watching for event files (*.csv; complete when unchanged for {:?} or with a .done marker)",
            self.config.settle
        );
        while !stop.load(Ordering::SeqCst) {
            for file in self.poll() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                self.load(orchestrator, &file);
            }
            std::thread::sleep(self.config.poll);
        }
    }

    /// Starts [`Sensor::watch`] on a thread of its own.
    pub fn spawn(self, orchestrator: Arc<Orchestrator>, stop: Arc<AtomicBool>) {
        let spawned = std::thread::Builder::new()
            .name("sensor".into())
            .spawn(move || self.watch(&orchestrator, &stop));
        if let Err(e) = spawned {
            tracing::error!("cannot start the file sensor: {e}");
        }
    }

    /// The inbox's complete files, by name.
    pub fn poll(&mut self) -> Vec<PathBuf> {
        let now = Instant::now();
        let Ok(entries) = std::fs::read_dir(&self.config.inbox) else {
            tracing::warn!(inbox = %self.config.inbox.display(), "inbox unreadable");
            return Vec::new();
        };
        let mut csvs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
            .collect();
        csvs.sort();
        self.seen.retain(|p, _| csvs.contains(p));
        self.wait_until.retain(|p, _| csvs.contains(p));
        let mut ready = Vec::new();
        for path in csvs {
            if self.wait_until.get(&path).is_some_and(|t| *t > now) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let (len, modified) = (meta.len(), meta.modified().ok());
            if marker(&path).is_some() {
                ready.push(path);
                continue;
            }
            match self.seen.get_mut(&path) {
                Some(seen) if seen.len == len && seen.modified == modified => {
                    if now.duration_since(seen.since) >= self.config.settle {
                        ready.push(path);
                    }
                }
                _ => {
                    self.seen.insert(
                        path,
                        Seen {
                            len,
                            modified,
                            since: now,
                        },
                    );
                }
            }
        }
        ready
    }

    /// Loads one complete file and moves it where it belongs.
    pub fn load(&mut self, orchestrator: &Orchestrator, file: &Path) {
        self.seen.remove(file);
        if let Err(e) = ingest::read_header(file) {
            tracing::warn!(file = %file.display(), "rejected: {e}");
            self.settle_file(file, REJECTED, Some(&e.to_string()));
            return;
        }
        match orchestrator.run("sensor", file) {
            Ok(finished) => {
                if finished.succeeded() {
                    self.settle_file(file, PROCESSED, None);
                } else if warehouse_trouble(&finished) {
                    tracing::warn!(
                        file = %file.display(),
                        run = finished.run.run_id,
                        "left in the inbox: the warehouse could not be reached; trying again in {:?}",
                        self.config.settle
                    );
                    self.wait_until.insert(
                        file.to_path_buf(),
                        Instant::now() + self.config.settle.max(Duration::from_secs(1)),
                    );
                } else {
                    let reason = format!(
                        "run {} failed{}: {}",
                        finished.run.run_id,
                        finished
                            .run
                            .failed_task
                            .as_deref()
                            .map(|t| format!(" at {t}"))
                            .unwrap_or_default(),
                        finished.run.error.as_deref().unwrap_or("see the run")
                    );
                    self.settle_file(file, REJECTED, Some(&reason));
                }
            }
            Err(OrchestratorError::Input(e)) => {
                tracing::warn!(file = %file.display(), "rejected: {e}");
                self.settle_file(file, REJECTED, Some(&e.to_string()));
            }
            Err(e) => {
                tracing::warn!(file = %file.display(), "not loaded, trying again later: {e}");
                self.wait_until.insert(
                    file.to_path_buf(),
                    Instant::now() + self.config.settle.max(Duration::from_secs(1)),
                );
            }
        }
    }

    /// Moves `file` (and its marker) into `folder`, with a `.reason` beside it if given.
    fn settle_file(&mut self, file: &Path, folder: &str, reason: Option<&str>) {
        let Some(name) = file.file_name() else { return };
        let dir = self.config.inbox.join(folder);
        let mut target = dir.join(name);
        // A file of the same name came before: keep both.
        if target.exists() {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
            target = dir.join(format!("{stem}.{stamp}.csv"));
        }
        if let Err(e) = std::fs::rename(file, &target) {
            tracing::error!(file = %file.display(), "cannot move to {}: {e}", dir.display());
            return;
        }
        if let Some(m) = marker(file) {
            let _ = std::fs::remove_file(m);
        }
        if let Some(reason) = reason {
            let path = target.with_extension("reason");
            if let Err(e) = std::fs::write(&path, format!("{reason}\n")) {
                tracing::error!("cannot write {}: {e}", path.display());
            }
        }
        tracing::info!(file = %target.display(), "moved to {folder}/");
    }
}

/// The marker that says `file` is complete, if there is one.
fn marker(file: &Path) -> Option<PathBuf> {
    let mut long = file.as_os_str().to_owned();
    long.push(".done");
    [PathBuf::from(long), file.with_extension("done")]
        .into_iter()
        .find(|m| m.exists())
}

/// The run failed because the warehouse failed, not the file's data.
fn warehouse_trouble(finished: &Finished) -> bool {
    matches!(
        &finished.summary,
        Err(PipelineError::Warehouse(_) | PipelineError::Task { .. })
    )
}
