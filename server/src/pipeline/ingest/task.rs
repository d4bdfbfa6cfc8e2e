//! The `ingest` task: the input files, parsed by this folder's reader on all cores, are
//! loaded as they come (`load.rs`: the staged bronze file, bronze's row tests, dedup
//! against gold) into a warehouse transaction begun here. Out: the batch, staged, in the
//! run's context for bronze, silver and gold, and the transaction they all stage into.
//!
//! A task of its own, before bronze, because it is the one that opens the warehouse and
//! the one a retry starts over from.

use runner::Done;

use super::{Piece, Progress, Silent};
use crate::pipeline::catalog::{Table, part_name};
use crate::pipeline::context::{Ctx, Ingested, lock, staged_name};
use crate::pipeline::{
    PipelineError, QUARANTINE_STOP, bronze, compute, gold, ingest, load, now_micros,
};
use crate::warehouse::{Warehouse, parquet};

pub(in crate::pipeline) fn task(ctx: &Ctx<'_>) -> Result<Done, PipelineError> {
    let options = ctx.options;
    // A retry starts over: whatever an earlier attempt staged is dropped here.
    *lock(&ctx.tx) = None;
    *lock(&ctx.warehouse) = None;
    let files = ingest::resolve_inputs(&options.input)?;
    // A wrong header must fail before anything is written, the warehouse included.
    for f in &files {
        ingest::read_header(f, &options.ingest.source)?;
    }
    let total_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let mut wh = Warehouse::open_for_write(&options.warehouse)?;
    options.ingest.time.check_warehouse(wh.state())?;
    let existing = gold::load_existing(
        &mut wh,
        &options.ingest.source.events,
        load::expected_events(total_bytes),
    )?;
    let mut tx = wh.begin()?;
    let batch_id = tx.state().next_batch_id;
    tx.state_mut().next_batch_id += 1;
    options.ingest.time.record(tx.state_mut());
    let loaded_at = now_micros();

    // ingest -> bronze, streamed: each piece is tested, written and deduplicated as it comes.
    let progress: &dyn Progress = options.progress.as_deref().unwrap_or(&Silent);
    progress.start(total_bytes);
    let bronze_path = tx.stage(&staged_name(Table::Bronze));
    let writer = parquet::StreamWriter::create(&bronze_path, &bronze::schema())?;
    let mut load = load::Load::new(
        existing,
        writer,
        batch_id,
        loaded_at,
        total_bytes,
        options.ingest.source.events.clone(),
    );
    // Parsing (all cores) and loading (bronze file, dedup) overlap: pieces flow through
    // a short queue to a loader thread, so memory holds only a few pieces at a time.
    let (stats, loaded) = std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Piece>(2);
        let loader = scope.spawn(move || {
            for piece in receiver {
                load.take(piece)?;
            }
            Ok::<_, PipelineError>(load)
        });
        let (mut records, mut quarantined, mut first) = (0u64, 0u64, None);
        let stats = ingest::ingest(&files, &options.ingest, progress, |piece| {
            records += (piece.events.height() + piece.quarantine.len()) as u64;
            quarantined += piece.quarantine.len() as u64;
            if first.is_none() {
                first = piece
                    .quarantine
                    .first()
                    .map(|q| format!("line {}: {}", q.line, q.reason));
            }
            if quarantined > QUARANTINE_STOP
                && quarantined as f64 > options.max_quarantine * records as f64
            {
                return Err(PipelineError::TooMuchQuarantine {
                    quarantined,
                    records,
                    percent: options.max_quarantine * 100.0,
                    first: first.take().unwrap_or_default(),
                });
            }
            sender.send(piece).map_err(|_| PipelineError::LoaderStopped)
        });
        drop(sender);
        let loaded = loader.join().unwrap_or(Err(PipelineError::LoaderStopped));
        (stats, loaded)
    });
    // The loader's own error explains a stopped queue better than the parser's.
    let loaded = loaded?;
    let stats = stats?;
    progress.finish();
    let load::Load {
        writer,
        gold_ids,
        gold_slim,
        mut slim_parts,
        existing_events,
        keep_mask,
        duplicates,
        quarantine,
        bronze_tests,
        ..
    } = loaded.finish();
    let bronze_rows = writer.rows;
    writer.finish()?;
    if let Some(parts) = &mut slim_parts
        && gold_slim.len() > existing_events
    {
        parts.push((part_name(batch_id), existing_events..gold_slim.len()));
    }
    let note = note(files.len(), &stats, &options.ingest.time);
    let records = stats.records;
    *lock(&ctx.ingested) = Some(Ingested {
        files,
        stats,
        batch_id,
        loaded_at,
        bronze_path,
        bronze_rows,
        keep_mask,
        slim_parts: slim_parts.unwrap_or_default(),
        existing_events,
        duplicates,
        quarantine,
        bronze_tests: bronze_tests
            .finish(Table::Bronze.name(), &|_| None)
            .map_err(compute("bronze tests"))?,
    });
    *lock(&ctx.gold_slim) = Some(gold_slim);
    lock(&ctx.rows).gold_total = gold_ids.len() as u64;
    *lock(&ctx.gold_ids) = gold_ids;
    *lock(&ctx.tx) = Some(tx);
    *lock(&ctx.warehouse) = Some(wh);
    Ok(Done::rows(records).with_note(note))
}

/// The ingest task's note (the Pipeline page's task panel and `heymax runs show`): what
/// was read, how files that are not plain CSV were read and mapped, and the reporting
/// zone when it is not UTC.
fn note(files: usize, stats: &ingest::IngestStats, time: &ingest::TimeOptions) -> String {
    const SHOWN: usize = 3;
    let mut note = format!("{files} file(s), {} quarantined", stats.quarantined);
    let notable: Vec<_> = stats.detected.iter().filter(|d| !d.is_plain()).collect();
    for d in notable.iter().take(SHOWN) {
        note.push_str("; read ");
        note.push_str(&d.describe());
    }
    if notable.len() > SHOWN {
        note.push_str(&format!(
            "; {} more files read likewise",
            notable.len() - SHOWN
        ));
    }
    if time.zone != chrono_tz::Tz::UTC {
        note.push_str(&format!("; periods in {}", time.zone.name()));
    }
    if time.source_zone != chrono_tz::Tz::UTC {
        note.push_str(&format!(
            "; times without an offset in {}",
            time.source_zone.name()
        ));
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ingest::{Detected, IngestStats, TimeOptions};

    #[test]
    fn the_note_says_how_files_were_read_and_the_zone() {
        let plain = Detected {
            file: "a.csv".into(),
            format: "CSV".into(),
            delimiter: ",".into(),
            ..Detected::default()
        };
        let mapped = Detected {
            file: "b.ndjson".into(),
            format: "NDJSON".into(),
            mapped: vec!["user_id <- distinct_id".into()],
            ..Detected::default()
        };
        let stats = IngestStats {
            quarantined: 2,
            detected: vec![plain, mapped],
            ..IngestStats::default()
        };
        let utc = TimeOptions::default();
        let text = note(2, &stats, &utc);
        assert!(
            text.starts_with("2 file(s), 2 quarantined; read b.ndjson: NDJSON"),
            "{text}"
        );
        assert!(text.contains("user_id <- distinct_id"), "{text}");
        assert!(!text.contains("a.csv"), "{text}");
        let singapore = TimeOptions {
            zone: chrono_tz::Tz::Asia__Singapore,
            ..utc
        };
        assert!(note(1, &stats, &singapore).ends_with("; periods in Asia/Singapore"));
    }
}
