//! What an appended batch can change in the lifecycle tables, so a run rebuilds, writes
//! and tests only those periods of them (a folder warehouse keeps a lifecycle table as
//! one part per period). A row is (period, user): its status follows from the user's
//! activity in that period and the one before and from their first period, its events
//! from that period, its country from the user's latest one. So a batch changes:
//!
//! - the period of each new event, and the period after it (churned there, or retained
//!   instead of resurrected);
//! - a user's old first period when the batch brings their first event earlier (it was
//!   their `new` period);
//! - every period of a user whose latest country the batch changes;
//! - periods before the old first or after the old last (they were not in the table).
//!
//! Everything else stays as it was. The lifecycle tests then check the rebuilt periods
//! and that the growth mart's other periods did not change (`quality/tasks.rs`): a scope
//! that missed a period would show there.

use contract::Grain;
use polars::prelude::*;

use super::activity::Activity;
use crate::pipeline::schema::MICROS_PER_DAY;
use crate::pipeline::slim::{DimUsers, SlimEvents};

/// A lifecycle table that this run rebuilds only in some periods.
pub struct Scope {
    pub grain: Grain,
    /// The ordinal of the activity's first period.
    pub first_idx: i64,
    /// A flag per period from `first_idx`: rebuilt.
    pub rebuild: Vec<bool>,
    /// The table's parts before this run (`period=2025-03-07`).
    pub parts: Vec<String>,
    /// The growth mart of the grain before this run.
    pub previous_growth: DataFrame,
}

impl Scope {
    pub fn rebuilds(&self, start_day: i64) -> bool {
        let i = self.grain.ordinal(start_day) - self.first_idx;
        usize::try_from(i)
            .ok()
            .and_then(|i| self.rebuild.get(i))
            .copied()
            .unwrap_or(false)
    }

    /// Periods rebuilt, of all.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.rebuild.iter().filter(|r| **r).count(),
            self.rebuild.len(),
        )
    }

    /// Per row of a frame with a `period` date column: whether its period is rebuilt.
    pub fn mask(&self, df: &DataFrame) -> PolarsResult<BooleanChunked> {
        let period = df.column("period")?.cast(&DataType::Int32)?;
        Ok(period
            .i32()?
            .iter()
            .map(|d| d.is_some_and(|d| self.rebuilds(i64::from(d))))
            .collect())
    }
}

/// The part of a lifecycle table holding the period that starts on `start_day`.
pub fn part_name(start_day: i64) -> String {
    format!(
        "period={}",
        contract::calendar::date(start_day).format("%Y-%m-%d")
    )
}

/// The part names of a folder table's files when every one is a period part
/// (`marts/user_lifecycle_day/period=2025-03-07.parquet`); `None` otherwise (a table
/// written whole, as before lifecycle tables were kept by period, or by the Spark engine).
pub fn period_parts(table: &str, files: &[String]) -> Option<Vec<String>> {
    let folder = format!("{}/", table.replacen('.', "/", 1));
    files
        .iter()
        .map(|f| {
            let part = f.strip_prefix(&folder)?.strip_suffix(".parquet")?;
            let date = part.strip_prefix("period=")?;
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
            Some(part.to_string())
        })
        .collect()
}

