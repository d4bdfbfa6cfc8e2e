//! Data that looks like paths, URL syntax or reserved words: countries named
//! `../../../../PWNED`, an absolute path, `a/b`, `a#b`, `a?b`, `a,b`, `all`, `unknown`, 1,000
//! characters long, and user ids that are UUIDs or e-mails sharing their first 19
//! characters. The export writes every drill file inside `--out`, named by
//! `contract::paths::CountryScope::file_stem`; `serve` answers the same files at the same URLs; and
//! each drill file lists exactly the users the marts count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use contract::paths::{CountryScope, is_file_stem};
use heymax::drill::DrillStore;
use heymax::web::{Bundle, Head, MartStore, Runs, Site, router};
use serde_json::Value;
use tower::ServiceExt;

use crate::util::*;

/// The countries of the fixture; `{abs}` becomes an absolute path under the test's folder.
fn countries(abs: &str) -> Vec<String> {
    let mut names: Vec<String> = [
        "../../../../PWNED",
        "a/b",
        "a#b",
        "a?b",
        "a,b",
        "a%2Fb",
        "all",
        "unknown",
        "none",
        ".",
        "..",
        "SG",
    ]
    .map(String::from)
    .to_vec();
    names.push(abs.to_string());
    names.push("x".repeat(1000));
    names
}

/// The users of country `c`: a UUID, two e-mails whose first 19 characters are the same as
/// every other country's (`someone.with.a.long…`), and a short id.
fn users(c: usize) -> [String; 4] {
    [
        format!("{c:08x}-9a4d-4e8b-b1c2-5d6e7f8091a2"),
        format!("someone.with.a.long.name+{c}a@example.com"),
        format!("someone.with.a.long.name+{c}b@example.com"),
        format!("u{c}"),
    ]
}

/// Every country's users on days that make each of them new, retained, churned and
/// resurrected somewhere.
fn write_events(path: &Path, countries: &[String]) {
    let mut csv = csv::Writer::from_path(path).unwrap();
    csv.write_record(HEADER.trim_end().split(',')).unwrap();
    for (c, country) in countries.iter().enumerate() {
        for (u, user) in users(c).iter().enumerate() {
            for day in [1 + u, 2 + u, 9 + u + c % 3, 20] {
                for (event, category) in [("miles_earned", "dining"), ("like", "")] {
                    let time = format!("2025-03-{day:02} 09:50:20.784808");
                    let miles = if category.is_empty() { "" } else { "12.5" };
                    csv.write_record([
                        time.as_str(),
                        user.as_str(),
                        event,
                        category,
                        miles,
                        "web",
                        "ads",
                        country.as_str(),
                    ])
                    .unwrap();
                }
            }
        }
    }
    csv.flush().unwrap();
}

/// A warehouse built from the fixture, its folder, and the absolute-path country.
fn hostile_warehouse() -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let abs = dir.path().join("abs-target").display().to_string();
    let countries = countries(&abs);
    let input = dir.path().join("events.csv");
    write_events(&input, &countries);
    // The names must reach the site as they are: no trimming or upper-casing on the way.
    std::fs::write(
        dir.path().join("heymax.toml"),
        "[values]\ntrim = false\ncountry = \"as_is\"\n",
    )
    .unwrap();
    let wh = dir.path().join("wh");
    run(&input, &wh);
    (dir, wh, countries)
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    tree(dir).into_keys().collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `heymax export` of `wh` into `<dir>/www/site`, and what it answered.
fn try_export(wh: &Path, dir: &Path) -> (PathBuf, std::process::Output) {
    let dist = fake_dist(dir);
    let out = dir.join("www/site");
    let output = heymax(&[
        "--quiet",
        "export",
        "--warehouse",
        p(wh),
        "--dist",
        p(&dist),
        "--out",
        p(&out),
    ]);
    (out, output)
}

fn export_to(wh: &Path, dir: &Path) -> PathBuf {
    let (out, output) = try_export(wh, dir);
    ok(&output);
    out
}

