//! The warehouse: where the layers live. Two backends behind one API:
//!
//! - a folder of Parquet files (the default), one folder per layer, readable by any
//!   Parquet tool (`bronze/events.parquet`, `silver/events/batch=000001.parquet`, ...).
//!   `_heymax/state.json` lists which files make up each table and which batches were
//!   loaded. A commit writes a journal naming every rename, then applies it (`commit`).
//! - a PostgreSQL database (`postgres://...`): schemas `quarantine`, `bronze`, `silver`,
//!   `gold`, `marts` with typed tables, keys and comments, and `heymax` for the state; a
//!   commit is one PostgreSQL transaction (`postgres`).
//!
//! The pipeline writes every change as a Parquet file into a local staging folder first
//! ([`Transaction::stage`]); the commit moves those files into the folder, or COPYs them
//! into PostgreSQL. Either way nothing is visible until the commit, a crash before it
//! leaves the previous warehouse as it was, and readers see one consistent version.

mod commit;
pub mod history;
mod location;
pub mod parquet;
pub mod postgres;
mod table;
mod transaction;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

pub use location::{Location, LocationError, PgUrl};
pub use table::{TableKey, TableSpec};
pub use transaction::Transaction;

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error(
        "warehouse {0} does not exist: run `heymax run --input <events.csv> --warehouse {0}` first"
    )]
    Missing(String),
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
    Locked(String),
    #[error(
        "warehouse {0} changed while this run was loading it (another writer committed in between); run again to load on top of it"
    )]
    Changed(String),
    #[error(transparent)]
    Postgres(#[from] postgres::PgError),
}

impl WarehouseError {
    /// The database went away (a dropped connection, a restarting server) rather than the
    /// data or the request being wrong: trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, WarehouseError::Postgres(e) if e.is_transient())
    }
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

/// What `_heymax/state.json` (or PostgreSQL's `heymax.state`) holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub format: u32,
    pub next_batch_id: i64,
    pub batches: Vec<BatchRecord>,
    /// Table name (`layer.table`) -> its parts: files relative to the warehouse root, or,
    /// in PostgreSQL, the batches appended to it (`batch=000001`) or the table itself.
    pub tables: BTreeMap<String, Vec<String>>,
    /// The IANA zone the warehouse's periods are cut in (`--timezone`); absent in a
    /// warehouse from before zones were recorded, which is UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl State {
    /// The state of a warehouse nothing was loaded into yet.
    pub fn new() -> Self {
        State {
            format: 1,
            next_batch_id: 1,
            ..State::default()
        }
    }
}

/// Where an open warehouse keeps its tables.
pub(crate) enum Backend {
    Dir { root: PathBuf, _lock: Option<File> },
    Postgres(Box<postgres::Session>),
}

/// An open warehouse: its backend and the state as of opening (or the last commit).
pub struct Warehouse {
    backend: Backend,
    location: Location,
    state: State,
}

/// Identifies one committed version of a warehouse: it changes on every commit, so caches
/// keyed on it (the web's marts and drill-down tables) reload after a run.
pub type Stamp = String;

impl Warehouse {
    fn meta(root: &Path) -> PathBuf {
        root.join("_heymax")
    }

    pub fn state_path(root: &Path) -> PathBuf {
        Self::meta(root).join("state.json")
    }

    /// Opens (creating it if needed) a warehouse for writing: takes the writer's lock and,
    /// for a folder, finishes or discards any interrupted commit.
    pub fn open_for_write(location: &Location) -> Result<Self> {
        match location {
            Location::Dir(root) => Self::open_dir_for_write(root),
            Location::Postgres(url) => {
                let (session, state) = postgres::Session::open_for_write(url)?;
                Ok(Self {
                    backend: Backend::Postgres(Box::new(session)),
                    location: location.clone(),
                    state,
                })
            }
        }
    }

