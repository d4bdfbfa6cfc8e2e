//! `heymax bench --append N`: the incremental run of issue 17, timed. A CSV input is split
//! into a base (all but N events) and a batch (those N); the base is loaded into a fresh
//! warehouse, then the batch is appended to it and timed, and the five marts of that
//! warehouse must equal those of the whole input loaded at once (the bench fails if not).
//! Two splits: `lines`, the file's last N lines (the definition; in generated data
//! their times are spread over the whole span, so every period is touched), and `newest`,
//! the N latest events by time (a new day's batch).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use contract::Mart;
use serde::Serialize;

use crate::pipeline::Stage;
use crate::pipeline::catalog::Table;
use crate::warehouse::{Location, Warehouse};

/// Which N events of an input form the appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The file's last N lines.
    Lines,
    /// The N latest events by `event_time` (ties at the N-th time go with them).
    Newest,
}

#[derive(Debug, Serialize)]
pub struct AppendResult {
    pub input: String,
    /// The generated shape (`None`: a file of the user's).
    pub shape: Option<crate::generate::Shape>,
    pub split: Split,
    /// Events loaded before the timed run, and appended by it.
    pub base_events: u64,
    pub appended_events: u64,
    pub whole_seconds: f64,
    pub append_seconds: f64,
    pub peak_rss_bytes: u64,
    /// Whether the five marts equal the whole load's (the bench fails when one does not).
    pub marts_identical: bool,
    pub stages: Vec<Stage>,
}

/// The two halves of a split input, in a folder removed when this is dropped.
#[derive(Debug)]
pub struct SplitFiles {
    pub base: std::path::PathBuf,
    pub batch: std::path::PathBuf,
    pub batch_events: u64,
    _dir: tempfile::TempDir,
}

/// Splits a CSV file with a header line into base and batch (each with the header), by
/// physical line: an input whose quoted fields hold line breaks is not split correctly
/// (the marts would then differ, and the bench says so).
pub fn split(input: &Path, n: u64, how: Split, near: &Path) -> anyhow::Result<SplitFiles> {
    if n == 0 {
        bail!("--append takes a number of events above 0");
    }
    let name = input.file_name().unwrap_or_default().to_string_lossy();
    if !(name.ends_with(".csv") || name.ends_with(".tsv") || name.ends_with(".txt")) {
        bail!(
            "--append splits plain CSV files (a header line, then an event a line); \
             {} is not one (for a compressed, NDJSON or Parquet file, convert it first)",
            input.display()
        );
    }
    let open = || -> anyhow::Result<_> {
        let file = File::open(input).with_context(|| format!("opening {}", input.display()))?;
        Ok(BufReader::with_capacity(1 << 20, file))
    };
    let mut lines = 0u64;
    let mut newest = std::collections::BinaryHeap::new();
    let time_column = {
        let mut header = String::new();
        open()?.read_line(&mut header)?;
        header.trim_end().split(',').position(|c| c == "event_time")
    };
    if how == Split::Newest && time_column.is_none() {
        bail!(
            "{} has no event_time column in its header: use --append-split lines",
            input.display()
        );
    }
    for line in open()?.split(b'\n').skip(1) {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        lines += 1;
        if how == Split::Newest {
            // A min-heap of the N latest times seen.
            newest.push(std::cmp::Reverse(
                time_of(&line, time_column.unwrap_or(0)).to_vec(),
            ));
            if newest.len() as u64 > n {
                newest.pop();
            }
        }
    }
    if n >= lines {
        bail!(
            "--append {n} needs an input of more than {n} events; {} has {lines}",
            input.display()
        );
    }
    let threshold = newest.peek().map(|t| t.0.clone());
    let dir = tempfile::Builder::new()
        .prefix("heymax-bench-split")
        .tempdir_in(near)?;
    let (base, batch) = (dir.path().join("base.csv"), dir.path().join("batch.csv"));
    let create = |p: &Path| -> anyhow::Result<_> {
        let file = File::create(p).with_context(|| format!("creating {}", p.display()))?;
        Ok(BufWriter::with_capacity(1 << 20, file))
    };
    let (mut base_out, mut batch_out) = (create(&base)?, create(&batch)?);
    let mut reader = open()?;
    let mut header = Vec::new();
    reader.read_until(b'\n', &mut header)?;
    base_out.write_all(&header)?;
    batch_out.write_all(&header)?;
    let (mut index, mut batch_events) = (0u64, 0u64);
    for line in reader.split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let in_batch = match how {
            Split::Lines => index >= lines - n,
            Split::Newest => threshold
                .as_deref()
                .is_some_and(|t| time_of(&line, time_column.unwrap_or(0)) >= t),
        };
        index += 1;
        let out = if in_batch {
            batch_events += 1;
            &mut batch_out
        } else {
            &mut base_out
        };
        out.write_all(&line)?;
        out.write_all(b"\n")?;
    }
    base_out.flush()?;
    batch_out.flush()?;
    Ok(SplitFiles {
        base,
        batch,
        batch_events,
        _dir: dir,
    })
}

/// The `column`-th comma-separated field of a line, as bytes. Times compare as text
/// because generated (and ISO) timestamps are fixed-width.
fn time_of(line: &[u8], column: usize) -> &[u8] {
    line.split(|&b| b == b',').nth(column).unwrap_or_default()
}

/// The first mart (by name) that differs between two warehouses; `None` when all five are
/// equal.
pub fn first_different_mart(a: &Location, b: &Location) -> anyhow::Result<Option<&'static str>> {
    let (mut a, mut b) = (Warehouse::open(a)?, Warehouse::open(b)?);
    for mart in Mart::ALL {
        let table = Table::Mart(mart).name();
        let (x, y) = (a.read_table(table, None)?, b.read_table(table, None)?);
        if !x.equals_missing(&y) {
            return Ok(Some(mart.name()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str, n: u64, how: Split) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, text).unwrap();
        let files = split(&input, n, how, dir.path()).unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        (read(&files.base), read(&files.batch))
    }

    const CSV: &str =
        "user_id,event_time\na,2025-01-03\nb,2025-01-01\nc,2025-01-04\nd,2025-01-02\n";

    #[test]
    fn lines_takes_the_last_lines_and_both_keep_the_header() {
        let (base, batch) = parts(CSV, 1, Split::Lines);
        assert_eq!(
            base,
            "user_id,event_time\na,2025-01-03\nb,2025-01-01\nc,2025-01-04\n"
        );
        assert_eq!(batch, "user_id,event_time\nd,2025-01-02\n");
    }

    #[test]
    fn newest_takes_the_latest_times_in_file_order() {
        let (base, batch) = parts(CSV, 2, Split::Newest);
        assert_eq!(base, "user_id,event_time\nb,2025-01-01\nd,2025-01-02\n");
        assert_eq!(batch, "user_id,event_time\na,2025-01-03\nc,2025-01-04\n");
    }

    #[test]
    fn a_batch_as_large_as_the_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, CSV).unwrap();
        let err = split(&input, 4, Split::Lines, dir.path()).unwrap_err();
        assert!(err.to_string().contains("more than 4 events"), "{err}");
        let no_time = dir.path().join("no_time.csv");
        std::fs::write(&no_time, "user_id\na\nb\n").unwrap();
        assert!(split(&no_time, 1, Split::Newest, dir.path()).is_err());
        let ndjson = dir.path().join("in.ndjson");
        std::fs::write(&ndjson, "{}\n{}\n{}\n").unwrap();
        let err = split(&ndjson, 1, Split::Lines, dir.path()).unwrap_err();
        assert!(err.to_string().contains("plain CSV"), "{err}");
    }
}
