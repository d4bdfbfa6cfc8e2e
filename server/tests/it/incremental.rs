//! Incremental loads: the same file twice changes no gold or mart row; a second file with
//! new events appends them; silver keeps every batch.

use crate::util::*;

fn split_sample(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let text = std::fs::read_to_string(sample()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let (a, b) = rows.split_at(rows.len() / 2);
    let first = write(&dir.join("a.csv"), &format!("{header}\n{}\n", a.join("\n")));
    // The second file repeats 100 rows of the first: they must not count twice.
    let second = write(
        &dir.join("b.csv"),
        &format!("{header}\n{}\n{}\n", a[..100].join("\n"), b.join("\n")),
    );
    (first, second)
}

/// The sample split in two files, loaded whole into `whole` and its first half into `inc`.
struct Split {
    first: std::path::PathBuf,
    second: std::path::PathBuf,
    whole: std::path::PathBuf,
    inc: std::path::PathBuf,
}

fn whole_and_first_half(dir: &std::path::Path) -> Split {
    let (first, second) = split_sample(dir);
    let whole = dir.join("whole");
    run(&sample(), &whole);
    let inc = dir.join("inc");
    run(&first, &inc);
    Split {
        first,
        second,
        whole,
        inc,
    }
}

#[test]
fn reloading_the_same_file_changes_no_mart_row() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    run(&sample(), &wh);
    let before = export(&wh, dir.path());
    let out = run(&sample(), &wh);
    let _ = out;
    let after = export(&wh, dir.path());
    assert_eq!(before, after);
    // Silver has both batches (the audit trail); gold has each event once.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("_heymax/state.json")).unwrap()).unwrap();
    assert_eq!(
        state["tables"]["silver.events"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        state["tables"]["gold.fact_events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(state["batches"][1]["new_in_gold"], 0);
}

#[test]
fn a_second_file_appends_its_new_events() {
    let dir = tempfile::tempdir().unwrap();
    let Split {
        first: _,
        second,
        whole,
        inc,
    } = whole_and_first_half(dir.path());
    let out = ok(&heymax(&[
        "run",
        "--input",
        p(&second),
        "--warehouse",
        p(&inc),
    ]));
    assert!(out.contains("100 duplicates skipped"), "{out}");
    assert_eq!(
        export(&whole, dir.path()),
        export(&inc, dir.path()),
        "two batches = one whole load"
    );
}

#[test]
fn a_directory_loads_all_its_csv_files_as_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inbox");
    std::fs::create_dir(&inputs).unwrap();
    split_sample(&inputs);
    let wh = dir.path().join("wh");
    run(&inputs, &wh);
    let whole = dir.path().join("whole");
    run(&sample(), &whole);
    assert_eq!(export(&whole, dir.path()), export(&wh, dir.path()));
}

/// The slim parts of a folder warehouse's `state.json` (gold's events as codes).
fn slim_parts(wh: &std::path::Path) -> Vec<String> {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("_heymax/state.json")).unwrap()).unwrap();
    state["tables"]["gold._slim_events"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn gold_slim_parts_are_a_cache_a_missing_or_stale_one_is_rebuilt_from_gold() {
    let dir = tempfile::tempdir().unwrap();
    let Split {
        first,
        second,
        whole,
        inc,
    } = whole_and_first_half(dir.path());
    let parts = slim_parts(&inc);
    assert_eq!(parts, vec!["gold/_slim_events/batch=000001.parquet"]);
    // A stale slim part (another part's rows) and then a missing one: the next run reads
    // gold instead, gives the same marts, and writes the part again.
    let stale = inc.join(&parts[0]);
    let other = dir.path().join("other");
    run(&second, &other);
    std::fs::copy(other.join(&slim_parts(&other)[0]), &stale).unwrap();
    run(&second, &inc);
    assert_eq!(export(&whole, dir.path()), export(&inc, dir.path()));
    assert_eq!(
        slim_parts(&inc),
        vec![
            "gold/_slim_events/batch=000001.parquet",
            "gold/_slim_events/batch=000002.parquet"
        ]
    );
    std::fs::remove_file(&stale).unwrap();
    run(&first, &inc);
    assert_eq!(export(&whole, dir.path()), export(&inc, dir.path()));
    assert!(stale.exists(), "the missing slim part is written again");
}

/// `heymax bench --append`: both splits of a generated input append exactly (the bench
/// itself compares the marts with the whole load's and fails when they differ).
#[test]
fn the_append_bench_times_exact_appends() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = heymax_env(
        &[
            "bench", "--sizes", "3000", "--shapes", "steady", "--append", "200", "--json",
        ],
        &[("HEYMAX_BENCH_DIR", data)],
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    let appends = json["appends"].as_array().unwrap();
    let splits: Vec<&str> = appends
        .iter()
        .map(|a| a["split"].as_str().unwrap())
        .collect();
    assert_eq!(splits, ["newest", "lines"]);
    for a in appends {
        assert_eq!(a["marts_identical"], true);
        assert_eq!(
            a["base_events"].as_u64().unwrap() + a["appended_events"].as_u64().unwrap(),
            3000
        );
        assert!(a["append_seconds"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(appends[1]["appended_events"], 200);
    // The split files are gone; the generated input stays for the next bench.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["events_3000_seed1_steady.csv"]);
}
