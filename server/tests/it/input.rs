//! Bad input: malformed rows are quarantined (run succeeds, --strict fails), a wrong header
//! or an empty file fails clearly and writes nothing, a missing path is a clear error.

use crate::util::*;

/// The quarantine table of a warehouse's first batch.
fn first_quarantine(wh: &std::path::Path) -> polars::prelude::DataFrame {
    use polars::prelude::SerReader;
    let file = std::fs::File::open(wh.join("quarantine/rows/batch=000001.parquet")).unwrap();
    polars::prelude::ParquetReader::new(file).finish().unwrap()
}

fn line_numbers(q: &polars::prelude::DataFrame) -> Vec<i64> {
    q.column("line_number")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

/// A text column's values (nulls left out).
fn texts<'a>(q: &'a polars::prelude::DataFrame, column: &str) -> Vec<&'a str> {
    q.column(column)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn malformed_rows_go_to_quarantine_and_good_rows_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = HEADER.to_string();
    text.push_str("2025-03-07 10:00:00,u_1,miles_earned,dining,10.0,web,organic,SG\n");
    text.push_str("2025-03-07 10:00:00,u_2,teleport,,,web,organic,SG\n"); // line 3
    text.push_str("not a time,u_3,like,,,web,organic,SG\n"); // line 4
    text.push_str("2025-03-08 10:00:00,,like,,,web,organic,SG\n"); // line 5
    text.push_str("2025-03-08 10:00:00,u_4,miles_earned,dining,lots,web,organic,SG\n"); // line 6
    text.push_str("2025-03-08 10:00:00,u_5,like,,,web,organic\n"); // line 7
    text.push_str("2025-03-09 10:00:00,u_1,share,,,web,organic,SG\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"2025-03-09 10:00:00,u_\xff,share,,,web,organic,SG\n"); // line 9
    let input = dir.path().join("events.csv");
    std::fs::write(&input, bytes).unwrap();
    let wh = dir.path().join("wh");

    // Six bad rows of eight: the default --max-quarantine (10 %) would fail the run.
    let out = heymax(&[
        "run",
        "--max-quarantine",
        "100",
        "--input",
        p(&input),
        "--warehouse",
        p(&wh),
    ]);
    let summary = ok(&out);
    assert!(summary.contains("quarantine"), "{summary}");
    assert!(summary.contains("warn quarantine.rows"), "{summary}");
    assert!(
        summary.contains(":3: unknown event_type \"teleport\""),
        "{summary}"
    );

    // The quarantine table holds every bad row with file, line, raw text and reason.
    let q = first_quarantine(&wh);
    assert_eq!(q.height(), 6);
    let lines = line_numbers(&q);
    assert_eq!(lines, vec![3, 4, 5, 6, 7, 9]);
    let reasons: Vec<String> = q
        .column("reason")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(String::from)
        .collect();
    for (reason, want) in reasons.iter().zip([
        "unknown event_type",
        "unparseable event_time",
        "empty user_id",
        "non-numeric miles_amount",
        "wrong column count",
        "invalid UTF-8",
    ]) {
        assert!(reason.contains(want), "{reason} should say {want}");
    }
    let raw = texts(&q, "raw");
    assert_eq!(raw[4], "2025-03-08 10:00:00,u_5,like,,,web,organic");
    assert!(
        q.column("source_file")
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .ends_with("events.csv")
    );

    // The good rows loaded: u_1 is the only user.
    let marts = export(&wh, dir.path());
    let (_, month) = &marts["user_growth_metrics_month"];
    assert_eq!(month.len(), 1);
    assert_eq!(month[0]["active_users"], "1");

    // --strict turns quarantined rows into a failure (exit 2) and keeps the layers as they were.
    let wh2 = dir.path().join("wh2");
    let out = heymax(&[
        "run",
        "--strict",
        "--input",
        p(&input),
        "--warehouse",
        p(&wh2),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL quarantine.rows"));
    assert!(
        !wh2.join("marts").exists(),
        "a failed run must not write marts"
    );
    assert!(
        wh2.join("quarantine/rows/batch=000001.parquet").exists(),
        "quarantine is kept for inspection"
    );
}

#[test]
fn a_wrong_header_fails_naming_both_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        &dir.path().join("bad.csv"),
        "time,user,type\n2025-03-07 10:00:00,u_1,like\n",
    );
    let wh = dir.path().join("wh");
    let out = heymax(&["run", "--input", p(&input), "--warehouse", p(&wh)]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("expected columns [event_time, user_id, event_type"),
        "{err}"
    );
    assert!(err.contains("found [time, user, type]"), "{err}");
    assert!(!wh.exists(), "nothing may be written");
}

