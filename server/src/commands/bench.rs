//! `heymax bench`: times `heymax run` end to end on generated inputs (1M and 10M events by
//! default, 50 events per user) and on any `--input`, each in a fresh warehouse and a child
//! process, so that peak RSS is the run's own. Prints wall time, rows/s, peak RSS and the
//! time of each stage. With `--warehouse postgres://...` each run loads a scratch database
//! on that server, and the server process's peak RSS is reported beside heymax's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::generate::{GenerateOptions, Shape};
use crate::pipeline::{RunSummary, Stage};
use crate::warehouse::{Location, postgres};

#[derive(Debug, Serialize)]
pub struct BenchResult {
    pub input: String,
    /// The generated shape (`None`: a file of the user's).
    pub shape: Option<Shape>,
    pub events: u64,
    pub wall_seconds: f64,
    pub rows_per_second: f64,
    pub peak_rss_bytes: u64,
    /// The PostgreSQL server process that loaded the run (a database warehouse only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_peak_rss_bytes: Option<u64>,
    pub warehouse: String,
    pub stages: Vec<Stage>,
}

fn data_dir(args: &BenchArgs) -> PathBuf {
    args.data_dir.clone().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(".cache/heymax/bench")
    })
}

fn generated(dir: &Path, events: u64, shape: Shape) -> anyhow::Result<PathBuf> {
    let name = match shape {
        Shape::Default => format!("events_{events}_seed1.csv"),
        Shape::Steady => format!("events_{events}_seed1_steady.csv"),
    };
    let path = dir.join(name);
    if !path.exists() {
        std::fs::create_dir_all(dir)?;
        eprintln!("generating {events} events -> {}", path.display());
        let tmp = path.with_extension("tmp");
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        let options = GenerateOptions {
            events,
            users: (events / 50).max(1),
            seed: 1,
            shape,
            ..GenerateOptions::default()
        };
        crate::generate::generate(&options, &mut out)?;
        std::io::Write::flush(&mut out)?;
        drop(out);
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

/// Where one timed run writes: a fresh folder, or a scratch database dropped afterwards.
struct Target {
    arg: String,
    _dir: Option<tempfile::TempDir>,
    scratch: Option<(crate::warehouse::PgUrl, String)>,
}

impl Target {
    fn new(warehouse: Option<&Location>) -> anyhow::Result<Self> {
        match warehouse {
            Some(Location::Postgres(url)) => {
                let name = format!("heymax_bench_{}", std::process::id());
                let scratch = postgres::create_scratch(url, &name)
                    .with_context(|| format!("creating scratch database {name} on {url}"))?;
                Ok(Target {
                    arg: scratch.secret_url(),
                    _dir: None,
                    scratch: Some((url.clone(), name)),
                })
            }
            _ => {
                let dir = tempfile::Builder::new().prefix("heymax-bench").tempdir()?;
                Ok(Target {
                    arg: dir.path().join("wh").display().to_string(),
                    _dir: Some(dir),
                    scratch: None,
                })
            }
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some((url, name)) = &self.scratch
            && let Err(e) = postgres::drop_database(url, name)
        {
            tracing::warn!("leaving scratch database {name} behind: {e}");
        }
    }
}

fn time_run(input: &Path, warehouse: Option<&Location>) -> anyhow::Result<(f64, RunSummary)> {
    let exe = std::env::current_exe().context("finding the heymax binary")?;
    let target = Target::new(warehouse)?;
    let start = Instant::now();
    let output = Command::new(exe)
        .args(["--quiet", "run", "--json", "--input"])
        .arg(input)
        .env("HEYMAX_WAREHOUSE", &target.arg)
        .output()
        .context("running heymax run")?;
    let wall = start.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "heymax run on {} failed: {}",
            input.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let summary: RunSummary =
        serde_json::from_slice(&output.stdout).context("reading the run summary")?;
    Ok((wall, summary))
}

pub fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let dir = data_dir(args);
    let mut inputs: Vec<(PathBuf, Option<Shape>)> = Vec::new();
    for &n in &args.sizes {
        for &shape in &args.shapes {
            inputs.push((generated(&dir, n, shape)?, Some(shape)));
        }
    }
    inputs.extend(args.input.iter().map(|i| (i.clone(), None)));
    let mut results = Vec::new();
    for (input, shape) in &inputs {
        let mut best: Option<(f64, RunSummary)> = None;
        for _ in 0..args.repeat.max(1) {
            let (wall, summary) = time_run(input, args.warehouse.as_ref())?;
            if best.as_ref().is_none_or(|(w, _)| wall < *w) {
                best = Some((wall, summary));
            }
        }
        let Some((wall, summary)) = best else {
            continue;
        };
        let events = summary.ingest.records;
        results.push(BenchResult {
            input: input.display().to_string(),
            shape: *shape,
            events,
            wall_seconds: wall,
            rows_per_second: events as f64 / wall,
            peak_rss_bytes: summary.peak_rss_bytes,
            database_peak_rss_bytes: summary.database_peak_rss_bytes,
            warehouse: match &args.warehouse {
                Some(Location::Postgres(url)) => format!("postgres ({})", url.server()),
                _ => "parquet".to_string(),
            },
            stages: summary.stages,
        });
        if !args.json {
            eprintln!("timed {}", input.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    println!(
        "{:<12} {:<8} {:>9} {:>12} {:>10} {:>10}  stages (s)",
        "events", "shape", "wall (s)", "rows/s", "peak RSS", "db RSS"
    );
    for r in &results {
        let stages: Vec<String> = r
            .stages
            .iter()
            .map(|s| format!("{} {:.3}", s.name, s.seconds))
            .collect();
        let db = r
            .database_peak_rss_bytes
            .map_or("-".to_string(), |b| format!("{} MiB", b >> 20));
        println!(
            "{:<12} {:<8} {:>9.3} {:>12.0} {:>6} MiB {:>10}  {}",
            r.events,
            match r.shape {
                Some(Shape::Default) => "default",
                Some(Shape::Steady) => "steady",
                None => "file",
            },
            r.wall_seconds,
            r.rows_per_second,
            r.peak_rss_bytes >> 20,
            db,
            stages.join(", ")
        );
    }
    Ok(())
}
