//! The growth selections: the users with one growth status in one period of a grain, from
//! that grain's grouped lifecycle rows (already sorted by user), as
//! `contract::drill::Member`s with each user's country code and events in the period.
//! Every period with lifecycle rows gets all four statuses (an empty one is a header with a
//! count of 0), so a shared link to any of them answers. See: METRICS.md, Growth accounting.

use contract::Status;
use contract::drill::Member;

use super::tables::{Groups, Users};

/// Each period (day number) with lifecycle rows, with its members per status (in
/// `Status::ALL` order).
pub(super) fn selections<'a>(
    groups: &'a Groups,
    users: &'a Users,
) -> impl Iterator<Item = (i32, [Vec<Member>; 4])> + 'a {
    let mut days: Vec<i32> = groups.keys().map(|k| k.0).collect();
    days.dedup();
    days.into_iter().map(move |day| {
        let members = Status::ALL.map(|status| {
            groups
                .get(&(day, status))
                .map(|rows| {
                    rows.iter()
                        .map(|r| Member {
                            user: r.user,
                            country: users.country_code[r.user as usize],
                            value: r.events,
                            seen: 0,
                        })
                        .collect()
                })
                .unwrap_or_default()
        });
        (day, members)
    })
}

#[cfg(test)]
mod tests {
    use super::super::tables::tests::{tiny_days, tiny_users};
    use super::*;

    #[test]
    fn a_period_lists_each_status_sorted_by_user_with_events() {
        let users = tiny_users();
        let groups = tiny_days(&users);
        let all: Vec<_> = selections(&groups, &users).collect();
        assert_eq!(all.iter().map(|s| s.0).collect::<Vec<_>>(), [10, 11, 12]);
        let new = &all[0].1[Status::New.index()];
        // a (no country, code 0) then b (SG, code 2).
        assert_eq!(
            new.iter()
                .map(|m| (m.user, m.country, m.value))
                .collect::<Vec<_>>(),
            [(0, 0, 1), (1, 2, 3)]
        );
        // A status without users that period is an empty selection, not a missing one.
        assert!(all[0].1[Status::Churned.index()].is_empty());
        assert_eq!(all[1].1[Status::Churned.index()].len(), 1);
    }
}
