//! `heymax run`: runs the pipeline (as the orchestrator's DAG, recorded in the run history)
//! and prints the run summary (rows per layer, quarantined rows, every test with its
//! status and failing rows, time per task).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cli::{EngineChoice, OrchestrationArgs, RunArgs};
use crate::orchestrator::{Config, Orchestrator};
use crate::pipeline::Engine;
use crate::pipeline::ingest::Progress;
use crate::pipeline::quality::Status;
use crate::pipeline::spark::SparkOptions;
use crate::pipeline::{PipelineError, RunSummary};
use crate::warehouse::Location;
use runner::Policy;

/// Exit code for a run stopped by a failed error-severity test.
pub const QUALITY_FAILED: u8 = 2;

/// The orchestrator's settings from the command line.
pub fn config(warehouse: &Location, o: &OrchestrationArgs) -> anyhow::Result<Config> {
    if !(o.retry_delay.is_finite() && o.retry_delay >= 0.0) {
        anyhow::bail!("--retry-delay must be a number of seconds, 0 or more");
    }
    let mut config = Config::new(warehouse.clone());
    config.policy = Policy {
        retries: o.retries,
        retry_delay: Duration::from_secs_f64(o.retry_delay),
        ..Policy::default()
    };
    config.notify_url = o.notify_url.clone();
    config.source_config = o.config.clone();
    if !(o.max_quarantine.is_finite() && (0.0..=100.0).contains(&o.max_quarantine)) {
        anyhow::bail!("--max-quarantine must be a percentage from 0 to 100");
    }
    config.max_quarantine = o.max_quarantine / 100.0;
    config.time.zone = o.timezone;
    config.time.source_zone = o.source_timezone;
    config.engine = engine(o)?;
    Ok(config)
}

/// `--engine` and the Spark settings.
fn engine(o: &OrchestrationArgs) -> anyhow::Result<Engine> {
    if o.engine == EngineChoice::Native {
        return Ok(Engine::Native);
    }
    let Some(master) = o.spark_master.clone() else {
        anyhow::bail!(
            "--engine spark needs --spark-master (or HEYMAX_SPARK_MASTER): the cluster's master URL, e.g. spark://host:7077 (scripts/spark.sh start prints one)"
        );
    };
    if let Some(bad) = o.spark_conf.iter().find(|c| !c.contains('=')) {
        anyhow::bail!(
            "--spark-conf takes KEY=VALUE, not {:?}",
            bad.chars().take(40).collect::<String>()
        );
    }
    Ok(Engine::Spark(SparkOptions {
        master,
        submit: o.spark_submit.clone(),
        python: o.spark_python.clone(),
        conf: o.spark_conf.clone(),
    }))
}

