//! User lifecycle: one row per user per period in which the user has a status (new,
//! retained, resurrected or churned) with the events they had in that period. It is the
//! user-level form of the growth marts: counting its rows by (period, country, status)
//! gives them exactly (a declared test checks this on every run), and it is what a click
//! on a growth bar lists. See: METRICS.md, Drill-down.
//!
//! The statuses come from the same walk as the growth marts (`growth::lifecycle`), so the
//! two cannot disagree. Rows are grouped by period (a bucket per period, no sort), so a
//! reader can slice one period without scanning the rest.

use polars::prelude::*;

use super::Names;
use super::activity::{Activity, slot};
use super::growth::lifecycle;
use crate::pipeline::schema::MICROS_PER_DAY;
use crate::pipeline::slim::SlimEvents;
use contract::Grain;
use contract::Status;

pub const COLUMNS: [&str; 5] = ["period", "user_id", "country", "status", "events"];

pub fn build(
    slim: &SlimEvents,
    act: &Activity,
    names: &Names,
    grain: Grain,
) -> PolarsResult<DataFrame> {
    let first_idx = grain.ordinal(act.first_day);
    let periods = (grain.ordinal(act.last_day) - first_idx + 1) as usize;
    let events = events_per_period(slim, act, grain, first_idx, periods);
    let mut buckets: Vec<Vec<(u32, u8)>> = vec![Vec::new(); periods];
    lifecycle(act, grain, |user, p, status| {
        buckets[(p - first_idx) as usize].push((user as u32, status as u8));
    });
    let rows: usize = buckets.iter().map(Vec::len).sum();
    let users = slim.users.values();
    let mut period = Vec::with_capacity(rows);
    let mut user_id = Vec::with_capacity(rows);
    let mut country = Vec::with_capacity(rows);
    let mut status = Vec::with_capacity(rows);
    let mut count = Vec::with_capacity(rows);
    for (i, bucket) in buckets.iter().enumerate() {
        let start = grain.start(first_idx + i as i64) as i32;
        for &(user, s) in bucket {
            let u = user as usize;
            period.push(start);
            user_id.push(users[u].as_ref());
            country.push(
                names
                    .countries
                    .get(slot(act.country[u], names.countries.len()))
                    .map(String::as_str),
            );
            status.push(Status::ALL[s as usize].name());
            count.push(i64::from(events[u * periods + i]));
        }
    }
    DataFrame::new(
        rows,
        vec![
            Int32Chunked::from_vec(COLUMNS[0].into(), period)
                .into_date()
                .into_column(),
            Column::new(COLUMNS[1].into(), user_id),
            Column::new(COLUMNS[2].into(), country),
            Column::new(COLUMNS[3].into(), status),
            Column::new(COLUMNS[4].into(), count),
        ],
    )
}

/// Events per (user, period), as a dense users x periods matrix: one pass, no hashing
/// (200,000 users x 91 days is 73 MB of u32, freed when the table is built).
fn events_per_period(
    slim: &SlimEvents,
    act: &Activity,
    grain: Grain,
    first_idx: i64,
    periods: usize,
) -> Vec<u32> {
    let ordinal: Vec<i64> = (act.first_day..=act.last_day)
        .map(|d| grain.ordinal(d))
        .collect();
    let mut events = vec![0u32; act.users() * periods];
    for (&u, &t) in slim.user.iter().zip(&slim.time) {
        let day = t.div_euclid(MICROS_PER_DAY);
        let p = (ordinal[(day - act.first_day) as usize] - first_idx) as usize;
        events[u as usize * periods + p] += 1;
    }
    events
}
