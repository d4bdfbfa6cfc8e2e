//! Silver: the append-only history of every batch ever loaded (the audit trail).
//! Incremental: bronze's batch is appended only when it is newer than silver's newest.
//! Parts are Parquet files `silver/events/batch=<id>.parquet`; appending one is a hard link
//! to bronze's file (the bytes are identical), so silver costs no write.
//! See: METRICS.md, Layers (silver).

/// Whether bronze's batch goes into silver.
pub fn should_append(silver_batches: &[i64], bronze_batch: i64) -> bool {
    silver_batches.iter().all(|&b| b < bronze_batch)
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
