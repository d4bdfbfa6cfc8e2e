//! `heymax bench`: times `heymax run` end to end on generated inputs (1M and 10M events by
//! default, 50 events per user) and on any `--input`, each in a fresh warehouse and a child
//! process, so that peak RSS is the run's own. Prints wall time, rows/s, peak RSS and the
//! time of each stage. With `--warehouse postgres://...` each run loads a scratch database
//! on that server, and the server process's peak RSS is reported beside heymax's. With
//! `--append N`, each input's incremental run is timed too (`bench_append.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;

use super::bench_append::{self, AppendResult};
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
                // Unique per target: an append bench holds two at once.
                static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let name = format!("heymax_bench_{}_{n}", std::process::id());
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

impl Target {
    fn location(&self) -> anyhow::Result<Location> {
        self.arg
            .parse()
            .map_err(|e| anyhow::anyhow!("the bench's own warehouse: {e}"))
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

/// Times `heymax run --input <input>` into `target` (fresh, or holding earlier runs).
fn time_run(input: &Path, target: &Target) -> anyhow::Result<(f64, RunSummary)> {
    let exe = std::env::current_exe().context("finding the heymax binary")?;
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

/// Times `--append`'s incremental runs of one input against its whole load (`whole`).
fn time_appends(
    args: &BenchArgs,
    dir: &Path,
    (input, shape): (&Path, Option<Shape>),
    whole: (&Target, f64),
    results: &mut Vec<AppendResult>,
) -> anyhow::Result<()> {
    let Some(n) = args.append else {
        return Ok(());
    };
    for &how in &args.append_split {
        let files = bench_append::split(input, n, how, dir)?;
        let target = Target::new(args.warehouse.as_ref())?;
        let (_, base) = time_run(&files.base, &target)?;
        let (append_seconds, summary) = time_run(&files.batch, &target)?;
        let different =
            bench_append::first_different_mart(&whole.0.location()?, &target.location()?)?;
        if let Some(mart) = different {
            bail!(
                "the marts after appending {} events ({how:?}) differ from the whole load's \
                 ({mart} first): an incremental run is not exact on {}",
                files.batch_events,
                input.display()
            );
        }
        results.push(AppendResult {
            input: input.display().to_string(),
            shape,
            split: how,
            base_events: base.ingest.records,
            appended_events: files.batch_events,
            whole_seconds: whole.1,
            append_seconds,
            peak_rss_bytes: summary.peak_rss_bytes,
            marts_identical: different.is_none(),
            stages: summary.stages,
        });
        if !args.json {
            eprintln!(
                "timed appending {} events to {}",
                files.batch_events,
                input.display()
            );
        }
    }
    Ok(())
}

fn shape_name(shape: Option<Shape>) -> &'static str {
    match shape {
        Some(Shape::Default) => "default",
        Some(Shape::Steady) => "steady",
        None => "file",
    }
}

fn stages_text(stages: &[Stage]) -> String {
    let stages: Vec<String> = stages
        .iter()
        .map(|s| format!("{} {:.3}", s.name, s.seconds))
        .collect();
    stages.join(", ")
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
    let mut appends = Vec::new();
    for (input, shape) in &inputs {
        let mut best: Option<(f64, RunSummary, Target)> = None;
        for _ in 0..args.repeat.max(1) {
            let target = Target::new(args.warehouse.as_ref())?;
            let (wall, summary) = time_run(input, &target)?;
            if best.as_ref().is_none_or(|(w, _, _)| wall < *w) {
                best = Some((wall, summary, target));
            }
        }
        let Some((wall, summary, target)) = best else {
            continue;
        };
        time_appends(args, &dir, (input, *shape), (&target, wall), &mut appends)?;
        drop(target);
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
        let json = if args.append.is_some() {
            serde_json::json!({ "runs": results, "appends": appends })
        } else {
            serde_json::to_value(&results)?
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    println!(
        "{:<12} {:<8} {:>9} {:>12} {:>10} {:>10}  stages (s)",
        "events", "shape", "wall (s)", "rows/s", "peak RSS", "db RSS"
    );
    for r in &results {
        let db = r
            .database_peak_rss_bytes
            .map_or("-".to_string(), |b| format!("{} MiB", b >> 20));
        println!(
            "{:<12} {:<8} {:>9.3} {:>12.0} {:>6} MiB {:>10}  {}",
            r.events,
            shape_name(r.shape),
            r.wall_seconds,
            r.rows_per_second,
            r.peak_rss_bytes >> 20,
            db,
            stages_text(&r.stages)
        );
    }
    if !appends.is_empty() {
        println!(
            "\n{:<12} {:<8} {:<9} {:<8} {:>10} {:>11} {:>9} {:>10}  {:<7}  stages (s)",
            "events",
            "shape",
            "appended",
            "split",
            "whole (s)",
            "append (s)",
            "of whole",
            "peak RSS",
            "marts"
        );
    }
    for a in &appends {
        println!(
            "{:<12} {:<8} {:<9} {:<8} {:>10.3} {:>11.3} {:>8.1}% {:>6} MiB  {:<7}  {}",
            a.base_events + a.appended_events,
            shape_name(a.shape),
            a.appended_events,
            format!("{:?}", a.split).to_lowercase(),
            a.whole_seconds,
            a.append_seconds,
            100.0 * a.append_seconds / a.whole_seconds,
            a.peak_rss_bytes >> 20,
            if a.marts_identical { "equal" } else { "DIFFER" },
            stages_text(&a.stages)
        );
    }
    Ok(())
}
