//! The Spark engine's tasks. `spark` opens the warehouse, begins the batch and runs the
//! job; each task after it adopts its step's output into the run's transaction, under the
//! native task's name, with the step's cluster time in its note, and leaves what the
//! native test tasks read in the run's context (so `test_bronze`, the mart tests and the
//! commit are the native engine's own functions).
//!
//! Part names: bronze is the batch by event date (`event_date=2025-03-07`), silver the
//! batch by date (`batch=000002/event_date=2025-03-07`) and gold's facts by date, then
//! batch (`event_date=2025-03-07/batch=000002`): a new day's batch adds new files and
//! rewrites none, a late event adds one small file beside its day's.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use runner::Done;

use super::submit::{self, Job, Report};
use super::{SparkError, SparkOptions, is_uri};
use crate::pipeline::catalog::{Table, part_name};
use crate::pipeline::context::{Ctx, Ingested, gone, lock};
use crate::pipeline::ingest::{self, IngestStats};
use crate::pipeline::load::QuarantineTable;
use crate::pipeline::marts::{growth, interactions, lifecycle, retention};
use crate::pipeline::quality::{self, Context, run_table};
use crate::pipeline::{
    PipelineError, bronze as bronze_layer, compute, now_micros, silver as silver_layer,
};
use crate::warehouse::{Location, Warehouse, parquet};

/// What the job left: its folder and report, and the batch it is.
pub(in crate::pipeline) struct Staged {
    pub dir: PathBuf,
    pub report: Report,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub batch_id: i64,
    pub loaded_at: i64,
}

