//! Your own events: the sample written the ways real exports write it (other names and
//! cases, other delimiters, extra columns, padded values, NDJSON with nested properties,
//! gzip, zstd, Parquet with typed columns, ISO 8601 times with `T` and `Z`) loads into the
//! reference marts with the same event ids; declared event types; `heymax init`;
//! configuration errors that name their line.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::seed::check_against_reference;
use crate::util::*;

/// The sample's rows as column -> text.
fn sample_rows() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(sample()).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// Every event id in gold.
fn event_ids(wh: &Path) -> BTreeSet<i64> {
    let mut ids = BTreeSet::new();
    for entry in std::fs::read_dir(wh.join("gold/fact_events")).unwrap() {
        let file = std::fs::File::open(entry.unwrap().path()).unwrap();
        let df = ParquetReader::new(file).finish().unwrap();
        ids.extend(
            df.column("event_id")
                .unwrap()
                .i64()
                .unwrap()
                .into_no_null_iter(),
        );
    }
    ids
}

fn csv_like(rows: &[Vec<String>], delimiter: char) -> String {
    let mut out = format!(
        "{}\n",
        "EVENT_TIME,User_Id,event_type,transaction_category,miles_amount,platform,utm_source,country,session_id"
            .replace(',', &delimiter.to_string())
    );
    for r in rows {
        let mut r = r.clone();
        r[2] = r[2].to_uppercase();
        r[7] = format!(" {} ", r[7].to_lowercase());
        r.push("s-1".into());
        out.push_str(&r.join(&delimiter.to_string()));
        out.push('\n');
    }
    out
}

fn ndjson(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for r in rows {
        let miles = if r[4].is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(r[4].parse::<f64>().unwrap())
        };
        let category = if r[3].is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(r[3])
        };
        let line = serde_json::json!({
            "timestamp": r[0],
            "distinct_id": r[1],
            "event": r[2],
            "properties": {"category": category, "miles": miles, "country": r[7]},
            "context": {"platform": r[5], "utm_source": r[6]},
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// The sample as Parquet: `event_time` a microsecond timestamp, `miles_amount` a double,
/// the rest text (empty text as null).
fn write_parquet(rows: &[Vec<String>], path: &Path) {
    let micros: Vec<i64> = rows
        .iter()
        .map(|r| {
            let format = if r[0].len() > 19 {
                "%Y-%m-%d %H:%M:%S%.f"
            } else {
                "%Y-%m-%d %H:%M:%S"
            };
            chrono::NaiveDateTime::parse_from_str(&r[0], format)
                .unwrap()
                .and_utc()
                .timestamp_micros()
        })
        .collect();
    let text = |i: usize| -> Vec<Option<&str>> {
        rows.iter()
            .map(|r| (!r[i].is_empty()).then_some(r[i].as_str()))
            .collect()
    };
    let miles: Vec<Option<f64>> = rows.iter().map(|r| r[4].parse().ok()).collect();
    let mut columns = vec![
        Series::new("event_time".into(), micros)
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .unwrap()
            .into_column(),
    ];
    for (i, name) in [
        (1, "user_id"),
        (2, "event_type"),
        (3, "transaction_category"),
    ] {
        columns.push(Column::new(name.into(), text(i)));
    }
    columns.push(Column::new("miles_amount".into(), miles));
    for (i, name) in [(5, "platform"), (6, "utm_source"), (7, "country")] {
        columns.push(Column::new(name.into(), text(i)));
    }
    let mut df = DataFrame::new(rows.len(), columns).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .finish(&mut df)
        .unwrap();
}

const NDJSON_CONFIG: &str = r#"
[columns]
event_time = "timestamp"
user_id = "distinct_id"
event_type = "event"
transaction_category = "properties.category"
miles_amount = "properties.miles"
platform = "context.platform"
utm_source = "context.utm_source"
country = "properties.country"
"#;

#[test]
fn the_sample_in_every_format_gives_the_reference_marts_and_the_same_event_ids() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    run(&sample(), &plain);
    let ids = event_ids(&plain);
    assert_eq!(ids.len(), 10_000);
    let rows = sample_rows();
    let sample_text = std::fs::read(sample()).unwrap();

    let mut inputs = Vec::new();
    let folder = |name: &str| {
        let f = dir.path().join(name);
        std::fs::create_dir_all(&f).unwrap();
        f
    };
    // Semicolons and tabs, names in other cases, an extra column, padded lower-case
    // countries, upper-case event types: detected and normalised with no configuration.
    inputs.push(write(
        &folder("semi").join("events.csv"),
        &csv_like(&rows, ';'),
    ));
    inputs.push(write(
        &folder("tab").join("events.tsv"),
        &csv_like(&rows, '\t'),
    ));
    // NDJSON with nested properties, mapped by heymax.toml beside it.
    let nd = folder("ndjson");
    write(&nd.join("heymax.toml"), NDJSON_CONFIG);
    write(&nd.join("events.ndjson"), &ndjson(&rows));
    inputs.push(nd);
    let gz = folder("gzip").join("events.csv.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&sample_text).unwrap();
    enc.finish().unwrap();
    inputs.push(gz);
    let zst = folder("zstd").join("events.csv.zst");
    std::fs::write(&zst, zstd::stream::encode_all(&sample_text[..], 3).unwrap()).unwrap();
    inputs.push(zst);

    // Parquet as a warehouse tool writes it: a timestamp column and a float column.
    let parquet = folder("parquet").join("events.parquet");
    write_parquet(&rows, &parquet);
    inputs.push(parquet);
    // ISO 8601 with `T` and `Z`, as Segment or BigQuery write it: the same instants.
    let iso: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[0] = format!("{}Z", r[0].replacen(' ', "T", 1));
            r
        })
        .collect();
    inputs.push(write(
        &folder("iso").join("events.csv"),
        &csv_like(&iso, ','),
    ));

    for input in &inputs {
        let wh = dir.path().join(format!(
            "wh-{}",
            input
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
        ));
        let out = ok(&heymax(&[
            "run",
            "--input",
            p(input),
            "--warehouse",
            p(&wh),
        ]));
        assert!(
            out.contains("quarantine              0"),
            "{}: {out}",
            input.display()
        );
        check_against_reference(&wh, dir.path());
        assert_eq!(event_ids(&wh), ids, "{}: event ids", input.display());
    }
}

