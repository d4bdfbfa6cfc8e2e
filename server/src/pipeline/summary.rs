//! The run summary: what `heymax run` prints and `--json` writes. In: the run's context
//! once every task is done, and the tasks' records; out: the rows per layer, every test
//! with its status, the tasks that were skipped, the time per task and the peak memory,
//! or the error that stopped the run (a failed test is not one: it is in the summary).

use std::collections::BTreeMap;

use contract::{Grain, Mart};
use runner::{FailureKind, TaskRecord, TaskState};
use serde::{Deserialize, Serialize};

use super::catalog::Table;
use super::context::{Ctx, lock};
use super::ingest::IngestStats;
use super::quality::TestResult;
use super::{PipelineError, peak_rss_bytes};

/// How long a stage took and how many rows it produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    pub seconds: f64,
    pub rows: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LayerRows {
    pub quarantined: u64,
    pub bronze: u64,
    pub silver_appended: u64,
    pub silver_total: u64,
    pub gold_new: u64,
    pub gold_total: u64,
    pub dim_users: u64,
    pub marts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub batch_id: i64,
    pub files: Vec<String>,
    pub ingest: IngestStats,
    pub rows: LayerRows,
    pub tests: Vec<TestResult>,
    /// Stages not run because an upstream error-severity test failed.
    pub skipped: Vec<String>,
    /// Whether the layers were committed (quarantine is committed either way).
    pub committed: bool,
    pub stages: Vec<Stage>,
    pub seconds: f64,
    pub peak_rss_bytes: u64,
    /// Peak RSS of the PostgreSQL server process that loaded the run, when the warehouse
    /// is a database on this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_peak_rss_bytes: Option<u64>,
    /// First quarantined rows, for the summary.
    pub quarantine_sample: Vec<(String, u64, String)>,
}

impl RunSummary {
    pub fn failed(&self) -> bool {
        !self.committed
    }
}

pub(super) fn summarize(
    ctx: Ctx<'_>,
    tasks: &[TaskRecord],
    started: std::time::Instant,
    database_peak_rss_bytes: Option<u64>,
) -> Result<RunSummary, PipelineError> {
    let failed_hard = tasks
        .iter()
        .find(|t| t.state == TaskState::Failed && t.failure != Some(FailureKind::Quality));
    if let Some(task) = failed_hard {
        let kept = ctx.error.into_inner().unwrap_or_else(|p| p.into_inner());
        return Err(kept.unwrap_or_else(|| PipelineError::Task {
            task: task.name.clone(),
            message: task.error.clone().unwrap_or_default(),
        }));
    }
    let Some(ing) = ctx.ingested.into_inner().unwrap_or_else(|p| p.into_inner()) else {
        return Err(PipelineError::Plan("ingest left no batch".into()));
    };
    let committed = *lock(&ctx.committed);
    let rows = ctx.rows.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut tests = ctx.tests.into_inner().unwrap_or_else(|p| p.into_inner());
    sort_by_layer(&mut tests);
    let stages = tasks
        .iter()
        .filter(|t| t.state == TaskState::Success)
        .map(|t| Stage {
            name: t.name.clone(),
            seconds: match (t.started_at, t.ended_at) {
                (Some(a), Some(b)) => (b - a).num_microseconds().unwrap_or(0) as f64 / 1e6,
                _ => 0.0,
            },
            rows: t.rows.unwrap_or(0),
        })
        .collect();
    Ok(RunSummary {
        batch_id: ing.batch_id,
        files: ing.files.iter().map(|f| f.display().to_string()).collect(),
        ingest: ing.stats,
        rows,
        tests,
        skipped: tasks
            .iter()
            .filter(|t| t.state == TaskState::Skipped)
            .map(|t| t.name.clone())
            .collect(),
        committed,
        stages,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_bytes: peak_rss_bytes(),
        database_peak_rss_bytes,
        quarantine_sample: ing.quarantine.sample,
    })
}

/// Mart tests finish in any order (they run side by side): list them layer by layer, the
/// marts in the contract's order and then the lifecycle tables.
fn sort_by_layer(tests: &mut [TestResult]) {
    let marts: Vec<Table> = Mart::ALL
        .map(Table::Mart)
        .into_iter()
        .chain(Grain::ALL.map(Table::Lifecycle))
        .collect();
    tests.sort_by_key(|t| match Table::parse(&t.table) {
        Some(Table::GoldEvents | Table::DimUsers) => 1,
        Some(m) => marts.iter().position(|x| *x == m).map_or(0, |i| 2 + i),
        None => 0,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::quality::Severity;

    #[test]
    fn tests_are_listed_layer_by_layer_marts_in_contract_order() {
        let result = |table: &str| TestResult::new(table, "t".into(), Severity::Error, 0);
        let mut tests = vec![
            result("marts.user_lifecycle_day"),
            result("marts.user_interactions"),
            result("gold.dim_users"),
            result("marts.user_growth_metrics_day"),
            result("bronze.events"),
        ];
        sort_by_layer(&mut tests);
        let order: Vec<&str> = tests.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(
            order,
            [
                "bronze.events",
                "gold.dim_users",
                "marts.user_growth_metrics_day",
                "marts.user_interactions",
                "marts.user_lifecycle_day"
            ]
        );
    }
}
