//! Bad input: malformed rows are quarantined (run succeeds, --strict fails), a wrong header
//! or an empty file fails clearly and writes nothing, a missing path is a clear error.

use crate::util::*;

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

    let out = heymax(&["run", "--input", p(&input), "--warehouse", p(&wh)]);
    let summary = ok(&out);
    assert!(summary.contains("quarantine"), "{summary}");
    assert!(summary.contains("warn quarantine.rows"), "{summary}");
    assert!(
        summary.contains(":3: unknown event_type \"teleport\""),
        "{summary}"
    );

    // The quarantine table holds every bad row with file, line, raw text and reason.
    let q = polars::prelude::ParquetReader::new(
        std::fs::File::open(wh.join("quarantine/rows/batch=000001.parquet")).unwrap(),
    );
    use polars::prelude::SerReader;
    let q = q.finish().unwrap();
    assert_eq!(q.height(), 6);
    let lines: Vec<i64> = q
        .column("line_number")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
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
    let raw: Vec<&str> = q
        .column("raw")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
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