#[test]
fn the_summary_says_how_a_file_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let rows = sample_rows();
    let input = write(&dir.path().join("events.csv"), &csv_like(&rows[..50], ';'));
    let out = ok(&heymax(&[
        "run",
        "--input",
        p(&input),
        "--warehouse",
        p(&dir.path().join("wh")),
    ]));
    assert!(out.contains("delimiter ;"), "{out}");
    assert!(out.contains("user_id <- User_Id"), "{out}");
    assert!(out.contains("ignored session_id"), "{out}");
}

fn typed_events(dir: &Path) -> std::path::PathBuf {
    write(
        &dir.join("events.csv"),
        "event_time,user_id,event_type\n\
         2025-05-01 10:00:00,u1,signup\n\
         2025-05-01 11:00:00,u1,purchase\n\
         2025-05-02 10:00:00,u2,app_open\n\
         2025-05-02 12:00:00,u3,Purchase\n",
    )
}

#[test]
fn declared_event_types_are_counted_and_others_kept_or_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    let input = typed_events(dir.path());
    write(
        &dir.path().join("heymax.toml"),
        "[events]\ntypes = [\"signup\", \"purchase\"]\nunknown = \"keep\"\n",
    );
    let wh = dir.path().join("kept");
    run(&input, &wh);
    let marts = export(&wh, dir.path());
    let (_, day) = &marts["user_growth_metrics_day"];
    let active: i64 = day
        .iter()
        .map(|r| r["active_users"].parse::<i64>().unwrap())
        .sum();
    // u1 on day 1, u2 (an undeclared type, kept) and u3 on day 2.
    assert_eq!(active, 3, "{day:?}");
    let (_, interactions) = &marts["user_interactions"];
    let types: BTreeSet<&str> = interactions
        .iter()
        .map(|r| r["event_type"].as_str())
        .collect();
    assert_eq!(types, BTreeSet::from(["purchase", "signup"]));
    let purchases: i64 = interactions
        .iter()
        .filter(|r| r["event_type"] == "purchase")
        .map(|r| r["interactions"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(purchases, 2, "Purchase is purchase");

    // The default: an undeclared type is quarantined with its reason.
    write(
        &dir.path().join("heymax.toml"),
        "[events]\ntypes = [\"signup\", \"purchase\"]\n",
    );
    let out = heymax(&[
        "run",
        "--max-quarantine",
        "50",
        "--input",
        p(&input),
        "--warehouse",
        p(&dir.path().join("quarantined")),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("unknown event_type \"app_open\""), "{text}");
    assert!(text.contains("expected one of signup, purchase"), "{text}");
}

#[test]
fn init_writes_the_config_run_takes() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        &dir.path().join("export.csv"),
        "timestamp;distinct_id;event;$os\n\
         2025-05-01 10:00:00;u1;signup;ios\n\
         2025-05-02 10:00:00;u2;purchase;android\n",
    );
    let out = ok(&heymax(&["init", p(&input)]));
    assert!(
        out.contains("user_id                <- distinct_id"),
        "{out}"
    );
    let config = std::fs::read_to_string(dir.path().join("heymax.toml")).unwrap();
    assert!(
        config.contains("types = [\"purchase\", \"signup\"]"),
        "{config}"
    );
    assert!(config.contains("platform = \"$os\""), "{config}");
    // A second init does not overwrite it unless told.
    let again = heymax(&["init", p(&input)]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let wh = dir.path().join("wh");
    run(&input, &wh);
    let (_, day) = &export(&wh, dir.path())["user_growth_metrics_day"];
    let new: i64 = day
        .iter()
        .map(|r| r["new_users"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(new, 2);
}

#[test]
fn a_wrong_config_names_its_file_and_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = typed_events(dir.path());
    for (config, want) in [
        ("[columns]\nuser_id = \"u\"\nevent_tyep = \"e\"\n", "line 3"),
        ("[events]\n\ntypes = []\n", "line 3"),
        ("[input]\ndelimiter = \"::\"\n", "line 2"),
    ] {
        let path = write(&dir.path().join("heymax.toml"), config);
        let wh = dir.path().join("wh");
        let out = heymax(&["run", "--input", p(&input), "--warehouse", p(&wh)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{config}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains(want), "{config:?}: {err}");
        assert!(!wh.exists(), "nothing written");
    }
    // --config wins over the file beside the input.
    let good = write(
        &dir.path().join("good.toml"),
        "[events]\ntypes = [\"signup\", \"purchase\", \"app_open\"]\n",
    );
    let wh = dir.path().join("wh");
    ok(&heymax(&[
        "run",
        "--config",
        p(&good),
        "--input",
        p(&input),
        "--warehouse",
        p(&wh),
    ]));
}
