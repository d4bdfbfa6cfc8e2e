//! Event-time formats and the reporting time zone, through the binary: the sample with its
//! times written as ISO-Z, with `+08:00` offsets and as epoch milliseconds gives the
//! reference marts; `--timezone` moves the day a late-evening event counts on (Singapore)
//! and is right across DST changes (Berlin); a warehouse refuses a run in another zone.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{NaiveDateTime, TimeDelta};
use heymax::warehouse::{Location, Warehouse};

use crate::util::*;

/// The sample with `event_time` rewritten by `f` (a field `f` cannot read is kept as is).
fn rewrite_sample(out: &Path, f: impl Fn(NaiveDateTime) -> String) {
    let mut reader = csv::Reader::from_path(sample()).unwrap();
    let mut writer = csv::Writer::from_path(out).unwrap();
    writer.write_record(reader.headers().unwrap()).unwrap();
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "event_time")
        .unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        let fields: Vec<String> = record
            .iter()
            .enumerate()
            .map(
                |(i, field)| match NaiveDateTime::parse_from_str(field, "%Y-%m-%d %H:%M:%S%.f") {
                    Ok(t) if i == column => f(t),
                    _ => field.to_string(),
                },
            )
            .collect();
        writer.write_record(&fields).unwrap();
    }
    writer.flush().unwrap();
}

/// How a test writes a sample time.
type Rewrite = fn(NaiveDateTime) -> String;

#[test]
fn the_sample_in_iso_z_offsets_and_epoch_millis_gives_the_reference_marts() {
    let dir = tempfile::tempdir().unwrap();
    let forms: [(&str, Rewrite); 3] = [
        ("iso_z", |t| t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()),
        ("offset", |t| {
            (t + TimeDelta::hours(8))
                .format("%Y-%m-%dT%H:%M:%S%.f+08:00")
                .to_string()
        }),
        ("epoch_millis", |t| {
            t.and_utc().timestamp_millis().to_string()
        }),
    ];
    for (name, f) in forms {
        let input = dir.path().join(format!("{name}.csv"));
        rewrite_sample(&input, f);
        let text = std::fs::read_to_string(&input).unwrap();
        let first = text.lines().nth(1).unwrap();
        assert!(
            [
                "2025-05-04T09:50:20.784808Z,",
                "2025-05-04T17:50:20.784808+08:00,",
                "1746352220784,"
            ]
            .iter()
            .any(|p| first.starts_with(p)),
            "{name}: {first}"
        );
        let wh = dir.path().join(format!("wh-{name}"));
        run(&input, &wh);
        crate::seed::check_against_reference(&wh, dir.path());
    }
}

