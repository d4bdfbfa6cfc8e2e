//! The PostgreSQL warehouse against a real server: `scripts/test.sh` starts a throwaway
//! one (`scripts/pg.sh`) and sets `HEYMAX_TEST_PG`; each test gets a database of its own.
//! Without a server the tests say so and pass, unless `HEYMAX_REQUIRE_PG` is set (the test
//! command sets it, so CI cannot skip them).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use heymax::warehouse::{Location, Warehouse};

use crate::util::*;

/// A fresh database for one test: `postgres://.../<name>`.
fn database(name: &str) -> Option<String> {
    let Ok(admin) = std::env::var("HEYMAX_TEST_PG") else {
        assert!(
            std::env::var_os("HEYMAX_REQUIRE_PG").is_none(),
            "HEYMAX_REQUIRE_PG is set but HEYMAX_TEST_PG is not: start a server with scripts/pg.sh"
        );
        eprintln!("skipped: no PostgreSQL (set HEYMAX_TEST_PG, or run scripts/test.sh)");
        return None;
    };
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("test server");
    for statement in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        client
            .execute(&statement, &[])
            .expect("create the test database");
    }
    let (base, _) = admin.rsplit_once('/').expect("a URL with a database");
    Some(format!("{base}/{name}"))
}

fn sql(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("test database")
}

fn location(url: &str) -> Location {
    url.parse().expect("a URL")
}

/// Every table heymax writes, read back whole.
fn tables(location: &Location) -> Vec<(String, polars::prelude::DataFrame)> {
    let mut wh = Warehouse::open(location).expect("open");
    let names: Vec<String> = wh
        .state()
        .tables
        .keys()
        .filter(|t| *t != "silver.events" && *t != "quarantine.rows")
        // Gold's slim parts are a folder warehouse's cache of gold: none in a database.
        .filter(|t| !t.starts_with("gold._slim"))
        .cloned()
        .collect();
    names
        .into_iter()
        .map(|t| {
            let mut df = wh.read_table(&t, None).expect("read");
            // Bookkeeping columns differ between two runs by nature.
            let _ = df.drop_in_place("loaded_at");
            // A table has no row order in SQL: compare sorted on every column.
            let all: Vec<_> = df.get_column_names_owned();
            let df = df
                .sort(all, polars::prelude::SortMultipleOptions::default())
                .expect("sort");
            (t, df)
        })
        .collect()
}

#[test]
fn both_backends_write_the_same_tables_cell_for_cell() {
    let Some(url) = database("heymax_same") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("wh");
    run(&sample(), &parquet);
    run(&sample(), Path::new(&url));
    let want = tables(&parquet.as_path().into());
    let got = tables(&location(&url));
    let names = |t: &[(String, _)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&want), names(&got));
    assert!(want.len() >= 11, "{:?}", names(&want));
    for ((name, w), (_, g)) in want.iter().zip(&got) {
        assert_eq!(w.schema(), g.schema(), "{name}: columns and types");
        for (a, b) in w.columns().iter().zip(g.columns()) {
            let same = a
                .as_materialized_series()
                .equals_missing(b.as_materialized_series());
            if !same {
                let first = (0..a.len())
                    .find(|&i| a.get(i).ok() != b.get(i).ok())
                    .map(|i| format!("row {i}: {:?} vs {:?}", a.get(i), b.get(i)));
                panic!("{name}.{}: values differ at {first:?}", a.name());
            }
        }
    }
    // The exported marts too, as the dashboard gets them.
    assert_eq!(
        export(&parquet, dir.path()),
        export(Path::new(&url), dir.path())
    );
}

#[test]
fn postgres_marts_match_the_independent_reference() {
    let Some(url) = database("heymax_reference") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    run(&sample(), Path::new(&url));
    crate::seed::check_against_reference(Path::new(&url), dir.path());
}

