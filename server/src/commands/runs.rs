//! `heymax runs`: the run history, newest first; `heymax runs show <id>`: one run with
//! each of its tasks.

use std::fmt::Write as _;

use contract::runs::{RunDetail, RunRow};

use crate::cli::{RunsArgs, RunsCommand};
use crate::warehouse::history::RunHistory;

pub fn runs(args: &RunsArgs) -> anyhow::Result<()> {
    let mut history = RunHistory::open(&args.warehouse);
    match args.command {
        None => {
            let runs = history.list(args.limit)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else {
                print!("{}", render_list(&runs, &args.warehouse.to_string()));
            }
        }
        Some(RunsCommand::Show { run_id }) => {
            let Some(detail) = history.get(run_id)? else {
                anyhow::bail!(
                    "there is no run {run_id} in {}: `heymax runs` lists them",
                    args.warehouse
                );
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
            } else {
                print!("{}", render_detail(&detail));
            }
        }
    }
    Ok(())
}

fn secs(s: Option<f64>) -> String {
    s.map_or("-".into(), |s| format!("{s:.2} s"))
}

/// `2026-11-26T10:00:00.000Z` -> `2026-11-26 10:00:00`.
fn when(t: &str) -> String {
    t.get(..19).unwrap_or(t).replace('T', " ")
}

pub fn render_list(runs: &[RunRow], warehouse: &str) -> String {
    let mut o = String::new();
    if runs.is_empty() {
        let _ = writeln!(
            o,
            "no runs recorded in {warehouse} yet: `heymax run --input <events.csv> --warehouse {warehouse}` makes one"
        );
        return o;
    }
    let _ = writeln!(
        o,
        "{:>5}  {:<8} {:<9} {:<19}  {:>9}  {:>10}  {:>5}  failed task / input",
        "run", "status", "trigger", "started (UTC)", "duration", "rows", "batch"
    );
    for r in runs {
        let _ = writeln!(
            o,
            "{:>5}  {:<8} {:<9} {:<19}  {:>9}  {:>10}  {:>5}  {}",
            r.run_id,
            r.status,
            r.trigger,
            when(&r.started_at),
            secs(r.seconds),
            r.rows,
            r.batch_id.map_or("-".into(), |b| b.to_string()),
            r.failed_task.as_deref().unwrap_or(&r.input)
        );
    }
    o
}

pub fn render_detail(d: &RunDetail) -> String {
    let r = &d.run;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "run {}: {} ({} trigger), {} -> {}, {}",
        r.run_id,
        r.status,
        r.trigger,
        when(&r.started_at),
        r.ended_at.as_deref().map_or("…".into(), when),
        secs(r.seconds)
    );
    let _ = writeln!(
        o,
        "  input {}; batch {}; {} rows read",
        r.input,
        r.batch_id.map_or("-".into(), |b| b.to_string()),
        r.rows
    );
    if let Some(e) = &r.error {
        let _ = writeln!(
            o,
            "  failed at {}: {e}",
            r.failed_task.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(
        o,
        "  {:<36} {:<12} {:>8} {:>9} {:>10}  note / error",
        "task", "state", "attempts", "duration", "rows"
    );
    for t in &d.tasks {
        let _ = writeln!(
            o,
            "  {:<36} {:<12} {:>8} {:>9} {:>10}  {}",
            t.task,
            t.state,
            t.attempts,
            secs(t.seconds),
            t.rows.map_or("-".into(), |n| n.to_string()),
            t.error.as_deref().or(t.note.as_deref()).unwrap_or("")
        );
    }
    o
}
