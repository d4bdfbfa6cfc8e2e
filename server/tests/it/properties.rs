//! Property tests on random event sets: the growth marts (and the user lifecycle tables
//! counted by status) equal a brute-force count of the
//! definitions (so the growth identity holds and active = distinct users), retention never
//! reports a censored day, and reloading the same events changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use heymax::pipeline::ingest::IngestOptions;
use heymax::pipeline::{RunOptions, run};
use heymax::warehouse::Warehouse;
use polars::prelude::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Event {
    user: u8,
    day: u16,
    second: u32,
    kind: u8,
    country: u8,
}

const TYPES: [&str; 5] = [
    "miles_earned",
    "miles_redeemed",
    "reward_search",
    "like",
    "share",
];
const COUNTRIES: [&str; 3] = ["SG", "MY", "TH"];

fn base() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 27).unwrap()
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (0u8..12, 0u16..75, 0u32..86_400, 0u8..5, 0u8..3).prop_map(
            |(user, day, second, kind, country)| Event {
                user,
                day,
                second,
                kind,
                country,
            },
        ),
        1..120,
    )
}

fn csv(events: &[Event]) -> String {
    let mut s = String::from(
        "event_time,user_id,event_type,transaction_category,miles_amount,platform,utm_source,country\n",
    );
    for e in events {
        let t = base().and_hms_opt(0, 0, 0).unwrap()
            + Duration::days(e.day.into())
            + Duration::seconds(e.second.into());
        let (cat, miles) = if e.kind < 2 {
            ("dining", "10.5")
        } else {
            ("", "")
        };
        s.push_str(&format!(
            "{},u{},{},{cat},{miles},web,google,{}\n",
            t.format("%Y-%m-%d %H:%M:%S"),
            e.user,
            TYPES[e.kind as usize],
            COUNTRIES[e.country as usize]
        ));
    }
    s
}

/// Period start of a day for a grain, computed with chrono (independently of heymax).
fn period(grain: &str, d: NaiveDate) -> NaiveDate {
    match grain {
        "day" => d,
        "week" => d.week(Weekday::Mon).first_day(),
        _ => NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap(),
    }
}

fn next_period(grain: &str, p: NaiveDate) -> NaiveDate {
    match grain {
        "day" => p + Duration::days(1),
        "week" => p + Duration::days(7),
        _ => period("month", p + Duration::days(32)),
    }
}

type Counts = BTreeMap<(NaiveDate, String), [i64; 4]>;

/// new, retained, resurrected, churned per (period, country), straight from the definitions.
fn oracle(events: &[Event], grain: &str) -> Counts {
    // Dim country: the latest event's (unique times: ties broken like heymax, later row wins).
    let mut latest: HashMap<u8, (i64, usize, u8)> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let t = i64::from(e.day) * 86_400 + i64::from(e.second);
        let entry = latest.entry(e.user).or_insert((t, i, e.country));
        if (t, i) >= (entry.0, entry.1) {
            *entry = (t, i, e.country);
        }
    }
    let mut active: BTreeMap<NaiveDate, BTreeSet<u8>> = BTreeMap::new();
    for e in events {
        active
            .entry(period(grain, base() + Duration::days(e.day.into())))
            .or_default()
            .insert(e.user);
    }
    let first = *active.keys().next().unwrap();
    let last = *active.keys().last().unwrap();
    let mut counts = Counts::new();
    let mut seen: BTreeSet<u8> = BTreeSet::new();
    let empty = BTreeSet::new();
    let mut prev: &BTreeSet<u8> = &empty;
    let mut p = first;
    while p <= last {
        let now = active.get(&p).unwrap_or(&empty);
        for c in COUNTRIES {
            counts.insert((p, c.to_string()), [0; 4]);
        }
        let mut bump = |u: u8, i: usize| {
            let c = COUNTRIES[latest[&u].2 as usize].to_string();
            counts.get_mut(&(p, c)).unwrap()[i] += 1;
        };
        for &u in now {
            if !seen.contains(&u) {
                bump(u, 0);
            } else if prev.contains(&u) {
                bump(u, 1);
            } else {
                bump(u, 2);
            }
        }
        for &u in prev {
            if !now.contains(&u) {
                bump(u, 3);
            }
        }
        seen.extend(now.iter().copied());
        prev = now;
        p = next_period(grain, p);
    }
    // Only countries that have at least one user are in the grid.
    let countries: BTreeSet<String> = latest
        .values()
        .map(|v| COUNTRIES[v.2 as usize].to_string())
        .collect();
    counts.retain(|(_, c), _| countries.contains(c));
    counts
}

