//! The Spark engine (`heymax run --engine spark`): the same layers and marts computed as
//! Spark jobs on an existing cluster, committed into the same warehouse.
//!
//! In: the run's options and where the cluster is ([`SparkOptions`]); out: the same
//! warehouse layout, state and run history as the native engine, so `heymax serve`,
//! `heymax export` and `heymax runs` read a Spark run unchanged.
//!
//! The split: `spark/heymax_spark.py` (carried inside the binary, kept readable in the
//! repo) computes ingest, bronze, gold, dim_users, the marts and the lifecycle tables on
//! the cluster and writes them as Parquet into this run's staging folder, with a report
//! of rows and seconds per step. heymax then adopts each step's output as a task of its
//! own (same names as the native plan, so the Pipeline page draws the same graph), runs
//! the same declared quality tests on it (`quality::specs`), and commits through the same
//! transaction: a failing error-severity test commits only the quarantine. One warehouse
//! format, one set of gates, one history, whichever engine computed the numbers.
//!
//! The staging folder is inside the warehouse folder (`_heymax/staging/`): the driver
//! (this process, spark-submit in client mode) and every executor must see the same path,
//! which on a real cluster means a warehouse on shared storage (NFS, a mounted bucket).
//! Bronze, silver and gold files are adopted as Spark wrote them (hard links, no copy):
//! partitioned by event date and clustered by user inside each file. The small tables
//! (quarantine, dim_users, marts, lifecycle) are rewritten with the native engine's exact
//! column types, so a mart reads the same whichever engine wrote it.
//!
//! Supported input: plain comma-separated CSV files with a header (a file, a folder of
//! `*.csv`, or a Hadoop URI such as `s3a://bucket/events/` that the cluster can read), with
//! the defaults (no `heymax.toml`, UTC). Anything else is refused before anything runs.

mod submit;
mod tasks;

use std::path::{Path, PathBuf};

use runner::{Policy, TaskRecord, Trigger};

use super::catalog::Table;
use super::ingest::{self, Format, IngestOptions, TimeOptions};
use super::plan::{self, Outcome, Step, step};
use super::task::Task;
use super::{RunOptions, quality};

pub use submit::Report;
pub(in crate::pipeline) use tasks::Staged;

/// Where the cluster is and how to reach it.
#[derive(Debug, Clone)]
pub struct SparkOptions {
    /// `spark://host:7077`, `yarn`, `k8s://...`, `local[2]`: spark-submit's `--master`.
    pub master: String,
    /// The `spark-submit` to run (pyspark's, or a Spark distribution's).
    pub submit: PathBuf,
    /// The Python the driver and the executors run (`PYSPARK_PYTHON`); it needs `xxhash`
    /// and `pyarrow`. `None`: the `python` beside `spark-submit`, else Spark's default.
    pub python: Option<PathBuf>,
    /// More `--conf KEY=VALUE` for spark-submit (executor memory, s3a credentials, ...).
    pub conf: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SparkError {
    #[error(
        "--engine spark reads plain CSV with the default settings only: {0}. Run it with the native engine (without --engine spark), or convert the input"
    )]
    Unsupported(String),
    #[error(
        "--engine spark writes into a warehouse folder, not {0}: pass a folder (on storage every Spark executor sees)"
    )]
    NotAFolder(String),
    #[error(
        "cannot start {submit}: {source}. Install pyspark 4 (scripts/spark.sh start prints HEYMAX_SPARK_SUBMIT) or pass --spark-submit"
    )]
    Start {
        submit: String,
        source: std::io::Error,
    },
    #[error("the Spark job failed (exit {code}): {message} (the whole log: {log})")]
    Failed {
        code: i32,
        message: String,
        log: String,
    },
    #[error("the Spark job left no usable {what}: {message}")]
    Output { what: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Whether `input` names a Hadoop URI (`s3a://...`, `hdfs://...`) rather than a local path.
pub fn is_uri(input: &Path) -> bool {
    input.to_str().is_some_and(|s| {
        s.split_once("://").is_some_and(|(scheme, _)| {
            !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric())
        })
    })
}

