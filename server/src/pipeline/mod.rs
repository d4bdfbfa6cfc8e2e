//! The pipeline: input CSVs -> ingest -> bronze -> silver -> gold -> marts, with the
//! quality tests of each layer run before the next layer is built. One run loads one batch
//! and commits it to the warehouse atomically; a failed error-severity test commits only
//! the quarantine (so bad rows can be inspected) and leaves every layer as it was.

pub mod bronze;
pub mod codes;
pub mod gold;
pub mod ingest;
pub mod load;
pub mod marts;
pub mod quality;
pub mod schema;
pub mod silver;
pub mod slim;

use std::collections::BTreeMap;
use std::time::Instant;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::warehouse::{BatchRecord, Location, Transaction, Warehouse, WarehouseError, parquet};
use ingest::{IngestError, IngestOptions, IngestStats};
use quality::{Context, Severity, TestResult};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("the loader thread stopped unexpectedly; see the error logged before this one")]
    LoaderStopped,
    #[error("computing {stage}: {source}")]
    Compute {
        stage: &'static str,
        source: PolarsError,
    },
}

impl From<PolarsError> for PipelineError {
    fn from(source: PolarsError) -> Self {
        PipelineError::Compute {
            stage: "a frame",
            source,
        }
    }
}

/// The latest batch as it arrived (see METRICS.md, Layers).
pub const BRONZE: &str = "bronze.events";

pub(crate) fn compute(stage: &'static str) -> impl FnOnce(PolarsError) -> PipelineError {
    move |source| PipelineError::Compute { stage, source }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub input: std::path::PathBuf,
    pub warehouse: Location,
    /// Quarantined rows fail the run instead of warning.
    pub strict: bool,
    pub ingest: IngestOptions,
    /// Show a progress bar while reading input (hidden anyway when stderr is no terminal).
    pub progress: bool,
}

/// How long a stage took and how many rows it produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    pub seconds: f64,
    pub rows: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LayerRows {
    pub quarantined: u64,
    pub bronze: u64,
    pub silver_appended: u64,
    pub silver_total: u64,
    pub gold_new: u64,
    pub gold_total: u64,
    pub dim_users: u64,
    pub marts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub batch_id: i64,
    pub files: Vec<String>,
    pub ingest: IngestStats,
    pub rows: LayerRows,
    pub tests: Vec<TestResult>,
    /// Stages not run because an upstream error-severity test failed.
    pub skipped: Vec<String>,
    /// Whether the layers were committed (quarantine is committed either way).
    pub committed: bool,
    pub stages: Vec<Stage>,
    pub seconds: f64,
    pub peak_rss_bytes: u64,
    /// Peak RSS of the PostgreSQL server process that loaded the run, when the warehouse
    /// is a database on this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_peak_rss_bytes: Option<u64>,
    /// First quarantined rows, for the summary.
    pub quarantine_sample: Vec<(String, u64, String)>,
}

impl RunSummary {
    pub fn failed(&self) -> bool {
        !self.committed
    }
}

struct Timer {
    start: Instant,
    lap: Instant,
    stages: Vec<Stage>,
}

impl Timer {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            start: now,
            lap: now,
            stages: Vec::new(),
        }
    }

    fn lap(&mut self, name: &'static str, rows: u64) {
        let now = Instant::now();
        self.stages.push(Stage {
            name: name.to_string(),
            seconds: (now - self.lap).as_secs_f64(),
            rows,
        });
        tracing::debug!(
            stage = name,
            rows,
            secs = (now - self.lap).as_secs_f64(),
            "stage done"
        );
        self.lap = now;
    }
}

