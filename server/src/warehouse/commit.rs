//! Atomic commits to a warehouse folder: staged files, a journal of renames, then the renames.
//!
//! Renaming a file over another is atomic on one filesystem, but a run changes many tables.
//! A redo journal makes the set atomic: once `_heymax/journal.json` exists (itself written
//! aside and renamed into place) the commit is decided, and `recover` replays it after a
//! crash; before that, staged files are simply discarded.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::transaction::{Change, Kind};
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

pub(super) fn staging_root(root: &Path) -> PathBuf {
    root.join("_heymax").join("staging")
}

/// A test hook: `HEYMAX_CRASH_AT=<point>` aborts the process there, as a kill would.
pub(crate) fn crash_point(point: &str) {
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

/// `layer.name` -> `layer/name.parquet`, relative to the warehouse root.
pub(super) fn file_of(table: &str) -> String {
    format!("{}.parquet", table.replacen('.', "/", 1))
}

/// `layer.name` and `part` -> `layer/name/part.parquet`.
pub(super) fn part_file_of(table: &str, part: &str) -> String {
    format!("{}/{part}.parquet", table.replacen('.', "/", 1))
}

/// Commits staged changes to the warehouse folder `root`: journal, then renames.
pub(super) fn commit(root: &Path, staging: &Path, changes: &[Change], state: &State) -> Result<()> {
    let renames = changes
        .iter()
        .map(|c| {
            let from = c
                .staged
                .strip_prefix(root)
                .unwrap_or(&c.staged)
                .to_string_lossy()
                .into_owned();
            let to = match &c.kind {
                Kind::Replace => file_of(&c.table.name),
                Kind::Append { part } => part_file_of(&c.table.name, part),
            };
            (from, to)
        })
        .collect();
    let journal = Journal {
        renames,
        state: state.clone(),
    };
    let path = journal_path(root);
    let text = serde_json::to_vec(&journal).map_err(|source| WarehouseError::State {
        path: path.clone(),
        source,
    })?;
    write_atomic(&path, &text)?;
    apply(root, &journal)?;
    if staging.exists() {
        std::fs::remove_dir_all(staging).map_err(io_err(staging))?;
    }
    // Only succeeds when no other staged run is there; leaves nothing behind otherwise.
    let _ = std::fs::remove_dir(staging_root(root));
    Ok(())
}
