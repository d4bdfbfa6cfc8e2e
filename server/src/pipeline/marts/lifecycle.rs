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

/// The table's rows, or with `rebuild` (a flag per period from the first) only the rows of
/// the flagged periods: what an appended batch can change (`scope.rs`).
pub fn build(
    slim: &SlimEvents,
    act: &Activity,
    names: &Names,
    grain: Grain,
    rebuild: Option<&[bool]>,
) -> PolarsResult<DataFrame> {
    let first_idx = grain.ordinal(act.first_day);
    let periods = (grain.ordinal(act.last_day) - first_idx + 1) as usize;
    if rebuild.is_some_and(|r| r.len() != periods) {
        polars_bail!(ComputeError: "a lifecycle rebuild scope of the wrong length");
    }
    let (events, column, width) = events_per_period(slim, act, grain, first_idx, periods, rebuild);
    // A row is (user, status) packed in a u32, bucketed by period: 4 bytes a row where
    // (u32, u8) pairs took 8 (12M rows at 10M events).
    if act.users() >= 1 << 30 {
        polars_bail!(ComputeError: "{} users: the lifecycle tables hold at most 2^30", act.users());
    }
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); periods];
    let packed = |user: usize, status: usize| ((user as u32) << 2) | status as u32;
    lifecycle(act, grain, |user, p, status| {
        let i = (p - first_idx) as usize;
        if rebuild.is_none_or(|r| r[i]) {
            buckets[i].push(packed(user, status));
        }
    });
    let rows: usize = buckets.iter().map(Vec::len).sum();
    let mut period = Vec::with_capacity(rows);
    let mut user = Vec::with_capacity(rows);
    let mut status = Vec::with_capacity(rows);
    let mut count = Vec::with_capacity(rows);
    for (i, bucket) in buckets.into_iter().enumerate() {
        let start = grain.start(first_idx + i as i64) as i32;
        for row in bucket {
            let u = (row >> 2) as usize;
            period.push(start);
            user.push(row >> 2);
            status.push(row & 3);
            count.push(i64::from(events[u * width + column[i] as usize]));
        }
    }
    drop(events);
    // The text columns are gathers from one short column each (users, their countries,
    // the four statuses): a gathered string column shares its source's bytes, where
    // building it from 12M `&str` copied every value (and its page faults were the run's
    // top profile line).
    let users = StringChunked::from_iter_values(
        COLUMNS[1].into(),
        slim.users.values().iter().map(|u| u.as_ref()),
    );
    let countries: StringChunked = act
        .country
        .iter()
        .map(|&c| {
            names
                .countries
                .get(slot(c, names.countries.len()))
                .map(String::as_str)
        })
        .collect();
    let statuses =
        StringChunked::from_iter_values(COLUMNS[3].into(), Status::ALL.iter().map(|s| s.name()));
    DataFrame::new(
        rows,
        vec![
            Int32Chunked::from_vec(COLUMNS[0].into(), period)
                .into_date()
                .into_column(),
            users.take(user.as_slice())?.into_column(),
            countries
                .with_name(COLUMNS[2].into())
                .take(user.as_slice())?
                .into_column(),
            statuses.take(status.as_slice())?.into_column(),
            Column::new(COLUMNS[4].into(), count),
        ],
    )
}

/// Events per (user, period) of the periods `rebuild` flags (all without it), as a dense
/// users x those periods matrix: one pass, no hashing (200,000 users x 91 days is 73 MB of
/// u32, freed when the table is built; an append that rebuilds one day counts one column,
/// not 91 of which 90 are thrown away). Returns the matrix, each period's column
/// (`u32::MAX`: not counted) and the matrix's width.
fn events_per_period(
    slim: &SlimEvents,
    act: &Activity,
    grain: Grain,
    first_idx: i64,
    periods: usize,
    rebuild: Option<&[bool]>,
) -> (Vec<u32>, Vec<u32>, usize) {
    let mut width = 0;
    let column: Vec<u32> = (0..periods)
        .map(|i| {
            if rebuild.is_none_or(|r| r[i]) {
                width += 1;
                width as u32 - 1
            } else {
                u32::MAX
            }
        })
        .collect();
    let day_column: Vec<u32> = (act.first_day..=act.last_day)
        .map(|d| column[(grain.ordinal(d) - first_idx) as usize])
        .collect();
    let mut events = vec![0u32; act.users() * width];
    for (&u, &t) in slim.user.iter().zip(&slim.time) {
        let day = t.div_euclid(MICROS_PER_DAY);
        let c = day_column[(day - act.first_day) as usize];
        if c != u32::MAX {
            events[u as usize * width + c as usize] += 1;
        }
    }
    (events, column, width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::schema::EventTypes;
    use crate::pipeline::slim::events_on_days;

    fn rows(df: &DataFrame) -> Vec<String> {
        (0..df.height())
            .map(|i| {
                df.columns()
                    .iter()
                    .map(|c| format!("{:?}", c.get(i).ok()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    #[test]
    fn a_scoped_build_gives_the_whole_builds_rows_of_its_periods() {
        let mut events = Vec::new();
        for (user, day, n) in [
            ("a", 0, 2),
            ("a", 1, 1),
            ("b", 1, 3),
            ("a", 3, 1),
            ("b", 4, 2),
        ] {
            events.extend(std::iter::repeat_n((user, day), n));
        }
        let slim = events_on_days(&events);
        let act = Activity::new(&slim, &slim.dim_users());
        let names = Names::new(&slim, &EventTypes::default());
        let whole = build(&slim, &act, &names, Grain::Day, None).unwrap();
        let flags = [false, true, false, true, true];
        let scoped = build(&slim, &act, &names, Grain::Day, Some(&flags)).unwrap();
        let periods = whole.column("period").unwrap().to_physical_repr();
        let keep: BooleanChunked = periods
            .i32()
            .unwrap()
            .into_no_null_iter()
            .map(|d| flags[d as usize])
            .collect();
        let expected = whole.filter(&keep).unwrap();
        assert!(expected.height() >= 4, "{expected}");
        assert_eq!(rows(&scoped), rows(&expected));
        // The events column counts each user's events of the period.
        let events: Vec<i64> = whole
            .column("events")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(events.iter().take(3).collect::<Vec<_>>(), [&2, &1, &3]);
    }
}
