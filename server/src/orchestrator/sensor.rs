//! `serve --watch <inbox>`: a file sensor. Each event file (`*.csv`, `*.ndjson`, `*.parquet`,
//! optionally compressed) put in the inbox is loaded once
//! it is completely written, which it knows from a marker (`<name>.csv.done` or
//! `<name>.done`) or, without one and unless `--require-done`, from its length and
//! modification time staying the same for `settle`. Then:
//!
//! - a wrong header: the file goes to `rejected/` with `<name>.reason` saying why (no run);
//! - otherwise it is loaded by a run of its own (incrementally, on top of the warehouse)
//!   and goes to `processed/`, or to `rejected/` with the run's error when the run failed
//!   on its data;
//! - a run that failed on the warehouse (unreachable after its retries) leaves the file
//!   in the inbox, to be tried again after `settle`; nothing is lost.
//!
//! A quiet spell only suggests that a writer is done; a writer that pauses longer than
//! `settle` proves it wrong. So the sensor fingerprints a file (length, modification
//! time, inode) when it settles and moves it only if the fingerprint is the same after
//! its run: a file that changed meanwhile stays in the inbox and is loaded again once it
//! settles anew. A moved file is still watched for a while ([`Sensor::late_window`]): if
//! it grows in `processed/` or `rejected/` (its writer still had it open) it goes back to
//! the inbox. Loading a file again is safe because `event_id` is a hash of the event's
//! own fields and gold keeps each id once: the second load adds only the new rows. A
//! marker is the reliable way for writers that pause; `--require-done` waits for it.
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

/// The longest wait the sensor schedules: keeps `Instant` arithmetic in range whatever
/// `--settle` says.
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone)]
pub struct SensorConfig {
    pub inbox: PathBuf,
    /// How often the inbox is looked at.
    pub poll: Duration,
    /// How long a file without a marker must stay unchanged to count as complete.
    pub settle: Duration,
    /// Take only files with a marker: for writers that may pause longer than `settle`.
    pub require_done: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path}: {source}; create the folder or name another with --watch")]
pub struct SensorError {
    path: PathBuf,
    source: std::io::Error,
}

/// A regular file itself, not a symlink: whoever can write to the inbox must not make the
/// server read (and quote, in a `.reason`) a file elsewhere by linking to it.
fn is_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// What the sensor can tell of a file's content without reading it: an append changes
/// its length (whatever the clock's resolution), a rewrite its modification time, a
/// replacement (write elsewhere, rename over) its inode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: Option<(u64, u64)>,
}