fn run_pipeline(input: &std::path::Path, wh: &std::path::Path) {
    let summary = run(&RunOptions {
        input: input.to_path_buf(),
        warehouse: wh.into(),
        strict: true,
        max_quarantine: 1.0,
        ingest: IngestOptions {
            block_size: 1024,
            threads: 2,
            ..IngestOptions::default()
        },
        progress: None,
    })
    .unwrap();
    assert!(summary.committed, "{:?}", summary.tests);
}

fn mart(wh: &std::path::Path, name: &str) -> DataFrame {
    Warehouse::open(&wh.into())
        .unwrap()
        .read_table(&format!("marts.{name}"), None)
        .unwrap()
}

fn growth_counts(df: &DataFrame) -> Counts {
    let period = df
        .column("period")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let period = period.str().unwrap();
    let country = df.column("country").unwrap().str().unwrap();
    let col = |n: &str| df.column(n).unwrap().i64().unwrap().clone();
    let (n, r, s, c, a) = (
        col("new_users"),
        col("retained_users"),
        col("resurrected_users"),
        col("churned_users"),
        col("active_users"),
    );
    (0..df.height())
        .map(|i| {
            let p = NaiveDate::parse_from_str(period.get(i).unwrap(), "%Y-%m-%d").unwrap();
            let v = [
                n.get(i).unwrap(),
                r.get(i).unwrap(),
                s.get(i).unwrap(),
                c.get(i).unwrap(),
            ];
            assert_eq!(
                a.get(i).unwrap(),
                v[0] + v[1] + v[2],
                "active = new + retained + resurrected"
            );
            ((p, country.get(i).unwrap().to_string()), v)
        })
        .collect()
}

