//! User lifecycle: one row per user per period in which the user has a status (new,
//! retained, resurrected or churned) with the events they had in that period. It is the
//! user-level form of the growth marts: counting its rows by (period, country, status)
//! gives them exactly (a declared test checks this on every run), and it is what a click
//! on a growth bar lists. See: METRICS.md, Drill-down.
//!
//! The statuses come from the same walk as the growth marts (`growth::lifecycle`), so the
//! two cannot disagree. Rows are grouped by period (a bucket per period, no sort), so a
//! reader can slice one period without scanning the rest.
//!
//! The table is built as [`Rows`], 8 bytes a row, and turned into frames a period at a
//! time ([`Rows::frame`]) that are written and tested one by one: the whole table as one
//! frame (12M rows x 60 bytes of views and numbers in the steady 10M-event shape) was the
//! run's memory peak, 720 MB of its 1.5 GB.

use polars::prelude::*;

use super::Names;
use super::activity::{Activity, slot};
use super::growth::lifecycle;
use crate::pipeline::schema::MICROS_PER_DAY;
use crate::pipeline::slim::SlimEvents;
use contract::Grain;
use contract::Status;

pub const COLUMNS: [&str; 5] = ["period", "user_id", "country", "status", "events"];

/// A lifecycle table's rows, period by period, with what turns them into frames.
pub struct Rows {
    /// Per period from the activity's first: its start day and its rows, each a user
    /// and status packed in a u32 (`user << 2 | status`) with the user's events there.
    periods: Vec<Period>,
    /// The user id, the country and the status names the packed codes index.
    users: StringChunked,
    countries: StringChunked,
    statuses: StringChunked,
}

struct Period {
    start: i32,
    rows: Vec<u32>,
    events: Vec<u32>,
}

impl Rows {
    /// The table's rows, or with `rebuild` (a flag per period from the first) only the
    /// rows of the flagged periods: what an appended batch can change (`scope.rs`).
    pub fn new(
        slim: &SlimEvents,
        act: &Activity,
        names: &Names,
        grain: Grain,
        rebuild: Option<&[bool]>,
    ) -> PolarsResult<Self> {
        let first_idx = grain.ordinal(act.first_day);
        let periods = (grain.ordinal(act.last_day) - first_idx + 1) as usize;
        if rebuild.is_some_and(|r| r.len() != periods) {
            polars_bail!(ComputeError: "a lifecycle rebuild scope of the wrong length");
        }
        if act.users() >= 1 << 30 {
            polars_bail!(ComputeError: "{} users: the lifecycle tables hold at most 2^30", act.users());
        }
        let (events, column, width) =
            events_per_period(slim, act, grain, first_idx, periods, rebuild);
        let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); periods];
        let packed = |user: usize, status: usize| ((user as u32) << 2) | status as u32;
        lifecycle(act, grain, |user, p, status| {
            let i = (p - first_idx) as usize;
            if rebuild.is_none_or(|r| r[i]) {
                buckets[i].push(packed(user, status));
            }
        });
        let periods = buckets
            .into_iter()
            .enumerate()
            .map(|(i, rows)| {
                let events = rows
                    .iter()
                    .map(|&row| events[(row >> 2) as usize * width + column[i] as usize])
                    .collect();
                Period {
                    start: grain.start(first_idx + i as i64) as i32,
                    rows,
                    events,
                }
            })
            .collect();
        drop(events);
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
        let statuses = StringChunked::from_iter_values(
            COLUMNS[3].into(),
            Status::ALL.iter().map(|s| s.name()),
        );
        Ok(Self {
            periods,
            users,
            countries: countries.with_name(COLUMNS[2].into()),
            statuses,
        })
    }

    /// Rows in all periods.
    pub fn len(&self) -> usize {
        self.periods.iter().map(|p| p.rows.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The periods that have rows, by index.
    pub fn filled(&self) -> Vec<usize> {
        (0..self.periods.len())
            .filter(|&i| !self.periods[i].rows.is_empty())
            .collect()
    }

    /// The start day of period `i` (days since 1970-01-01).
    pub fn start(&self, i: usize) -> i32 {
        self.periods.get(i).map_or(0, |p| p.start)
    }

    /// The rows of periods `range` as the table's frame.
    pub fn frame(&self, range: std::ops::Range<usize>) -> PolarsResult<DataFrame> {
        let periods = self.periods.get(range.clone()).unwrap_or_default();
        let rows: usize = periods.iter().map(|p| p.rows.len()).sum();
        let mut period = Vec::with_capacity(rows);
        let mut user = Vec::with_capacity(rows);
        let mut status = Vec::with_capacity(rows);
        let mut count = Vec::with_capacity(rows);
        for p in periods {
            period.extend(std::iter::repeat_n(p.start, p.rows.len()));
            user.extend(p.rows.iter().map(|row| row >> 2));
            status.extend(p.rows.iter().map(|row| row & 3));
            count.extend(p.events.iter().map(|&n| i64::from(n)));
        }
        // The text columns are gathers from one short column each (users, their
        // countries, the four statuses): a gathered string column shares its source's
        // bytes, where building it from `&str`s copied every value (and its page faults
        // were the run's top profile line).
        DataFrame::new(
            rows,
            vec![
                Int32Chunked::from_vec(COLUMNS[0].into(), period)
                    .into_date()
                    .into_column(),
                self.users.take(user.as_slice())?.into_column(),
                self.countries.take(user.as_slice())?.into_column(),
                self.statuses.take(status.as_slice())?.into_column(),
                Column::new(COLUMNS[4].into(), count),
            ],
        )
    }

    /// Every row as one frame (the Spark engine's tests and the unit tests).
    pub fn whole(&self) -> PolarsResult<DataFrame> {
        self.frame(0..self.periods.len())
    }
}

/// The table as one frame: [`Rows::new`] then [`Rows::whole`].
pub fn build(
    slim: &SlimEvents,
    act: &Activity,
    names: &Names,
    grain: Grain,
    rebuild: Option<&[bool]>,
) -> PolarsResult<DataFrame> {
    Rows::new(slim, act, names, grain, rebuild)?.whole()
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
