//! The warehouse: a directory of Parquet files, one folder per layer, readable by any
//! Parquet tool (`bronze/events.parquet`, `silver/events/batch=000001.parquet`, ...).
//!
//! `_heymax/state.json` lists which files make up each table and which batches were
//! loaded. Every change goes through a [`Transaction`]: files are written aside into a
//! staging folder, then a journal naming every rename is written atomically, then the
//! renames are applied. A crash before the journal leaves the previous warehouse untouched
//! (staging is discarded on the next open); a crash after it is rolled forward on the next
//! open. Either way readers see one consistent version.

mod commit;
pub mod parquet;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

pub use commit::Transaction;

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error(
        "warehouse {0} does not exist: run `heymax run --input <events.csv> --warehouse {0}` first"
    )]
    Missing(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "warehouse state {path} is unreadable ({source}); restore it from a backup or start a new warehouse"
    )]
    State {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("table {table} is not in the warehouse yet: run the pipeline first")]
    NoTable { table: String },
    #[error("parquet {path}: {source}")]
    Parquet { path: PathBuf, source: PolarsError },
    #[error("warehouse {0} is locked by another heymax process; wait for it to finish")]
    Locked(PathBuf),
}

pub type Result<T, E = WarehouseError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WarehouseError + '_ {
    move |source| WarehouseError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One loaded batch, as recorded in the state file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchRecord {
    pub batch_id: i64,
    /// Microseconds since 1970-01-01, UTC.
    pub loaded_at: i64,
    pub sources: Vec<String>,
    pub rows: u64,
    pub quarantined: u64,
    pub new_in_gold: u64,
    /// `loaded` (committed to every layer) or `failed` (only its quarantine was kept).
    pub status: String,
}

/// What `_heymax/state.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub format: u32,
    pub next_batch_id: i64,
    pub batches: Vec<BatchRecord>,
    /// Table name (`layer.table`) -> files, relative to the warehouse root.
    pub tables: BTreeMap<String, Vec<String>>,
}

/// An open warehouse directory.
pub struct Warehouse {
    root: PathBuf,
    state: State,
    _lock: Option<File>,
}

impl Warehouse {
    fn meta(root: &Path) -> PathBuf {
        root.join("_heymax")
    }

    pub fn state_path(root: &Path) -> PathBuf {
        Self::meta(root).join("state.json")
    }

    /// Opens (creating it if needed) a warehouse for writing: takes the lock, finishes or
    /// discards any interrupted commit.
    pub fn open_for_write(root: &Path) -> Result<Self> {
        let meta = Self::meta(root);
        std::fs::create_dir_all(&meta).map_err(io_err(&meta))?;
        let lock_path = meta.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(WarehouseError::Locked(root.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        commit::recover(root)?;
        let state = Self::load_state(root)?;
        Ok(Self {
            root: root.to_path_buf(),
            state,
            _lock: Some(lock),
        })
    }

    /// Opens an existing warehouse for reading. An interrupted commit is finished first
    /// (that needs the lock for a moment), so readers never see half of one.
    pub fn open(root: &Path) -> Result<Self> {
        if !Self::state_path(root).exists() && !commit::journal_path(root).exists() {
            return Err(WarehouseError::Missing(root.to_path_buf()));
        }
        if commit::journal_path(root).exists() {
            drop(Self::open_for_write(root)?);
        }
        let state = Self::load_state(root)?;
        Ok(Self {
            root: root.to_path_buf(),
            state,
            _lock: None,
        })
    }

    fn load_state(root: &Path) -> Result<State> {
        let path = Self::state_path(root);
        if !path.exists() {
            return Ok(State {
                format: 1,
                next_batch_id: 1,
                ..State::default()
            });
        }
        let text = std::fs::read(&path).map_err(io_err(&path))?;
        serde_json::from_slice(&text).map_err(|source| WarehouseError::State { path, source })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.state.tables.contains_key(table)
    }

    /// Absolute paths of a table's files.
    pub fn table_files(&self, table: &str) -> Result<Vec<PathBuf>> {
        self.state
            .tables
            .get(table)
            .map(|files| files.iter().map(|f| self.root.join(f)).collect())
            .ok_or_else(|| WarehouseError::NoTable {
                table: table.to_string(),
            })
    }

    /// Reads a whole table (all its files, in order), optionally only some columns.
    pub fn read_table(&self, table: &str, columns: Option<&[&str]>) -> Result<DataFrame> {
        let files = self.table_files(table)?;
        let mut frames = Vec::with_capacity(files.len());
        for f in &files {
            frames.push(parquet::read(f, columns)?);
        }
        match frames.len() {
            1 => Ok(frames.pop().unwrap_or_default()),
            _ => {
                let mut iter = frames.into_iter();
                let mut out = iter.next().unwrap_or_default();
                for f in iter {
                    out.vstack_mut_owned(f)
                        .map_err(|source| WarehouseError::Parquet {
                            path: self.root.join(table),
                            source,
                        })?;
                }
                Ok(out)
            }
        }
    }

    /// Starts a transaction; nothing is visible until [`Transaction::commit`].
    pub fn begin(&mut self) -> Result<Transaction<'_>> {
        Transaction::new(self)
    }
}