#[test]
fn a_database_records_its_reporting_zone_and_refuses_another() {
    let Some(url) = database("heymax_timezone") else {
        return;
    };
    let wh = Path::new(&url);
    ok(&heymax(&[
        "--quiet",
        "run",
        "--input",
        p(&sample()),
        "--warehouse",
        &url,
        "--timezone",
        "Asia/Singapore",
    ]));
    let zone = |db: &mut postgres::Client| -> Option<String> {
        db.query_one(
            "SELECT state->>'timezone' FROM heymax.state WHERE id = 1",
            &[],
        )
        .unwrap()
        .get(0)
    };
    assert_eq!(zone(&mut sql(&url)).as_deref(), Some("Asia/Singapore"));
    let dir = tempfile::tempdir().unwrap();
    let marts = export(wh, dir.path());
    let out = heymax(&[
        "--quiet",
        "run",
        "--input",
        p(&sample()),
        "--warehouse",
        &url,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "this warehouse cuts periods in Asia/Singapore; run with --timezone Asia/Singapore"
        ),
        "{stderr}"
    );
    assert_eq!(export(wh, dir.path()), marts);
    let batches: i64 = sql(&url)
        .query_one(
            "SELECT jsonb_array_length(state->'batches')::bigint FROM heymax.state",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(batches, 1);
}

#[test]
fn tables_have_types_keys_and_comments() {
    let Some(url) = database("heymax_catalog") else {
        return;
    };
    run(&sample(), Path::new(&url));
    let mut db = sql(&url);
    let column_type = |db: &mut postgres::Client, table: &str, column: &str| -> String {
        db.query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
              WHERE attrelid = $1::text::regclass AND attname = $2",
            &[&table, &column],
        )
        .unwrap_or_else(|e| panic!("{table}.{column}: {e}"))
        .get(0)
    };
    for (table, column, ty) in [
        (
            "gold.fact_events",
            "event_time",
            "timestamp without time zone",
        ),
        ("gold.fact_events", "event_id", "bigint"),
        ("gold.fact_events", "miles_amount", "double precision"),
        ("gold.dim_users", "user_id", "text"),
        ("marts.user_growth_metrics_day", "period", "date"),
        ("marts.user_growth_metrics_day", "new_users", "bigint"),
        ("marts.user_growth_metrics_day", "is_complete", "boolean"),
        ("bronze.events", "loaded_at", "timestamp without time zone"),
    ] {
        assert_eq!(column_type(&mut db, table, column), ty, "{table}.{column}");
    }
    let key = |db: &mut postgres::Client, table: &str| -> (String, String) {
        let row = db
            .query_one(
                "SELECT contype::text, pg_get_constraintdef(oid) FROM pg_constraint
                  WHERE conrelid = $1::text::regclass AND contype IN ('p', 'u')",
                &[&table],
            )
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        (row.get(0), row.get(1))
    };
    assert_eq!(
        key(&mut db, "gold.fact_events"),
        ("p".into(), "PRIMARY KEY (event_id)".into())
    );
    assert_eq!(
        key(&mut db, "gold.dim_users"),
        ("p".into(), "PRIMARY KEY (user_id)".into())
    );
    assert_eq!(
        key(&mut db, "marts.user_lifecycle_week"),
        ("p".into(), "PRIMARY KEY (period, user_id)".into())
    );
    // country may be null (a user who never said): a unique key whose nulls are equal.
    assert_eq!(
        key(&mut db, "marts.user_growth_metrics_month"),
        (
            "u".into(),
            "UNIQUE NULLS NOT DISTINCT (period, country)".into()
        )
    );
    let comment: Option<String> = db
        .query_one("SELECT obj_description('gold.fact_events'::regclass)", &[])
        .unwrap()
        .get(0);
    assert!(comment.unwrap_or_default().contains("deduplicated"));
    // Nothing half-built is left behind.
    let staging = staging_tables(&url);
    assert_eq!(staging, 0);
}

#[test]
fn reloads_are_idempotent_and_a_second_batch_appends() {
    let Some(url) = database("heymax_incremental") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Path::new(&url);
    run(&sample(), db);
    let first = export(db, dir.path());
    run(&sample(), db);
    assert_eq!(first, export(db, dir.path()), "the same file again");
    let mut client = sql(&url);
    let count = |c: &mut postgres::Client, q: &str| -> i64 { c.query_one(q, &[]).unwrap().get(0) };
    let gold = count(&mut client, "SELECT count(*) FROM gold.fact_events");
    let silver = count(&mut client, "SELECT count(*) FROM silver.events");
    let bronze = count(&mut client, "SELECT count(*) FROM bronze.events");
    assert_eq!(silver, 2 * bronze, "silver keeps both batches");
    assert!(gold <= bronze && gold > 0);
    assert_eq!(
        count(
            &mut client,
            "SELECT new_in_gold FROM heymax.batches WHERE batch_id = 2"
        ),
        0
    );
    // A new file: its new events land in gold, marts as for one whole load.
    let extra = write(
        &dir.path().join("extra.csv"),
        &format!(
            "{HEADER}2025-06-01 10:00:00.000,brand_new_user,like,,,ios,tiktok,SG\n\
             not-a-time,brand_new_user,like,,,ios,tiktok,SG\n\
             2025-06-02 10:00:00.000,brand_new_user,share,,,ios,tiktok,SG\n"
        ),
    );
    // One row in three is bad: more than the default --max-quarantine allows.
    ok(&heymax(&[
        "--quiet",
        "run",
        "--max-quarantine",
        "100",
        "--input",
        p(&extra),
        "--warehouse",
        &url,
    ]));
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM gold.fact_events"),
        gold + 2
    );
    let (line, reason): (i64, String) = {
        let row = client
            .query_one(
                "SELECT line_number::bigint, reason FROM quarantine.rows WHERE batch_id = 3",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(line, 3, "the bad row's line");
    assert!(reason.contains("time"), "{reason}");
    let both = dir.path().join("both");
    std::fs::create_dir(&both).unwrap();
    std::fs::copy(sample(), both.join("a.csv")).unwrap();
    std::fs::copy(&extra, both.join("b.csv")).unwrap();
    let whole = dir.path().join("whole");
    run(&both, &whole);
    assert_eq!(export(&whole, dir.path()), export(db, dir.path()));
}

/// Runs `heymax run` on `input` into `url` with a crash point set; it must not succeed.
fn crashed_run(input: &Path, url: &str, point: &str) {
    let out = heymax_env(
        &["--quiet", "run", "--input", p(input), "--warehouse", url],
        &[("HEYMAX_CRASH_AT", point)],
    );
    assert!(!out.status.success(), "{point}: the run should have died");
}

/// Tables a commit builds before its swap (`<name>__heymax_new`): none may outlive it.
fn staging_tables(url: &str) -> i64 {
    sql(url)
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname LIKE '%heymax_new%'",
            &[],
        )
        .unwrap()
        .get(0)
}

