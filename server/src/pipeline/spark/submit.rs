//! The Spark job: what heymax tells the program (a job file), how it is submitted
//! (spark-submit in client mode, its log kept beside the system's temporary files), and
//! what the program reports back (rows, seconds and a note per step).
//!
//! The program is `spark/heymax_spark.py`, carried inside the binary so that `heymax` stays
//! one file; it is written next to the job file for spark-submit, which ships it to the
//! cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::{SparkError, SparkOptions};

/// The Spark program, as kept in the repository.
const PROGRAM: &str = include_str!("../../../../spark/heymax_spark.py");

/// The prefix the program puts before a refusal it explains (a wrong header, no rows).
const REFUSAL: &str = "heymax-spark: ";

/// What the program is asked to do.
#[derive(Debug, Serialize)]
pub(super) struct Job {
    /// Files (absolute paths) or Hadoop URIs; a URI folder is listed by the cluster.
    pub input: Vec<String>,
    /// How the quarantine names each input file (the native engine's names); `None`: the
    /// files' URIs.
    pub sources: Option<Vec<String>>,
    /// The files of gold's fact table as committed (absolute paths).
    pub gold: Vec<String>,
    pub batch_id: i64,
    pub loaded_at: i64,
    /// The staging folder the program writes into (absolute).
    pub out: String,
    pub event_types: Vec<String>,
}

/// One step as the program timed it.
#[derive(Debug, Clone, Deserialize)]
pub struct StepReport {
    pub task: String,
    pub seconds: f64,
    /// `None` for the marts: heymax counts them when it adopts them.
    #[serde(default)]
    pub rows: Option<u64>,
    #[serde(default)]
    pub note: String,
}

/// The input's counts (every physical line is a row, a quarantined row or blank).
#[derive(Debug, Clone, Deserialize)]
pub struct Stats {
    pub files: usize,
    pub records: u64,
    pub good: u64,
    pub quarantined: u64,
    pub blank_lines: u64,
}

/// What the program wrote, as `report.json` says.
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    pub steps: Vec<StepReport>,
    pub stats: Stats,
    pub quarantine_sample: Vec<(String, u64, String)>,
    pub bronze_rows: u64,
    pub gold_new: u64,
    /// Whether the batch's new gold rows are exactly bronze's (no duplicate, nothing
    /// already in gold): then the program wrote no gold files and bronze's are linked.
    #[serde(default)]
    pub gold_is_bronze: bool,
    pub gold_total: u64,
    pub dim_users: u64,
    /// The first and last calendar dates in gold (`YYYY-MM-DD`); absent when gold is empty.
    #[serde(default)]
    pub first_day: Option<String>,
    #[serde(default)]
    pub last_day: Option<String>,
    /// Whether the marts were built (gold has events).
    #[serde(default)]
    pub marts: bool,
}