/// The periods of a grain to rebuild: a flag per period from the activity's first.
/// `before` is `slim.dim_users_of(existing)`, computed once for the three grains (a pass
/// over gold's history).
pub fn rebuild(
    slim: &SlimEvents,
    act: &Activity,
    before: &DimUsers,
    now: &DimUsers,
    existing: usize,
    grain: Grain,
) -> Vec<bool> {
    let first_idx = grain.ordinal(act.first_day);
    let periods = (grain.ordinal(act.last_day) - first_idx + 1) as usize;
    let mut rebuild = vec![false; periods];
    let period = |t: i64| grain.ordinal(t.div_euclid(MICROS_PER_DAY));
    let mut mark = |p: i64| {
        if let Some(flag) = usize::try_from(p - first_idx)
            .ok()
            .and_then(|i| rebuild.get_mut(i))
        {
            *flag = true;
        }
    };
    for &t in &slim.time[existing.min(slim.len())..] {
        mark(period(t));
        mark(period(t) + 1);
    }
    let (mut old_first, mut old_last) = (i64::MAX, i64::MIN);
    for user in 0..before.len() {
        if before.first[user] == i64::MAX {
            continue;
        }
        old_first = old_first.min(before.first[user]);
        old_last = old_last.max(before.last[user]);
        if before.first[user] != now.first[user] {
            mark(period(before.first[user]));
        }
        if before.country[user] != now.country[user] {
            for day in act.days(user) {
                mark(grain.ordinal(day));
                mark(grain.ordinal(day) + 1);
            }
        }
    }
    if old_first == i64::MAX {
        return vec![true; periods];
    }
    let (old_first, old_last) = (period(old_first), period(old_last));
    for (i, flag) in rebuild.iter_mut().enumerate() {
        let p = first_idx + i as i64;
        if p < old_first || p > old_last {
            *flag = true;
        }
    }
    rebuild
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::codes::NULL_CODE;
    use crate::pipeline::slim::SlimChunk;

    /// Events (user, day, country) as slim events.
    fn slim(events: &[(&str, i64, &str)]) -> SlimEvents {
        let mut chunk = SlimChunk::default();
        for &(user, day, country) in events {
            chunk.user.push(chunk.users.intern(user));
            chunk.time.push(day * MICROS_PER_DAY + 60);
            chunk.event_type.push(0);
            chunk.category.push(NULL_CODE);
            chunk.miles.push(0.0);
            chunk.country.push(chunk.countries.intern(country));
        }
        let mut slim = SlimEvents::default();
        slim.append(chunk, None);
        slim
    }

    /// The days flagged when the events after the first `existing` are the batch.
    fn days(events: &[(&str, i64, &str)], existing: usize) -> Vec<i64> {
        let slim = slim(events);
        let dim = slim.dim_users();
        let act = Activity::new(&slim, &dim);
        let before = slim.dim_users_of(existing);
        let flags = rebuild(&slim, &act, &before, &dim, existing, Grain::Day);
        (0..flags.len() as i64)
            .filter(|&i| flags[i as usize])
            .map(|i| act.first_day + i)
            .collect()
    }

    #[test]
    fn a_new_event_changes_its_period_and_the_next() {
        let history = [("a", 0, "SG"), ("a", 5, "SG"), ("b", 9, "SG")];
        let mut events = history.to_vec();
        events.push(("b", 3, "SG"));
        assert_eq!(days(&events, 3), vec![3, 4, 9]);
    }

    #[test]
    fn an_earlier_first_event_changes_the_old_first_period() {
        let events = [("a", 2, "SG"), ("b", 6, "SG"), ("b", 4, "SG")];
        // 4 and 5 for the event; b's old first day 6 (new there, now resurrected).
        assert_eq!(days(&events, 2), vec![4, 5, 6]);
        let late = [("a", 2, "SG"), ("a", 0, "SG")];
        assert_eq!(days(&late, 1), vec![0, 1, 2]);
    }

    #[test]
    fn a_new_country_changes_every_period_of_the_user() {
        let events = [
            ("a", 0, "SG"),
            ("a", 2, "SG"),
            ("b", 4, "SG"),
            ("a", 4, "MY"),
        ];
        assert_eq!(days(&events, 3), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn period_parts_are_named_by_their_first_day() {
        assert_eq!(part_name(0), "period=1970-01-01");
        let files = vec!["marts/user_lifecycle_day/period=2025-03-07.parquet".to_string()];
        assert_eq!(
            period_parts("marts.user_lifecycle_day", &files),
            Some(vec!["period=2025-03-07".to_string()])
        );
        let whole = vec!["marts/user_lifecycle_day.parquet".to_string()];
        assert_eq!(period_parts("marts.user_lifecycle_day", &whole), None);
    }

    #[test]
    fn with_no_history_every_period_is_rebuilt() {
        assert_eq!(days(&[("a", 0, "SG"), ("a", 3, "SG")], 0), vec![0, 1, 2, 3]);
    }
}