/// Refuses what the Spark program does not read: a `heymax.toml`, other time settings,
/// files that are not plain comma-separated CSV. A URI is read by the cluster (its header
/// is checked there).
pub fn check_input(input: &Path, options: &IngestOptions) -> Result<(), SparkError> {
    if is_uri(input) {
        return Ok(());
    }
    if let Some(path) = &options.source.path {
        return Err(SparkError::Unsupported(format!(
            "{} configures the input",
            path.display()
        )));
    }
    if options.time != TimeOptions::default() {
        return Err(SparkError::Unsupported(
            "--timezone and --source-timezone must be UTC".into(),
        ));
    }
    let files =
        ingest::resolve_inputs(input).map_err(|e| SparkError::Unsupported(e.to_string()))?;
    for f in &files {
        let header = ingest::read_header(f, &options.source)
            .map_err(|e| SparkError::Unsupported(e.to_string()))?;
        let d = &header.detected;
        if header.format != Format::Csv || !d.compression.is_empty() || header.delimiter != b',' {
            return Err(SparkError::Unsupported(format!(
                "{} is read as {}",
                f.display(),
                d.describe()
            )));
        }
    }
    Ok(())
}

/// The Spark engine's tasks: `spark` (the job) first, then the native plan's names, each
/// adopting what its step wrote and testing it as the native engine does.
fn steps(spark: &SparkOptions) -> Vec<Step> {
    let spark = spark.clone();
    let mut steps = vec![
        step(Task::Spark, &[], move |ctx| tasks::spark(ctx, &spark)),
        step(Task::Ingest, &[Task::Spark], tasks::ingest),
        step(Task::Bronze, &[Task::Ingest], tasks::bronze),
        step(
            Task::TestBronze,
            &[Task::Bronze],
            quality::tasks::test_bronze,
        ),
        step(Task::Silver, &[Task::TestBronze], tasks::silver),
        step(Task::Gold, &[Task::TestBronze], tasks::gold),
        step(Task::TestGold, &[Task::Gold], tasks::test_gold),
        step(Task::Activity, &[Task::TestGold], tasks::activity),
    ];
    let tables = Table::built_from_gold();
    for &table in &tables {
        steps.push(step(Task::Mart(table), &[Task::Activity], move |ctx| {
            tasks::mart(ctx, table)
        }));
    }
    let mut last = vec![Task::Silver];
    for &table in &tables {
        let mut upstream = vec![Task::Mart(table)];
        upstream.extend(table.reconciles_with().map(Task::Mart));
        steps.push(step(Task::TestMart(table), &upstream, move |ctx| {
            quality::tasks::test_mart(ctx, table)
        }));
        last.push(Task::TestMart(table));
    }
    steps.push(Step {
        trigger: Trigger::AllDone,
        ..step(Task::Commit, &last, super::commit::task)
    });
    steps
}

/// The tasks of a Spark run, queued (for the run's record before it starts).
pub fn task_list(spark: &SparkOptions) -> Vec<TaskRecord> {
    plan::records(steps(spark))
}

/// Runs the pipeline on the cluster and commits it, as [`plan::run`] does natively.
pub fn run(
    options: &RunOptions,
    spark: &SparkOptions,
    policy: &Policy,
    observe: &(dyn Fn(&TaskRecord) + Sync),
) -> Outcome {
    plan::run_steps(options, policy, observe, steps(spark))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_told_from_paths() {
        assert!(is_uri(Path::new("s3a://bucket/events/")));
        assert!(is_uri(Path::new("hdfs://nn:8020/x.csv")));
        assert!(!is_uri(Path::new("data/sample/event_stream.csv")));
        assert!(!is_uri(Path::new("/tmp/a://b")));
    }

    #[test]
    fn the_spark_plan_has_the_native_task_names_after_the_job() {
        let options = SparkOptions {
            master: "local[1]".into(),
            submit: "spark-submit".into(),
            python: None,
            conf: Vec::new(),
        };
        let tasks = task_list(&options);
        let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.first(), Some(&"spark"));
        assert_eq!(names.last(), Some(&"commit"));
        let native = plan::task_list();
        // Gold's slim parts are the native engine's cache: a Spark run writes none.
        let slim = Task::GoldSlim.name();
        for t in native.iter().filter(|t| t.name != slim) {
            assert!(names.contains(&t.name.as_str()), "{} missing", t.name);
        }
    }
}
