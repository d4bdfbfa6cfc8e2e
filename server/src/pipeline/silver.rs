//! Silver: the append-only history of every batch ever loaded (the audit trail).
//! Incremental: bronze's batch is appended only when it is newer than silver's newest.
//! Parts are Parquet files `silver/events/batch=<id>.parquet`; appending one is a hard link
//! to bronze's file (the bytes are identical), so silver costs no write.
//! The `silver` task reads silver's batches from the transaction's state and appends.
//! See: METRICS.md, Layers (silver).

use runner::Done;

use super::PipelineError;
use super::catalog::{Table, part_name};
use super::context::{Ctx, gone, lock};
use crate::warehouse::State;

/// Whether bronze's batch goes into silver.
pub fn should_append(silver_batches: &[i64], bronze_batch: i64) -> bool {
    silver_batches.iter().all(|&b| b < bronze_batch)
}

/// The batches silver holds (the loaded ones) and their rows.
pub fn loaded_batches(state: &State) -> (Vec<i64>, u64) {
    let loaded = state.batches.iter().filter(|b| b.status == "loaded");
    let batches = loaded.clone().map(|b| b.batch_id).collect();
    let rows = loaded.map(|b| b.rows).sum();
    (batches, rows)
}

/// The `silver` task: bronze's batch appended when it is newer than everything in silver.
pub(super) fn task(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let ingested = lock(&ctx.ingested);
    let ing = ingested.as_ref().ok_or_else(|| gone("ingest's batch"))?;
    let (silver_batches, before) = ctx.with_tx(|tx| loaded_batches(tx.state()))?;
    let mut appended = 0;
    if should_append(&silver_batches, ing.batch_id) && ing.bronze_rows > 0 {
        ctx.link_append(Table::Silver, &ing.bronze_path, &part_name(ing.batch_id))?;
        appended = ing.bronze_rows;
    }
    let mut rows = lock(&ctx.rows);
    rows.silver_appended = appended;
    rows.silver_total = before + appended;
    Ok(Done::rows(appended).with_note(format!("{} rows in silver", before + appended)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::catalog::part_name;

    #[test]
    fn only_newer_batches_are_appended() {
        assert!(should_append(&[], 1));
        assert!(should_append(&[1, 2], 3));
        assert!(!should_append(&[1, 3], 3));
        assert!(!should_append(&[4], 3));
        assert_eq!(part_name(12), "batch=000012");
    }
}