#[test]
fn empty_and_missing_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let empty = write(&dir.path().join("empty.csv"), "");
    let err = stderr(&heymax(&[
        "run",
        "--input",
        p(&empty),
        "--warehouse",
        p(&wh),
    ]));
    assert!(err.contains("is empty"), "{err}");
    let header_only = write(&dir.path().join("h.csv"), HEADER);
    let err = stderr(&heymax(&[
        "run",
        "--input",
        p(&header_only),
        "--warehouse",
        p(&wh),
    ]));
    assert!(err.contains("no events"), "{err}");
    let err = stderr(&heymax(&[
        "run",
        "--input",
        p(&dir.path().join("nope.csv")),
        "--warehouse",
        p(&wh),
    ]));
    assert!(err.contains("does not exist"), "{err}");
    let err = stderr(&heymax(&[
        "marts",
        "export",
        "--warehouse",
        p(&dir.path().join("none")),
        "--out",
        p(dir.path()),
    ]));
    assert!(err.contains("heymax run --input"), "{err}");
}

#[test]
fn export_writes_json_with_nulls_and_booleans() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    run(&sample(), &wh);
    let out = dir.path().join("json");
    ok(&heymax(&[
        "--quiet",
        "marts",
        "export",
        "--warehouse",
        p(&wh),
        "--format",
        "json",
        "--out",
        p(&out),
    ]));
    let text = std::fs::read_to_string(out.join("user_growth_metrics_day.json")).unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 455);
    assert_eq!(rows[0]["period"], "2025-03-07");
    assert!(rows[0]["quick_ratio"].is_null());
    assert_eq!(rows[0]["is_complete"], true);
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "period");
    assert_eq!(keys[9], "is_complete");
}

/// A warehouse with one good event loaded, and its marts.
fn one_good_load() -> (tempfile::TempDir, std::path::PathBuf, Marts) {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let good = write(
        &dir.path().join("good.csv"),
        &format!("{HEADER}2025-03-07 10:00:00,u_1,like,,,web,organic,SG\n"),
    );
    run(&good, &wh);
    let before = export(&wh, dir.path());
    (dir, wh, before)
}

