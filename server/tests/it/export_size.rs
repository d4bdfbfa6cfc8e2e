//! `heymax export`'s size budget: the report it prints matches the folder it wrote, and a
//! site over `--max-size` or with a file over `--max-file-size` is refused with the limit
//! named, leaving a previous export in the output folder byte for byte as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use heymax::static_site::size::human;

use crate::util::*;

fn export_with(dist: &Path, out: &Path, base: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "export",
        "--warehouse",
        p(sample_warehouse()),
        "--dist",
        p(dist),
        "--out",
        p(out),
        "--base-path",
        base,
    ];
    args.extend_from_slice(extra);
    heymax(&args)
}

/// Exports the sample to `dir/site` under `/` and returns the folder and its files.
fn previous_export(dir: &Path) -> (PathBuf, PathBuf, BTreeMap<PathBuf, Vec<u8>>) {
    let dist = fake_dist(dir);
    let out = dir.join("site");
    ok(&export_with(&dist, &out, "/", &["--quiet"]));
    let before = tree(&out);
    assert!(before.len() > 10, "a real export: {:?}", before.keys());
    (dist, out, before)
}

/// A refused export: exit 1, its message, the output folder as it was, no staging left.
/// The refused export uses another base path, so had it been written, the pages would differ.
fn refused(dir: &Path, extra: &[&str]) -> String {
    let (dist, out, before) = previous_export(dir);
    let result = export_with(&dist, &out, "/heymax/", extra);
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        String::from_utf8_lossy(&result.stdout).is_empty(),
        "no report for a refused site"
    );
    assert!(
        tree(&out) == before,
        "the previous export changed: {stderr}"
    );
    let beside: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".heymax"))
        .collect();
    assert!(beside.is_empty(), "staging folders left: {beside:?}");
    stderr
}

#[test]
fn the_export_reports_its_size_by_part_and_its_largest_files() {
    let dir = tempfile::tempdir().unwrap();
    let dist = fake_dist(dir.path());
    let out = dir.path().join("site");
    let stdout = ok(&export_with(&dist, &out, "/", &[]));
    let files = tree(&out);
    let total: usize = files.values().map(Vec::len).sum();
    // The totals are what is on disk.
    let headline = format!("{} files ({}) in", files.len(), human(total as u64));
    assert!(stdout.contains(&headline), "{headline}:\n{stdout}");
    for part in [
        "pages (HTML)",
        "browser bundle",
        "marts data",
        "drill-down data",
        "run history",
        "largest files:",
        "of --max-size 1 GB",
        "of --max-file-size 25 MiB",
        "python3 -m http.server",
    ] {
        assert!(stdout.contains(part), "{part}:\n{stdout}");
    }
    // The largest file is listed first after the heading, with its size.
    let (path, bytes) = files.iter().max_by_key(|(_, b)| b.len()).unwrap();
    let listed = stdout
        .split("largest files:")
        .nth(1)
        .and_then(|s| s.lines().nth(1))
        .unwrap_or_default();
    assert!(
        listed.ends_with(&format!(
            "{}  {}",
            human(bytes.len() as u64),
            path.display()
        )),
        "{listed:?}:\n{stdout}"
    );
}

#[test]
fn a_site_over_max_size_is_refused_and_the_previous_export_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = refused(dir.path(), &["--max-size", "10KB"]);
    for part in [
        "refusing to write the site: the site would be",
        "over --max-size 10 KB by",
        "nothing was written",
        "by part:",
        "drill-down data",
        "largest files:",
        "raise --max-size",
    ] {
        assert!(stderr.contains(part), "{part}:\n{stderr}");
    }
    assert!(!stderr.contains("over --max-file-size"), "{stderr}");
}

#[test]
fn a_file_over_max_file_size_is_refused_and_the_previous_export_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = refused(dir.path(), &["--max-file-size", "1KiB"]);
    for part in [
        "files are over --max-file-size 1 KiB, the largest ",
        "over by",
        "nothing was written",
        "largest files:",
        "raise --max-file-size",
    ] {
        assert!(stderr.contains(part), "{part}:\n{stderr}");
    }
    assert!(!stderr.contains("over --max-size"), "{stderr}");
}

#[test]
fn a_bad_size_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let result = heymax(&[
        "export",
        "--warehouse",
        p(&dir.path().join("wh")),
        "--out",
        p(&out),
        "--max-size",
        "12XB",
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--max-size") && stderr.contains("\"XB\" is not a unit"),
        "{stderr}"
    );
    assert!(!out.exists());
}
