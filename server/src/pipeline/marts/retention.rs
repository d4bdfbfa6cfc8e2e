//! Retention: each user's active days -> one row per cohort date (the user's first active
//! day) x dim country with dN_retained and dN_retention_rate for N in 0, 1, 7, 30, 60, 90.
//! A day not observed yet (cohort date + N after the data's last day) is null, never 0.
//! See: METRICS.md, Retention.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::Names;
use super::activity::Activity;
use contract::RETENTION_DAYS;

/// [`RETENTION_DAYS`] as day offsets. See: METRICS.md, Retention.
pub const DAYS: [i64; RETENTION_DAYS.len()] = {
    let mut days = [0; RETENTION_DAYS.len()];
    let mut i = 0;
    while i < days.len() {
        days[i] = RETENTION_DAYS[i] as i64;
        i += 1;
    }
    days
};

pub fn columns() -> Vec<String> {
    let mut cols = vec![
        "cohort_date".to_string(),
        "country".into(),
        "cohort_size".into(),
    ];
    cols.extend(DAYS.iter().map(|n| format!("d{n}_retained")));
    cols.extend(DAYS.iter().map(|n| format!("d{n}_retention_rate")));
    cols
}

pub fn build(act: &Activity, names: &Names) -> PolarsResult<DataFrame> {
    // (cohort day, country) -> [cohort size, retained on each day N]
    let mut cohorts: BTreeMap<(i64, Option<&str>), [i64; 1 + DAYS.len()]> = BTreeMap::new();
    for user in 0..act.users() {
        let Some(cohort) = act.days(user).next() else {
            continue;
        };
        let country = names
            .countries
            .get(act.country[user] as usize)
            .map(String::as_str);
        let entry = cohorts.entry((cohort, country)).or_default();
        entry[0] += 1;
        for (i, n) in DAYS.iter().enumerate() {
            entry[1 + i] += i64::from(act.is_active(user, cohort + n));
        }
    }
    let rows = cohorts.len();
    let mut date = Vec::with_capacity(rows);
    let mut country = Vec::with_capacity(rows);
    let mut size = Vec::with_capacity(rows);
    let mut retained = vec![Vec::with_capacity(rows); DAYS.len()];
    let mut rate = vec![Vec::with_capacity(rows); DAYS.len()];
    for (&(cohort, name), counts) in &cohorts {
        date.push(cohort as i32);
        country.push(name);
        size.push(counts[0]);
        for (i, n) in DAYS.iter().enumerate() {
            let observed = cohort + n <= act.last_day;
            retained[i].push(observed.then_some(counts[1 + i]));
            rate[i].push(observed.then(|| 100.0 * counts[1 + i] as f64 / counts[0] as f64));
        }
    }
    let names = columns();
    let mut out = vec![
        Int32Chunked::from_vec(names[0].as_str().into(), date)
            .into_date()
            .into_column(),
        Column::new(names[1].as_str().into(), country),
        Column::new(names[2].as_str().into(), size),
    ];
    for (i, values) in retained.into_iter().enumerate() {
        out.push(Column::new(names[3 + i].as_str().into(), values));
    }
    for (i, values) in rate.into_iter().enumerate() {
        out.push(Column::new(
            names[3 + DAYS.len() + i].as_str().into(),
            values,
        ));
    }
    DataFrame::new(rows, out)
}