/// Issue 15 #8: a batch where nothing loads (every timestamp in a format heymax does not
/// read), or where too much is quarantined, fails with exit 2 and keeps the previous marts.
#[test]
fn a_batch_that_loads_nothing_or_too_little_fails_and_keeps_the_marts() {
    let (dir, wh, before) = one_good_load();

    let unreadable = write(
        &dir.path().join("us_dates.csv"),
        &format!(
            "{HEADER}03/08/2025 10:00 AM,u_2,like,,,web,organic,SG\n03/09/2025 10:00 AM,u_3,like,,,web,organic,SG\n"
        ),
    );
    // A run that must fail with exit 2: its summary.
    let failing = |input: &std::path::Path| {
        let out = heymax(&["run", "--input", p(input), "--warehouse", p(&wh)]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let failed =
        |text: &str, test: &str| text.lines().any(|l| l.contains("FAIL") && l.contains(test));
    let text = failing(&unreadable);
    assert!(failed(&text, "rows_loaded"), "{text}");
    assert!(text.contains("unparseable event_time"), "{text}");
    assert!(text.contains("No row of this batch loaded"), "{text}");
    assert_eq!(export(&wh, dir.path()), before, "the previous marts stay");

    // One bad row in four: 25 % > 10 %, unless the operator allows it.
    let mostly = write(
        &dir.path().join("mostly.csv"),
        &format!(
            "{HEADER}2025-03-08 10:00:00,u_2,like,,,web,organic,SG\n2025-03-08 10:00:00,u_3,like,,,web,organic,SG\n2025-03-08 10:00:00,u_4,like,,,web,organic,SG\nbad,u_5,like,,,web,organic,SG\n"
        ),
    );
    let text = failing(&mostly);
    assert!(failed(&text, "quarantined_share"), "{text}");
    assert!(text.contains("pass --max-quarantine"), "{text}");
    assert_eq!(export(&wh, dir.path()), before);
    ok(&heymax(&[
        "--quiet",
        "run",
        "--max-quarantine",
        "30",
        "--input",
        p(&mostly),
        "--warehouse",
        p(&wh),
    ]));
    assert_ne!(export(&wh, dir.path()), before);
}

/// Issue 15 #4, #5, #9: a stray quote, a 50 MB field and a NUL byte each cost their own
/// line only; every other line loads and the run's memory stays small.
#[test]
fn hostile_lines_are_quarantined_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = HEADER.as_bytes().to_vec();
    body.extend_from_slice(b"2025-03-07 10:00:00,u_0,like,,,\"web,organic,SG\n"); // line 2
    body.extend_from_slice(b"2025-03-07 10:00:00,u_x,like,,,web,organic,\""); // line 3
    body.extend(std::iter::repeat_n(b'C', 50 << 20));
    body.extend_from_slice(b"\"\n");
    body.extend_from_slice(b"2025-03-07 10:00:00,u_\0,like,,,web,organic,SG\n"); // line 4
    for i in 1..=200 {
        body.extend_from_slice(
            format!("2025-03-07 10:00:00,u_{i},like,,,web,organic,SG\n").as_bytes(),
        );
    }
    let input = dir.path().join("hostile.csv");
    std::fs::write(&input, &body).unwrap();
    let wh = dir.path().join("wh");
    let out = heymax(&["run", "--json", "--input", p(&input), "--warehouse", p(&wh)]);
    let summary: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(summary["ingest"]["good"], 200, "{summary}");
    assert_eq!(summary["ingest"]["quarantined"], 3, "{summary}");
    assert!(
        summary["peak_rss_bytes"].as_u64().unwrap() < 400 << 20,
        "a 50 MB line must not be held in memory many times over: {summary}"
    );
    let q = first_quarantine(&wh);
    let lines = line_numbers(&q);
    assert_eq!(lines, vec![2, 3, 4]);
    let raw_len: usize = texts(&q, "raw").into_iter().map(str::len).sum();
    assert!(
        raw_len < 4096,
        "raw text is kept as a prefix: {raw_len} bytes"
    );
    let marts = export(&wh, dir.path());
    let (_, month) = &marts["user_growth_metrics_month"];
    assert_eq!(month.len(), 1, "no country made of a 50 MB field");
    assert_eq!(month[0]["active_users"], "200");
}

/// A file of many tiny bad lines (hostile, or not an event file at all) stops ingest once
/// the batch must fail anyway, instead of holding every bad line in memory: exit 2, and
/// the previous marts stay.
#[test]
fn a_flood_of_bad_lines_stops_ingest_early() {
    let (dir, wh, before) = one_good_load();
    let mut text = HEADER.to_string();
    text.push_str(&"x\n".repeat(300_000));
    let flood = write(&dir.path().join("flood.csv"), &text);
    let out = heymax(&["run", "--input", p(&flood), "--warehouse", p(&wh)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("stopped reading after"), "{err}");
    assert!(err.contains("line 2: wrong column count"), "{err}");
    assert_eq!(export(&wh, dir.path()), before);
}