impl Fingerprint {
    fn of(path: &Path) -> Option<Self> {
        // The link itself, never what it points to: see `is_regular_file`.
        let meta = std::fs::symlink_metadata(path).ok()?;
        Some(Self {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode: inode(&meta),
        })
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// What the sensor last saw of a file in the inbox.
struct Seen {
    print: Fingerprint,
    since: Instant,
}

/// A file the sensor moved out of the inbox, watched until `until` in case its writer
/// was not done with it.
struct Moved {
    from: PathBuf,
    print: Fingerprint,
    reason: Option<PathBuf>,
    until: Instant,
}

pub struct Sensor {
    config: SensorConfig,
    seen: HashMap<PathBuf, Seen>,
    /// Files to leave alone until then (their run failed on the warehouse).
    wait_until: HashMap<PathBuf, Instant>,
    /// Where moved files went, by their new path.
    moved: HashMap<PathBuf, Moved>,
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
            // A symlinked processed/ or rejected/ would send the moves (and the .reason
            // files) wherever it points.
            let real = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_dir());
            if !real {
                return Err(SensorError {
                    path: dir.clone(),
                    source: std::io::Error::other(
                        "not a real folder (a symlink?): replace it with a folder",
                    ),
                });
            }
        }
        Ok(Self {
            config,
            seen: HashMap::new(),
            wait_until: HashMap::new(),
            moved: HashMap::new(),
        })
    }

    /// Polls until `stop` is set.
    pub fn watch(mut self, orchestrator: &Orchestrator, stop: &AtomicBool) {
        if self.config.require_done {
            tracing::info!(
                inbox = %self.config.inbox.display(),
                "watching for event files (CSV, NDJSON, Parquet; taken once their .done marker exists)"
            );
        } else {
            tracing::info!(
                inbox = %self.config.inbox.display(),
                "watching for event files (CSV, NDJSON, Parquet; complete when unchanged for {:?} or with a .done marker)",
                self.config.settle
            );
        }
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

    /// How long a moved file is watched for growth. A bound, not a guarantee: what a
    /// writer adds after it is lost to the load, which is why markers exist.
    pub fn late_window(&self) -> Duration {
        self.config
            .settle
            .saturating_mul(10)
            .clamp(Duration::from_secs(60), LONGEST)
    }

    /// The inbox's complete files, by name. Moved files that grew come back first.
    pub fn poll(&mut self) -> Vec<PathBuf> {
        let now = Instant::now();
        self.bring_back_grown(now);
        let Ok(entries) = std::fs::read_dir(&self.config.inbox) else {
            tracing::warn!(inbox = %self.config.inbox.display(), "inbox unreadable");
            return Vec::new();
        };
        let mut csvs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_regular_file(p) && ingest::input::format_of(p).is_some())
            .collect();
        csvs.sort();
        self.seen.retain(|p, _| csvs.contains(p));
        self.wait_until.retain(|p, _| csvs.contains(p));
        let mut ready = Vec::new();
        for path in csvs {
            if self.wait_until.get(&path).is_some_and(|t| *t > now) {
                continue;
            }
            let Some(print) = Fingerprint::of(&path) else {
                continue;
            };
            let marked = marker(&path).is_some();
            match self.seen.get(&path) {
                Some(seen) if seen.print == print => {
                    let settled = !self.config.require_done
                        && now.duration_since(seen.since) >= self.config.settle;
                    if marked || settled {
                        ready.push(path);
                    }
                }
                previous => {
                    if previous.is_none() && self.config.require_done && !marked {
                        tracing::info!(
                            file = %path.display(),
                            "waiting for its .done marker (--require-done)"
                        );
                    }
                    self.seen.insert(path.clone(), Seen { print, since: now });
                    // A marker says the writer is done: no need to wait for a second look.
                    if marked {
                        ready.push(path);
                    }
                }
            }
        }
        ready
    }

    /// Loads one complete file and moves it where it belongs, unless it changed on the way.
    pub fn load(&mut self, orchestrator: &Orchestrator, file: &Path) {
        let current = Fingerprint::of(file);
        let picked = match self.seen.remove(file) {
            Some(seen) => seen.print,
            None => match &current {
                Some(print) => print.clone(),
                None => return,
            },
        };
        // Files are loaded one after another: this one may have changed since it settled.
        if current.as_ref() != Some(&picked) {
            self.requeue(file, "changed after it settled");
            return;
        }
        if let Err(e) = orchestrator.config().check_input(file) {
            tracing::warn!(file = %file.display(), "rejected: {e}");
            self.settle_file(file, &picked, REJECTED, Some(&e.to_string()));
            return;
        }
        match orchestrator.run("sensor", file) {
            Ok(finished) => {
                if finished.succeeded() {
                    self.settle_file(file, &picked, PROCESSED, None);
                } else if warehouse_trouble(&finished) {
                    tracing::warn!(
                        file = %file.display(),
                        run = finished.run.run_id,
                        "left in the inbox: the warehouse could not be reached; trying again in {:?}",
                        self.retry_delay()
                    );
                    self.wait_until
                        .insert(file.to_path_buf(), Instant::now() + self.retry_delay());
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
                    self.settle_file(file, &picked, REJECTED, Some(&reason));
                }
            }
            Err(OrchestratorError::Input(e)) => {
                tracing::warn!(file = %file.display(), "rejected: {e}");
                self.settle_file(file, &picked, REJECTED, Some(&e.to_string()));
            }
            Err(e) => {
                tracing::warn!(file = %file.display(), "not loaded, trying again later: {e}");
                self.wait_until
                    .insert(file.to_path_buf(), Instant::now() + self.retry_delay());
            }
        }
    }

    fn retry_delay(&self) -> Duration {
        self.config.settle.clamp(Duration::from_secs(1), LONGEST)
    }

    /// Leaves `file` in the inbox, to be taken again once it settles anew.
    fn requeue(&mut self, file: &Path, why: &str) {
        tracing::warn!(
            file = %file.display(),
            "{why}: its writer was not done; left in the inbox and loaded again once it \
             settles (rows already loaded are not loaded twice). Writers that pause should \
             write <name>.done when finished"
        );
        if let Some(print) = Fingerprint::of(file) {
            self.seen.insert(
                file.to_path_buf(),
                Seen {
                    print,
                    since: Instant::now(),
                },
            );
        }
    }

    /// Moves `file` (and its marker) into `folder`, with a `.reason` beside it if given,
    /// provided it is still what was loaded (`picked`).
    fn settle_file(
        &mut self,
        file: &Path,
        picked: &Fingerprint,
        folder: &str,
        reason: Option<&str>,
    ) {
        if Fingerprint::of(file).as_ref() != Some(picked) {
            self.requeue(file, "changed during its run");
            return;
        }
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
        let reason = reason.and_then(|reason| {
            let path = target.with_extension("reason");
            // Never through a link planted at that name: remove whatever is there, then
            // create the file anew (`create_new` does not follow links).
            let _ = std::fs::remove_file(&path);
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| {
                    std::io::Write::write_all(&mut f, format!("{reason}\n").as_bytes())
                });
            match written {
                Ok(()) => Some(path),
                Err(e) => {
                    tracing::error!("cannot write {}: {e}", path.display());
                    None
                }
            }
        });
        // `picked`, not a fresh look: a rename keeps length, time and inode, and a write
        // landing since the check above must count as a change.
        self.moved.insert(
            target.clone(),
            Moved {
                from: file.to_path_buf(),
                print: picked.clone(),
                reason,
                until: Instant::now() + self.late_window(),
            },
        );
        tracing::info!(file = %target.display(), "moved to {folder}/");
    }

    /// Moves back to the inbox each recently moved file that changed since: its writer
    /// still had it open, and what it wrote after the move has not been loaded.
    fn bring_back_grown(&mut self, now: Instant) {
        for (target, moved) in std::mem::take(&mut self.moved) {
            match Fingerprint::of(&target) {
                Some(print) if moved.until > now && print == moved.print => {
                    self.moved.insert(target, moved);
                }
                Some(_) if moved.until > now => bring_back(&target, &moved),
                // Watched long enough, or gone (someone took it away).
                _ => {}
            }
        }
    }
}

