//! The command line: one clap `Command` enum, one variant per subcommand. Flags and
//! environment resolve here; `commands/` does the work.

use std::path::PathBuf;

use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand};

use crate::pipeline::ingest::time;

use crate::generate::Shape;
use crate::pipeline::marts::encoding;
use crate::static_site::{ByteSize, SizeLimits};
use crate::warehouse::Location;

#[derive(Debug, Parser)]
#[command(
    name = "heymax",
    version,
    about = "Product-growth analytics: event CSVs -> bronze/silver/gold -> marts"
)]
pub struct Cli {
    /// Only print errors (and the result); for scripts.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline: ingest -> bronze -> silver -> gold -> marts, with quality tests.
    Run(RunArgs),
    /// Work with the marts of a warehouse.
    Marts {
        #[command(subcommand)]
        command: MartsCommand,
    },
    /// Write synthetic events with the sample's shape (deterministic for a seed).
    Generate(GenerateArgs),
    /// Time `heymax run` at 1M and 10M generated events (and on --input), per stage.
    Bench(BenchArgs),
    /// Serve the dashboard (server-rendered pages, hydrated in the browser) and the marts as JSON.
    Serve(ServeArgs),
    /// The pipeline's run history: recent runs, or one run with its tasks.
    Runs(RunsArgs),
    /// Write the dashboard as static files (pages pre-rendered, marts as JSON, the bundle)
    /// for GitHub Pages or any static host.
    Export(SiteExportArgs),
    /// Look at an event file and write a commented heymax.toml that reads it (format,
    /// delimiter, time format, columns), printing what was detected.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// An event file: CSV (any delimiter), NDJSON or Parquet, optionally .gz or .zst.
    pub file: PathBuf,
    /// Where to write the configuration. Default: heymax.toml beside the file.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Replace an existing configuration file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SiteExportArgs {
    /// Warehouse: a folder of Parquet files, or a PostgreSQL URL (postgres://user:password@host:port/db).
    #[arg(long, short, env = "HEYMAX_WAREHOUSE", default_value = "warehouse")]
    pub warehouse: Location,
    /// Output folder: created, or replaced as a whole if it holds a previous export.
    #[arg(long, short)]
    pub out: PathBuf,
    /// The path the site is served under: `/<repo>/` for a GitHub Pages project site.
    #[arg(long, default_value = "/")]
    pub base_path: String,
    /// A browser bundle folder (`scripts/bundle.py` writes dist/) instead of the one built
    /// into heymax: for development.
    #[arg(long, env = "HEYMAX_DIST")]
    pub dist: Option<PathBuf>,
    /// Refuse to write a site larger than this (GitHub Pages publishes at most 1 GB):
    /// 1GB, 500MB, 25MiB or a number of bytes.
    #[arg(long, env = "HEYMAX_MAX_SIZE", value_name = "SIZE",
          default_value_t = ByteSize::GITHUB_PAGES_SITE)]
    pub max_size: ByteSize,
    /// Refuse to write a site with any file larger than this (Cloudflare Pages takes at
    /// most 25 MiB a file).
    #[arg(long, env = "HEYMAX_MAX_FILE_SIZE", value_name = "SIZE",
          default_value_t = ByteSize::CLOUDFLARE_PAGES_FILE)]
    pub max_file_size: ByteSize,
}

