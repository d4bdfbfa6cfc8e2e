//! The `commit` task: what the run staged -> the warehouse, at once. In: the transaction
//! every layer staged into and whether every task before succeeded; out: every layer
//! committed, or only the quarantine (so bad rows can be inspected) with the other
//! layers left as they were. The batch is recorded either way, as loaded or failed.
//!
//! It runs once everything upstream is done, whatever their state (the runner's
//! `all_done`), which is why it reads the run's trouble flag instead of its upstream's
//! results. A retry after a dropped connection opens a new session on the same state.

use std::sync::atomic::Ordering;

use runner::Done;

use super::PipelineError;
use super::catalog::Table;
use super::context::{Ctx, gone, lock};
use crate::warehouse::{BatchRecord, Warehouse};

pub(super) fn task(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let all_ok = !ctx.trouble.load(Ordering::SeqCst);
    let ingested = lock(&ctx.ingested);
    let mut tx = lock(&ctx.tx);
    let (Some(ing), Some(tx)) = (ingested.as_ref(), tx.as_mut()) else {
        // Ingest never began a batch: there is nothing to commit.
        return Ok(Done::rows(0).with_note("nothing staged: ingest did not finish"));
    };
    if !all_ok {
        tx.keep_only(&[Table::Quarantine.name()]);
    }
    let gold_new = lock(&ctx.rows).gold_new;
    let record = BatchRecord {
        batch_id: ing.batch_id,
        loaded_at: ing.loaded_at,
        sources: ing.files.iter().map(|f| f.display().to_string()).collect(),
        rows: ing.bronze_rows,
        quarantined: ing.stats.quarantined,
        new_in_gold: if all_ok { gold_new } else { 0 },
        status: if all_ok { "loaded" } else { "failed" }.to_string(),
    };
    let batches = &mut tx.state_mut().batches;
    if batches.last().map(|b| b.batch_id) != Some(record.batch_id) {
        batches.push(record);
    }
    let mut wh = lock(&ctx.warehouse);
    if wh.is_none() {
        // A retry after the connection dropped: a new session, same state expected.
        *wh = Some(Warehouse::open_for_write(&ctx.options.warehouse)?);
    }
    let Some(w) = wh.as_mut() else {
        return Err(gone("the warehouse"));
    };
    if let Err(e) = tx.commit(w) {
        if e.is_transient() {
            *wh = None;
        }
        return Err(e.into());
    }
    *lock(&ctx.committed) = all_ok;
    Ok(
        Done::rows(if all_ok { gold_new } else { 0 }).with_note(if all_ok {
            "every layer committed"
        } else {
            "only the quarantine committed: an upstream task failed"
        }),
    )
}
