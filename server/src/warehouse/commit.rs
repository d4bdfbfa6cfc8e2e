//! Atomic changes to the Parquet warehouse: stage files aside, journal the renames, apply.
//!
//! Renaming a file over another is atomic on one filesystem, but a run changes many tables.
//! A redo journal makes the set atomic: once `_heymax/journal.json` exists (itself written
//! aside and renamed into place) the commit is decided, and `recover` replays it after a
//! crash; before that, staged files are simply discarded.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Result, State, Warehouse, WarehouseError, io_err};

#[derive(Serialize, Deserialize)]
struct Journal {
    /// (staged file, final file), relative to the warehouse root.
    renames: Vec<(String, String)>,
    state: State,
}

pub(super) fn journal_path(root: &Path) -> PathBuf {
    root.join("_heymax").join("journal.json")
}

fn staging_root(root: &Path) -> PathBuf {
    root.join("_heymax").join("staging")
}

/// A test hook: `HEYMAX_CRASH_AT=<point>` aborts the process there, as a kill would.
fn crash_point(point: &str) {
    if std::env::var("HEYMAX_CRASH_AT").is_ok_and(|p| p == point) {
        tracing::warn!(point, "HEYMAX_CRASH_AT: aborting on purpose");
        std::process::abort();
    }
}

/// Finishes a decided commit and discards undecided staged files.
pub(super) fn recover(root: &Path) -> Result<()> {
    let journal = journal_path(root);
    if journal.exists() {
        let text = std::fs::read(&journal).map_err(io_err(&journal))?;
        let parsed: Journal =
            serde_json::from_slice(&text).map_err(|source| WarehouseError::State {
                path: journal.clone(),
                source,
            })?;
        tracing::warn!("finishing a commit that an earlier run left half-done");
        apply(root, &parsed)?;
    }
    let staging = staging_root(root);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
    }
    Ok(())
}

fn apply(root: &Path, journal: &Journal) -> Result<()> {
    for (i, (from, to)) in journal.renames.iter().enumerate() {
        let (from, to) = (root.join(from), root.join(to));
        if from.exists() {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            std::fs::rename(&from, &to).map_err(io_err(&to))?;
        }
        if i == 0 {
            crash_point("mid-commit");
        }
    }
    let state = Warehouse::state_path(root);
    let text =
        serde_json::to_vec_pretty(&journal.state).map_err(|source| WarehouseError::State {
            path: state.clone(),
            source,
        })?;
    write_atomic(&state, &text)?;
    let journal = journal_path(root);
    std::fs::remove_file(&journal).map_err(io_err(&journal))?;
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    if let Some(dir) = path.parent() {
        // Makes the rename itself durable; not every platform can open a directory.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// A set of table changes that becomes visible all at once on [`Transaction::commit`].
pub struct Transaction<'w> {
    wh: &'w mut Warehouse,
    staging: PathBuf,
    renames: Vec<(String, String)>,
    state: State,
    next_file: usize,
}

impl<'w> Transaction<'w> {
    pub(super) fn new(wh: &'w mut Warehouse) -> Result<Self> {
        let staging = staging_root(&wh.root).join(format!("{}", std::process::id()));
        std::fs::create_dir_all(&staging).map_err(io_err(&staging))?;
        let state = wh.state.clone();
        Ok(Self {
            wh,
            staging,
            renames: Vec::new(),
            state,
            next_file: 0,
        })
    }

    /// The state as it will be after commit (batches, next batch id).
    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// The committed warehouse this transaction changes.
    pub fn warehouse(&self) -> &Warehouse {
        self.wh
    }

    /// A fresh path in the staging folder to write a file to.
    pub fn stage(&mut self, name: &str) -> PathBuf {
        self.next_file += 1;
        self.staging.join(format!("{:04}-{name}", self.next_file))
    }

    /// A second staged name for the same bytes (a hard link, so nothing is copied).
    pub fn stage_link(&mut self, staged: &Path, name: &str) -> Result<PathBuf> {
        let link = self.stage(name);
        if std::fs::hard_link(staged, &link).is_err() {
            std::fs::copy(staged, &link).map_err(io_err(&link))?;
        }
        Ok(link)
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.wh.root)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }

    /// After commit, `table` (`layer.name`) is exactly the staged file, at `layer/name.parquet`.
    pub fn replace(&mut self, table: &str, staged: &Path) {
        let target = format!("{}.parquet", table.replacen('.', "/", 1));
        self.renames.push((self.relative(staged), target.clone()));
        self.state.tables.insert(table.to_string(), vec![target]);
    }

    /// After commit, the staged file is one more part of `table`, at `layer/name/part.parquet`.
    pub fn append(&mut self, table: &str, staged: &Path, part: &str) {
        let target = format!("{}/{part}.parquet", table.replacen('.', "/", 1));
        self.renames.push((self.relative(staged), target.clone()));
        let files = self.state.tables.entry(table.to_string()).or_default();
        if !files.contains(&target) {
            files.push(target);
        }
    }

    /// Drops every staged change except those to `tables` (a failed run keeps only its
    /// quarantine); the other tables stay as committed.
    pub fn keep_only(&mut self, tables: &[&str]) {
        let dirs: Vec<String> = tables.iter().map(|t| t.replacen('.', "/", 1)).collect();
        self.renames
            .retain(|(_, to)| dirs.iter().any(|d| to.starts_with(d.as_str())));
        let committed = &self.wh.state.tables;
        self.state.tables = committed
            .iter()
            .filter(|(t, _)| !tables.contains(&t.as_str()))
            .map(|(t, f)| (t.clone(), f.clone()))
            .chain(
                self.state
                    .tables
                    .iter()
                    .filter(|(t, _)| tables.contains(&t.as_str()))
                    .map(|(t, f)| (t.clone(), f.clone())),
            )
            .collect();
    }

    /// Makes every staged change visible at once.
    pub fn commit(mut self) -> Result<()> {
        crash_point("before-commit");
        let root = self.wh.root.clone();
        let journal = Journal {
            renames: std::mem::take(&mut self.renames),
            state: std::mem::take(&mut self.state),
        };
        let path = journal_path(&root);
        let text = serde_json::to_vec(&journal).map_err(|source| WarehouseError::State {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &text)?;
        apply(&root, &journal)?;
        if self.staging.exists() {
            std::fs::remove_dir_all(&self.staging).map_err(io_err(&self.staging))?;
        }
        // Only succeeds when no other staged run is there; leaves nothing behind otherwise.
        let _ = std::fs::remove_dir(staging_root(&root));
        self.wh.state = journal.state;
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // Uncommitted (an error or a failed quality gate): discard what was staged.
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}