impl SiteExportArgs {
    pub fn limits(&self) -> SizeLimits {
        SizeLimits {
            max_size: self.max_size,
            max_file_size: self.max_file_size,
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Warehouse: a folder of Parquet files, or a PostgreSQL URL (postgres://user:password@host:port/db).
    #[arg(long, short, env = "HEYMAX_WAREHOUSE", default_value = "warehouse")]
    pub warehouse: Location,
    /// A browser bundle folder (`scripts/bundle.py` writes dist/) instead of the one built
    /// into heymax: for development.
    #[arg(long, env = "HEYMAX_DIST")]
    pub dist: Option<PathBuf>,
    #[arg(long, short, env = "HEYMAX_PORT", default_value_t = 3000)]
    pub port: u16,
    /// Address to listen on (0.0.0.0 to accept other machines).
    #[arg(long, env = "HEYMAX_HOST", default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Serve the site under this path (`/heymax/`), as a sub-path host would.
    #[arg(long, default_value = "/")]
    pub base_path: String,
    /// What runs started by the schedule or `POST /api/runs` load: an event CSV or a
    /// folder of them.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// A folder whose files (or subfolders) `POST /api/runs {"input": "<path>"}` may name
    /// (repeatable; a relative path is taken inside the first). Default: the --watch
    /// inbox. --input is always allowed; no other path is.
    #[arg(long, value_name = "DIR")]
    pub allow_input: Vec<PathBuf>,
    /// Watch this folder for new event CSVs and load each one once it is complete
    /// (unchanged for --settle seconds, or with a `<name>.done` marker); loaded files move
    /// to `processed/`, bad ones to `rejected/` with a `.reason`.
    #[arg(long, value_name = "INBOX")]
    pub watch: Option<PathBuf>,
    /// Seconds a watched file must stay unchanged to count as completely written.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub settle: f64,
    /// Seconds between two looks at the inbox.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub poll: f64,
    /// Take a watched file only once its `<name>.done` marker exists, never on --settle
    /// alone: for writers that may pause longer than --settle.
    #[arg(long, requires = "watch")]
    pub require_done: bool,
    /// Run the pipeline on --input on a schedule: a cron expression in UTC, e.g.
    /// "0 * * * *" (hourly) or "*/10 * * * * *" (every 10 seconds, six fields).
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    /// The secret `POST /api/runs` needs as `Authorization: Bearer <token>`; without it
    /// runs cannot be started over HTTP.
    #[arg(long, env = "HEYMAX_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    #[command(flatten)]
    pub orchestration: OrchestrationArgs,
}

/// How runs are retried and announced (`run` and `serve`).
#[derive(Debug, Args, Clone)]
pub struct OrchestrationArgs {
    /// Retries of a task that failed for a passing reason (a dropped database connection,
    /// a warehouse locked by another run); data-quality failures are never retried.
    #[arg(long, default_value_t = 2)]
    pub retries: u32,
    /// Seconds before the first retry; doubled for each further one.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub retry_delay: f64,
    /// POST a JSON notice here when a run fails (run id, failed task, error, link).
    #[arg(long, env = "HEYMAX_NOTIFY_URL", value_name = "URL")]
    pub notify_url: Option<String>,
    /// Fail the run (exit 2, previous marts kept) when more than this percentage of the
    /// batch's rows is quarantined; a batch where nothing loads always fails.
    #[arg(long, default_value_t = 10.0, value_name = "PERCENT")]
    pub max_quarantine: f64,
    /// How to read the input (column names, time format, event types): a heymax.toml.
    /// Default: the heymax.toml beside the input, if there is one (`heymax init` writes it).
    #[arg(long, env = "HEYMAX_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The reporting time zone, an IANA name (Asia/Singapore, Europe/Berlin): every day,
    /// week, month and cohort day is a calendar period on its clock. A warehouse keeps the
    /// zone of its first load and refuses runs in another. Default: heymax.toml's
    /// `[time] timezone`, else UTC.
    #[arg(long, env = "HEYMAX_TIMEZONE", value_name = "IANA", value_parser = time::parse_zone)]
    pub timezone: Option<Tz>,
    /// The zone of event times written without an offset (`2025-05-04 09:50:20`); times
    /// with `Z` or `+08:00`, and epoch numbers, are instants already. Default: heymax.toml's
    /// `[time] source_timezone`, else UTC.
    #[arg(long, env = "HEYMAX_SOURCE_TIMEZONE", value_name = "IANA", value_parser = time::parse_zone)]
    pub source_timezone: Option<Tz>,
    /// What computes the layers and marts: `native` (heymax's own engine, the fast path on
    /// one machine) or `spark` (Spark jobs on an existing cluster, --spark-master). Both
    /// write the same warehouse.
    #[arg(long, value_enum, default_value = "native")]
    pub engine: EngineChoice,
    /// The Spark master for --engine spark: spark://host:7077, yarn, k8s://https://...,
    /// local[2].
    #[arg(long, env = "HEYMAX_SPARK_MASTER", value_name = "URL")]
    pub spark_master: Option<String>,
    /// The spark-submit that --engine spark runs (pyspark 4's, or a Spark distribution's).
    #[arg(
        long,
        env = "HEYMAX_SPARK_SUBMIT",
        default_value = "spark-submit",
        value_name = "PATH"
    )]
    pub spark_submit: PathBuf,
    /// The Python the Spark driver and executors run (needs xxhash and pyarrow). Default:
    /// the python beside spark-submit (a venv's), else Spark's default.
    #[arg(long, env = "HEYMAX_SPARK_PYTHON", value_name = "PATH")]
    pub spark_python: Option<PathBuf>,
    /// One more `--conf KEY=VALUE` for spark-submit (repeatable): executor memory, s3a
    /// credentials provider, ...
    #[arg(long, value_name = "KEY=VALUE")]
    pub spark_conf: Vec<String>,
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineChoice {
    Native,
    Spark,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// Warehouse: a folder of Parquet files, or a PostgreSQL URL (postgres://user:password@host:port/db).
    #[arg(
        long,
        short,
        env = "HEYMAX_WAREHOUSE",
        default_value = "warehouse",
        global = true
    )]
    pub warehouse: Location,
    /// How many runs to list, newest first.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: usize,
    /// Print JSON (the API's format).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// One run with each of its tasks: state, attempts, time, rows, error.
    Show {
        /// The run's id (the first column of `heymax runs`).
        run_id: i64,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// An event CSV file, or a directory of them (*.csv, loaded as one batch).
    #[arg(long, short)]
    pub input: PathBuf,
    /// Warehouse: a folder of Parquet files, or a PostgreSQL URL (postgres://user:password@host:port/db).
    #[arg(long, short, env = "HEYMAX_WAREHOUSE", default_value = "warehouse")]
    pub warehouse: Location,
    /// Fail the run (exit 2) when any row is quarantined.
    #[arg(long)]
    pub strict: bool,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub orchestration: OrchestrationArgs,
}

#[derive(Debug, Subcommand)]
pub enum MartsCommand {
    /// Write the five marts as <mart>.csv or <mart>.json.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Warehouse: a folder of Parquet files, or a PostgreSQL URL (postgres://user:password@host:port/db).
    #[arg(long, short, env = "HEYMAX_WAREHOUSE", default_value = "warehouse")]
    pub warehouse: Location,
    #[arg(long, short, value_enum, default_value = "csv")]
    pub format: MartFormat,
    /// Output directory (created if missing; existing mart files are replaced).
    #[arg(long, short)]
    pub out: PathBuf,
}

/// `--format`: the encodings a mart can be exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MartFormat {
    Csv,
    Json,
}

