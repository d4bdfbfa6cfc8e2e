//! The pipeline as a DAG of tasks (run by the `runner` crate):
//!
//! ```text
//! ingest -> bronze -> test_bronze -> silver ---------------------------------------+
//!                                 -> gold -> test_gold -> activity -> mart_<m> -> test_<m> -> commit
//! ```
//!
//! one `mart_`/`test_` pair per mart and lifecycle table (the lifecycle tests also wait for
//! the growth mart of their grain, which they reconcile with). `commit` runs once
//! everything else is done: with every layer when all succeeded, with only the quarantine
//! otherwise. Tasks hand their results to each other through [`Ctx`]'s slots; each slot
//! is taken by the task that needs it last, so memory is freed as the run goes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use polars::prelude::*;

use super::marts::activity::Activity;
use contract::{Grain, Mart};
use super::catalog::{Table, part_name};
use super::marts::{self, Names};
use super::task::Task;
use super::quality::{self, Context, Severity, Status, TestResult};
use super::slim::{DimUsers, SlimEvents};
use super::{
    LayerRows, PipelineError, RunOptions, RunSummary, Stage, compute, gold, ingest, load,
    now_micros, peak_rss_bytes, progress_bar, schema, silver,
};
use runner::{Dag, DagError, Done, FailureKind, Policy, TaskError, TaskRecord, TaskState, Trigger};
use crate::warehouse::{BatchRecord, Transaction, Warehouse, WarehouseError, parquet};

/// What ingest leaves for the tasks after it.
struct Ingested {
    files: Vec<std::path::PathBuf>,
    stats: ingest::IngestStats,
    batch_id: i64,
    loaded_at: i64,
    bronze_path: std::path::PathBuf,
    bronze_rows: u64,
    keep_mask: Vec<bool>,
    duplicates: u64,
    quarantine: load::QuarantineTable,
    bronze_tests: Vec<TestResult>,
}

/// What gold leaves for its tests and the marts.
struct Gold {
    slim: SlimEvents,
    dim: DimUsers,
}

/// The run's shared state: one slot per hand-over between tasks.
struct Ctx<'o> {
    options: &'o RunOptions,
    warehouse: Mutex<Option<Warehouse>>,
    tx: Mutex<Option<Transaction>>,
    ingested: Mutex<Option<Ingested>>,
    /// Every gold event id (existing, then the batch's new ones), for gold's tests.
    gold_ids: Mutex<Vec<i64>>,
    gold_slim: Mutex<Option<SlimEvents>>,
    gold: Mutex<Option<Arc<Gold>>>,
    /// dim_users as written, for gold's tests.
    dim_frame: Mutex<Option<DataFrame>>,
    activity: Mutex<Option<Arc<(Activity, Names)>>>,
    marts_left: Mutex<usize>,
    last_day: Mutex<Option<i64>>,
    marts: Mutex<BTreeMap<Table, DataFrame>>,
    rows: Mutex<LayerRows>,
    tests: Mutex<Vec<TestResult>>,
    /// The first error that stopped a task, as it was (the run returns it).
    error: Mutex<Option<PipelineError>>,
    /// A task failed or was skipped: the commit keeps only the quarantine.
    trouble: AtomicBool,
    committed: Mutex<bool>,
}