/// Lifecycle rows counted by (period, country, status), on the growth mart's grid.
fn lifecycle_counts(lifecycle: &DataFrame, growth: &DataFrame) -> Counts {
    let mut counts: Counts = growth_counts(growth)
        .into_keys()
        .map(|k| (k, [0; 4]))
        .collect();
    let period = lifecycle
        .column("period")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let period = period.str().unwrap();
    let country = lifecycle.column("country").unwrap().str().unwrap();
    let status = lifecycle.column("status").unwrap().str().unwrap();
    let user = lifecycle.column("user_id").unwrap().str().unwrap();
    let mut seen = BTreeSet::new();
    for i in 0..lifecycle.height() {
        let p = NaiveDate::parse_from_str(period.get(i).unwrap(), "%Y-%m-%d").unwrap();
        assert!(
            seen.insert((p, user.get(i).unwrap().to_string())),
            "one row per user and period"
        );
        let k = ["new", "retained", "resurrected", "churned"]
            .iter()
            .position(|s| Some(*s) == status.get(i))
            .unwrap();
        counts
            .entry((p, country.get(i).unwrap().to_string()))
            .or_insert([0; 4])[k] += 1;
    }
    counts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn marts_follow_the_definitions_and_reloads_change_nothing(events in events()) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("e.csv");
        std::fs::write(&input, csv(&events)).unwrap();
        let wh = dir.path().join("wh");
        run_pipeline(&input, &wh);
        let mut before = Vec::new();
        for grain in ["day", "week", "month"] {
            let df = mart(&wh, &format!("user_growth_metrics_{grain}"));
            // Equal to the brute-force count: the identity and active = distinct users follow.
            prop_assert_eq!(growth_counts(&df), oracle(&events, grain), "grain {}", grain);
            // The user-level lifecycle table counts to the same numbers, user by user.
            let lifecycle = mart(&wh, &format!("user_lifecycle_{grain}"));
            prop_assert_eq!(lifecycle_counts(&lifecycle, &df), oracle(&events, grain), "lifecycle {}", grain);
            before.push(df);
        }
        let last_day = events.iter().map(|e| e.day).max().unwrap();
        let retention = mart(&wh, "user_retention");
        let cohort = retention.column("cohort_date").unwrap().cast(&DataType::Int32).unwrap();
        let base_day = (base() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32;
        for n in [0, 1, 7, 30, 60, 90] {
            let col = retention.column(&format!("d{n}_retained")).unwrap().i64().unwrap().clone();
            for i in 0..retention.height() {
                let c = cohort.i32().unwrap().get(i).unwrap() - base_day;
                let censored = c + n > i32::from(last_day);
                prop_assert_eq!(col.get(i).is_none(), censored, "d{} of cohort {}", n, c);
            }
        }
        before.push(retention);
        before.push(mart(&wh, "user_interactions"));

        run_pipeline(&input, &wh);
        let names = ["user_growth_metrics_day", "user_growth_metrics_week", "user_growth_metrics_month", "user_retention", "user_interactions"];
        for (df, name) in before.iter().zip(names) {
            prop_assert!(df.equals_missing(&mart(&wh, name)), "{} changed on reload", name);
        }
    }
}

/// A lifecycle table's rows as sorted text, so two warehouses compare as sets of rows.
fn lifecycle_rows(wh: &std::path::Path, grain: &str) -> Vec<String> {
    let df = mart(wh, &format!("user_lifecycle_{grain}"));
    let mut rows: Vec<String> = (0..df.height())
        .map(|i| {
            df.columns()
                .iter()
                .map(|c| format!("{}", c.get(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    rows.sort();
    rows
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Split load = whole load, whatever the second batch holds: late events, a user's
    /// first event brought earlier, a new latest country, a new period, duplicates. The
    /// second run rebuilds only the lifecycle periods the batch can change.
    #[test]
    fn a_second_batch_gives_the_whole_loads_marts_and_lifecycle_rows(
        events in events(),
        cut in 0.0f64..1.0,
        repeated in 0usize..10,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let at = ((events.len() as f64 * cut) as usize).clamp(1, events.len());
        let (first, second) = events.split_at(at);
        let whole_input = dir.path().join("whole.csv");
        std::fs::write(&whole_input, csv(&events)).unwrap();
        let whole = dir.path().join("whole");
        run_pipeline(&whole_input, &whole);
        let split = dir.path().join("split");
        let a = dir.path().join("a.csv");
        std::fs::write(&a, csv(first)).unwrap();
        run_pipeline(&a, &split);
        if !second.is_empty() {
            // The second batch repeats some of the first (duplicates count once).
            let mut b_events = first[..repeated.min(first.len())].to_vec();
            b_events.extend_from_slice(second);
            let b = dir.path().join("b.csv");
            std::fs::write(&b, csv(&b_events)).unwrap();
            run_pipeline(&b, &split);
        }
        for grain in ["day", "week", "month"] {
            let name = format!("user_growth_metrics_{grain}");
            prop_assert!(mart(&whole, &name).equals_missing(&mart(&split, &name)), "{}", name);
            prop_assert_eq!(lifecycle_rows(&whole, grain), lifecycle_rows(&split, grain), "lifecycle {}", grain);
        }
        for name in ["user_retention", "user_interactions"] {
            prop_assert!(mart(&whole, name).equals_missing(&mart(&split, name)), "{}", name);
        }
    }
}
