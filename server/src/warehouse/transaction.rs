//! A set of table changes that becomes visible all at once. The pipeline stages each change
//! as a Parquet file in a local folder, then says what it is: the new contents of a table
//! ([`Transaction::replace`]) or one more part of it ([`Transaction::append`]). The backend
//! applies them on [`Transaction::commit`]: renames under a journal for a folder, one
//! database transaction for PostgreSQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Backend, Result, State, Warehouse, commit, io_err, postgres};

/// What a staged file becomes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// The whole table.
    Replace,
    /// One more part of the table (`batch=000001`).
    Append { part: String },
}

/// One staged change.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub table: String,
    pub staged: PathBuf,
    pub kind: Kind,
}

pub struct Transaction<'w> {
    wh: &'w mut Warehouse,
    staging: PathBuf,
    /// A database's staging folder lives in the system's temporary folder; a warehouse
    /// folder's inside it (renames must not cross filesystems).
    _temp: Option<tempfile::TempDir>,
    changes: Vec<Change>,
    /// Staged file -> the file it is a hard link of (the same bytes staged twice).
    links: HashMap<PathBuf, PathBuf>,
    state: State,
    next_file: usize,
}

impl<'w> Transaction<'w> {
    pub(super) fn new(wh: &'w mut Warehouse) -> Result<Self> {
        let (staging, temp) = match &wh.backend {
            Backend::Dir { root, .. } => {
                let staging = commit::staging_root(root).join(format!("{}", std::process::id()));
                std::fs::create_dir_all(&staging).map_err(io_err(&staging))?;
                (staging, None)
            }
            Backend::Postgres(_) => {
                let temp = tempfile::Builder::new()
                    .prefix("heymax-staging")
                    .tempdir()
                    .map_err(io_err(&std::env::temp_dir()))?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let state = wh.state.clone();
        Ok(Self {
            wh,
            staging,
            _temp: temp,
            changes: Vec::new(),
            links: HashMap::new(),
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

    /// A second staged name for the same bytes (a hard link, so nothing is copied; a
    /// database copies the rows on the server instead of sending them twice).
    pub fn stage_link(&mut self, staged: &Path, name: &str) -> Result<PathBuf> {
        let link = self.stage(name);
        if std::fs::hard_link(staged, &link).is_err() {
            std::fs::copy(staged, &link).map_err(io_err(&link))?;
        }
        let original = self.links.get(staged).cloned();
        self.links.insert(
            link.clone(),
            original.unwrap_or_else(|| staged.to_path_buf()),
        );
        Ok(link)
    }

    fn is_database(&self) -> bool {
        matches!(self.wh.backend, Backend::Postgres(_))
    }

    /// After commit, `table` (`layer.name`) is exactly the staged file.
    pub fn replace(&mut self, table: &str, staged: &Path) {
        let target = if self.is_database() {
            table.to_string()
        } else {
            commit::file_of(table)
        };
        self.state.tables.insert(table.to_string(), vec![target]);
        self.changes.push(Change {
            table: table.to_string(),
            staged: staged.to_path_buf(),
            kind: Kind::Replace,
        });
    }

    /// After commit, the staged file is one more part of `table`.
    pub fn append(&mut self, table: &str, staged: &Path, part: &str) {
        let target = if self.is_database() {
            part.to_string()
        } else {
            commit::part_file_of(table, part)
        };
        let parts = self.state.tables.entry(table.to_string()).or_default();
        if !parts.contains(&target) {
            parts.push(target);
        }
        self.changes.push(Change {
            table: table.to_string(),
            staged: staged.to_path_buf(),
            kind: Kind::Append {
                part: part.to_string(),
            },
        });
    }

    /// Drops every staged change except those to `tables` (a failed run keeps only its
    /// quarantine); the other tables stay as committed.
    pub fn keep_only(&mut self, tables: &[&str]) {
        self.changes.retain(|c| tables.contains(&c.table.as_str()));
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
        commit::crash_point("before-commit");
        let changes = std::mem::take(&mut self.changes);
        let state = std::mem::take(&mut self.state);
        match &mut self.wh.backend {
            Backend::Dir { root, .. } => commit::commit(root, &self.staging, &changes, &state)?,
            Backend::Postgres(session) => postgres::commit(session, &changes, &self.links, &state)?,
        }
        self.wh.state = state;
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // Uncommitted (an error or a failed quality gate): discard what was staged.
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}