/// Every user id of the fixture, whole.
fn all_ids(countries: &[String]) -> BTreeSet<String> {
    (0..countries.len()).flat_map(users).collect()
}

/// A flow of an interactions drill file, by event type and category.
fn flow<'a>(file: &'a Value, event: &Value, category: &Value) -> &'a Value {
    file["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| &l["event_type"] == event && &l["transaction_category"] == category)
        .unwrap_or_else(|| panic!("no flow {event} -> {category} in {}", file["country"]))
}

#[test]
fn the_export_writes_drill_files_only_inside_out_named_by_the_shared_rule() {
    let (dir, wh, countries) = hostile_warehouse();
    let (out, output) = try_export(&wh, dir.path());

    // Nothing beside the site, above it, or at the absolute path a country names.
    let top: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected =
        BTreeSet::from(["dist", "events.csv", "heymax.toml", "wh", "www"].map(String::from));
    assert_eq!(top, expected, "files outside --out");
    let www: Vec<String> = std::fs::read_dir(dir.path().join("www"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(www, ["site"], "files beside --out");
    assert!(!Path::new(&format!("{}.json", countries[12])).exists());
    ok(&output);

    // One file per country and one for all of them, each named by the shared rule.
    let drill: BTreeSet<String> = std::fs::read_dir(out.join("data/drill/interactions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut expected: BTreeSet<String> = countries
        .iter()
        .map(|c| format!("{}.json", CountryScope::Country(c).file_stem()))
        .collect();
    expected.insert("all.json".into());
    assert_eq!(drill, expected);
    for name in &drill {
        assert!(is_file_stem(name.trim_end_matches(".json")), "{name}");
    }

    // Each country's flows are the mart's; `all` (not the country named `all`) sums them.
    let mart = read_json(&out.join("data/marts/user_interactions.json"));
    let interactions = |c: &str| CountryScope::Country(c).file_stem();
    let mut sums: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for row in mart.as_array().unwrap() {
        let country = row["country"].as_str().unwrap();
        let file = read_json(&out.join(format!(
            "data/drill/interactions/{}.json",
            interactions(country)
        )));
        assert_eq!(file["country"], row["country"]);
        let link = flow(&file, &row["event_type"], &row["transaction_category"]);
        assert_eq!(link["interactions"], row["interactions"], "{country}");
        assert_eq!(link["users"], row["users"], "{country}");
        let sum = sums
            .entry((
                row["event_type"].to_string(),
                row["transaction_category"].to_string(),
            ))
            .or_default();
        sum.0 += row["interactions"].as_i64().unwrap();
        sum.1 += row["users"].as_i64().unwrap();
    }
    assert_eq!(
        mart.as_array()
            .unwrap()
            .iter()
            .map(|r| r["country"].as_str().unwrap())
            .collect::<BTreeSet<_>>()
            .len(),
        countries.len(),
        "every country is in the mart"
    );
    let all = read_json(&out.join("data/drill/interactions/all.json"));
    assert_eq!(all["scope"], "all");
    for ((event, category), (n, users)) in sums {
        let link = flow(
            &all,
            &serde_json::from_str(&event).unwrap(),
            &serde_json::from_str(&category).unwrap(),
        );
        assert_eq!(
            (link["interactions"].as_i64(), link["users"].as_i64()),
            (Some(n), Some(users))
        );
        // The top users are whole ids (a UUID or an e-mail), not their first 19 characters.
        let ids = all_ids(&countries);
        for top in link["top"].as_array().unwrap() {
            assert!(ids.contains(top[0].as_str().unwrap()), "{top}");
        }
    }
}

#[test]
fn growth_and_cohort_drill_files_list_every_user_with_long_ids() {
    let (dir, wh, countries) = hostile_warehouse();
    let out = export_to(&wh, dir.path());
    let ids = all_ids(&countries);
    for grain in ["day", "week", "month"] {
        let rows = read_json(&out.join(format!("data/marts/user_growth_metrics_{grain}.json")));
        let rows = rows.as_array().unwrap();
        for (status, column) in [
            ("new", "new_users"),
            ("retained", "retained_users"),
            ("resurrected", "resurrected_users"),
            ("churned", "churned_users"),
        ] {
            let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
            for r in rows {
                let n = r[column].as_i64().unwrap();
                if n != 0 {
                    let key = (
                        r["period"].as_str().unwrap(),
                        r["country"].as_str().unwrap(),
                    );
                    expected.insert((key.0.into(), key.1.into()), n);
                }
            }
            // The periods with users (a day nobody was active in or churned has no file).
            let periods: BTreeSet<String> = std::fs::read_dir(out.join("data/drill").join(grain))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            let mut listed: BTreeMap<(String, String), i64> = BTreeMap::new();
            for period in periods {
                let (grain, status) = (
                    contract::Grain::parse(grain).unwrap(),
                    contract::Status::parse(status).unwrap(),
                );
                let (_, users) = read_selection(&out, grain, &period, Some(status));
                for u in users {
                    assert!(ids.contains(u.id.as_str()), "{u:?}");
                    *listed
                        .entry((period.clone(), u.country.unwrap()))
                        .or_default() += 1;
                }
            }
            // Every status happens by day (the fixture spans one month: by month, only `new`).
            assert!(
                grain != "day" || !expected.is_empty(),
                "{grain} {status}: the fixture has some"
            );
            assert_eq!(listed, expected, "{grain} {status}");
        }
    }
    let retention = read_json(&out.join("data/marts/user_retention.json"));
    let mut sizes: BTreeMap<&str, i64> = BTreeMap::new();
    for r in retention.as_array().unwrap() {
        *sizes.entry(r["cohort_date"].as_str().unwrap()).or_default() +=
            r["cohort_size"].as_i64().unwrap();
    }
    for (day, size) in sizes {
        let (header, users) = read_selection(&out, contract::Grain::Day, day, None);
        assert_eq!(users.len() as i64, size, "{day}");
        assert_eq!(header.count as i64, size, "{day}");
    }
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, Vec<u8>) {
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}

#[tokio::test]
async fn serve_answers_every_exported_drill_file_at_the_same_url() {
    let (dir, wh, countries) = hostile_warehouse();
    let out = tokio::task::spawn_blocking({
        let (wh, dir) = (wh.clone(), dir.path().to_path_buf());
        move || export_to(&wh, &dir)
    })
    .await
    .unwrap();
    let location: heymax::warehouse::Location = wh.as_path().into();
    // The bundle stand-in, not the export: a drill URL must be answered by its route.
    let dist = dir.path().join("dist");
    let app = router(Site {
        marts: Arc::new(MartStore::new(&location)),
        drill: Arc::new(DrillStore::new(&location)),
        head: Head::load(&Bundle::Dir(dist.clone())).unwrap(),
        config: app::SiteConfig::new("/"),
        bundle: Some(Bundle::Dir(dist.clone())),
        prerender: false,
        runs: Arc::new(Runs::read_only(&location)),
    });
    let drill = files(&out.join("data/drill"));
    assert!(drill.len() > countries.len());
    for file in drill {
        let url = format!("/data/drill/{}", file.display());
        let (status, body) = get(&app, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(
            body == std::fs::read(out.join("data/drill").join(&file)).unwrap(),
            "{url}: served and exported differ"
        );
    }
    // A country's own name is never a drill URL; an error repeats only a short prefix.
    for name in [&countries[0], &countries[13]] {
        let encoded: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
        let (status, body) = get(&app, &format!("/data/drill/interactions/{encoded}.json")).await;
        // 404, or 414 where the server limits the URI's length.
        assert!(status.is_client_error(), "{status}");
        assert!(body.len() < 120, "{}", String::from_utf8_lossy(&body));
    }
    let (_, all) = get(&app, "/data/drill/interactions/all.json").await;
    let all: Value = serde_json::from_slice(&all).unwrap();
    assert_eq!(
        (all["scope"].as_str(), all["country"].as_str()),
        (Some("all"), None)
    );
}