/// A small event file: `(time, user, country)` rows of `like` events.
fn events(dir: &Path, name: &str, rows: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text = HEADER.to_string();
    for (time, user) in rows {
        text.push_str(&format!("{time},{user},like,,,web,organic,SG\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run_with(input: &Path, wh: &Path, args: &[&str]) -> String {
    let mut all = vec!["--quiet", "run", "--input", p(input), "--warehouse", p(wh)];
    all.extend_from_slice(args);
    ok(&heymax(&all))
}

/// `active_users` per day of the growth day mart (SG).
fn active_by_day(marts: &Marts) -> BTreeMap<String, String> {
    marts["user_growth_metrics_day"]
        .1
        .iter()
        .map(|r| (r["period"].clone(), r["active_users"].clone()))
        .collect()
}

/// The `event_time` of gold.fact_events per user, as `YYYY-MM-DD HH:MM:SS` (the reporting zone's clock).
fn gold_times(wh: &Path) -> BTreeMap<String, String> {
    use polars::prelude::DataType;
    let mut w = Warehouse::open(&Location::Dir(wh.to_path_buf())).unwrap();
    let df = w
        .read_table("gold.fact_events", Some(&["event_time", "user_id"]))
        .unwrap();
    let times = df
        .column("event_time")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    let users = df.column("user_id").unwrap().str().unwrap().clone();
    times
        .i64()
        .unwrap()
        .into_no_null_iter()
        .zip(users.iter().flatten())
        .map(|(micros, user)| {
            let t = chrono::DateTime::from_timestamp_micros(micros).unwrap();
            (user.to_string(), t.format("%Y-%m-%d %H:%M:%S").to_string())
        })
        .collect()
}

#[test]
fn a_user_active_at_2330_utc_counts_on_the_next_day_in_singapore() {
    let dir = tempfile::tempdir().unwrap();
    let input = events(
        dir.path(),
        "late.csv",
        &[
            ("2025-05-04 12:00:00", "u_noon"),
            ("2025-05-04 23:30:00", "u_late"),
            ("2025-05-06 10:00:00", "u_later"),
        ],
    );
    let utc = dir.path().join("utc");
    run_with(&input, &utc, &[]);
    let singapore = dir.path().join("sg");
    run_with(&input, &singapore, &["--timezone", "Asia/Singapore"]);

    let days = active_by_day(&export(&utc, dir.path()));
    assert_eq!(days["2025-05-04"], "2", "{days:?}");
    assert_eq!(days["2025-05-05"], "0", "{days:?}");
    // See: METRICS.md, Time zone: 23:30 UTC is 07:30 the next day in Singapore.
    let marts = export(&singapore, dir.path());
    let days = active_by_day(&marts);
    assert_eq!(days["2025-05-04"], "1", "{days:?}");
    assert_eq!(days["2025-05-05"], "1", "{days:?}");
    let cohorts: Vec<&str> = marts["user_retention"]
        .1
        .iter()
        .map(|r| r["cohort_date"].as_str())
        .collect();
    assert_eq!(cohorts, ["2025-05-04", "2025-05-05", "2025-05-06"]);
    assert_eq!(gold_times(&singapore)["u_late"], "2025-05-05 07:30:00");
}

/// Europe/Berlin goes from +01:00 to +02:00 at 2025-03-30 01:00 UTC and back at
/// 2025-10-26 01:00 UTC.
#[test]
fn berlin_periods_are_right_across_both_dst_changes() {
    let dir = tempfile::tempdir().unwrap();
    let input = events(
        dir.path(),
        "dst.csv",
        &[
            ("2025-03-29T23:30:00Z", "u_spring_midnight"),
            ("2025-03-30T00:59:59Z", "u_before_jump"),
            ("2025-03-30T01:00:00Z", "u_after_jump"),
            ("2025-03-30T22:30:00Z", "u_spring_late"),
            ("2025-10-25T22:30:00Z", "u_autumn_midnight"),
            ("2025-10-26T00:30:00Z", "u_first_0230"),
            ("2025-10-26T01:30:00Z", "u_second_0230"),
            ("2025-10-26T23:30:00Z", "u_autumn_late"),
        ],
    );
    let wh = dir.path().join("berlin");
    run_with(&input, &wh, &["--timezone", "Europe/Berlin"]);
    let times = gold_times(&wh);
    for (user, local) in [
        ("u_spring_midnight", "2025-03-30 00:30:00"),
        ("u_before_jump", "2025-03-30 01:59:59"),
        ("u_after_jump", "2025-03-30 03:00:00"),
        ("u_spring_late", "2025-03-31 00:30:00"),
        ("u_autumn_midnight", "2025-10-26 00:30:00"),
        ("u_first_0230", "2025-10-26 02:30:00"),
        ("u_second_0230", "2025-10-26 02:30:00"),
        ("u_autumn_late", "2025-10-27 00:30:00"),
    ] {
        assert_eq!(times[user], local, "{user}");
    }
    let days = active_by_day(&export(&wh, dir.path()));
    for (day, active) in [
        ("2025-03-29", None),
        ("2025-03-30", Some("3")),
        ("2025-03-31", Some("1")),
        ("2025-10-25", Some("0")),
        ("2025-10-26", Some("3")),
        ("2025-10-27", Some("1")),
    ] {
        assert_eq!(days.get(day).map(String::as_str), active, "{day}: {days:?}");
    }
}

#[test]
fn zone_less_berlin_times_quarantine_the_gap_and_take_the_earlier_of_two() {
    let dir = tempfile::tempdir().unwrap();
    let input = events(
        dir.path(),
        "local.csv",
        &[
            ("2025-03-30 01:59:59", "u_before_gap"),
            ("2025-03-30 02:30:00", "u_in_gap"),
            ("2025-03-30 03:00:00", "u_after_gap"),
            ("2025-10-26 02:30:00", "u_twice"),
            ("2025-10-26 03:00:00", "u_after_fold"),
        ],
    );
    let wh = dir.path().join("wh");
    let out = heymax(&[
        "run",
        "--json",
        "--input",
        p(&input),
        "--warehouse",
        p(&wh),
        "--source-timezone",
        "Europe/Berlin",
        "--max-quarantine",
        "50",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(summary["ingest"]["quarantined"], 1, "{summary}");
    let sample = summary["quarantine_sample"].to_string();
    assert!(
        sample.contains("2025-03-30 02:30:00")
            && sample.contains("DST gap")
            && sample.contains(",3,"),
        "{sample}"
    );
    // Reported in UTC (the default): the instants.
    let times = gold_times(&wh);
    assert!(!times.contains_key("u_in_gap"));
    for (user, utc) in [
        ("u_before_gap", "2025-03-30 00:59:59"),
        ("u_after_gap", "2025-03-30 01:00:00"),
        // 02:30 happens twice on 2025-10-26: the first one (+02:00) is taken.
        ("u_twice", "2025-10-26 00:30:00"),
        ("u_after_fold", "2025-10-26 02:00:00"),
    ] {
        assert_eq!(times[user], utc, "{user}");
    }
}

fn state(wh: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(wh.join("_heymax/state.json")).unwrap()).unwrap()
}

#[test]
fn a_warehouse_refuses_a_run_in_another_zone() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    run_with(&sample(), &wh, &["--timezone", "Asia/Singapore"]);
    assert_eq!(state(&wh)["timezone"], "Asia/Singapore");
    let before = std::fs::read(wh.join("_heymax/state.json")).unwrap();
    let marts = export(&wh, dir.path());

    let out = heymax(&[
        "--quiet",
        "run",
        "--input",
        p(&sample()),
        "--warehouse",
        p(&wh),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this warehouse cuts periods in Asia/Singapore; run with --timezone Asia/Singapore, or load into a new warehouse"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(wh.join("_heymax/state.json")).unwrap(),
        before
    );
    assert_eq!(export(&wh, dir.path()), marts);

    // The same zone, from the environment: loads.
    ok(&heymax_env(
        &[
            "--quiet",
            "run",
            "--input",
            p(&sample()),
            "--warehouse",
            p(&wh),
        ],
        &[("HEYMAX_TIMEZONE", "Asia/Singapore")],
    ));
    assert_eq!(state(&wh)["batches"].as_array().unwrap().len(), 2);

    // A bad name is refused before anything, with examples.
    let out = heymax(&[
        "run",
        "--input",
        p(&sample()),
        "--warehouse",
        p(&wh),
        "--timezone",
        "Singapore/Asia",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("Asia/Singapore, Europe/Berlin"), "{stderr}");
}

#[test]
fn a_warehouse_from_before_zones_were_recorded_is_utc() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    run(&sample(), &wh);
    let mut old = state(&wh);
    assert_eq!(old["timezone"], "UTC");
    old.as_object_mut().unwrap().remove("timezone");
    std::fs::write(
        wh.join("_heymax/state.json"),
        serde_json::to_vec_pretty(&old).unwrap(),
    )
    .unwrap();

    let out = heymax(&[
        "--quiet",
        "run",
        "--input",
        p(&sample()),
        "--warehouse",
        p(&wh),
        "--timezone",
        "Europe/Berlin",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this warehouse cuts periods in UTC"),
        "{stderr}"
    );
    run(&sample(), &wh);
    assert_eq!(state(&wh)["timezone"], "UTC");
}

/// `[time]` in heymax.toml sets the zones; `--timezone` wins over it; a zone that is not
/// one is refused with its line before anything is written.
#[test]
fn heymax_toml_sets_the_zones_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let input = events(dir.path(), "late.csv", &[("2025-05-04 23:30:00", "u_late")]);
    let config = dir.path().join("heymax.toml");
    write(
        &config,
        "[time]\nformat = \"iso\"\nsource_timezone = \"UTC\"\ntimezone = \"Asia/Singapore\"\n",
    );
    let from_config = dir.path().join("from-config");
    let summary = ok(&heymax(&[
        "run",
        "--input",
        p(&input),
        "--warehouse",
        p(&from_config),
    ]));
    assert!(
        summary.contains("periods cut in Asia/Singapore"),
        "{summary}"
    );
    assert_eq!(gold_times(&from_config)["u_late"], "2025-05-05 07:30:00");
    let from_cli = dir.path().join("from-cli");
    run_with(&input, &from_cli, &["--timezone", "Europe/Berlin"]);
    assert_eq!(gold_times(&from_cli)["u_late"], "2025-05-05 01:30:00");

    write(&config, "[time]\n\ntimezone = \"Asia/Singapur\"\n");
    let refused = dir.path().join("refused");
    let out = heymax(&["run", "--input", p(&input), "--warehouse", p(&refused)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("heymax.toml, line 3"), "{err}");
    assert!(err.contains("unknown time zone"), "{err}");
    assert!(
        !refused.join("_heymax").exists(),
        "nothing is written: {err}"
    );
}