/// The name a table's file is staged under (only the staging folder sees it).
fn staged_name(table: Table) -> String {
    format!("{}.parquet", table.name())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A slot a task needs that its upstream should have filled.
fn gone(what: &str) -> PipelineError {
    PipelineError::Plan(format!(
        "{what} is missing: its upstream task did not leave it"
    ))
}

fn missing(what: &str) -> TaskError {
    TaskError::fatal(gone(what).to_string())
}

impl<'o> Ctx<'o> {
    fn new(options: &'o RunOptions) -> Self {
        Self {
            options,
            warehouse: Mutex::new(None),
            tx: Mutex::new(None),
            ingested: Mutex::new(None),
            gold_ids: Mutex::new(Vec::new()),
            gold_slim: Mutex::new(None),
            gold: Mutex::new(None),
            dim_frame: Mutex::new(None),
            activity: Mutex::new(None),
            marts_left: Mutex::new(Table::built_from_gold().len()),
            last_day: Mutex::new(None),
            marts: Mutex::new(BTreeMap::new()),
            rows: Mutex::new(LayerRows::default()),
            tests: Mutex::new(Vec::new()),
            error: Mutex::new(None),
            trouble: AtomicBool::new(false),
            committed: Mutex::new(false),
        }
    }

    /// Turns a pipeline error into a task failure, keeping the first one to return.
    fn fail(&self, e: PipelineError) -> TaskError {
        let kind = match &e {
            PipelineError::Warehouse(w) if w.is_transient() => FailureKind::Transient,
            // Another heymax is writing: it will be done in a while.
            PipelineError::Warehouse(WarehouseError::Locked(_)) => FailureKind::Transient,
            _ => FailureKind::Fatal,
        };
        let message = e.to_string();
        if kind == FailureKind::Fatal {
            lock(&self.error).get_or_insert(e);
        }
        TaskError { kind, message }
    }

    fn with_tx<T>(&self, f: impl FnOnce(&mut Transaction) -> T) -> Result<T, TaskError> {
        let mut tx = lock(&self.tx);
        let tx = tx.as_mut().ok_or_else(|| missing("the transaction"))?;
        Ok(f(tx))
    }

    /// Records test results; an error-severity failure fails the task (not retried).
    fn gate(&self, results: Vec<TestResult>) -> Result<Done, TaskError> {
        let failed: Vec<String> = results
            .iter()
            .filter(|t| t.status == Status::Fail)
            .map(|t| format!("{} {} ({} rows)", t.table, t.test, t.failing_rows))
            .collect();
        let warned = results.iter().filter(|t| t.status == Status::Warn).count();
        let count = results.len() as u64;
        lock(&self.tests).extend(results);
        if !failed.is_empty() {
            return Err(TaskError::quality(format!(
                "{} error-severity test(s) failed: {}",
                failed.len(),
                failed.join("; ")
            )));
        }
        let done = Done::rows(count).with_note(format!("{count} tests passed"));
        Ok(if warned > 0 {
            done.with_note(format!("{count} tests: {warned} warning(s)"))
        } else {
            done
        })
    }

    fn ingest(&self) -> Result<Done, PipelineError> {
        let options = self.options;
        // A retry starts over: whatever an earlier attempt staged is dropped here.
        *lock(&self.tx) = None;
        *lock(&self.warehouse) = None;
        let files = ingest::resolve_inputs(&options.input)?;
        // A wrong header must fail before anything is written, the warehouse included.
        for f in &files {
            ingest::read_header(f)?;
        }
        let total_bytes: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum();
        let mut wh = Warehouse::open_for_write(&options.warehouse)?;
        let existing = gold::load_existing(&mut wh)?;
        let mut tx = wh.begin()?;
        let batch_id = tx.state().next_batch_id;
        tx.state_mut().next_batch_id += 1;
        let loaded_at = now_micros();

        // ingest -> bronze, streamed: each piece is tested, written and deduplicated as it comes.
        let progress = progress_bar(options.progress, total_bytes);
        let bronze_path = tx.stage(&staged_name(Table::Bronze));
        let writer = parquet::StreamWriter::create(&bronze_path, &super::bronze::schema())?;
        let mut load = load::Load::new(existing, writer, batch_id, loaded_at, total_bytes);
        // Parsing (all cores) and loading (bronze file, dedup) overlap: pieces flow through
        // a short queue to a loader thread, so memory holds only a few pieces at a time.
        let (stats, loaded) = std::thread::scope(|scope| {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<ingest::Piece>(2);
            let loader = scope.spawn(move || {
                for piece in receiver {
                    load.take(piece)?;
                }
                Ok::<_, PipelineError>(load)
            });
            let (mut records, mut quarantined, mut first) = (0u64, 0u64, None);
            let stats = ingest::ingest(&files, &options.ingest, &progress, |piece| {
                records += (piece.events.height() + piece.quarantine.len()) as u64;
                quarantined += piece.quarantine.len() as u64;
                if first.is_none() {
                    first = piece
                        .quarantine
                        .first()
                        .map(|q| format!("line {}: {}", q.line, q.reason));
                }
                if quarantined > super::QUARANTINE_STOP
                    && quarantined as f64 > options.max_quarantine * records as f64
                {
                    return Err(PipelineError::TooMuchQuarantine {
                        quarantined,
                        records,
                        percent: options.max_quarantine * 100.0,
                        first: first.take().unwrap_or_default(),
                    });
                }
                sender.send(piece).map_err(|_| PipelineError::LoaderStopped)
            });
            drop(sender);
            let loaded = loader.join().unwrap_or(Err(PipelineError::LoaderStopped));
            (stats, loaded)
        });
        // The loader's own error explains a stopped queue better than the parser's.
        let loaded = loaded?;
        let stats = stats?;
        progress.finish_and_clear();
        let load::Load {
            writer,
            gold_ids,
            gold_slim,
            keep_mask,
            duplicates,
            quarantine,
            bronze_tests,
            ..
        } = loaded;
        let bronze_rows = writer.rows;
        writer.finish()?;
        let note = format!("{} file(s), {} quarantined", files.len(), stats.quarantined);
        let records = stats.records;
        *lock(&self.ingested) = Some(Ingested {
            files,
            stats,
            batch_id,
            loaded_at,
            bronze_path,
            bronze_rows,
            keep_mask,
            duplicates,
            quarantine,
            bronze_tests: bronze_tests.finish(),
        });
        *lock(&self.gold_slim) = Some(gold_slim);
        lock(&self.rows).gold_total = gold_ids.len() as u64;
        *lock(&self.gold_ids) = gold_ids;
        *lock(&self.tx) = Some(tx);
        *lock(&self.warehouse) = Some(wh);
        Ok(Done::rows(records).with_note(note))
    }

    /// Bronze is the batch as it arrived; its rows that failed to parse go to quarantine.
    fn bronze(&self) -> Result<Done, TaskError> {
        let mut ingested = lock(&self.ingested);
        let ing = ingested.as_mut().ok_or_else(|| missing("ingest's batch"))?;
        let (bronze_path, batch_id, loaded_at) =
            (ing.bronze_path.clone(), ing.batch_id, ing.loaded_at);
        self.with_tx(|tx| tx.replace(&Table::Bronze.spec(), &bronze_path))?;
        if ing.stats.quarantined > 0 {
            let path = self.with_tx(|tx| tx.stage(&staged_name(Table::Quarantine)))?;
            let mut frame = ing
                .quarantine
                .frame(batch_id, loaded_at)
                .map_err(|e| self.fail(compute("quarantine")(e)))?;
            parquet::write(&path, &mut frame).map_err(|e| self.fail(e.into()))?;
            self.with_tx(|tx| {
                tx.append(
                    &Table::Quarantine.spec(),
                    &path,
                    &part_name(batch_id),
                )
            })?;
        }
        let mut rows = lock(&self.rows);
        rows.quarantined = ing.stats.quarantined;
        rows.bronze = ing.bronze_rows;
        Ok(Done::rows(ing.bronze_rows))
    }

    fn test_bronze(&self) -> Result<Done, TaskError> {
        let mut ingested = lock(&self.ingested);
        let ing = ingested.as_mut().ok_or_else(|| missing("ingest's batch"))?;
        let mut tests = vec![
            TestResult::new(
                Table::Bronze.name(),
                "row_count_reconciliation(ingested = bronze + quarantined)".into(),
                Severity::Error,
                ing.stats
                    .records
                    .abs_diff(ing.bronze_rows + ing.stats.quarantined),
            ),
            // A batch where nothing parsed is a wrong file, not an empty day: publishing
            // its (empty) marts would blank the dashboard.
            TestResult::new(
                Table::Bronze.name(),
                "rows_loaded(at least one row of the batch parses)".into(),
                Severity::Error,
                if ing.stats.good == 0 {
                    ing.stats.records
                } else {
                    0
                },
            ),
            TestResult::new(
                Table::Quarantine.name(),
                format!(
                    "quarantined_share(at most {}% of the batch, --max-quarantine)",
                    self.options.max_quarantine * 100.0
                ),
                Severity::Error,
                if ing.stats.quarantined as f64
                    > self.options.max_quarantine * ing.stats.records as f64
                {
                    ing.stats.quarantined
                } else {
                    0
                },
            ),
            TestResult::new(
                Table::Quarantine.name(),
                "no_quarantined_rows".into(),
                if self.options.strict {
                    Severity::Error
                } else {
                    Severity::Warn
                },
                ing.stats.quarantined,
            ),
        ];
        tests.extend(std::mem::take(&mut ing.bronze_tests));
        drop(ingested);
        self.gate(tests)
    }

    /// Silver: bronze's batch appended when it is newer than everything in silver.
    fn silver(&self) -> Result<Done, TaskError> {
        let ingested = lock(&self.ingested);
        let ing = ingested.as_ref().ok_or_else(|| missing("ingest's batch"))?;
        let mut tx = lock(&self.tx);
        let tx = tx.as_mut().ok_or_else(|| missing("the transaction"))?;
        let loaded: Vec<&BatchRecord> = tx
            .state()
            .batches
            .iter()
            .filter(|b| b.status == "loaded")
            .collect();
        let silver_batches: Vec<i64> = loaded.iter().map(|b| b.batch_id).collect();
        let before: u64 = loaded.iter().map(|b| b.rows).sum();
        let mut appended = 0;
        if silver::should_append(&silver_batches, ing.batch_id) && ing.bronze_rows > 0 {
            let link = tx
                .stage_link(&ing.bronze_path, &staged_name(Table::Silver))
                .map_err(|e| self.fail(e.into()))?;
            tx.append(
                &Table::Silver.spec(),
                &link,
                &part_name(ing.batch_id),
            );
            appended = ing.bronze_rows;
        }
        let mut rows = lock(&self.rows);
        rows.silver_appended = appended;
        rows.silver_total = before + appended;
        Ok(Done::rows(appended).with_note(format!("{} rows in silver", before + appended)))
    }

    /// Gold: the batch's new events as one more part of the fact table; dim_users rebuilt.
    fn gold(&self) -> Result<Done, PipelineError> {
        let (bronze_path, keep_mask, duplicates, bronze_rows, part) = {
            let ingested = lock(&self.ingested);
            let ing = ingested.as_ref().ok_or_else(|| gone("ingest's batch"))?;
            (
                ing.bronze_path.clone(),
                ing.keep_mask.clone(),
                ing.duplicates,
                ing.bronze_rows,
                part_name(ing.batch_id),
            )
        };
        let tx = || -> Result<MutexGuard<'_, Option<Transaction>>, PipelineError> {
            let guard = lock(&self.tx);
            guard
                .is_some()
                .then_some(guard)
                .ok_or_else(|| gone("the transaction"))
        };
        let stage = |name: &str| -> Result<std::path::PathBuf, PipelineError> {
            Ok(tx()?.as_mut().map(|t| t.stage(name)).unwrap_or_default())
        };
        let gold_new = bronze_rows - duplicates;
        if gold_new > 0 {
            let gold_part = if duplicates == 0 {
                match tx()?.as_mut() {
                    Some(t) => t.stage_link(&bronze_path, &staged_name(Table::GoldEvents))?,
                    None => return Err(gone("the transaction")),
                }
            } else {
                let path = stage(&staged_name(Table::GoldEvents))?;
                let bronze = parquet::read(&bronze_path, None)?;
                let mut new = gold::filter_new(&bronze, &keep_mask).map_err(compute("gold"))?;
                parquet::write(&path, &mut new)?;
                path
            };
            if let Some(t) = tx()?.as_mut() {
                t.append(&Table::GoldEvents.spec(), &gold_part, &part);
            }
        }
        drop(keep_mask);
        // The slim events stay with gold: the marts are built from them.
        let slim = lock(&self.gold_slim)
            .take()
            .ok_or_else(|| gone("ingest's slim events"))?;
        let dim = slim.dim_users();
        let mut dim_frame = gold::dim_users_frame(&slim, &dim).map_err(compute("dim_users"))?;
        let dim_path = stage(&staged_name(Table::DimUsers))?;
        parquet::write(&dim_path, &mut dim_frame)?;
        if let Some(t) = tx()?.as_mut() {
            t.replace(&Table::DimUsers.spec(), &dim_path);
        }
        let dim_rows = dim_frame.height() as u64;
        {
            let mut rows = lock(&self.rows);
            rows.gold_new = gold_new;
            rows.dim_users = dim_rows;
        }
        *lock(&self.dim_frame) = Some(dim_frame);
        *lock(&self.gold) = Some(Arc::new(Gold { slim, dim }));
        Ok(Done::rows(gold_new).with_note(format!(
            "{duplicates} duplicates skipped; dim_users {dim_rows} rows"
        )))
    }

    fn test_gold(&self) -> Result<Done, TaskError> {
        let g = lock(&self.gold).clone().ok_or_else(|| missing("gold"))?;
        let dim_frame = lock(&self.dim_frame)
            .take()
            .ok_or_else(|| missing("dim_users"))?;
        // Users are tested as their codes: one code per distinct user_id.
        let ids = std::mem::take(&mut *lock(&self.gold_ids));
        let run = || -> PolarsResult<Vec<TestResult>> {
            let fact = DataFrame::new(
                ids.len(),
                vec![
                    Column::new(schema::EVENT_ID.into(), ids),
                    Column::new("user_id".into(), g.slim.user.as_slice()),
                ],
            )?;
            let dim_codes = DataFrame::new(
                g.dim.len(),
                vec![Column::new(
                    "user_id".into(),
                    (0..g.dim.len() as u32).collect::<Vec<_>>(),
                )],
            )?;
            let lookup = |t: &str| (t == Table::DimUsers.name()).then(|| dim_codes.clone());
            let ctx = Context::default();
            let mut tests = quality::run_table(Table::GoldEvents.name(), &fact, &ctx, &lookup)?;
            tests.extend(quality::run_table(
                Table::DimUsers.name(),
                &dim_frame,
                &ctx,
                &lookup,
            )?);
            Ok(tests)
        };
        let tests = run().map_err(|e| self.fail(compute("gold tests")(e)))?;
        self.gate(tests)
    }

    /// Who was active on which day: what every mart is counted from.
    fn activity(&self) -> Result<Done, TaskError> {
        let g = lock(&self.gold).clone().ok_or_else(|| missing("gold"))?;
        let act = Activity::new(&g.slim, &g.dim);
        let names = Names::new(&g.slim);
        let pairs = act.pairs();
        *lock(&self.last_day) = Some(act.last_day);
        *lock(&self.activity) = Some(Arc::new((act, names)));
        Ok(Done::rows(pairs).with_note("active (user, day) pairs"))
    }

    fn mart(&self, table: Table) -> Result<Done, PipelineError> {
        let shared = lock(&self.activity)
            .clone()
            .ok_or_else(|| gone("activity"))?;
        let (act, names) = (&shared.0, &shared.1);
        let g = lock(&self.gold).clone().ok_or_else(|| gone("gold"))?;
        let built = marts::build_one(table, &g.slim, act, names).map_err(compute("marts"))?;
        drop((shared, g));
        {
            // The last mart built frees what they all shared.
            let mut left = lock(&self.marts_left);
            *left -= 1;
            if *left == 0 {
                *lock(&self.activity) = None;
                *lock(&self.gold) = None;
            }
        }
        let mut df = built;
        let path = lock(&self.tx)
            .as_mut()
            .ok_or_else(|| gone("the transaction"))?
            .stage(&staged_name(table));
        parquet::write(&path, &mut df)?;
        lock(&self.tx)
            .as_mut()
            .ok_or_else(|| gone("the transaction"))?
            .replace(&table.spec(), &path);
        let rows = df.height() as u64;
        lock(&self.rows)
            .marts
            .insert(table.short_name().to_string(), rows);
        lock(&self.marts).insert(table, df);
        Ok(Done::rows(rows))
    }

    fn test_mart(&self, table: Table) -> Result<Done, TaskError> {
        let (df, other) = {
            let marts = lock(&self.marts);
            let df = marts
                .get(&table)
                .cloned()
                .ok_or_else(|| missing(table.name()))?;
            let other = table
                .reconciles_with()
                .and_then(|m| marts.get(&m).cloned().map(|d| (m, d)));
            (df, other)
        };
        let ctx = Context {
            last_day: lock(&self.last_day).unwrap_or_default(),
        };
        let lookup = |t: &str| {
            other
                .as_ref()
                .filter(|(m, _)| t == m.name())
                .map(|(_, d)| d.clone())
        };
        let tests = quality::run_table(table.name(), &df, &ctx, &lookup)
            .map_err(|e| self.fail(compute("mart tests")(e)))?;
        self.gate(tests)
    }

    /// Commits what the run staged: every layer when everything before succeeded, only
    /// the quarantine otherwise; the batch is recorded either way.
    fn commit(&self, all_ok: bool) -> Result<Done, PipelineError> {
        let ingested = lock(&self.ingested);
        let mut tx = lock(&self.tx);
        let (Some(ing), Some(tx)) = (ingested.as_ref(), tx.as_mut()) else {
            // Ingest never began a batch: there is nothing to commit.
            return Ok(Done::rows(0).with_note("nothing staged: ingest did not finish"));
        };
        if !all_ok {
            tx.keep_only(&[Table::Quarantine.name()]);
        }
        let gold_new = lock(&self.rows).gold_new;
        let record = BatchRecord {
            batch_id: ing.batch_id,
            loaded_at: ing.loaded_at,
            sources: ing.files.iter().map(|f| f.display().to_string()).collect(),
            rows: ing.bronze_rows,
            quarantined: ing.stats.quarantined,
            new_in_gold: if all_ok { gold_new } else { 0 },
            status: if all_ok { "loaded" } else { "failed" }.to_string(),
        };
        let batches = &mut tx.state_mut().batches;
        if batches.last().map(|b| b.batch_id) != Some(record.batch_id) {
            batches.push(record);
        }
        let mut wh = lock(&self.warehouse);
        if wh.is_none() {
            // A retry after the connection dropped: a new session, same state expected.
            *wh = Some(Warehouse::open_for_write(&self.options.warehouse)?);
        }
        let Some(w) = wh.as_mut() else {
            return Err(gone("the warehouse"));
        };
        if let Err(e) = tx.commit(w) {
            if e.is_transient() {
                *wh = None;
            }
            return Err(e.into());
        }
        *lock(&self.committed) = all_ok;
        Ok(
            Done::rows(if all_ok { gold_new } else { 0 }).with_note(if all_ok {
                "every layer committed"
            } else {
                "only the quarantine committed: an upstream task failed"
            }),
        )
    }
}