fn state_version(url: &str) -> i64 {
    sql(url)
        .query_one("SELECT version FROM heymax.state", &[])
        .unwrap()
        .get(0)
}

#[test]
fn a_run_killed_mid_load_leaves_the_database_as_it_was() {
    let Some(url) = database("heymax_killed") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Path::new(&url);
    run(&sample(), db);
    let before = export(db, dir.path());
    let version = state_version(&url);
    let other = dir.path().join("other.csv");
    ok(&heymax(&[
        "generate",
        "--events",
        "5000",
        "--seed",
        "7",
        "--out",
        p(&other),
    ]));
    for point in ["mid-copy", "mid-commit"] {
        crashed_run(&other, &url, point);
        assert_eq!(state_version(&url), version, "{point}: nothing committed");
        assert_eq!(before, export(db, dir.path()), "{point}: marts unchanged");
        let staged = staging_tables(&url);
        assert_eq!(staged, 0, "{point}: no staging table left");
    }
    // The writer's lock died with the process: the next run goes through.
    run(&other, db);
    assert_eq!(state_version(&url), version + 1);
}

/// Starts `heymax run` on `input` and cuts its connection from the server's side once
/// its commit COPYs rows in; returns the finished process's output.
fn run_and_cut(input: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    let child = Command::new(env!("CARGO_BIN_EXE_heymax"))
        .args(["--quiet", "run", "--input", p(input), "--warehouse", url])
        .args(extra)
        .env_remove("HEYMAX_CRASH_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut admin = sql(url);
    let start = Instant::now();
    let mut cut = 0;
    while cut == 0 && start.elapsed() < Duration::from_secs(60) {
        cut = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = current_database() AND application_name = 'heymax'
                    AND state = 'active' AND query LIKE 'COPY%FROM STDIN%'
                    AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .len();
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert!(cut > 0, "never saw the COPY");
    out
}

fn runs_json(url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["runs"];
    args.extend_from_slice(extra);
    args.extend(["--warehouse", url, "--json"]);
    serde_json::from_str(&ok(&heymax(&args))).unwrap()
}

#[test]
fn a_dropped_connection_fails_the_run_cleanly_or_is_retried() {
    let Some(url) = database("heymax_dropped") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Path::new(&url);
    run(&sample(), db);
    let before = export(db, dir.path());
    let big = dir.path().join("big.csv");
    ok(&heymax(&[
        "generate",
        "--events",
        "300000",
        "--seed",
        "3",
        "--out",
        p(&big),
    ]));
    // No retries: the run fails, naming the database, and changes nothing.
    let out = run_and_cut(&big, &url, &["--retries", "0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("heymax@127.0.0.1"), "{stderr}");
    assert_eq!(before, export(db, dir.path()), "marts unchanged");
    // The run history lives in the database too, and says where it failed.
    let runs = runs_json(&url, &[]);
    assert_eq!(runs[0]["run_id"], 2);
    assert_eq!(runs[0]["status"], "failed");
    assert_eq!(runs[0]["failed_task"], "commit");
    assert_eq!(runs[1]["status"], "success");

    // With retries (the default): the commit is tried again on a new connection and the
    // run succeeds.
    let out = run_and_cut(&big, &url, &["--retry-delay", "0.2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(before, export(db, dir.path()), "the batch was loaded");
    let detail = runs_json(&url, &["show", "3"]);
    assert_eq!(detail["run"]["status"], "success");
    let commit = detail["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == "commit")
        .unwrap();
    assert_eq!(commit["attempts"], 2, "{commit}");
    assert_eq!(commit["state"], "success");
}

#[test]
fn connection_problems_are_one_clear_line_without_the_password() {
    // A port nothing listens on.
    let out = heymax(&[
        "run",
        "--input",
        p(&sample()),
        "--warehouse",
        "postgres://max:s3cret@127.0.0.1:1/growth",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("s3cret"), "{err}");
    assert!(
        err.contains("cannot connect to PostgreSQL at postgres://max@127.0.0.1:1/growth"),
        "{err}"
    );
    let Some(url) = database("heymax_errors") else {
        return;
    };
    // A database that does not exist.
    let (base, _) = url.rsplit_once('/').unwrap();
    let out = heymax(&[
        "marts",
        "export",
        "--warehouse",
        &format!("{base}/no_such_db"),
        "--out",
        "/tmp/unused",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database no_such_db does not exist"), "{err}");
    assert!(err.contains("createdb"), "{err}");
    // A user without the right to create schemas.
    sql(&url)
        .batch_execute(
            "DROP ROLE IF EXISTS heymax_reader; CREATE ROLE heymax_reader LOGIN PASSWORD 'pw'",
        )
        .unwrap();
    let reader = url.replacen("heymax@", "heymax_reader:pw@", 1);
    let out = heymax(&["run", "--input", p(&sample()), "--warehouse", &reader]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("user heymax_reader may not"), "{err}");
    assert!(err.contains("GRANT CREATE ON DATABASE"), "{err}");
    assert!(!err.contains(":pw@"), "{err}");
    // Reading a database heymax never wrote.
    let out = heymax(&[
        "marts",
        "export",
        "--warehouse",
        &url,
        "--out",
        "/tmp/unused",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not exist: run `heymax run"), "{err}");
}

#[test]
fn serve_and_export_read_the_marts_from_postgres() {
    let Some(url) = database("heymax_web") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    run(&sample(), Path::new(&url));
    let dist = fake_dist(dir.path());
    let site = |wh: &str, out: &Path| {
        ok(&heymax(&[
            "--quiet",
            "export",
            "--warehouse",
            wh,
            "--out",
            p(out),
            "--dist",
            p(&dist),
        ]))
    };
    let (from_pg, from_files) = (dir.path().join("pg"), dir.path().join("files"));
    site(&url, &from_pg);
    site(p(crate::util::sample_warehouse()), &from_files);
    for mart in MARTS {
        let file = format!("data/marts/{mart}.json");
        assert_eq!(
            std::fs::read(from_pg.join(&file)).unwrap(),
            std::fs::read(from_files.join(&file)).unwrap(),
            "{file}"
        );
    }
    let page = |root: &Path| std::fs::read_to_string(root.join("growth/index.html")).unwrap();
    assert_eq!(page(&from_pg), page(&from_files));
}

/// Issue 15 #9: a NUL byte in a field is quarantined by its line, never sent to
/// PostgreSQL (whose text cannot hold NUL, so one such value used to fail the batch on
/// every retry); the rest of the batch commits.
#[test]
fn a_nul_byte_is_quarantined_and_the_batch_commits() {
    let Some(url) = database("heymax_nul") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut body = HEADER.as_bytes().to_vec();
    body.extend_from_slice(b"2025-06-01 10:00:00,u_1,like,,,ios,tiktok,SG\n");
    body.extend_from_slice(b"2025-06-01 10:00:00,u_2,like,,,ios,tik\0tok,SG\n");
    body.extend_from_slice(b"2025-06-02 10:00:00,u_3,share,,,ios,tiktok,S\0G\n");
    let input = dir.path().join("nul.csv");
    std::fs::write(&input, body).unwrap();
    ok(&heymax(&[
        "--quiet",
        "run",
        "--max-quarantine",
        "100",
        "--retries",
        "0",
        "--input",
        p(&input),
        "--warehouse",
        &url,
    ]));
    let mut client = sql(&url);
    let rows = client
        .query(
            "SELECT line_number::bigint, raw, reason FROM quarantine.rows ORDER BY line_number",
            &[],
        )
        .unwrap();
    let got: Vec<(i64, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].0, got[1].0), (3, 4));
    assert!(got[0].1.contains("tik\u{2400}tok"), "{got:?}");
    assert!(
        got[0].2.contains("control character 0x00 in utm_source"),
        "{got:?}"
    );
    let gold: i64 = client
        .query_one("SELECT count(*) FROM gold.fact_events", &[])
        .unwrap()
        .get(0);
    assert_eq!(gold, 1);
}
