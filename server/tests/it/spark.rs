//! The Spark engine against a real standalone cluster: `scripts/test.sh` starts a
//! throwaway one (`scripts/spark.sh`: a master and two workers on loopback) and sets
//! `HEYMAX_SPARK_MASTER`. Without a cluster the tests that need one say so and pass,
//! unless `HEYMAX_REQUIRE_SPARK` is set or `CI=true` (so CI cannot skip them).
//!
//! Differential: the native engine is the reference. After each run on the same input,
//! `heymax marts export` of both warehouses is equal byte for byte, and so are the
//! lifecycle tables the drill-down reads (as sets of rows), gold's event ids and the
//! quarantine (line, raw text, reason).

use std::path::{Path, PathBuf};
use std::process::Output;

use heymax::warehouse::{Location, Warehouse};
use polars::prelude::*;

use crate::util::*;

/// The cluster's master URL, or `None` (the test is skipped) when none runs.
fn cluster() -> Option<String> {
    match std::env::var("HEYMAX_SPARK_MASTER") {
        Ok(master) if !master.is_empty() => Some(master),
        _ => {
            let required = std::env::var_os("HEYMAX_REQUIRE_SPARK").is_some()
                || std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(
                !required,
                "a Spark cluster is required (HEYMAX_REQUIRE_SPARK or CI=true) but HEYMAX_SPARK_MASTER is not set: start one with scripts/spark.sh"
            );
            eprintln!(
                "skipped: no Spark cluster (set HEYMAX_SPARK_MASTER, or run scripts/test.sh)"
            );
            None
        }
    }
}

fn spark_run(master: &str, input: &Path, warehouse: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--quiet",
        "run",
        "--engine",
        "spark",
        "--spark-master",
        master,
        "--input",
        p(input),
        "--warehouse",
        p(warehouse),
    ];
    args.extend_from_slice(extra);
    heymax(&args)
}

fn native_run(input: &Path, warehouse: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--quiet",
        "run",
        "--input",
        p(input),
        "--warehouse",
        p(warehouse),
    ];
    args.extend_from_slice(extra);
    heymax(&args)
}

/// `heymax marts export --format csv` of a warehouse: each mart file's bytes.
fn exported(warehouse: &Path, out: &Path) -> Vec<(String, Vec<u8>)> {
    let _ = std::fs::remove_dir_all(out);
    ok(&heymax(&[
        "--quiet",
        "marts",
        "export",
        "--warehouse",
        p(warehouse),
        "--format",
        "csv",
        "--out",
        p(out),
    ]));
    MARTS
        .iter()
        .map(|m| {
            let bytes = std::fs::read(out.join(format!("{m}.csv"))).expect("exported mart");
            (m.to_string(), bytes)
        })
        .collect()
}

fn table(warehouse: &Path, name: &str, sort: &[&str]) -> DataFrame {
    let mut wh = Warehouse::open(&Location::Dir(warehouse.to_path_buf())).expect("warehouse");
    let df = wh.read_table(name, None).expect(name);
    df.sort(sort.to_vec(), SortMultipleOptions::default())
        .expect("sort")
}

/// Both warehouses hold the same marts (bytes), lifecycle rows and gold events.
fn assert_same(native: &Path, spark: &Path, scratch: &Path, what: &str) {
    let a = exported(native, &scratch.join("native-export"));
    let b = exported(spark, &scratch.join("spark-export"));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            x == y,
            "{what}: {name} differs between the engines:\nnative:\n{}\nspark:\n{}",
            String::from_utf8_lossy(&x[..x.len().min(2000)]),
            String::from_utf8_lossy(&y[..y.len().min(2000)])
        );
    }
    for grain in ["day", "week", "month"] {
        let name = format!("marts.user_lifecycle_{grain}");
        let x = table(native, &name, &["period", "user_id"]);
        let y = table(spark, &name, &["period", "user_id"]);
        assert_eq!(x.schema(), y.schema(), "{what}: {name} schema");
        assert!(x.equals_missing(&y), "{what}: {name} differs:\n{x}\n{y}");
    }
    let ids = |wh: &Path| {
        let df = table(wh, "gold.fact_events", &["event_id"]);
        let ids: Vec<Option<i64>> = df
            .column("event_id")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect();
        ids
    };
    assert_eq!(ids(native), ids(spark), "{what}: gold's event ids");
    let dim = |wh: &Path| table(wh, "gold.dim_users", &["user_id"]);
    assert!(dim(native).equals_missing(&dim(spark)), "{what}: dim_users");
}