/// What a run produced: its summary (or the error that stopped it) and its tasks.
pub struct Outcome {
    pub summary: Result<RunSummary, PipelineError>,
    pub tasks: Vec<TaskRecord>,
}

/// The tasks of a run and their dependencies, each queued (for a run's record before it
/// starts, and for the graph).
pub fn task_list() -> Vec<TaskRecord> {
    let options = RunOptions {
        input: Default::default(),
        warehouse: crate::warehouse::Location::Dir(Default::default()),
        strict: false,
        max_quarantine: super::DEFAULT_MAX_QUARANTINE,
        ingest: Default::default(),
        progress: false,
    };
    let ctx = Ctx::new(&options);
    build(&ctx).map(|dag| dag.records()).unwrap_or_default()
}

fn build<'c>(ctx: &'c Ctx<'c>) -> Result<Dag<'c>, DagError> {
    let mut dag = Dag::new();
    let task = |dag: &mut Dag<'c>, t: Task, upstream: &[Task], run| {
        let upstream: Vec<String> = upstream.iter().map(|u| u.name()).collect();
        let upstream: Vec<&str> = upstream.iter().map(String::as_str).collect();
        dag.task(t.name(), t.group(), &upstream, run);
    };
    type Run<'c> = Box<dyn Fn() -> Result<Done, TaskError> + Send + Sync + 'c>;
    let b = |f: Run<'c>| f;
    task(&mut dag, Task::Ingest, &[], b(Box::new(move || ctx.ingest().map_err(|e| ctx.fail(e)))));
    task(&mut dag, Task::Bronze, &[Task::Ingest], b(Box::new(move || ctx.bronze())));
    task(&mut dag, Task::TestBronze, &[Task::Bronze], b(Box::new(move || ctx.test_bronze())));
    task(&mut dag, Task::Silver, &[Task::TestBronze], b(Box::new(move || ctx.silver())));
    task(&mut dag, Task::Gold, &[Task::TestBronze], b(Box::new(move || ctx.gold().map_err(|e| ctx.fail(e)))));
    task(&mut dag, Task::TestGold, &[Task::Gold], b(Box::new(move || ctx.test_gold())));
    task(&mut dag, Task::Activity, &[Task::TestGold], b(Box::new(move || ctx.activity())));
    let tables = Table::built_from_gold();
    for &table in &tables {
        task(&mut dag, Task::Mart(table), &[Task::Activity], b(Box::new(move || {
            ctx.mart(table).map_err(|e| ctx.fail(e))
        })));
    }
    let mut last = vec![Task::Silver];
    for &table in &tables {
        let mut upstream = vec![Task::Mart(table)];
        upstream.extend(table.reconciles_with().map(Task::Mart));
        task(&mut dag, Task::TestMart(table), &upstream, b(Box::new(move || ctx.test_mart(table))));
        last.push(Task::TestMart(table));
    }
    // Whether everything before the commit succeeded is known when it runs: all_done.
    task(&mut dag, Task::Commit, &last, b(Box::new(move || {
        let all_ok = !ctx.trouble.load(Ordering::SeqCst);
        ctx.commit(all_ok).map_err(|e| ctx.fail(e))
    })));
    dag.trigger(Trigger::AllDone);
    dag.validate()
}

