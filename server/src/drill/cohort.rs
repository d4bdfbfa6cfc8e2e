//! The cohort selections: per period of a grain, the users whose first active day (a `new`
//! row of the day grain) falls in it, as `contract::drill::Member`s whose value is that
//! day (days after the period's first day) and whose `seen` bits say on which retention
//! days after it the user was active. A day past the data is never seen; the header says
//! it is not observed (right-censored), so the browser counts exactly what the retention
//! mart counts. See: METRICS.md, Retention.

use std::collections::BTreeMap;

use contract::drill::Member;
use contract::{Grain, Status};

use super::tables::{Activity, Groups, Users};
use crate::pipeline::marts::retention::DAYS;

/// Per cohort period (its first day), its members sorted by user.
pub(super) fn selections(
    days: &Groups,
    activity: &Activity,
    users: &Users,
    grain: Grain,
) -> BTreeMap<i32, Vec<Member>> {
    let mut cohorts: BTreeMap<i32, Vec<Member>> = BTreeMap::new();
    for (&(day, status), rows) in days {
        if status != Status::New {
            continue;
        }
        let start = grain.start(grain.ordinal(day.into())) as i32;
        let members = cohorts.entry(start).or_default();
        for r in rows {
            let active = &activity.days[r.user as usize];
            let mut seen = 0u8;
            for (i, n) in DAYS.iter().enumerate() {
                if active.binary_search(&(day + *n as i32)).is_ok() {
                    seen |= 1 << i;
                }
            }
            members.push(Member {
                user: r.user,
                country: users.country_code[r.user as usize],
                value: (day - start) as u32,
                seen,
            });
        }
    }
    for members in cohorts.values_mut() {
        members.sort_unstable();
    }
    cohorts
}

#[cfg(test)]
mod tests {
    use super::super::tables::activity;
    use super::super::tables::tests::{tiny_days, tiny_users};
    use super::*;

    #[test]
    fn a_cohort_is_its_new_users_with_the_days_they_came_back() {
        let users = tiny_users();
        let days = tiny_days(&users);
        let activity = activity(&days, users.len());
        // Day 10 is 1970-01-11, a Sunday: the last of its week (days 4..=10), so c's day 12 is not in it.
        let weeks = selections(&days, &activity, &users, Grain::Week);
        assert_eq!(weeks.keys().copied().collect::<Vec<_>>(), [4, 11]);
        let first = &weeks[&4];
        // a (0) and b (1), both new on day 10 (6 days into the week): a seen on D0 only
        // (day 11 churned), b on D0 and D1.
        assert_eq!(
            first
                .iter()
                .map(|m| (m.user, m.value, m.seen))
                .collect::<Vec<_>>(),
            [(0, 6, 0b01), (1, 6, 0b11)]
        );
        let day12 = &selections(&days, &activity, &users, Grain::Day)[&12];
        assert_eq!(
            day12
                .iter()
                .map(|m| (m.user, m.country, m.value, m.seen))
                .collect::<Vec<_>>(),
            [(2, 1, 0, 0b01)]
        );
    }
}
