//! Loading: each parsed piece, in file order -> appended to the staged bronze file, counted
//! by bronze's row tests, deduplicated against gold (first occurrence wins), and added to
//! gold's slim events for the marts. Runs on its own thread while the next pieces parse.
//! See: METRICS.md, Layers.

use crate::pipeline::schema::EventTypes;
use std::sync::Arc;

use polars::prelude::*;

use super::catalog::Table;
use super::codes::SharedMaps;
use super::gold::{Dedup, Existing};
use super::ingest::{Piece, QuarantineRow};
use super::slim::SlimEvents;
use super::{PipelineError, bronze, compute, quality, schema};
use crate::warehouse::parquet::StreamWriter;

/// Bytes per event in typical input, to size the dedup set once instead of regrowing it.
const BYTES_PER_EVENT: u64 = 70;

/// The events expected in `input_bytes` of input.
pub fn expected_events(input_bytes: u64) -> usize {
    (input_bytes / BYTES_PER_EVENT) as usize
}

pub struct Load {
    pub writer: StreamWriter,
    pub dedup: Dedup,
    /// Every gold event id (existing, then this batch's new ones), in slim order.
    pub gold_ids: Vec<i64>,
    pub gold_slim: SlimEvents,
    /// Slim parts to write (`None` in a database): gold files that had none so far, with
    /// their rows in `gold_slim`; the batch's own part is added when gold writes it.
    pub slim_parts: Option<Vec<(String, std::ops::Range<usize>)>>,
    /// Events of `gold_slim` that were in gold before this batch.
    pub existing_events: usize,
    /// Per bronze row: whether it is new to gold.
    pub keep_mask: Vec<bool>,
    pub duplicates: u64,
    pub quarantine: QuarantineTable,
    pub bronze_tests: quality::Streamed,
    /// What bronze's tests check against (the declared event types).
    tests_context: quality::Context,
    /// The parser threads' codes as `gold_slim`'s (users, categories, countries).
    maps: [SharedMaps; 3],
    /// `gold_slim`'s dictionary sizes before this batch.
    bases: [usize; 3],
    batch_id: i64,
    loaded_at: i64,
}

impl Load {
    pub fn new(
        existing: Existing,
        writer: StreamWriter,
        batch_id: i64,
        loaded_at: i64,
        input_bytes: u64,
        event_types: EventTypes,
    ) -> Self {
        let Existing {
            mut dedup,
            mut ids,
            mut slim,
            without_slim,
            folder,
        } = existing;
        let expected = expected_events(input_bytes);
        dedup.reserve(expected);
        ids.reserve(expected);
        slim.reserve(expected);
        let bases = [
            slim.users.len(),
            slim.categories.len(),
            slim.countries.len(),
        ];
        Self {
            writer,
            dedup,
            maps: Default::default(),
            bases,
            slim_parts: folder.then_some(without_slim),
            existing_events: slim.len(),
            gold_ids: ids,
            gold_slim: slim,
            keep_mask: Vec::new(),
            duplicates: 0,
            quarantine: QuarantineTable::default(),
            bronze_tests: quality::Streamed::default(),
            tests_context: quality::Context {
                event_types,
                ..quality::Context::default()
            },
            batch_id,
            loaded_at,
        }
    }

    pub fn take(&mut self, piece: Piece) -> Result<(), PipelineError> {
        let bronze = bronze::build(piece.events, self.batch_id, self.loaded_at)
            .map_err(compute("bronze"))?;
        self.bronze_tests
            .add(Table::Bronze.name(), &bronze, &self.tests_context)
            .map_err(compute("bronze tests"))?;
        self.writer.write(&bronze)?;
        let ids = bronze
            .column(schema::EVENT_ID)
            .and_then(|c| c.i64().cloned())
            .map_err(compute("bronze"))?;
        let ids: Vec<i64> = ids.into_no_null_iter().collect();
        let keep = self.dedup.keep(&ids, &piece.slim.time);
        let kept = keep.iter().filter(|k| **k).count();
        self.duplicates += (ids.len() - kept) as u64;
        if kept == ids.len() {
            self.gold_ids.extend_from_slice(&ids);
            self.gold_slim
                .append_parsed(piece.slim, None, &mut self.maps)
                .map_err(compute("ingest"))?;
        } else {
            self.gold_ids
                .extend(ids.iter().zip(&keep).filter(|(_, k)| **k).map(|(id, _)| id));
            self.gold_slim
                .append_parsed(piece.slim, Some(&keep), &mut self.maps)
                .map_err(compute("ingest"))?;
        }
        self.keep_mask.extend_from_slice(&keep);
        self.quarantine.extend(&piece.source, piece.quarantine);
        Ok(())
    }

    /// Ends the load: the batch's new dictionary values take their codes in the order of
    /// their first event, whatever thread parsed them.
    pub fn finish(mut self) -> Self {
        self.gold_slim
            .first_use_order(self.existing_events, self.bases);
        self
    }
}

/// Quarantined rows of this batch, with their source file.
#[derive(Default)]
pub struct QuarantineTable {
    source: Vec<String>,
    line: Vec<i64>,
    raw: Vec<String>,
    reason: Vec<String>,
    pub sample: Vec<(String, u64, String)>,
}

impl QuarantineTable {
    fn extend(&mut self, source: &Arc<str>, rows: Vec<QuarantineRow>) {
        for r in rows {
            if self.sample.len() < 5 {
                self.sample
                    .push((source.to_string(), r.line, r.reason.clone()));
            }
            self.source.push(source.to_string());
            self.line.push(r.line as i64);
            self.raw.push(r.raw);
            self.reason.push(r.reason);
        }
    }

    pub fn frame(&mut self, batch_id: i64, loaded_at: i64) -> PolarsResult<DataFrame> {
        let height = self.line.len();
        let df = DataFrame::new(
            height,
            vec![
                Column::new("source_file".into(), std::mem::take(&mut self.source)),
                Column::new("line_number".into(), std::mem::take(&mut self.line)),
                Column::new("raw".into(), std::mem::take(&mut self.raw)),
                Column::new("reason".into(), std::mem::take(&mut self.reason)),
            ],
        )?;
        bronze::build(df, batch_id, loaded_at)
    }
}
