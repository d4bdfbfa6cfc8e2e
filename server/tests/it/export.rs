//! `heymax export`: every page pre-rendered with its numbers under the base path, the marts
//! and bundle beside them, identical output on a second run, and an output folder that is
//! replaced whole or refused, never half-written.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::*;

fn export_site(warehouse: &Path, dist: &Path, out: &Path, base: &str) -> std::process::Output {
    heymax(&[
        "--quiet",
        "export",
        "--warehouse",
        p(warehouse),
        "--dist",
        p(dist),
        "--out",
        p(out),
        "--base-path",
        base,
    ])
}

/// No `.heymax-export-*` staging folder is left beside the output.
fn assert_no_staging_left(dir: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".heymax"))
        .collect();
    assert!(leftovers.is_empty(), "staging folders left: {leftovers:?}");
}

fn html(out: &Path, page: &str) -> String {
    std::fs::read_to_string(out.join(page).join("index.html")).unwrap()
}

fn mart(out: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(out.join(format!("data/marts/{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `12345` -> `12,345`, as the pages format counts.
fn thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The last complete period of a growth mart and a column summed over its countries.
fn last_complete(rows: &[Value], column: &str) -> (String, i64) {
    let last = rows
        .iter()
        .filter(|r| r["is_complete"] == Value::Bool(true))
        .filter_map(|r| r["period"].as_str())
        .max()
        .unwrap()
        .to_string();
    let total = rows
        .iter()
        .filter(|r| r["period"] == Value::String(last.clone()))
        .map(|r| r[column].as_i64().unwrap())
        .sum();
    (last, total)
}

#[test]
fn every_page_is_pre_rendered_with_its_numbers_under_the_base_path() {
    let dir = tempfile::tempdir().unwrap();
    let dist = fake_dist(dir.path());
    let out = dir.path().join("www/heymax");
    let stdout = ok(&export_site(sample_warehouse(), &dist, &out, "/heymax/"));
    assert!(stdout.is_empty(), "--quiet prints nothing: {stdout}");

    let files = tree(&out);
    for page in [
        "index.html",
        "growth/index.html",
        "retention/index.html",
        "interactions/index.html",
        "explore/index.html",
        "404.html",
        "data/marts/user_growth_metrics_day.json",
        "data/marts/user_growth_metrics_week.json",
        "data/marts/user_growth_metrics_month.json",
        "data/marts/user_retention.json",
        "data/marts/user_interactions.json",
        "app-1.css",
        "plotly.min.js",
        ".nojekyll",
    ] {
        assert!(
            files.contains_key(Path::new(page)),
            "{page} missing: {:?}",
            files.keys()
        );
    }
    assert!(
        !files.contains_key(Path::new("app-1.css.gz")),
        "no .gz copies"
    );

    // Each page is its own pre-rendered HTML, with every URL under /heymax/.
    for (page, title) in [
        ("", "Overview"),
        ("growth", "Growth"),
        ("retention", "Retention"),
        ("interactions", "Interactions"),
        ("explore", "Explore"),
    ] {
        let html = html(&out, page);
        assert!(html.contains(&format!("<h1>{title}</h1>")), "{page}");
        let rendered = format!(
            r#"<meta name="heymax-prerendered" content="/heymax/{page}{}""#,
            if page.is_empty() { "" } else { "/" }
        );
        assert!(html.contains(&rendered), "{page}: {rendered}");
        for attr in ["href=\"", "src=\""] {
            for url in html.split(attr).skip(1).map(|s| &s[..s.find('"').unwrap()]) {
                assert!(
                    url.starts_with("/heymax/") || url.starts_with("data:") || url.starts_with('#'),
                    "{page}: {attr}{url} escapes the base path"
                );
            }
        }
    }
    let not_found = std::fs::read_to_string(out.join("404.html")).unwrap();
    assert!(not_found.contains("Page not found"));

    // Headline numbers, from the exported marts, are in the HTML before any script runs.
    let week = mart(&out, "user_growth_metrics_week");
    let (last_week, active) = last_complete(&week, "active_users");
    let overview = html(&out, "");
    assert!(overview.contains(&format!("Last complete week: {last_week}.")));
    assert!(
        overview.contains(&format!(">{}<", thousands(active))),
        "overview: active users {active} of {last_week}"
    );
    let sum = |rows: &[Value], key: &str, value: &str, column: &str| -> i64 {
        rows.iter()
            .filter(|r| r[key].as_str() == Some(value))
            .map(|r| r[column].as_f64().unwrap() as i64)
            .sum()
    };
    // Growth (weekly by default): the last complete week's row of the table.
    let row = format!(
        "<td>{last_week}</td><td>{}</td><td>{}</td><td>{}</td>",
        thousands(sum(&week, "period", &last_week, "new_users")),
        thousands(sum(&week, "period", &last_week, "retained_users")),
        thousands(sum(&week, "period", &last_week, "resurrected_users")),
    );
    assert!(html(&out, "growth").contains(&row), "growth: {row}");
    // Retention (weekly cohorts): the first cohort week and its size.
    let retention = mart(&out, "user_retention");
    let monday = |d: &str| {
        let d = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        use chrono::Datelike;
        (d - chrono::Days::new(d.weekday().num_days_from_monday().into())).to_string()
    };
    let first = retention
        .iter()
        .map(|r| monday(r["cohort_date"].as_str().unwrap()))
        .min()
        .unwrap();
    let size: i64 = retention
        .iter()
        .filter(|r| monday(r["cohort_date"].as_str().unwrap()) == first)
        .map(|r| r["cohort_size"].as_i64().unwrap())
        .sum();
    let row = format!("<td>{first}</td><td>{}</td>", thousands(size));
    assert!(html(&out, "retention").contains(&row), "retention: {row}");
    // Interactions: dining miles earned, all countries.
    let interactions: Vec<Value> = mart(&out, "user_interactions")
        .into_iter()
        .filter(|r| r["event_type"] == "miles_earned")
        .collect();
    let row = format!(
        "<td>miles_earned</td><td>dining</td><td>{}</td>",
        thousands(sum(
            &interactions,
            "transaction_category",
            "dining",
            "interactions"
        ))
    );
    assert!(
        html(&out, "interactions").contains(&row),
        "interactions: {row}"
    );
    // Explore (new users by day): the first day.
    let day = mart(&out, "user_growth_metrics_day");
    let first = day
        .iter()
        .filter_map(|r| r["period"].as_str())
        .min()
        .unwrap();
    let row = format!(
        "<td>{first}</td><td>{}</td>",
        thousands(sum(&day, "period", first, "new_users"))
    );
    assert!(html(&out, "explore").contains(&row), "explore: {row}");
}

#[test]
fn a_second_export_writes_identical_files() {
    let dir = tempfile::tempdir().unwrap();
    let dist = fake_dist(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(&export_site(sample_warehouse(), &dist, &a, "/heymax/"));
    ok(&export_site(sample_warehouse(), &dist, &b, "/heymax/"));
    let (a, b) = (tree(&a), tree(&b));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(
            bytes == &b[path],
            "{} differs between two exports",
            path.display()
        );
    }
}

#[test]
fn an_empty_warehouse_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let dist = fake_dist(dir.path());
    let out = dir.path().join("site");
    let result = export_site(&dir.path().join("no-warehouse"), &dist, &out, "/");
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("has no marts") && stderr.contains("heymax run"),
        "{stderr}"
    );
    assert!(!out.exists(), "no output folder");
    assert_no_staging_left(dir.path());
}

#[test]
fn a_previous_export_is_replaced_whole_and_other_folders_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let dist = fake_dist(dir.path());
    let out = dir.path().join("site");
    ok(&export_site(sample_warehouse(), &dist, &out, "/"));
    // A file only the old export had is gone after the new one: no mix of old and new.
    write(&out.join("growth/stale.html"), "old");
    ok(&export_site(sample_warehouse(), &dist, &out, "/heymax/"));
    assert!(!out.join("growth/stale.html").exists());
    assert!(html(&out, "growth").contains(r#"content="/heymax/growth/""#));

    // A folder heymax did not write is refused and kept as it was.
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    write(&mine.join("notes.txt"), "keep me");
    let result = export_site(sample_warehouse(), &dist, &mine, "/");
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("was not written by `heymax export`"),
        "{stderr}"
    );
    assert_eq!(tree(&mine).len(), 1);
}

#[test]
fn a_failed_export_leaves_the_previous_one_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let dist = fake_dist(dir.path());
    let out = dir.path().join("site");
    ok(&export_site(sample_warehouse(), &dist, &out, "/"));
    let before = tree(&out);
    // A bundle file that cannot be read fails the copy after the pages were rendered.
    std::os::unix::fs::symlink(dir.path().join("missing.js"), dist.join("broken.js")).unwrap();
    let result = export_site(sample_warehouse(), &dist, &out, "/heymax/");
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("broken.js"), "{stderr}");
    assert_eq!(tree(&out), before, "the previous export is intact");
    assert_no_staging_left(dir.path());
}