/// Runs the pipeline's DAG with `policy`; `observe` sees every task state change.
pub fn run(
    options: &RunOptions,
    policy: &Policy,
    observe: &(dyn Fn(&TaskRecord) + Sync),
) -> Outcome {
    let started = std::time::Instant::now();
    let ctx = Ctx::new(options);
    let dag = match build(&ctx) {
        Ok(dag) => dag,
        Err(e) => {
            return Outcome {
                summary: Err(PipelineError::Plan(e.to_string())),
                tasks: Vec::new(),
            };
        }
    };
    // The commit runs last (all_done) and must know whether anything before it failed.
    let watch = |r: &TaskRecord| {
        if matches!(r.state, TaskState::Failed | TaskState::Skipped) && r.name != Task::Commit.name() {
            ctx.trouble.store(true, Ordering::SeqCst);
        }
        observe(r);
    };
    let tasks = dag.run(policy, &watch);
    let database_peak_rss_bytes = lock(&ctx.warehouse)
        .as_ref()
        .and_then(|w| w.database_peak_rss_bytes());
    drop(dag);
    let summary = summarize(ctx, &tasks, started, database_peak_rss_bytes);
    Outcome { summary, tasks }
}

fn summarize(
    ctx: Ctx<'_>,
    tasks: &[TaskRecord],
    started: std::time::Instant,
    database_peak_rss_bytes: Option<u64>,
) -> Result<RunSummary, PipelineError> {
    let failed_hard = tasks
        .iter()
        .find(|t| t.state == TaskState::Failed && t.failure != Some(FailureKind::Quality));
    if let Some(task) = failed_hard {
        let kept = ctx.error.into_inner().unwrap_or_else(|p| p.into_inner());
        return Err(kept.unwrap_or_else(|| PipelineError::Task {
            task: task.name.clone(),
            message: task.error.clone().unwrap_or_default(),
        }));
    }
    let Some(ing) = ctx.ingested.into_inner().unwrap_or_else(|p| p.into_inner()) else {
        return Err(PipelineError::Plan("ingest left no batch".into()));
    };
    let committed = *lock(&ctx.committed);
    let rows = ctx.rows.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut tests = ctx.tests.into_inner().unwrap_or_else(|p| p.into_inner());
    // Mart tests finish in any order (they run side by side): list them layer by layer.
    let marts: Vec<Table> = Mart::ALL
        .map(Table::Mart)
        .into_iter()
        .chain(Grain::ALL.map(Table::Lifecycle))
        .collect();
    tests.sort_by_key(|t| match Table::parse(&t.table) {
        Some(Table::GoldEvents | Table::DimUsers) => 1,
        Some(m) => marts.iter().position(|x| *x == m).map_or(0, |i| 2 + i),
        None => 0,
    });
    let stages = tasks
        .iter()
        .filter(|t| t.state == TaskState::Success)
        .map(|t| Stage {
            name: t.name.clone(),
            seconds: match (t.started_at, t.ended_at) {
                (Some(a), Some(b)) => (b - a).num_microseconds().unwrap_or(0) as f64 / 1e6,
                _ => 0.0,
            },
            rows: t.rows.unwrap_or(0),
        })
        .collect();
    Ok(RunSummary {
        batch_id: ing.batch_id,
        files: ing.files.iter().map(|f| f.display().to_string()).collect(),
        ingest: ing.stats,
        rows,
        tests,
        skipped: tasks
            .iter()
            .filter(|t| t.state == TaskState::Skipped)
            .map(|t| t.name.clone())
            .collect(),
        committed,
        stages,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_bytes: peak_rss_bytes(),
        database_peak_rss_bytes,
        quarantine_sample: ing.quarantine.sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mart_has_a_build_and_a_test_task_before_the_commit() {
        let tasks = task_list();
        let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        for table in Table::built_from_gold() {
            assert!(names.contains(&Task::Mart(table).name().as_str()));
            assert!(names.contains(&Task::TestMart(table).name().as_str()));
        }
        assert_eq!(names.first(), Some(&"ingest"));
        assert_eq!(names.last(), Some(&"commit"));
        let commit = tasks.last().unwrap();
        assert_eq!(commit.upstream.len(), Table::built_from_gold().len() + 1);
        let lifecycle = tasks
            .iter()
            .find(|t| t.name == "test_user_lifecycle_week")
            .unwrap();
        assert!(
            lifecycle
                .upstream
                .contains(&"mart_user_growth_metrics_week".to_string())
        );
        // silver and gold only need bronze's tests: they run side by side.
        for layer in ["silver", "gold"] {
            let t = tasks.iter().find(|t| t.name == layer).unwrap();
            assert_eq!(t.upstream, vec!["test_bronze".to_string()]);
        }
    }
}
