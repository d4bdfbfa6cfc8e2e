//! A run's shared state: what its tasks hand each other (the batch ingest staged, gold's
//! slim events, the activity the marts count from, the marts their tests read), the
//! warehouse transaction they all stage into, and what the summary reports at the end.
//! In: the run's options; out: one slot per hand-over, each taken by the task that needs
//! it last, so memory is freed as the run goes.
//!
//! Slots are mutexes rather than task return values because the runner runs independent
//! tasks on several threads and a task's result may be read by tasks of several branches
//! (gold's events by every mart). The writes every layer does (stage a file, then make it
//! a table's new contents or one more part of it) are the `write_*` helpers here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use polars::prelude::*;
use runner::{FailureKind, TaskError};

use super::catalog::Table;
use super::gold_slim::Pending;
use super::ingest::IngestStats;
use super::load::QuarantineTable;
use super::marts::Names;
use super::marts::activity::Activity;
use super::marts::scope::Scope;
use super::quality::{Streamed, TestResult};
use super::slim::{DimUsers, SlimEvents};
use super::spark::Staged;
use super::{LayerRows, PipelineError, RunOptions};
use crate::warehouse::{TableSpec, Transaction, Warehouse, WarehouseError, parquet};
use contract::Grain;

/// What ingest leaves for the tasks after it.
pub(super) struct Ingested {
    pub files: Vec<PathBuf>,
    pub stats: IngestStats,
    pub batch_id: i64,
    pub loaded_at: i64,
    pub bronze_path: PathBuf,
    pub bronze_rows: u64,
    pub keep_mask: Vec<bool>,
    /// Slim parts to write: gold files read from gold (they had none), then the batch's
    /// new events, each as its part name and its rows in the slim events.
    pub slim_parts: Vec<(String, std::ops::Range<usize>)>,
    /// Events in gold before this batch (the first of the slim events).
    pub existing_events: usize,
    pub duplicates: u64,
    pub quarantine: QuarantineTable,
    pub bronze_tests: Vec<TestResult>,
}

/// What gold leaves for its tests and the marts.
pub(super) struct Gold {
    pub slim: SlimEvents,
    pub dim: DimUsers,
    /// `dim_users` as gold's events before this batch made it (`None` with no history).
    pub before: Option<DimUsers>,
}

/// The run's shared state: one slot per hand-over between tasks.
pub(super) struct Ctx<'o> {
    pub options: &'o RunOptions,
    pub warehouse: Mutex<Option<Warehouse>>,
    pub tx: Mutex<Option<Transaction>>,
    pub ingested: Mutex<Option<Ingested>>,
    /// Every gold event id (existing, then the batch's new ones), for gold's tests.
    pub gold_ids: Mutex<Vec<i64>>,
    pub gold_slim: Mutex<Option<SlimEvents>>,
    pub gold: Mutex<Option<Arc<Gold>>>,
    /// Gold's slim parts for the `gold_slim` task to write (a folder warehouse only).
    pub gold_slim_parts: Mutex<Option<Pending>>,
    /// dim_users as written, for gold's tests.
    pub dim_frame: Mutex<Option<DataFrame>>,
    pub activity: Mutex<Option<Arc<(Activity, Names)>>>,
    /// The lifecycle tables rebuilt only in some periods this run (an append to a folder
    /// warehouse whose lifecycle tables are kept a part per period).
    pub scopes: Mutex<BTreeMap<Grain, Arc<Scope>>>,
    /// The Spark engine's job output (`--engine spark` only).
    pub spark: Mutex<Option<Staged>>,
    /// Tables still to build from gold: the last one frees what they all shared.
    pub marts_left: Mutex<usize>,
    pub last_day: Mutex<Option<i64>>,
    pub marts: Mutex<BTreeMap<Table, DataFrame>>,
    /// The tests of tables tested part by part as they were written (the native
    /// engine's lifecycle tables, never whole in memory), for their `test_` tasks.
    pub part_tests: Mutex<BTreeMap<Table, Streamed>>,
    pub rows: Mutex<LayerRows>,
    pub tests: Mutex<Vec<TestResult>>,
    /// The first error that stopped a task, as it was (the run returns it).
    pub error: Mutex<Option<PipelineError>>,
    /// A task failed or was skipped: the commit keeps only the quarantine.
    pub trouble: AtomicBool,
    pub committed: Mutex<bool>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A slot a task needs that its upstream should have filled.