#[test]
fn drill_files_list_exactly_the_users_behind_each_number() {
    let dir = tempfile::tempdir().unwrap();
    let dist = fake_dist(dir.path());
    let out = dir.path().join("site");
    ok(&export_site(sample_warehouse(), &dist, &out, "/"));
    let read = |path: String| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(out.join(&path)).unwrap_or_else(|e| panic!("{path}: {e}")),
        )
        .unwrap()
    };
    // Growth: per grain, period, status and country, the users listed = the mart's count.
    for grain in ["day", "week", "month"] {
        let rows = mart(&out, &format!("user_growth_metrics_{grain}"));
        for (status, column) in [
            ("new", "new_users"),
            ("retained", "retained_users"),
            ("resurrected", "resurrected_users"),
            ("churned", "churned_users"),
        ] {
            let mut listed: BTreeMap<(String, String), i64> = BTreeMap::new();
            let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
            for r in &rows {
                let period = r["period"].as_str().unwrap().to_string();
                let n = r[column].as_i64().unwrap();
                if n != 0 {
                    expected.insert(
                        (period.clone(), r["country"].as_str().unwrap().to_string()),
                        n,
                    );
                }
            }
            let periods: std::collections::BTreeSet<String> = rows
                .iter()
                .map(|r| r["period"].as_str().unwrap().to_string())
                .collect();
            for period in periods {
                let grain_ = contract::Grain::parse(grain).unwrap();
                let status_ = contract::Status::parse(status).unwrap();
                let (header, users) = read_selection(&out, grain_, &period, Some(status_));
                let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
                let mut sorted = ids.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(
                    sorted, ids,
                    "{grain} {period} {status}: users once each, sorted"
                );
                assert_eq!(header.count, users.len() as u64);
                for u in &users {
                    // A churned user had no events in the period; everyone else had some.
                    assert_eq!(u.value == 0, status == "churned", "{grain} {period} {u:?}");
                    let country = u.country.clone().unwrap();
                    let code = header
                        .countries
                        .iter()
                        .position(|c| c.as_deref() == Some(&country));
                    assert!(code.is_some());
                    *listed.entry((period.clone(), country)).or_default() += 1;
                }
                // The header's breakdown is the list's, so the panel needs no user for it.
                for (c, &n) in header.by_country.iter().enumerate() {
                    let name = header.countries[c].clone().unwrap();
                    let found = users.iter().filter(|u| u.country.as_deref() == Some(&name));
                    assert_eq!(found.count() as u64, n, "{grain} {period} {status} {name}");
                }
            }
            assert_eq!(listed, expected, "{grain} {status}");
        }
    }
    // Retention: the cohort files hold each cohort's users and who was seen on day 7.
    let retention = mart(&out, "user_retention");
    let first = retention
        .iter()
        .map(|r| r["cohort_date"].as_str().unwrap())
        .min()
        .unwrap();
    let (header, users) = read_selection(&out, contract::Grain::Day, first, None);
    let cohort: Vec<&Value> = retention
        .iter()
        .filter(|r| r["cohort_date"] == first)
        .collect();
    let sum = |c: &str| cohort.iter().map(|r| r[c].as_i64().unwrap()).sum::<i64>();
    assert_eq!(users.len() as i64, sum("cohort_size"));
    // D1 and D7 are the second and third retention days (bits 1 and 2), in the list and
    // in the header's counts alike.
    assert_eq!(
        users.iter().filter(|u| u.seen & 0b010 != 0).count() as i64,
        sum("d1_retained")
    );
    assert_eq!(
        users.iter().filter(|u| u.seen & 0b100 != 0).count() as i64,
        sum("d7_retained")
    );
    let stats = header.cohort.unwrap();
    assert_eq!(
        stats.seen.iter().map(|s| s[2]).sum::<u64>() as i64,
        sum("d7_retained")
    );
    // Interactions: each country's flows have the mart's totals, and the top users' counts
    // add up to at most the flow's interactions.
    for row in mart(&out, "user_interactions") {
        let country = contract::paths::CountryScope::Country(row["country"].as_str().unwrap());
        let file = read(format!(
            "data/drill/interactions/{}.json",
            country.file_stem()
        ));
        let link = file["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| {
                l["event_type"] == row["event_type"]
                    && l["transaction_category"] == row["transaction_category"]
            })
            .unwrap_or_else(|| panic!("no flow for {row}"));
        assert_eq!(link["interactions"], row["interactions"], "{row}");
        assert_eq!(link["users"], row["users"], "{row}");
        let top: i64 = link["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u[1].as_i64().unwrap())
            .sum();
        assert!(top <= row["interactions"].as_i64().unwrap() && top > 0);
    }
}