/// Late and duplicate events for a second batch on top of the sample: a third of the
/// sample again (duplicates, some with spaces and other cases that normalise to the same
/// event), new events on the sample's old days for old and new users (late), a few after
/// its last day, one event twice within the batch, and the hostile lines (each bad for
/// another reason, between good ones: few enough for the quarantine gate to pass).
fn second_batch(dir: &Path) -> PathBuf {
    let sample = std::fs::read_to_string(sample()).unwrap();
    let mut text = String::from(HEADER);
    for (i, line) in sample.lines().skip(1).enumerate() {
        if i % 3 != 0 {
            continue;
        }
        if i % 2 == 0 {
            text.push_str(line);
        } else {
            // ` sg ` and `SHARE` are the sample's `SG` and `share`: the same event id.
            let f: Vec<&str> = line.split(',').collect();
            text.push_str(&format!(
                "{},{} ,{},{},{},{},{}, {} ",
                f[0],
                f[1],
                f[2].to_uppercase(),
                f[3],
                f[4],
                f[5],
                f[6],
                f[7].to_lowercase()
            ));
        }
        text.push('\n');
    }
    let types = [
        "like",
        "share",
        "reward_search",
        "miles_earned",
        "miles_redeemed",
    ];
    for i in 0..400u32 {
        let day = 1 + i % 28;
        let month = 3 + i % 3;
        let user = if i % 4 == 0 {
            format!("late_{:03}", i % 37)
        } else {
            format!("u_{:04}", 1 + i % 100)
        };
        let kind = types[(i % 5) as usize];
        let (category, miles) = match kind {
            "miles_earned" => ("dining", format!("{}", 100 + i)),
            "miles_redeemed" => ("flight", format!("{}.0", 900 + i)),
            "reward_search" => ("hotel", String::new()),
            _ => ("", String::new()),
        };
        let country = ["SG", "MY", "PH", "ID", "TH"][(i % 5) as usize];
        text.push_str(&format!(
            "2025-{month:02}-{day:02} {:02}:{:02}:07.{:06},{user},{kind},{category},{miles},web,organic,{country}\n",
            i % 24,
            i % 60,
            i * 7919 % 1_000_000
        ));
    }
    for i in 0..20u32 {
        text.push_str(&format!(
            "2025-06-{:02}T10:00:00Z,u_{:04},like,,,ios,referral,SG\n",
            6 + i % 5,
            1 + i
        ));
    }
    text.push_str("2025-06-07 08:00:00,u_0001,share,,,web,organic,MY\n");
    text.push_str("2025-06-07 08:00:00,u_0001,share,,,web,organic,MY\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(&hostile_lines());
    let path = dir.join("batch2.csv");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn spark_marts_equal_native_on_the_sample_then_late_and_duplicate_events() {
    let Some(master) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (native, spark) = (dir.path().join("native"), dir.path().join("spark"));
    ok(&native_run(&sample(), &native, &[]));
    ok(&spark_run(&master, &sample(), &spark, &[]));
    assert_same(&native, &spark, dir.path(), "the sample");

    let batch = second_batch(dir.path());
    ok(&native_run(&batch, &native, &[]));
    ok(&spark_run(&master, &batch, &spark, &[]));
    assert_same(
        &native,
        &spark,
        dir.path(),
        "the sample, then late, duplicate and hostile events",
    );
    // The hostile lines' good rows loaded alike (above); their bad ones are quarantined
    // alike, with the same lines, raw text and reasons.
    let (q_native, q_spark) = (quarantine(&native), quarantine(&spark));
    assert_eq!(q_native.len(), 13, "{q_native:#?}");
    assert_eq!(q_native, q_spark);

    // A batch already loaded changes nothing: every event id is in gold already.
    let before = exported(&spark, &dir.path().join("before"));
    let out = ok(&spark_run(&master, &batch, &spark, &["--json"]));
    let summary: serde_json::Value = serde_json::from_str(&out).expect("--json summary");
    assert_eq!(summary["rows"]["gold_new"], 0, "{out}");
    assert_eq!(before, exported(&spark, &dir.path().join("after")));

    // The run history shows the Spark runs with a task per step.
    let runs = ok(&heymax(&["runs", "--warehouse", p(&spark)]));
    assert_eq!(runs.matches("success").count(), 3, "{runs}");
    let show = ok(&heymax(&["runs", "show", "2", "--warehouse", p(&spark)]));
    for task in [
        "spark",
        "ingest",
        "bronze",
        "gold",
        "mart_user_retention",
        "test_gold",
        "commit",
    ] {
        assert!(show.contains(task), "{task} missing:\n{show}");
    }
    assert!(show.contains("on Spark"), "{show}");
    // Gold is partitioned by event date: batch 2's late events sit beside the sample's.
    let state = std::fs::read_to_string(spark.join("_heymax/state.json")).unwrap();
    assert!(
        state.contains("gold/fact_events/event_date=2025-03-07/batch=000002.parquet"),
        "{state}"
    );
}

#[test]
fn spark_marts_equal_native_on_1m_generated_events() {
    let Some(master) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.csv");
    ok(&heymax(&[
        "--quiet",
        "generate",
        "--events",
        "1000000",
        "--out",
        p(&events),
    ]));
    let (native, spark) = (dir.path().join("native"), dir.path().join("spark"));
    ok(&native_run(&events, &native, &[]));
    ok(&spark_run(&master, &events, &spark, &[]));
    assert_same(&native, &spark, dir.path(), "1M generated events");
}

/// Lines the native engine quarantines, each for another reason, between good ones (no
/// header).
fn hostile_lines() -> Vec<u8> {
    let mut bytes = Vec::new();
    let good = "2025-05-04 09:50:20.784808,u_0081,miles_earned,dining,516.0,web,organic,TH\n";
    let mut bad: Vec<Vec<u8>> = vec![
        b"2025-05-04 09:50:20,\"u_1,share,,,web,organic,TH\n".to_vec(),
        b"2025-05-04 09:50:20,u\x00_1,share,,,web,organic,TH\n".to_vec(),
        b"2025-05-04 09:50:20,u_1,share,,,web,organic\n".to_vec(),
        b"05/04/2025,u_1,share,,,web,organic,TH\n".to_vec(),
        b"2025-05-04 09:50:20,,share,,,web,organic,TH\n".to_vec(),
        b"2025-05-04 09:50:20,u_1,poke \"\x1b[2J\",,,web,organic,TH\n".to_vec(),
        b"2025-05-04 09:50:20,u_1,miles_earned,dining,ten,web,organic,TH\n".to_vec(),
        b"2025-05-04 09:50:20,u_\xff,share,,,web,organic,TH\n".to_vec(),
        b"2025-05-04 09:50:20,u_1,share,,,web,organic,T\rH\n".to_vec(),
        b"2025-05-04 09:50:20,u_1,share,,,web,organic,TH,extra\n".to_vec(),
        b"2025-13-04 09:50:20,u_1,share,,,web,organic,TH\n".to_vec(),
    ];
    let mut long = b"2025-05-04 09:50:20,u_1,share,,,web,organic,".to_vec();
    long.extend(std::iter::repeat_n(b'x', 1 << 20));
    long.push(b'\n');
    bad.push(long);
    let mut field = b"2025-05-04 09:50:20,u_1,share,,,web,organic,".to_vec();
    field.extend(std::iter::repeat_n(b'y', 2000));
    field.push(b'\n');
    bad.push(field);
    for (i, b) in bad.iter().enumerate() {
        for _ in 0..3 {
            bytes.extend_from_slice(good.replace("u_0081", &format!("u_{i:04}")).as_bytes());
        }
        bytes.extend_from_slice(b);
    }
    // A quoted good line, a CRLF line end and a blank line are not quarantined.
    bytes.extend_from_slice(
        b"\"2025-05-05 10:00:00\",\"u_q\",like,,,web,\"organic, paid\",SG\r\n\n",
    );
    bytes.extend_from_slice(good.as_bytes());
    bytes
}

/// The hostile lines as a file of their own.
fn hostile(dir: &Path) -> PathBuf {
    let mut bytes = HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(&hostile_lines());
    let path = dir.join("hostile.csv");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn quarantine(warehouse: &Path) -> Vec<(i64, String, String)> {
    let df = table(warehouse, "quarantine.rows", &["line_number"]);
    let col = |n: &str| df.column(n).unwrap().clone();
    let (line, raw, reason) = (col("line_number"), col("raw"), col("reason"));
    (0..df.height())
        .map(|i| {
            let text = |c: &Column| c.str().unwrap().get(i).unwrap_or_default().to_string();
            (
                line.i64().unwrap().get(i).unwrap(),
                text(&raw),
                text(&reason),
            )
        })
        .collect()
}

#[test]
fn spark_quarantines_with_the_native_reasons_and_a_failed_gate_commits_only_the_quarantine() {
    let Some(master) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = hostile(dir.path());
    // Both warehouses hold the sample (loaded natively: the engines share one format).
    let (native, spark) = (dir.path().join("native"), dir.path().join("spark"));
    for wh in [&native, &spark] {
        ok(&native_run(&sample(), wh, &[]));
    }
    let before = exported(&spark, &dir.path().join("before"));
    // 13 of 54 rows are bad, more than --max-quarantine's 10%: the gate fails.
    let out = native_run(&input, &native, &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = spark_run(&master, &input, &spark, &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        before,
        exported(&spark, &dir.path().join("after")),
        "marts kept"
    );
    let (q_native, q_spark) = (quarantine(&native), quarantine(&spark));
    assert_eq!(q_native.len(), 13, "{q_native:#?}");
    assert_eq!(q_native, q_spark);
    let runs = ok(&heymax(&["runs", "--warehouse", p(&spark)]));
    assert!(runs.contains("test_bronze"), "{runs}");
    let state = std::fs::read_to_string(spark.join("_heymax/state.json")).unwrap();
    assert!(state.contains("\"failed\""), "{state}");
    // That the good rows among these lines load as the native engine loads them is
    // checked in the sample's second batch, which carries the same lines (one Spark run
    // fewer: a run costs its JVMs' start whatever its size).
}

#[test]
fn spark_refuses_what_it_does_not_read_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let run = |input: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            "--engine",
            "spark",
            "--spark-master",
            "spark://127.0.0.1:9",
            "--input",
            p(input),
            "--warehouse",
            p(&wh),
        ];
        args.extend_from_slice(extra);
        let out = heymax(&args);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let bad = write(&dir.path().join("bad.csv"), "time,who\n1,2\n");
    assert!(run(&bad, &[]).contains("wrong header"));
    let semi = write(
        &dir.path().join("semi.csv"),
        &format!(
            "{}2025-05-04 09:50:20;u;like;;;web;g;SG\n",
            HEADER.replace(',', ";")
        ),
    );
    let err = run(&semi, &[]);
    assert!(err.contains("plain CSV"), "{err}");
    let zoned = run(&sample(), &["--timezone", "Asia/Singapore"]);
    assert!(zoned.contains("UTC"), "{zoned}");
    let own = dir.path().join("own");
    std::fs::create_dir_all(&own).unwrap();
    write(
        &own.join("events.csv"),
        &format!("{HEADER}2025-05-04 09:50:20,u,like,,,web,g,SG\n"),
    );
    write(&own.join("heymax.toml"), "[events]\ntypes = [\"like\"]\n");
    let err = run(&own, &[]);
    assert!(err.contains("heymax.toml"), "{err}");
    assert!(!wh.exists(), "nothing written");
    // Without a master (flag or environment) heymax says which flag it needs. The
    // cluster's variable is removed here: with it, this would be a whole Spark run.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_heymax"))
        .args([
            "run",
            "--engine",
            "spark",
            "--input",
            p(&sample()),
            "--warehouse",
            p(&wh),
        ])
        .env_remove("HEYMAX_SPARK_MASTER")
        .env_remove("HEYMAX_WAREHOUSE")
        .output()
        .expect("heymax runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--spark-master"), "{err}");
}