impl From<MartFormat> for encoding::Format {
    fn from(format: MartFormat) -> Self {
        match format {
            MartFormat::Csv => encoding::Format::Csv,
            MartFormat::Json => encoding::Format::Json,
        }
    }
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Users (default: events / 50).
    #[arg(long)]
    pub users: Option<u64>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 91)]
    pub days: i64,
    /// `steady`: everyone signs up in the first week and stays active to the end (the
    /// harsh shape for benchmarks: lifecycle tables twice as large).
    #[arg(long, value_enum, default_value_t = Shape::Default)]
    pub shape: Shape,
    #[arg(long, short)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Generated sizes to time (events; 50 events per user).
    #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
    pub sizes: Vec<u64>,
    /// Also time these input files.
    #[arg(long, short)]
    pub input: Vec<PathBuf>,
    /// Data shapes to time each size in (`default`, `steady`: users active most days).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "default,steady"
    )]
    pub shapes: Vec<Shape>,
    /// Runs per size (the best wall time is reported).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Where generated inputs are kept between benchmarks.
    #[arg(long, env = "HEYMAX_BENCH_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Time runs into PostgreSQL: each run loads a scratch database created on this server
    /// (`heymax_bench_<pid>`, dropped after; the user needs CREATEDB). The database the URL
    /// names is not touched. Default: a fresh Parquet folder per run.
    #[arg(long)]
    pub warehouse: Option<Location>,
    /// Also time an incremental run per input: load all but this many events, then append
    /// them, timed, and require the marts to equal the whole load's (CSV inputs).
    #[arg(long, value_name = "EVENTS")]
    pub append: Option<u64>,
    /// Which events `--append` appends: the file's last lines (`lines`; generated data has
    /// them at random times) or the latest by event_time (`newest`: a new day's batch).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "newest,lines"
    )]
    pub append_split: Vec<crate::commands::bench_append::Split>,
    /// Print results as JSON.
    #[arg(long)]
    pub json: bool,
}
