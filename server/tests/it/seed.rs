//! The sample's marts against ../shared/reference/seed_10k (copied into tests/reference),
//! computed independently: every cell, integers exact, rates within the reference's rounding.

use std::collections::BTreeMap;

use crate::util::*;

const KEYS: [(&str, &[&str]); 5] = [
    ("user_growth_metrics_day", &["period", "country"]),
    ("user_growth_metrics_week", &["period", "country"]),
    ("user_growth_metrics_month", &["period", "country"]),
    ("user_retention", &["cohort_date", "country"]),
    (
        "user_interactions",
        &["country", "event_type", "transaction_category"],
    ),
];

fn tolerance(column: &str) -> Option<f64> {
    if column.ends_with("_retention_rate") {
        Some(1e-4)
    } else if column == "share" {
        Some(1e-6)
    } else if column == "quick_ratio" || column == "miles" {
        Some(1e-9)
    } else {
        None
    }
}

fn same(column: &str, want: &str, got: &str) -> bool {
    if want.is_empty() || got.is_empty() {
        return want.is_empty() && got.is_empty();
    }
    match (want.parse::<f64>(), got.parse::<f64>(), tolerance(column)) {
        (Ok(w), Ok(g), Some(t)) => (w - g).abs() <= t * w.abs().max(1.0),
        (Ok(w), Ok(g), None) => w == g,
        _ => want == got,
    }
}

#[test]
fn sample_marts_match_the_independent_reference_cell_for_cell() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    run(&sample(), &wh);
    check_against_reference(&wh, dir.path());
}

/// The marts of `wh` (a folder or a database) against the reference, every cell.
pub fn check_against_reference(wh: &std::path::Path, dir: &std::path::Path) {
    let got = export(wh, dir);
    let reference = repo().join("server/tests/reference/seed_10k");
    let mut problems = Vec::new();
    let mut cells = 0;
    for (mart, key) in KEYS {
        let (ref_header, ref_rows) = read_csv(&reference.join(format!("{mart}.csv")));
        let (header, rows) = &got[mart];
        assert_eq!(header, &ref_header, "{mart}: columns and their order");
        assert_eq!(rows.len(), ref_rows.len(), "{mart}: row count");
        let index =
            |r: &BTreeMap<String, String>| key.iter().map(|k| r[*k].clone()).collect::<Vec<_>>();
        let keys_in_order: Vec<_> = rows.iter().map(index).collect();
        let mut sorted = keys_in_order.clone();
        sorted.sort();
        assert_eq!(keys_in_order, sorted, "{mart}: rows sorted by key");
        let by_key: BTreeMap<_, _> = rows.iter().map(|r| (index(r), r)).collect();
        for want in &ref_rows {
            let Some(row) = by_key.get(&index(want)) else {
                problems.push(format!("{mart}: missing row {:?}", index(want)));
                continue;
            };
            for c in &ref_header {
                cells += 1;
                if !same(c, &want[c], &row[c]) {
                    problems.push(format!(
                        "{mart} {:?} {c}: want {:?} got {:?}",
                        index(want),
                        want[c],
                        row[c]
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {cells} cells differ:\n{}",
        problems.len(),
        problems[..problems.len().min(20)].join("\n")
    );
    assert!(cells > 5_000, "compared only {cells} cells");
}