pub(super) fn gone(what: &str) -> PipelineError {
    PipelineError::Plan(format!(
        "{what} is missing: its upstream task did not leave it"
    ))
}

/// The name a table's file is staged under (only the staging folder sees it).
pub(super) fn staged_name(table: Table) -> String {
    format!("{}.parquet", table.name())
}

impl<'o> Ctx<'o> {
    pub fn new(options: &'o RunOptions) -> Self {
        Self {
            options,
            warehouse: Mutex::new(None),
            tx: Mutex::new(None),
            ingested: Mutex::new(None),
            gold_ids: Mutex::new(Vec::new()),
            gold_slim: Mutex::new(None),
            gold: Mutex::new(None),
            gold_slim_parts: Mutex::new(None),
            dim_frame: Mutex::new(None),
            activity: Mutex::new(None),
            scopes: Mutex::new(BTreeMap::new()),
            spark: Mutex::new(None),
            marts_left: Mutex::new(Table::built_from_gold().len()),
            last_day: Mutex::new(None),
            marts: Mutex::new(BTreeMap::new()),
            part_tests: Mutex::new(BTreeMap::new()),
            rows: Mutex::new(LayerRows::default()),
            tests: Mutex::new(Vec::new()),
            error: Mutex::new(None),
            trouble: AtomicBool::new(false),
            committed: Mutex::new(false),
        }
    }

    /// Turns a pipeline error into a task failure, keeping the first fatal one for the run
    /// to return. A failed test is not retried; a database or lock problem is.
    pub fn fail(&self, e: PipelineError) -> TaskError {
        let kind = match &e {
            PipelineError::Warehouse(w) if w.is_transient() => FailureKind::Transient,
            // Another heymax is writing: it will be done in a while.
            PipelineError::Warehouse(WarehouseError::Locked(_)) => FailureKind::Transient,
            PipelineError::TestsFailed { .. } => FailureKind::Quality,
            _ => FailureKind::Fatal,
        };
        let message = e.to_string();
        if kind == FailureKind::Fatal {
            lock(&self.error).get_or_insert(e);
        }
        TaskError { kind, message }
    }

    pub fn with_tx<T>(&self, f: impl FnOnce(&mut Transaction) -> T) -> Result<T, PipelineError> {
        let mut tx = lock(&self.tx);
        let tx = tx.as_mut().ok_or_else(|| gone("the transaction"))?;
        Ok(f(tx))
    }

    /// Writes `frame` as the new contents of `table` (visible at the commit). The
    /// transaction is not held while the file is written: marts write side by side.
    pub fn write_replace(&self, table: Table, frame: &mut DataFrame) -> Result<(), PipelineError> {
        let path = self.with_tx(|tx| tx.stage(&staged_name(table)))?;
        parquet::write(&path, frame)?;
        self.with_tx(|tx| tx.replace(&table.spec(), &path))
    }

    /// Writes `frame` as one more part (`part`) of `table`.
    pub fn write_append(
        &self,
        table: Table,
        frame: &mut DataFrame,
        part: &str,
    ) -> Result<(), PipelineError> {
        let path = self.with_tx(|tx| tx.stage(&staged_name(table)))?;
        parquet::write(&path, frame)?;
        self.with_tx(|tx| tx.append(&table.spec(), &path, part))
    }

    /// Writes `frame` as one more part (`part`) of a table outside the catalog (gold's
    /// slim parts).
    pub fn write_part(
        &self,
        table: &TableSpec,
        frame: &mut DataFrame,
        part: &str,
    ) -> Result<(), PipelineError> {
        let path = self.with_tx(|tx| tx.stage(&format!("{}.parquet", table.name)))?;
        parquet::write(&path, frame)?;
        self.with_tx(|tx| tx.append(table, &path, part))
    }

    /// Appends an already staged file (bronze's) as one more part of `table` without
    /// writing it again: a hard link, which a database copies on the server.
    pub fn link_append(
        &self,
        table: Table,
        staged: &Path,
        part: &str,
    ) -> Result<(), PipelineError> {
        self.with_tx(|tx| {
            let link = tx.stage_link(staged, &staged_name(table))?;
            tx.append(&table.spec(), &link, part);
            Ok::<_, WarehouseError>(())
        })??;
        Ok(())
    }
}