    fn open_dir_for_write(root: &Path) -> Result<Self> {
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
                return Err(WarehouseError::Locked(root.display().to_string()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        commit::recover(root)?;
        let state = Self::load_state(root)?;
        Ok(Self {
            backend: Backend::Dir {
                root: root.to_path_buf(),
                _lock: Some(lock),
            },
            location: Location::Dir(root.to_path_buf()),
            state,
        })
    }

    /// Opens an existing warehouse for reading. An interrupted folder commit is finished
    /// first (that needs the lock for a moment), so readers never see half of one.
    pub fn open(location: &Location) -> Result<Self> {
        let root = match location {
            Location::Dir(root) => root,
            Location::Postgres(url) => {
                let (session, state) = postgres::Session::open(url)?;
                return Ok(Self {
                    backend: Backend::Postgres(Box::new(session)),
                    location: location.clone(),
                    state,
                });
            }
        };
        if !Self::state_path(root).exists() && !commit::journal_path(root).exists() {
            return Err(WarehouseError::Missing(root.display().to_string()));
        }
        if commit::journal_path(root).exists() {
            drop(Self::open_dir_for_write(root)?);
        }
        let state = Self::load_state(root)?;
        Ok(Self {
            backend: Backend::Dir {
                root: root.to_path_buf(),
                _lock: None,
            },
            location: location.clone(),
            state,
        })
    }

    /// The current version of the warehouse at `location`, cheaply (no table is read);
    /// `None` when there is no warehouse there (yet) or it cannot be reached.
    pub fn stamp(location: &Location) -> Option<Stamp> {
        match location {
            Location::Dir(root) => {
                let meta = std::fs::metadata(Self::state_path(root)).ok()?;
                let modified = meta
                    .modified()
                    .ok()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?;
                Some(format!("{}:{}", modified.as_nanos(), meta.len()))
            }
            Location::Postgres(url) => postgres::stamp(url),
        }
    }

    fn load_state(root: &Path) -> Result<State> {
        let path = Self::state_path(root);
        if !path.exists() {
            return Ok(State::new());
        }
        let text = std::fs::read(&path).map_err(io_err(&path))?;
        serde_json::from_slice(&text).map_err(|source| WarehouseError::State { path, source })
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.state.tables.contains_key(table)
    }

    /// A folder warehouse's root and the files of `table` (relative to it, in load order);
    /// `None` for a database or a table it does not have. For readers that treat files
    /// one by one (gold's slim parts sit beside gold's files).
    pub fn folder_files(&self, table: &str) -> Option<(&Path, &[String])> {
        match &self.backend {
            Backend::Dir { root, .. } => Some((root, self.state.tables.get(table)?)),
            Backend::Postgres(_) => None,
        }
    }

    fn no_table(table: &str) -> WarehouseError {
        WarehouseError::NoTable {
            table: table.to_string(),
        }
    }

    /// Reads a table part by part (a folder's files; a database's rows in blocks), in the
    /// order they were loaded, optionally only some columns. Large tables never need to be
    /// in memory twice.
    pub fn read_parts(
        &mut self,
        table: &str,
        columns: Option<&[&str]>,
        mut each: impl FnMut(DataFrame) -> Result<()>,
    ) -> Result<()> {
        self.walk(table, columns, None, &mut each)
    }

    /// Reads a table in blocks of about `rows` rows (a folder's files slice by slice; a
    /// database's rows in its own blocks), in load order. A reader that only folds rows
    /// into something smaller reuses one block's memory instead of decoding a whole part
    /// into fresh pages: reading a 10M-row part at once spent more time in the kernel
    /// zeroing pages (perf: `clear_page_erms` under `page_iter_to_array`) than decoding.
    pub fn read_blocks(
        &mut self,
        table: &str,
        columns: Option<&[&str]>,
        rows: usize,
        mut each: impl FnMut(DataFrame) -> Result<()>,
    ) -> Result<()> {
        self.walk(table, columns, Some(rows.max(1)), &mut each)
    }

    /// A table's rows, each folder file whole (`block` `None`) or in slices of `block`.
    fn walk(
        &mut self,
        table: &str,
        columns: Option<&[&str]>,
        block: Option<usize>,
        each: &mut dyn FnMut(DataFrame) -> Result<()>,
    ) -> Result<()> {
        let files = self
            .state
            .tables
            .get(table)
            .ok_or_else(|| Self::no_table(table))?;
        match &mut self.backend {
            Backend::Dir { root, .. } => {
                for f in files {
                    let path = root.join(f);
                    let Some(rows) = block else {
                        each(parquet::read(&path, columns)?)?;
                        continue;
                    };
                    let total = parquet::num_rows(&path)?;
                    for offset in (0..total).step_by(rows) {
                        each(parquet::read_rows(&path, columns, Some((offset, rows)))?)?;
                    }
                }
                Ok(())
            }
            Backend::Postgres(session) => session.read_parts(table, columns, each),
        }
    }

    /// Reads a whole table, optionally only some columns.
    pub fn read_table(&mut self, table: &str, columns: Option<&[&str]>) -> Result<DataFrame> {
        let mut out: Option<DataFrame> = None;
        self.read_parts(table, columns, |df| {
            match &mut out {
                None => out = Some(df),
                Some(acc) => {
                    acc.vstack_mut_owned(df)
                        .map_err(|source| WarehouseError::Parquet {
                            path: PathBuf::from(table),
                            source,
                        })?;
                }
            }
            Ok(())
        })?;
        Ok(out.unwrap_or_default())
    }

    /// Peak RSS of the database server process serving this warehouse, if it is one on
    /// this machine.
    pub fn database_peak_rss_bytes(&self) -> Option<u64> {
        match &self.backend {
            Backend::Dir { .. } => None,
            Backend::Postgres(session) => session.backend_peak_rss_bytes(),
        }
    }

    /// Starts a transaction; nothing is visible until [`Transaction::commit`].
    pub fn begin(&self) -> Result<Transaction> {
        Transaction::new(self)
    }
}
