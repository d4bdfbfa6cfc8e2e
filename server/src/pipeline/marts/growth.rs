//! Growth accounting: each user's active days (see `activity.rs`) -> one row per period x
//! country with new, retained, resurrected and churned users (wide form, gap-free grid).
//!
//! A user's active periods are walked in order: no earlier period makes them new, the
//! period right before makes them retained, an older one resurrected; a gap after a period
//! makes them churned in the period right after it, once (not again for every further
//! inactive period, the bug of the SQL this replaces). Counting in plain arrays indexed by
//! (period, country) is a single pass; polars only holds the result.
//! See: METRICS.md, Growth accounting.

use polars::prelude::*;

use super::Names;
use super::activity::{Activity, slot};
use contract::{Grain, Status};

/// The status codes of the per-user arrays ([`Status::index`]).
pub const NEW: usize = Status::New.index();
pub const RETAINED: usize = Status::Retained.index();
pub const RESURRECTED: usize = Status::Resurrected.index();
pub const CHURNED: usize = Status::Churned.index();

pub const COLUMNS: [&str; 10] = [
    "period",
    "country",
    "new_users",
    "retained_users",
    "resurrected_users",
    "churned_users",
    "active_users",
    "growth",
    "quick_ratio",
    "is_complete",
];

/// Calls `f(user, period ordinal, status)` for every status a user has, in period order.
pub fn lifecycle(act: &Activity, grain: Grain, mut f: impl FnMut(usize, i64, usize)) {
    let last_idx = grain.ordinal(act.last_day);
    let ordinal: Vec<i64> = (act.first_day..=act.last_day)
        .map(|d| grain.ordinal(d))
        .collect();
    for user in 0..act.users() {
        let mut prev: Option<i64> = None;
        for day in act.days(user) {
            let p = ordinal[(day - act.first_day) as usize];
            let status = match prev {
                Some(q) if q == p => continue,
                None => NEW,
                Some(q) if q == p - 1 => RETAINED,
                Some(q) => {
                    f(user, q + 1, CHURNED);
                    RESURRECTED
                }
            };
            f(user, p, status);
            prev = Some(p);
        }
        if let Some(q) = prev.filter(|&q| q < last_idx) {
            f(user, q + 1, CHURNED);
        }
    }
}

pub fn build(act: &Activity, names: &Names, grain: Grain) -> PolarsResult<DataFrame> {
    let first_idx = grain.ordinal(act.first_day);
    let last_idx = grain.ordinal(act.last_day);
    let periods = (last_idx - first_idx + 1) as usize;
    let slots = names.countries.len() + 1;
    let mut counts = vec![[0i64; 4]; periods * slots];
    let mut has_user = vec![false; slots];
    for (user, &country) in act.country.iter().enumerate() {
        if act.days(user).next().is_some() {
            has_user[slot(country, names.countries.len())] = true;
        }
    }
    lifecycle(act, grain, |user, p, status| {
        let s = slot(act.country[user], names.countries.len());
        counts[(p - first_idx) as usize * slots + s][status] += 1;
    });
    // The grid: every period x every country with at least one user, sorted by name.
    let mut countries: Vec<(Option<&str>, usize)> = (0..slots)
        .filter(|&s| has_user[s])
        .map(|s| (names.countries.get(s).map(String::as_str), s))
        .collect();
    countries.sort();
    let rows = periods * countries.len();
    let mut period = Vec::with_capacity(rows);
    let mut country = Vec::with_capacity(rows);
    let mut n = [(); 4].map(|_| Vec::with_capacity(rows));
    let (mut active, mut growth, mut quick, mut complete) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    for i in 0..periods {
        let idx = first_idx + i as i64;
        for &(name, s) in &countries {
            let c = counts[i * slots + s];
            period.push(grain.start(idx) as i32);
            country.push(name);
            for k in 0..4 {
                n[k].push(c[k]);
            }
            active.push(c[NEW] + c[RETAINED] + c[RESURRECTED]);
            growth.push(c[NEW] + c[RESURRECTED] - c[CHURNED]);
            quick.push(
                (c[CHURNED] != 0).then(|| (c[NEW] + c[RESURRECTED]) as f64 / c[CHURNED] as f64),
            );
            complete.push(grain.end(idx) < act.last_day);
        }
    }
    let [new, retained, resurrected, churned] = n;
    DataFrame::new(
        rows,
        vec![
            Int32Chunked::from_vec(COLUMNS[0].into(), period)
                .into_date()
                .into_column(),
            Column::new(COLUMNS[1].into(), country),
            Column::new(COLUMNS[2].into(), new),
            Column::new(COLUMNS[3].into(), retained),
            Column::new(COLUMNS[4].into(), resurrected),
            Column::new(COLUMNS[5].into(), churned),
            Column::new(COLUMNS[6].into(), active),
            Column::new(COLUMNS[7].into(), growth),
            Column::new(COLUMNS[8].into(), quick),
            Column::new(COLUMNS[9].into(), complete),
        ],
    )
}
