//! The cohort drill file: the users whose first active day (a `new` row of the day grain)
//! falls in one period of a grain, and whether each was active on each retention day after
//! that first day: `null` when that day is past the data (right-censored), so the browser
//! counts exactly what the retention mart counts. See: METRICS.md, Retention.

use std::sync::Arc;

use contract::calendar::date;
use contract::drill::{CohortColumns, CohortFile, CohortRow};
use contract::{Grain, Status};

use super::Period;
use super::tables::{Activity, Groups, Users};
use crate::pipeline::marts::retention::DAYS;

pub(super) fn file(
    days: &Groups,
    activity: &Activity,
    users: &Users,
    grain: Grain,
    period: &Period,
) -> CohortFile<Arc<str>> {
    let bucket = grain.ordinal(period.day.into());
    let mut rows: Vec<(u32, i32)> = days
        .iter()
        .filter(|&(&(d, s), _)| s == Status::New && grain.ordinal(d.into()) == bucket)
        .flat_map(|(&(d, _), rows)| rows.iter().map(move |r| (r.user, d)))
        .collect();
    rows.sort_by(|a, b| users.by_id(a.0, b.0));
    let rows = rows
        .into_iter()
        .map(|(user, cohort)| {
            let u = user as usize;
            let seen = DAYS.map(|n| {
                let n = n as i32;
                (cohort + n <= activity.last_day)
                    .then(|| activity.days[u].binary_search(&(cohort + n)).is_ok())
            });
            CohortRow::new(
                users.id[u].clone(),
                users.country[u].clone(),
                date(cohort.into()).to_string(),
                seen,
            )
        })
        .collect();
    CohortFile {
        grain,
        period: period.text.clone(),
        columns: CohortColumns,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tables::activity;
    use super::super::tables::tests::{tiny_days, tiny_users};
    use super::*;

    #[test]
    fn a_cohort_is_its_new_users_with_censored_days_as_none() {
        let users = tiny_users();
        let days = tiny_days(&users);
        let activity = activity(&days, users.len());
        // Day 10 is 1970-01-11, a Sunday: the last of its week (days 4..=10), so c's day 12 is not in it.
        let week = Period {
            day: 10,
            text: "1970-01-11".into(),
        };
        let f = file(&days, &activity, &users, Grain::Week, &week);
        let ids: Vec<&str> = f.rows.iter().map(|r| &*r.0).collect();
        assert_eq!(ids, ["a", "b"]);
        // a: active on day 10 and 12 -> D0 yes, D1 (day 11, churned) no, D7+ past the data.
        assert_eq!(
            (0..6).map(|i| f.rows[0].seen(i)).collect::<Vec<_>>(),
            [Some(true), Some(false), None, None, None, None]
        );
        assert_eq!(f.rows[1].seen(1), Some(true));
        assert_eq!(f.rows[0].2, "1970-01-11");
        let day12 = Period {
            day: 12,
            text: "1970-01-13".into(),
        };
        let f = file(&days, &activity, &users, Grain::Day, &day12);
        assert_eq!(f.rows.len(), 1);
        assert_eq!(
            (&*f.rows[0].0, f.rows[0].seen(0), f.rows[0].seen(1)),
            ("c", Some(true), None)
        );
    }
}