fn bring_back(target: &Path, moved: &Moved) {
    if moved.from.exists() {
        tracing::warn!(
            file = %target.display(),
            "changed after it was moved, but the inbox has a file of that name again: left where it is"
        );
        return;
    }
    if let Err(e) = std::fs::rename(target, &moved.from) {
        tracing::error!(
            file = %target.display(),
            "changed after it was moved, but cannot go back to the inbox: {e}"
        );
        return;
    }
    if let Some(reason) = &moved.reason {
        let _ = std::fs::remove_file(reason);
    }
    tracing::warn!(
        file = %moved.from.display(),
        "changed after it was moved out of the inbox: its writer had paused longer than \
         --settle. Moved back; its new rows are loaded once it settles (rows already \
         loaded are not loaded twice). Writers that pause should write <name>.done when finished"
    );
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn sensor(dir: &Path, require_done: bool) -> Sensor {
        Sensor::new(SensorConfig {
            inbox: dir.join("inbox"),
            poll: Duration::ZERO,
            settle: Duration::ZERO,
            require_done,
        })
        .expect("inbox")
    }

    fn print(path: &Path) -> Fingerprint {
        Fingerprint::of(path).expect("file exists")
    }

    #[test]
    fn symlinks_in_the_inbox_are_never_taken_and_a_linked_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret.txt");
        std::fs::write(&secret, "token=abc\n").unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        std::os::unix::fs::symlink(&secret, inbox.join("x.csv")).unwrap();
        assert!(!is_regular_file(&inbox.join("x.csv")));
        std::fs::write(inbox.join("y.csv"), "a\n").unwrap();
        assert!(is_regular_file(&inbox.join("y.csv")));

        let linked = dir.path().join("linked");
        std::fs::create_dir(&linked).unwrap();
        std::os::unix::fs::symlink(dir.path(), linked.join(REJECTED)).unwrap();
        let config = SensorConfig {
            inbox: linked,
            poll: Duration::ZERO,
            settle: Duration::ZERO,
            require_done: false,
        };
        let err = Sensor::new(config)
            .err()
            .expect("a symlinked rejected/ is refused");
        assert!(err.to_string().contains("not a real folder"), "{err}");
    }

    #[test]
    fn a_file_is_ready_on_its_second_look_or_at_once_with_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        let mut sensor = sensor(dir.path(), false);
        let a = sensor.config.inbox.join("a.csv");
        std::fs::write(&a, "a\n").unwrap();
        assert!(
            sensor.poll().is_empty(),
            "first look: not yet seen unchanged"
        );
        assert_eq!(sensor.poll(), vec![a.clone()]);
        let b = sensor.config.inbox.join("b.csv");
        std::fs::write(&b, "b\n").unwrap();
        std::fs::write(sensor.config.inbox.join("b.csv.done"), "").unwrap();
        assert_eq!(sensor.poll(), vec![a, b]);
    }

    #[test]
    fn with_require_done_only_a_file_with_its_marker_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let mut sensor = sensor(dir.path(), true);
        let a = sensor.config.inbox.join("a.csv");
        std::fs::write(&a, "a\n").unwrap();
        assert!(sensor.poll().is_empty());
        assert!(sensor.poll().is_empty(), "settled, but no marker");
        std::fs::write(sensor.config.inbox.join("a.done"), "").unwrap();
        assert_eq!(sensor.poll(), vec![a]);
    }

    #[test]
    fn a_file_that_changed_since_it_was_picked_stays_in_the_inbox() {
        let dir = tempfile::tempdir().unwrap();
        let mut sensor = sensor(dir.path(), false);
        let a = sensor.config.inbox.join("a.csv");
        std::fs::write(&a, "half\n").unwrap();
        let picked = print(&a);
        let mut writer = std::fs::OpenOptions::new().append(true).open(&a).unwrap();
        writer.write_all(b"rest\n").unwrap();
        sensor.settle_file(&a, &picked, PROCESSED, None);
        assert!(a.exists());
        assert!(!sensor.config.inbox.join(PROCESSED).join("a.csv").exists());
        // Re-queued as it is now: taken again once settled (at once, with settle 0).
        assert_eq!(sensor.poll(), vec![a.clone()]);
        sensor.settle_file(&a, &print(&a), PROCESSED, None);
        assert!(!a.exists());
    }

    #[test]
    fn a_moved_file_that_grows_goes_back_to_the_inbox_and_one_that_does_not_stays() {
        let dir = tempfile::tempdir().unwrap();
        let mut sensor = sensor(dir.path(), false);
        let inbox = sensor.config.inbox.clone();
        let grows = inbox.join("grows.csv");
        let still = inbox.join("still.csv");
        std::fs::write(&grows, "half\n").unwrap();
        std::fs::write(&still, "all\n").unwrap();
        // Its writer keeps it open across the move, as a paused writer does.
        let mut writer = std::fs::OpenOptions::new()
            .append(true)
            .open(&grows)
            .unwrap();
        sensor.settle_file(&grows, &print(&grows), REJECTED, Some("run 1 failed"));
        sensor.settle_file(&still, &print(&still), PROCESSED, None);
        assert!(inbox.join("rejected/grows.reason").exists());
        assert!(sensor.poll().is_empty(), "nothing changed, nothing back");
        assert!(!grows.exists() && !still.exists());

        writer.write_all(b"rest\n").unwrap();
        drop(writer);
        assert!(sensor.poll().is_empty(), "back, but not settled yet");
        assert_eq!(std::fs::read_to_string(&grows).unwrap(), "half\nrest\n");
        assert!(!inbox.join("rejected/grows.csv").exists());
        assert!(
            !inbox.join("rejected/grows.reason").exists(),
            "stale reason"
        );
        assert!(inbox.join("processed/still.csv").exists() && !still.exists());
        assert_eq!(sensor.poll(), vec![grows]);
    }

    #[test]
    fn the_late_window_is_at_least_a_minute_and_never_overflows() {
        let dir = tempfile::tempdir().unwrap();
        let mut sensor = sensor(dir.path(), false);
        assert_eq!(sensor.late_window(), Duration::from_secs(60));
        sensor.config.settle = Duration::from_secs(30);
        assert_eq!(sensor.late_window(), Duration::from_secs(300));
        sensor.config.settle = Duration::MAX;
        assert_eq!(sensor.late_window(), LONGEST);
        assert_eq!(sensor.retry_delay(), LONGEST);
    }
}
