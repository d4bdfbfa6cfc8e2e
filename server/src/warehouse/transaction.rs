//! A set of table changes that becomes visible all at once. The pipeline stages each change
//! as a Parquet file in a local folder, then says what it is: the new contents of a table
//! ([`Transaction::replace`]) or one more part of it ([`Transaction::append`]), with the
//! table's [`TableSpec`] (its key and comment, which a database keeps). The backend
//! applies them on [`Transaction::commit`]: renames under a journal for a folder, one
//! database transaction for PostgreSQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{
    Backend, Result, State, TableSpec, Warehouse, WarehouseError, commit, io_err, postgres,
};

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
    pub table: TableSpec,
    pub staged: PathBuf,
    pub kind: Kind,
}

/// Staged changes to one warehouse. It does not hold the warehouse: the pipeline's tasks
/// stage into it from several threads, and a commit that failed on a dropped connection
/// can be retried on a new one ([`Transaction::commit`] checks nothing changed since).
pub struct Transaction {
    /// The committed state the changes apply to.
    base: State,
    database: bool,
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

impl Transaction {
    pub(super) fn new(wh: &Warehouse) -> Result<Self> {
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
            base: wh.state.clone(),
            database: matches!(wh.backend, Backend::Postgres(_)),
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
        self.database
    }

    /// After commit, `table` is exactly the staged file.
    pub fn replace(&mut self, table: &TableSpec, staged: &Path) {
        let name = table.name.as_str();
        let target = if self.is_database() {
            name.to_string()
        } else {
            commit::file_of(name)
        };
        self.state.tables.insert(name.to_string(), vec![target]);
        self.changes.push(Change {
            table: table.clone(),
            staged: staged.to_path_buf(),
            kind: Kind::Replace,
        });
    }

    /// After commit, `table` is exactly the staged files, each one part (`part` names its
    /// file: `event_date=2025-03-07` is `<layer>/<table>/event_date=2025-03-07.parquet`):
    /// a table written by many tasks at once, as Spark writes one file per event date.
    /// Files of the table's previous version that are not among them are removed after
    /// the commit.
    pub fn replace_parts(&mut self, table: &TableSpec, parts: &[(PathBuf, String)]) {
        let name = table.name.as_str();
        let targets = parts
            .iter()
            .map(|(_, part)| {
                if self.is_database() {
                    part.clone()
                } else {
                    commit::part_file_of(name, part)
                }
            })
            .collect();
        self.state.tables.insert(name.to_string(), targets);
        for (staged, part) in parts {
            self.changes.push(Change {
                table: table.clone(),
                staged: staged.clone(),
                kind: Kind::Append { part: part.clone() },
            });
        }
    }

    /// After commit, a folder's `table` has the staged files as parts (each replacing the
    /// part of its name, if there was one), no longer has the parts `removed`, and keeps
    /// its other parts; its parts stay listed in name order. A table kept as one part per
    /// period, of which a run rebuilt a few. (A database's table is only ever replaced
    /// whole or appended to: this is for folders.)
    pub fn update_parts(
        &mut self,
        table: &TableSpec,
        parts: &[(PathBuf, String)],
        removed: &[String],
    ) {
        debug_assert!(
            !self.is_database(),
            "update_parts is for a folder warehouse"
        );
        let name = table.name.as_str();
        let removed: Vec<String> = removed
            .iter()
            .map(|p| commit::part_file_of(name, p))
            .collect();
        let list = self.state.tables.entry(name.to_string()).or_default();
        list.retain(|f| !removed.contains(f));
        for (staged, part) in parts {
            let target = commit::part_file_of(name, part);
            if !list.contains(&target) {
                list.push(target);
            }
            self.changes.push(Change {
                table: table.clone(),
                staged: staged.clone(),
                kind: Kind::Append { part: part.clone() },
            });
        }
        list.sort();
    }

    /// After commit, the staged file is one more part of `table`.
    pub fn append(&mut self, table: &TableSpec, staged: &Path, part: &str) {
        let name = table.name.as_str();
        let target = if self.is_database() {
            part.to_string()
        } else {
            commit::part_file_of(name, part)
        };
        let parts = self.state.tables.entry(name.to_string()).or_default();
        if !parts.contains(&target) {
            parts.push(target);
        }
        self.changes.push(Change {
            table: table.clone(),
            staged: staged.to_path_buf(),
            kind: Kind::Append {
                part: part.to_string(),
            },
        });
    }

    /// Drops every staged change except those to `tables` (a failed run keeps only its
    /// quarantine); the other tables stay as committed.
    pub fn keep_only(&mut self, tables: &[&str]) {
        self.changes
            .retain(|c| tables.contains(&c.table.name.as_str()));
        let committed = &self.base.tables;
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

    /// Makes every staged change visible at once in `wh`, which must still be at the
    /// state this transaction began from (the same warehouse, or the same one reopened
    /// after a dropped connection). A database commit that failed changed nothing and can
    /// be tried again.
    pub fn commit(&self, wh: &mut Warehouse) -> Result<()> {
        if wh.state != self.base {
            return Err(WarehouseError::Changed(wh.location.to_string()));
        }
        commit::crash_point("before-commit");
        match &mut wh.backend {
            Backend::Dir { root, .. } => {
                commit::commit(root, &self.staging, &self.changes, &self.state)?;
                self.remove_unlisted(root);
            }
            Backend::Postgres(session) => {
                postgres::commit(session, &self.changes, &self.links, &self.state)?
            }
        }
        wh.state = self.state.clone();
        Ok(())
    }
}

impl Transaction {
    /// Removes the files the committed state listed before and no table lists now (a
    /// table replaced by parts of other names). Best effort: a file left behind is only
    /// disk space, as no reader looks past the state.
    fn remove_unlisted(&self, root: &Path) {
        let listed: std::collections::HashSet<&String> =
            self.state.tables.values().flatten().collect();
        for file in self.base.tables.values().flatten() {
            if !listed.contains(file) {
                let path = root.join(file);
                if let Err(e) = std::fs::remove_file(&path) {
                    tracing::debug!(file = %path.display(), "not removed: {e}");
                }
            }
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // Uncommitted (an error or a failed quality gate): discard what was staged.
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}
