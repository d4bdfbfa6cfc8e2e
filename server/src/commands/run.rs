//! `heymax run`: runs the pipeline and prints the run summary (rows per layer, quarantined
//! rows, every test with its status and failing rows, time per stage).

use std::fmt::Write as _;

use crate::cli::RunArgs;
use crate::pipeline::ingest::IngestOptions;
use crate::pipeline::quality::Status;
use crate::pipeline::{RunOptions, RunSummary, run as run_pipeline};
use crate::warehouse::Location;

/// Exit code for a run stopped by a failed error-severity test.
pub const QUALITY_FAILED: u8 = 2;

pub fn run(args: &RunArgs, quiet: bool) -> anyhow::Result<u8> {
    let options = RunOptions {
        input: args.input.clone(),
        warehouse: args.warehouse.clone(),
        strict: args.strict,
        ingest: IngestOptions::default(),
        progress: !quiet && !args.json,
    };
    let summary = run_pipeline(&options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if !quiet || summary.failed() {
        print!("{}", render(&summary, &args.warehouse));
    }
    Ok(if summary.failed() { QUALITY_FAILED } else { 0 })
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
    let stages: Vec<String> = s
        .stages
        .iter()
        .map(|st| format!("{} {:.3}s", st.name, st.seconds))
        .collect();
    let _ = writeln!(
        o,
        "  time: {}; peak RSS {} MiB",
        stages.join(", "),
        s.peak_rss_bytes >> 20
    );
    if !s.committed {
        let _ = writeln!(
            o,
            "FAILED: an error-severity test failed; skipped {}. The warehouse keeps its previous layers (only the quarantine was saved). Fix the input and run again.",
            s.skipped.join(", ")
        );
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