pub fn run(args: &RunArgs, quiet: bool) -> anyhow::Result<u8> {
    let mut config = config(&args.warehouse, &args.orchestration)?;
    config.strict = args.strict;
    if !quiet && !args.json {
        config.progress = Some(Arc::new(Bar::default()));
    }
    let finished = Orchestrator::new(config).run("cli", &args.input)?;
    let summary = match finished.summary {
        Ok(summary) => summary,
        // As a failed quality test: exit 2, the previous layers kept.
        Err(e @ PipelineError::TooMuchQuarantine { .. }) => {
            eprintln!("error: {e}");
            return Ok(QUALITY_FAILED);
        }
        Err(e) => return Err(e.into()),
    };
    if !quiet && !args.json {
        eprintln!(
            "run {} ({}): `heymax runs show {}` lists its tasks",
            finished.run.run_id, finished.run.status, finished.run.run_id
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if !quiet || summary.failed() {
        print!("{}", render(&summary, &args.warehouse));
    }
    Ok(if summary.failed() { QUALITY_FAILED } else { 0 })
}

/// Ingest's progress as a bar on stderr (indicatif hides it when stderr is no terminal).
/// A new bar per start: a retried ingest reads from the beginning again.
#[derive(Default)]
struct Bar(Mutex<Option<indicatif::ProgressBar>>);

impl Bar {
    fn bar(&self) -> Option<indicatif::ProgressBar> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Progress for Bar {
    fn start(&self, total_bytes: u64) {
        let bar = indicatif::ProgressBar::new(total_bytes);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} ingest {bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style);
        }
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar);
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = self.bar() {
            bar.inc(bytes);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar() {
            bar.finish_and_clear();
        }
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The human-readable summary.
pub fn render(s: &RunSummary, warehouse: &Location) -> String {
    let mut o = String::new();
    let r = &s.rows;
    let _ = writeln!(
        o,
        "heymax run: batch {} from {} file(s), {} rows read in {:.2} s -> {}",
        s.batch_id,
        s.ingest.files,
        thousands(s.ingest.records),
        s.seconds,
        warehouse
    );
    if !matches!(s.ingest.timezone.as_str(), "" | "UTC") {
        let _ = writeln!(o, "  timezone     periods cut in {}", s.ingest.timezone);
    }
    // How files were read, when it is not the sample's plain layout.
    let notable: Vec<_> = s.ingest.detected.iter().filter(|d| !d.is_plain()).collect();
    for d in notable.iter().take(10) {
        let _ = writeln!(o, "  read         {}", d.describe());
    }
    if notable.len() > 10 {
        let _ = writeln!(
            o,
            "               ... and {} more files",
            notable.len() - 10
        );
    }
    let _ = writeln!(o, "  quarantine   {:>12}", thousands(r.quarantined));
    for (file, line, reason) in &s.quarantine_sample {
        let _ = writeln!(o, "               {file}:{line}: {reason}");
    }
    if r.quarantined > s.quarantine_sample.len() as u64 {
        let _ = match warehouse {
            Location::Dir(_) => writeln!(
                o,
                "               ... see quarantine/rows/*.parquet in the warehouse"
            ),
            Location::Postgres(_) => writeln!(
                o,
                "               ... see SELECT * FROM quarantine.rows WHERE batch_id = {}",
                s.batch_id
            ),
        };
    }
    let _ = writeln!(o, "  bronze       {:>12}", thousands(r.bronze));
    if s.committed {
        let _ = writeln!(
            o,
            "  silver       {:>12}  appended ({} total)",
            thousands(r.silver_appended),
            thousands(r.silver_total)
        );
        let _ = writeln!(
            o,
            "  gold         {:>12}  new events ({} total, {} duplicates skipped); dim_users {}",
            thousands(r.gold_new),
            thousands(r.gold_total),
            thousands(r.bronze - r.gold_new),
            thousands(r.dim_users)
        );
        for (name, rows) in &r.marts {
            let _ = writeln!(o, "  mart         {:>12}  {name}", thousands(*rows));
        }
    }
    let count = |st: Status| s.tests.iter().filter(|t| t.status == st).count();
    let _ = writeln!(
        o,
        "  tests: {} pass, {} warn, {} fail",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail)
    );
    for t in &s.tests {
        let _ = writeln!(
            o,
            "    {:<4} {:<34} {:<58} {}",
            t.status.to_string(),
            t.table,
            t.test,
            if t.failing_rows > 0 {
                format!("{} rows", thousands(t.failing_rows))
            } else {
                String::new()
            }
        );
    }
    // The slowest tasks (they overlap: marts build side by side).
    let mut stages: Vec<_> = s.stages.iter().collect();
    stages.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    let stages: Vec<String> = stages
        .iter()
        .take(5)
        .map(|st| format!("{} {:.3}s", st.name, st.seconds))
        .collect();
    let _ = writeln!(
        o,
        "  time: {:.2} s (slowest tasks: {}); peak RSS {} MiB",
        s.seconds,
        stages.join(", "),
        s.peak_rss_bytes >> 20
    );
    if !s.committed {
        // The tasks right below the failure say where it stopped; the rest follow them.
        let skipped = match s.skipped.len() {
            0 => "nothing".to_string(),
            n @ 1..=3 => format!("{n} task(s): {}", s.skipped.join(", ")),
            n => format!("{n} tasks ({}, ...)", s.skipped[..3].join(", ")),
        };
        let _ = writeln!(
            o,
            "FAILED: an error-severity test failed; skipped {skipped}. The warehouse keeps its previous layers (only the quarantine was saved). Fix the input and run again.",
        );
        let failed = |name: &str| {
            s.tests
                .iter()
                .any(|t| t.status == Status::Fail && t.test.starts_with(name))
        };
        if failed("rows_loaded") {
            let _ = writeln!(
                o,
                "  No row of this batch loaded: every line was quarantined. The reasons above say what the rows look like; fix the file (or its timestamps / columns) and run again."
            );
        } else if failed("quarantined_share") {
            let _ = writeln!(
                o,
                "  Too many rows were quarantined (the reasons above say why). Fix the file, or pass --max-quarantine <percent> to load the good rows anyway."
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(1234567), "1,234,567");
        assert_eq!(super::thousands(100), "100");
    }
}