fn absolute(path: &Path) -> Result<String, SparkError> {
    std::path::absolute(path)
        .map(|p| p.display().to_string())
        .map_err(|source| SparkError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// The `spark` task: the batch begun in the warehouse, the job run on the cluster.
pub(super) fn spark(ctx: &Ctx<'_>, spark: &SparkOptions) -> Result<Done, PipelineError> {
    let options = ctx.options;
    *lock(&ctx.tx) = None;
    *lock(&ctx.warehouse) = None;
    *lock(&ctx.spark) = None;
    let root = match &options.warehouse {
        Location::Dir(root) => root.clone(),
        other => return Err(SparkError::NotAFolder(other.to_string()).into()),
    };
    let (input, sources, files) = if is_uri(&options.input) {
        let uri = options.input.display().to_string();
        (vec![uri], None, vec![options.input.clone()])
    } else {
        let files = ingest::resolve_inputs(&options.input)?;
        let input = files
            .iter()
            .map(|f| absolute(f))
            .collect::<Result<Vec<_>, _>>()?;
        let sources = files.iter().map(|f| f.display().to_string()).collect();
        (input, Some(sources), files)
    };
    let bytes = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let wh = Warehouse::open_for_write(&options.warehouse)?;
    options.ingest.time.check_warehouse(wh.state())?;
    let gold = match wh.state().tables.get(Table::GoldEvents.name()) {
        Some(parts) => parts
            .iter()
            .map(|f| absolute(&root.join(f)))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let mut tx = wh.begin()?;
    let batch_id = tx.state().next_batch_id;
    tx.state_mut().next_batch_id += 1;
    options.ingest.time.record(tx.state_mut());
    let loaded_at = now_micros();
    let dir = std::path::absolute(tx.stage("spark")).map_err(|source| SparkError::Io {
        path: root.clone(),
        source,
    })?;
    std::fs::create_dir_all(&dir).map_err(|source| SparkError::Io {
        path: dir.clone(),
        source,
    })?;
    let job = Job {
        input,
        sources,
        gold,
        batch_id,
        loaded_at,
        out: dir.display().to_string(),
        event_types: options.ingest.source.events.names().to_vec(),
    };
    let started = std::time::Instant::now();
    let gold_bytes: u64 = job
        .gold
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let work_bytes = (!is_uri(&options.input)).then_some(bytes + gold_bytes);
    let report = submit::submit(spark, &job, &dir, work_bytes)?;
    let note = format!(
        "spark-submit --master {}: {:.1} s, of which {:.1} s in the program's steps",
        spark.master,
        started.elapsed().as_secs_f64(),
        report.seconds()
    );
    let records = report.stats.records;
    *lock(&ctx.spark) = Some(Staged {
        dir,
        report,
        files,
        bytes,
        batch_id,
        loaded_at,
    });
    *lock(&ctx.tx) = Some(tx);
    *lock(&ctx.warehouse) = Some(wh);
    Ok(Done::rows(records).with_note(note))
}

/// A step's note: its cluster time first.
fn note(report: &Report, task: &str, extra: &str) -> String {
    let spark = report
        .step(task)
        .map(|s| format!("on Spark: {:.2} s", s.seconds))
        .unwrap_or_else(|| "on Spark".into());
    match report.step(task).map(|s| s.note.as_str()).unwrap_or("") {
        "" => format!("{spark}{extra}"),
        n => format!("{spark}; {n}{extra}"),
    }
}

/// Runs `f` on the job's output (the folder and report).
fn with_staged<T>(ctx: &Ctx<'_>, f: impl FnOnce(&Staged) -> T) -> Result<T, PipelineError> {
    let staged = lock(&ctx.spark);
    let s = staged
        .as_ref()
        .ok_or_else(|| gone("the Spark job's output"))?;
    Ok(f(s))
}

/// The `ingest` task: the batch's counts, from the job's report, for bronze's tests.
pub(super) fn ingest(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let (ingested, gold_total, done) = with_staged(ctx, |s| {
        let r = &s.report;
        let mut quarantine = QuarantineTable::default();
        quarantine.sample = r.quarantine_sample.clone();
        let ingested = Ingested {
            files: s.files.clone(),
            stats: IngestStats {
                files: r.stats.files,
                bytes: s.bytes,
                records: r.stats.records,
                good: r.stats.good,
                quarantined: r.stats.quarantined,
                blank_lines: r.stats.blank_lines,
                detected: Vec::new(),
                // The Spark engine cuts periods in UTC only (other zones are refused).
                timezone: "UTC".to_string(),
            },
            batch_id: s.batch_id,
            loaded_at: s.loaded_at,
            bronze_path: s.dir.join("bronze"),
            bronze_rows: r.bronze_rows,
            keep_mask: Vec::new(),
            // A Spark run writes no slim parts: the next native run writes them.
            slim_parts: Vec::new(),
            existing_events: 0,
            duplicates: r.bronze_rows.saturating_sub(r.gold_new),
            quarantine,
            bronze_tests: Vec::new(),
        };
        let done = Done::rows(r.stats.records).with_note(note(r, "ingest", ""));
        (ingested, r.gold_total, done)
    })?;
    *lock(&ctx.ingested) = Some(ingested);
    lock(&ctx.rows).gold_total = gold_total;
    Ok(done)
}

/// Parquet files under `dir`, by the Hive partition folder they are in (`event_date=...`),
/// sorted; `(file, part name)` with one part per file.
fn partitioned(dir: &Path) -> Result<Vec<(PathBuf, String)>, SparkError> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let files = parquet_files(&folder)?;
        let many = files.len() > 1;
        for (i, f) in files.into_iter().enumerate() {
            let part = if many {
                format!("{name}-{i}")
            } else {
                name.clone()
            };
            out.push((f, part));
        }
    }
    Ok(out)
}

/// The Parquet files Spark wrote in `dir` (not its `_SUCCESS` or checksums), sorted.
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, SparkError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SparkError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

/// Every file of a folder Spark wrote, as one frame.
fn read_all(files: &[PathBuf], columns: Option<&[&str]>) -> Result<DataFrame, PipelineError> {
    let mut out: Option<DataFrame> = None;
    for f in files {
        let df = parquet::read(f, columns)?;
        match &mut out {
            None => out = Some(df),
            Some(acc) => {
                acc.vstack_mut_owned(df).map_err(compute("spark output"))?;
            }
        }
    }
    Ok(out.unwrap_or_default())
}

/// The native engine's type of a column of the tables rewritten here.
fn dtype(column: &str) -> DataType {
    match column {
        "period" | "cohort_date" => DataType::Date,
        "first_seen_at" | "last_seen_at" | "loaded_at" => {
            DataType::Datetime(TimeUnit::Microseconds, None)
        }
        "quick_ratio" | "miles" | "share" => DataType::Float64,
        c if c.ends_with("_rate") => DataType::Float64,
        "is_complete" => DataType::Boolean,
        "country"
        | "event_type"
        | "transaction_category"
        | "user_id"
        | "status"
        | "source_file"
        | "raw"
        | "reason" => DataType::String,
        _ => DataType::Int64,
    }
}

/// A table's columns, in the native engine's order.
fn columns(table: Table) -> Vec<String> {
    let list = |c: &[&str]| c.iter().map(|s| s.to_string()).collect();
    match table {
        Table::Mart(contract::Mart::Growth(_)) => list(&growth::COLUMNS),
        Table::Mart(contract::Mart::Retention) => retention::columns(),
        Table::Mart(contract::Mart::Interactions) => list(&interactions::COLUMNS),
        Table::Lifecycle(_) => list(&lifecycle::COLUMNS),
        Table::DimUsers => list(&["user_id", "country", "first_seen_at", "last_seen_at"]),
        _ => list(&[
            "source_file",
            "line_number",
            "raw",
            "reason",
            "batch_id",
            "loaded_at",
        ]),
    }
}

/// A small table Spark wrote (`dir`), with the native engine's columns and types.
fn native(table: Table, dir: &Path) -> Result<DataFrame, PipelineError> {
    let files = parquet_files(dir)?;
    if files.is_empty() {
        return Err(SparkError::Output {
            what: table.name().into(),
            message: format!("no Parquet file in {}", dir.display()),
        }
        .into());
    }
    let df = read_all(&files, None)?;
    let typed = || -> PolarsResult<DataFrame> {
        let columns = columns(table)
            .iter()
            .map(|c| df.column(c)?.cast(&dtype(c)))
            .collect::<PolarsResult<Vec<_>>>()?;
        let frame = DataFrame::new(df.height(), columns)?;
        if let Table::Lifecycle(_) = table {
            // Spark writes it from several tasks; a period's users in id order, as one file.
            return frame.sort(["period", "user_id"], SortMultipleOptions::default());
        }
        Ok(frame)
    };
    typed().map_err(compute("spark output"))
}

/// Refuses files whose columns are not bronze's (a program and a binary of two versions).
fn check_schema(files: &[(PathBuf, String)]) -> Result<(), PipelineError> {
    let Some((first, _)) = files.first() else {
        return Ok(());
    };
    let df = parquet::read_slice(first, 0, 1)?;
    let want = bronze_layer::schema();
    let found = df.schema();
    let same = want.len() == found.len()
        && want
            .iter()
            .zip(found.iter())
            .all(|((a, x), (b, y))| a == b && x == y);
    if !same {
        return Err(SparkError::Output {
            what: "bronze schema".into(),
            message: format!(
                "{} has columns {:?}",
                first.display(),
                found.iter_names().collect::<Vec<_>>()
            ),
        }
        .into());
    }
    Ok(())
}

/// The `bronze` task: the batch's files by event date are bronze's new contents, its bad
/// rows one more part of the quarantine; bronze's row tests run on them.
pub(super) fn bronze(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let (dir, batch_id, quarantined, bronze_rows, done) = with_staged(ctx, |s| {
        let r = &s.report;
        (
            s.dir.clone(),
            s.batch_id,
            r.stats.quarantined,
            r.bronze_rows,
            note(r, "bronze", ""),
        )
    })?;
    let parts = partitioned(&dir.join("bronze"))?;
    check_schema(&parts)?;
    ctx.with_tx(|tx| tx.replace_parts(&Table::Bronze.spec(), &parts))?;
    if quarantined > 0 {
        let mut frame = native(Table::Quarantine, &dir.join("quarantine"))?;
        ctx.write_append(Table::Quarantine, &mut frame, &part_name(batch_id))?;
    }
    let files: Vec<PathBuf> = parts.iter().map(|(f, _)| f.clone()).collect();
    let frame = read_all(&files, None)?;
    let context = Context {
        event_types: ctx.options.ingest.source.events.clone(),
        ..Context::default()
    };
    let tests = if frame.height() > 0 {
        run_table(Table::Bronze.name(), &frame, &context, &|_| None)
            .map_err(compute("bronze tests"))?
    } else {
        Vec::new()
    };
    {
        let mut ingested = lock(&ctx.ingested);
        let ing = ingested.as_mut().ok_or_else(|| gone("ingest's batch"))?;
        ing.bronze_tests = tests;
    }
    let mut rows = lock(&ctx.rows);
    rows.quarantined = quarantined;
    rows.bronze = bronze_rows;
    Ok(Done::rows(bronze_rows).with_note(format!("{done}; {} files", parts.len())))
}

/// The `silver` task: bronze's files appended as the batch (hard links, no write) when it
/// is newer than everything in silver.
pub(super) fn silver(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let (dir, batch_id, bronze_rows) =
        with_staged(ctx, |s| (s.dir.clone(), s.batch_id, s.report.bronze_rows))?;
    let (silver_batches, before) = ctx.with_tx(|tx| silver_layer::loaded_batches(tx.state()))?;
    let mut appended = 0;
    if silver_layer::should_append(&silver_batches, batch_id) && bronze_rows > 0 {
        for (file, date) in partitioned(&dir.join("bronze"))? {
            let part = format!("{}/{date}", part_name(batch_id));
            ctx.link_append(Table::Silver, &file, &part)?;
        }
        appended = bronze_rows;
    }
    let mut rows = lock(&ctx.rows);
    rows.silver_appended = appended;
    rows.silver_total = before + appended;
    Ok(Done::rows(appended).with_note(format!("{} rows in silver", before + appended)))
}

/// Where the batch's new gold rows are: bronze's files when they are the same rows (the
/// program then writes no gold files), else the program's `gold` folder.
fn new_gold(s: &Staged) -> PathBuf {
    s.dir.join(if s.report.gold_is_bronze {
        "bronze"
    } else {
        "gold"
    })
}

/// The `gold` task: the batch's new events by event date as more parts of the fact
/// table; dim_users replaced by the one the job computed over all of gold.
pub(super) fn gold(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let (folder, linked, batch_id, gold_new, done) = with_staged(ctx, |s| {
        (
            new_gold(s),
            s.report.gold_is_bronze,
            s.batch_id,
            s.report.gold_new,
            note(&s.report, "gold", ""),
        )
    })?;
    let dir = with_staged(ctx, |s| s.dir.clone())?;
    let parts = partitioned(&folder)?;
    check_schema(&parts)?;
    for (file, date) in &parts {
        let part = format!("{date}/{}", part_name(batch_id));
        if linked {
            // Bronze adopts the same files: gold gets hard links to them, as silver does.
            ctx.link_append(Table::GoldEvents, file, &part)?;
        } else {
            ctx.with_tx(|tx| tx.append(&Table::GoldEvents.spec(), file, &part))?;
        }
    }
    let mut dim = native(Table::DimUsers, &dir.join("dim_users"))?;
    ctx.write_replace(Table::DimUsers, &mut dim)?;
    {
        let mut rows = lock(&ctx.rows);
        rows.gold_new = gold_new;
        rows.dim_users = dim.height() as u64;
    }
    *lock(&ctx.dim_frame) = Some(dim);
    Ok(Done::rows(gold_new).with_note(done))
}

/// The `test_gold` task: gold's facts (every event id: the committed parts and the new
/// ones) and dim_users, with the native engine's declared tests.
pub(super) fn test_gold(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let dim = lock(&ctx.dim_frame)
        .take()
        .ok_or_else(|| gone("dim_users"))?;
    let wanted = ["event_id", "user_id"];
    let mut fact = DataFrame::default();
    let mut add = |df: DataFrame| -> Result<(), PipelineError> {
        if fact.width() == 0 {
            fact = df;
        } else {
            fact.vstack_mut_owned(df).map_err(compute("gold tests"))?;
        }
        Ok(())
    };
    {
        let mut wh = lock(&ctx.warehouse);
        let wh = wh.as_mut().ok_or_else(|| gone("the warehouse"))?;
        if wh.has_table(Table::GoldEvents.name()) {
            let mut parts = Vec::new();
            wh.read_parts(Table::GoldEvents.name(), Some(&wanted), |df| {
                parts.push(df);
                Ok(())
            })?;
            for df in parts {
                add(df)?;
            }
        }
    }
    for (file, _) in partitioned(&with_staged(ctx, new_gold)?)? {
        add(parquet::read(&file, Some(&wanted))?)?;
    }
    let users = dim.select(["user_id"]).map_err(compute("gold tests"))?;
    let lookup = |t: &str| (t == Table::DimUsers.name()).then(|| users.clone());
    let context = Context {
        event_types: ctx.options.ingest.source.events.clone(),
        ..Context::default()
    };
    let mut tests = run_table(Table::GoldEvents.name(), &fact, &context, &lookup)
        .map_err(compute("gold tests"))?;
    tests.extend(
        run_table(Table::DimUsers.name(), &dim, &context, &lookup)
            .map_err(compute("gold tests"))?,
    );
    quality::tasks::gate(ctx, tests)
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
fn day_number(date: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(contract::calendar::day_number(d))
}

/// The `activity` task: the span of gold's dates, which the mart tests check against.
pub(super) fn activity(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let (last_day, rows, done) = with_staged(ctx, |s| {
        let r = &s.report;
        let rows = r.step("activity").and_then(|a| a.rows).unwrap_or(0);
        (
            r.last_day.as_deref().and_then(day_number),
            rows,
            note(r, "activity", ""),
        )
    })?;
    let last_day = last_day.ok_or_else(|| SparkError::Output {
        what: "marts".into(),
        message: "the report gives no last date (gold is empty)".into(),
    })?;
    *lock(&ctx.last_day) = Some(last_day);
    Ok(Done::rows(rows).with_note(done))
}

/// The `mart_<table>` task: the table the job built, with the native engine's types,
/// staged and kept for its tests.
pub(super) fn mart(ctx: &Ctx<'_>, table: Table) -> Result<Done, PipelineError> {
    let (dir, done) = with_staged(ctx, |s| {
        let task = crate::pipeline::task::Task::Mart(table).name();
        (s.dir.clone(), note(&s.report, &task, ""))
    })?;
    let mut df = native(table, &dir.join("marts").join(table.short_name()))?;
    ctx.write_replace(table, &mut df)?;
    let rows = df.height() as u64;
    lock(&ctx.rows)
        .marts
        .insert(table.short_name().to_string(), rows);
    lock(&ctx.marts).insert(table, df);
    Ok(Done::rows(rows).with_note(done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_folders_become_one_part_per_date() {
        let dir = tempfile::tempdir().unwrap();
        for (date, files) in [("event_date=2025-03-07", 1), ("event_date=2025-03-08", 2)] {
            std::fs::create_dir_all(dir.path().join(date)).unwrap();
            for i in 0..files {
                std::fs::write(dir.path().join(date).join(format!("part-{i}.parquet")), b"")
                    .unwrap();
            }
            std::fs::write(dir.path().join(date).join(".part-0.parquet.crc"), b"").unwrap();
        }
        std::fs::write(dir.path().join("_SUCCESS"), b"").unwrap();
        let parts: Vec<String> = partitioned(dir.path())
            .unwrap()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        assert_eq!(
            parts,
            [
                "event_date=2025-03-07",
                "event_date=2025-03-08-0",
                "event_date=2025-03-08-1"
            ]
        );
    }

    #[test]
    fn rewritten_tables_take_the_native_types() {
        assert_eq!(dtype("period"), DataType::Date);
        assert_eq!(dtype("d7_retention_rate"), DataType::Float64);
        assert_eq!(dtype("d7_retained"), DataType::Int64);
        assert_eq!(columns(Table::Lifecycle(contract::Grain::Day)).len(), 5);
        assert_eq!(day_number("1970-01-02"), Some(1));
    }
}
