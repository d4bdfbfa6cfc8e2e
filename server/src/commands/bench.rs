//! `heymax bench`: times `heymax run` end to end on generated inputs (1M and 10M events by
//! default, 50 events per user) and on any `--input`, each in a fresh warehouse and a child
//! process, so that peak RSS is the run's own. Prints wall time, rows/s, peak RSS and the
//! time of each stage.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::generate::GenerateOptions;
use crate::pipeline::{RunSummary, Stage};

#[derive(Debug, Serialize)]
pub struct BenchResult {
    pub input: String,
    pub events: u64,
    pub wall_seconds: f64,
    pub rows_per_second: f64,
    pub peak_rss_bytes: u64,
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

fn generated(dir: &Path, events: u64) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("events_{events}_seed1.csv"));
    if !path.exists() {
        std::fs::create_dir_all(dir)?;
        eprintln!("generating {events} events -> {}", path.display());
        let tmp = path.with_extension("tmp");
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        let options = GenerateOptions {
            events,
            users: (events / 50).max(1),
            seed: 1,
            ..GenerateOptions::default()
        };
        crate::generate::generate(&options, &mut out)?;
        std::io::Write::flush(&mut out)?;
        drop(out);
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

fn time_run(input: &Path) -> anyhow::Result<(f64, RunSummary)> {
    let exe = std::env::current_exe().context("finding the heymax binary")?;
    let warehouse = tempfile::Builder::new().prefix("heymax-bench").tempdir()?;
    let start = Instant::now();
    let output = Command::new(exe)
        .args(["--quiet", "run", "--json", "--input"])
        .arg(input)
        .arg("--warehouse")
        .arg(warehouse.path().join("wh"))
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
    let mut inputs: Vec<PathBuf> = Vec::new();
    for &n in &args.sizes {
        inputs.push(generated(&dir, n)?);
    }
    inputs.extend(args.input.iter().cloned());
    let mut results = Vec::new();
    for input in &inputs {
        let mut best: Option<(f64, RunSummary)> = None;
        for _ in 0..args.repeat.max(1) {
            let (wall, summary) = time_run(input)?;
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
            events,
            wall_seconds: wall,
            rows_per_second: events as f64 / wall,
            peak_rss_bytes: summary.peak_rss_bytes,
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
        "{:<12} {:>9} {:>12} {:>10}  stages (s)",
        "events", "wall (s)", "rows/s", "peak RSS"
    );
    for r in &results {
        let stages: Vec<String> = r
            .stages
            .iter()
            .map(|s| format!("{} {:.3}", s.name, s.seconds))
            .collect();
        println!(
            "{:<12} {:>9.3} {:>12.0} {:>6} MiB  {}",
            r.events,
            r.wall_seconds,
            r.rows_per_second,
            r.peak_rss_bytes >> 20,
            stages.join(", ")
        );
    }
    Ok(())
}