impl Report {
    /// The program's step named `task`.
    pub fn step(&self, task: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.task == task)
    }

    /// Seconds the cluster spent on every step.
    pub fn seconds(&self) -> f64 {
        self.steps.iter().map(|s| s.seconds).sum()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SparkError + '_ {
    move |source| SparkError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The Python the cluster runs: the one given, else the venv's beside spark-submit.
fn python(spark: &SparkOptions) -> Option<PathBuf> {
    spark.python.clone().or_else(|| {
        let beside = spark.submit.parent()?.join("python");
        beside.is_file().then_some(beside)
    })
}

/// Work up to this size is a short job, whose time goes to starting three JVMs more than
/// to steady work: see [`default_conf`].
const SHORT_JOB_BYTES: u64 = 1 << 30;

/// Work up to this size is seconds for one core: see [`default_conf`].
const ONE_CORE_BYTES: u64 = 64 << 20;

/// Bytes of input per shuffle partition (Spark's own advisory size for a partition).
const PARTITION_BYTES: u64 = 128 << 20;

/// heymax's spark-submit settings, given before the user's `--spark-conf`s (spark-submit
/// keeps a key's last value, so the user's win). `work_bytes`: the input's size plus
/// gold's files (the marts are rebuilt over all of gold), when heymax can see the input
/// (local files; `None` for a URI the cluster reads).
/// - `spark.sql.shuffle.partitions`: one per 128 MiB of input, at least 4 (a few per core
///   of a small cluster); the program spreads dated writes and the per-user tables over
///   exactly this many, so both executors work and no date is split across files. Left
///   to Spark for a URI (its 200, which adaptive execution merges).
/// - `spark.locality.wait=0`: the program's stages read cached blocks that sit on one
///   executor or the other; waiting up to 3 s for the holder of a block costs more than
///   reading it over loopback or the network.
/// - A short job (under 1 GiB) runs its JVMs with the client compiler only and the serial
///   collector: starting the driver and two executors on two busy cores went from 40 s to
///   21 s, most of it optimising-compiler threads fighting for the cores, and 1M events
///   ran in 168 s rather than 193 s; a long job on a real cluster wants the JVM's defaults.
/// - A job under 64 MiB takes one core (`spark.cores.max=1`): one executor JVM and one
///   Python worker fewer to start, and a second small batch (or test) runs beside it
///   instead of queueing for the cluster's cores.
pub(super) fn default_conf(work_bytes: Option<u64>) -> Vec<String> {
    let mut conf = vec!["spark.locality.wait=0".to_string()];
    if let Some(bytes) = work_bytes {
        if bytes < ONE_CORE_BYTES {
            conf.push("spark.cores.max=1".to_string());
        }
        let partitions = bytes.div_ceil(PARTITION_BYTES).max(4);
        conf.push(format!("spark.sql.shuffle.partitions={partitions}"));
        if bytes < SHORT_JOB_BYTES {
            let jvm = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
            conf.push(format!("spark.driver.extraJavaOptions={jvm}"));
            conf.push(format!("spark.executor.extraJavaOptions={jvm}"));
        }
    }
    conf
}

/// Runs the job in `dir` (the program, the job file and its output go there) and reads
/// its report. `work_bytes`: the input's and gold's size when known (see [`default_conf`]).
pub(super) fn submit(
    spark: &SparkOptions,
    job: &Job,
    dir: &Path,
    work_bytes: Option<u64>,
) -> Result<Report, SparkError> {
    let program = dir.join("heymax_spark.py");
    std::fs::write(&program, PROGRAM).map_err(io_err(&program))?;
    let job_path = dir.join("job.json");
    let text = serde_json::to_vec_pretty(job).map_err(|e| SparkError::Output {
        what: "job file".into(),
        message: e.to_string(),
    })?;
    std::fs::write(&job_path, text).map_err(io_err(&job_path))?;
    // The log outlives the staging folder (which a failed run removes).
    let log_path = std::env::temp_dir().join(format!(
        "heymax-spark-{}-batch{}.log",
        std::process::id(),
        job.batch_id
    ));
    let log = std::fs::File::create(&log_path).map_err(io_err(&log_path))?;
    let log_err = log.try_clone().map_err(io_err(&log_path))?;
    let mut cmd = Command::new(&spark.submit);
    cmd.arg("--master")
        .arg(&spark.master)
        .args(["--name", "heymax"]);
    for conf in default_conf(work_bytes).iter().chain(&spark.conf) {
        cmd.arg("--conf").arg(conf);
    }
    if let Some(py) = python(spark) {
        cmd.env("PYSPARK_PYTHON", &py)
            .env("PYSPARK_DRIVER_PYTHON", &py);
    }
    cmd.arg(&program)
        .arg(&job_path)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    tracing::info!(master = %spark.master, log = %log_path.display(), "spark-submit started");
    let status = cmd.status().map_err(|source| SparkError::Start {
        submit: spark.submit.display().to_string(),
        source,
    })?;
    if !status.success() {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        return Err(SparkError::Failed {
            code: status.code().unwrap_or(-1),
            message: failure(&text),
            log: log_path.display().to_string(),
        });
    }
    let report_path = dir.join("report.json");
    let text = std::fs::read(&report_path).map_err(io_err(&report_path))?;
    let report = serde_json::from_slice(&text).map_err(|e| SparkError::Output {
        what: "report.json".into(),
        message: e.to_string(),
    })?;
    let _ = std::fs::remove_file(&log_path);
    Ok(report)
}

/// The most telling line of a failed job's log: the program's own refusal, else the last
/// Python or Java error; at most 400 characters, escaped.
fn failure(log: &str) -> String {
    let line = log
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(REFUSAL))
        .or_else(|| {
            log.lines()
                .rev()
                .find(|l| l.contains("Error") || l.contains("Exception"))
        })
        .or_else(|| log.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("no output");
    let cut: String = line.chars().take(400).collect();
    let mut text: String = cut.chars().flat_map(char::escape_default).collect();
    if cut.len() < line.len() {
        text.push('…');
    }
    // Quotes and backslashes the program wrote stay readable.
    text.replace("\\\"", "\"").replace("\\'", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_job_says_the_programs_refusal_else_the_last_error() {
        let log =
            "26/12/02 INFO Starting\nheymax-spark: a.csv: wrong header\nTraceback\nSystemExit: 3\n";
        assert_eq!(failure(log), "a.csv: wrong header");
        let log = "INFO x\njava.net.ConnectException: Connection refused\nINFO shutdown\n";
        assert_eq!(
            failure(log),
            "java.net.ConnectException: Connection refused"
        );
        let long = "x".repeat(1000);
        assert!(failure(&long).chars().count() <= 401);
        assert_eq!(failure("Error \u{1b}[31m"), "Error \\u{1b}[31m");
    }

    #[test]
    fn defaults_size_the_job_and_come_before_the_users_settings() {
        let tiny = default_conf(Some(1 << 20));
        assert!(tiny.contains(&"spark.cores.max=1".to_string()));
        let small = default_conf(Some(75 << 20));
        assert!(small.contains(&"spark.sql.shuffle.partitions=4".to_string()));
        assert!(small.iter().any(|c| c.contains("TieredStopAtLevel=1")));
        assert!(!small.iter().any(|c| c.contains("cores.max")));
        let big = default_conf(Some(10 << 30));
        assert!(big.contains(&"spark.sql.shuffle.partitions=80".to_string()));
        assert!(!big.iter().any(|c| c.contains("extraJavaOptions")));
        let uri = default_conf(None);
        assert_eq!(uri, ["spark.locality.wait=0"]);
    }

    #[test]
    fn the_program_is_carried_inside_the_binary() {
        assert!(PROGRAM.contains("def build("), "spark/heymax_spark.py");
    }
}