/// Peak resident memory of this process so far (Linux; 0 elsewhere).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Runs the whole pipeline on `options.input` into `options.warehouse`.
pub fn run(options: &RunOptions) -> Result<RunSummary, PipelineError> {
    let files = ingest::resolve_inputs(&options.input)?;
    // A wrong header must fail before anything is written, the warehouse included.
    for f in &files {
        ingest::read_header(f)?;
    }
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let mut timer = Timer::new();
    let mut wh = Warehouse::open_for_write(&options.warehouse)?;
    let existing = gold::load_existing(&mut wh)?;
    timer.lap("read_gold", existing.ids.len() as u64);

    let mut tx = wh.begin()?;
    let batch_id = tx.state().next_batch_id;
    tx.state_mut().next_batch_id += 1;
    let loaded_at = now_micros();

    // ingest -> bronze, streamed: each piece is tested, written and deduplicated as it comes.
    let progress = progress_bar(options.progress, total_bytes);
    let bronze_path = tx.stage("bronze.events.parquet");
    let writer = parquet::StreamWriter::create(&bronze_path, &bronze::schema())?;
    let mut load = load::Load::new(existing, writer, batch_id, loaded_at, total_bytes);
    // Parsing (all cores) and loading (bronze file, dedup) overlap: pieces flow through a
    // short queue to a loader thread, so memory holds only a few pieces at a time.
    let (stats, loaded) = std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<ingest::Piece>(2);
        let loader = scope.spawn(move || {
            for piece in receiver {
                load.take(piece)?;
            }
            Ok::<_, PipelineError>(load)
        });
        let stats = ingest::ingest(&files, &options.ingest, &progress, |piece| {
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
        dedup: _,
        mut gold_ids,
        gold_slim,
        keep_mask,
        duplicates,
        mut quarantine,
        bronze_tests,
        ..
    } = loaded;
    let bronze_rows = writer.rows;
    writer.finish()?;
    tx.replace(BRONZE, &bronze_path);
    timer.lap("ingest+bronze", bronze_rows);

    let mut rows = LayerRows {
        quarantined: stats.quarantined,
        bronze: bronze_rows,
        ..LayerRows::default()
    };
    let part = silver::part_name(batch_id);
    if stats.quarantined > 0 {
        let path = tx.stage("quarantine.rows.parquet");
        parquet::write(&path, &mut quarantine.frame(batch_id, loaded_at)?)?;
        tx.append("quarantine.rows", &path, &part);
    }
    let mut tests = vec![
        TestResult::new(
            "bronze.events",
            "row_count_reconciliation(ingested = bronze + quarantined)".into(),
            Severity::Error,
            stats.records.abs_diff(bronze_rows + stats.quarantined),
        ),
        TestResult::new(
            "quarantine.rows",
            "no_quarantined_rows".into(),
            if options.strict {
                Severity::Error
            } else {
                Severity::Warn
            },
            stats.quarantined,
        ),
    ];
    tests.extend(bronze_tests.finish());

    let mut skipped = Vec::new();
    let mut marts_done = false;
    if quality::has_failure(&tests) {
        skipped.extend(["silver", "gold", "marts"].map(String::from));
    } else {
        // silver: append bronze's batch when it is newer than everything in silver.
        let silver_batches: Vec<i64> = tx
            .state()
            .batches
            .iter()
            .filter(|b| b.status == "loaded")
            .map(|b| b.batch_id)
            .collect();
        if silver::should_append(&silver_batches, batch_id) && bronze_rows > 0 {
            let link = tx.stage_link(&bronze_path, "silver.events.parquet")?;
            tx.append("silver.events", &link, &part);
            rows.silver_appended = bronze_rows;
        }
        rows.silver_total = tx
            .state()
            .batches
            .iter()
            .filter(|b| b.status == "loaded")
            .map(|b| b.rows)
            .sum::<u64>()
            + rows.silver_appended;
        timer.lap("silver", rows.silver_appended);

        // gold: the batch's new events as one more part; dim_users rebuilt.
        rows.gold_new = bronze_rows - duplicates;
        if rows.gold_new > 0 {
            let gold_part = if duplicates == 0 {
                tx.stage_link(&bronze_path, "gold.fact_events.parquet")?
            } else {
                let path = tx.stage("gold.fact_events.parquet");
                let bronze = parquet::read(&bronze_path, None)?;
                let mut new = gold::filter_new(&bronze, &keep_mask).map_err(compute("gold"))?;
                parquet::write(&path, &mut new)?;
                path
            };
            tx.append(gold::FACT, &gold_part, &part);
        }
        rows.gold_total = gold_ids.len() as u64;
        let dim = gold_slim.dim_users();
        let mut dim_frame =
            gold::dim_users_frame(&gold_slim, &dim).map_err(compute("dim_users"))?;
        rows.dim_users = dim_frame.height() as u64;
        let dim_path = tx.stage("gold.dim_users.parquet");
        parquet::write(&dim_path, &mut dim_frame)?;
        tx.replace(gold::DIM, &dim_path);
        timer.lap("gold", rows.gold_new);

        // Users are tested as their codes: one code per distinct user_id.
        let fact = DataFrame::new(
            gold_ids.len(),
            vec![
                Column::new(schema::EVENT_ID.into(), std::mem::take(&mut gold_ids)),
                Column::new("user_id".into(), gold_slim.user.as_slice()),
            ],
        )?;
        let dim_codes = DataFrame::new(
            dim.len(),
            vec![Column::new(
                "user_id".into(),
                (0..dim.len() as u32).collect::<Vec<_>>(),
            )],
        )?;
        let lookup = |t: &str| (t == gold::DIM).then(|| dim_codes.clone());
        let gold_ctx = Context::default();
        tests.extend(
            quality::run_table(gold::FACT, &fact, &gold_ctx, &lookup)
                .map_err(compute("gold tests"))?,
        );
        tests.extend(
            quality::run_table(gold::DIM, &dim_frame, &gold_ctx, &lookup)
                .map_err(compute("gold tests"))?,
        );
        drop(fact);
        timer.lap("gold_tests", 0);

        if quality::has_failure(&tests) {
            skipped.push("marts".to_string());
        } else {
            build_marts(&mut tx, &gold_slim, &dim, &mut rows, &mut tests, &mut timer)?;
            marts_done = true;
        }
    }

    let committed = marts_done && !quality::has_failure(&tests);
    if !committed {
        tx.keep_only(&["quarantine.rows"]);
    }
    tx.state_mut().batches.push(BatchRecord {
        batch_id,
        loaded_at,
        sources: files.iter().map(|f| f.display().to_string()).collect(),
        rows: bronze_rows,
        quarantined: stats.quarantined,
        new_in_gold: if committed { rows.gold_new } else { 0 },
        status: if committed { "loaded" } else { "failed" }.to_string(),
    });
    tx.commit()?;
    timer.lap("commit", 0);
    let database_peak_rss_bytes = wh.database_peak_rss_bytes();

    Ok(RunSummary {
        batch_id,
        files: files.iter().map(|f| f.display().to_string()).collect(),
        ingest: stats,
        rows,
        tests,
        skipped,
        committed,
        seconds: timer.start.elapsed().as_secs_f64(),
        stages: timer.stages,
        peak_rss_bytes: peak_rss_bytes(),
        database_peak_rss_bytes,
        quarantine_sample: quarantine.sample,
    })
}

fn build_marts(
    tx: &mut Transaction<'_>,
    gold: &slim::SlimEvents,
    dim: &slim::DimUsers,
    rows: &mut LayerRows,
    tests: &mut Vec<TestResult>,
    timer: &mut Timer,
) -> Result<(), PipelineError> {
    let (activity, built) = marts::build_all(gold, dim).map_err(compute("marts"))?;
    timer.lap("marts", activity.pairs());
    let quality_ctx = Context {
        last_day: activity.last_day,
    };
    drop(activity);
    // The lifecycle tables are checked against the growth marts built beside them.
    let lookup = |table: &str| {
        built
            .iter()
            .find(|(name, _)| table.strip_prefix("marts.") == Some(*name))
            .map(|(_, df)| df.clone())
    };
    for (name, df) in &built {
        tests.extend(
            quality::run_table(&format!("marts.{name}"), df, &quality_ctx, &lookup)
                .map_err(compute("mart tests"))?,
        );
    }
    for (name, mut df) in built {
        let table = format!("marts.{name}");
        rows.marts.insert(name.to_string(), df.height() as u64);
        let path = tx.stage(&format!("{table}.parquet"));
        parquet::write(&path, &mut df)?;
        tx.replace(&table, &path);
    }
    timer.lap("mart_tests+write", rows.marts.values().sum());
    Ok(())
}

fn progress_bar(show: bool, total: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} ingest {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        pb.set_style(style);
    }
    pb
}
