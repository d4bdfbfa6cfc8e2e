//! The growth drill file: the users with one growth status in one period of a grain, from
//! that grain's grouped lifecycle rows, sorted by user id, each with their country, first
//! and last seen and their events in the period. See: METRICS.md, Growth accounting.

use std::sync::Arc;

use contract::drill::{GrowthFile, UserColumns, UserRow};
use contract::{Grain, Status};

use super::Period;
use super::tables::{Groups, Row, Users};

pub(super) fn file(
    groups: &Groups,
    users: &Users,
    grain: Grain,
    period: &Period,
    status: Status,
) -> GrowthFile<Arc<str>> {
    let mut rows: Vec<Row> = groups
        .get(&(period.day, status))
        .cloned()
        .unwrap_or_default();
    rows.sort_by(|a, b| users.by_id(a.user, b.user));
    GrowthFile {
        grain,
        period: period.text.clone(),
        status,
        columns: UserColumns,
        rows: rows
            .iter()
            .map(|r| {
                let u = r.user as usize;
                UserRow(
                    users.id[u].clone(),
                    users.country[u].clone(),
                    users.first_seen[u].clone(),
                    users.last_seen[u].clone(),
                    r.events.into(),
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tables::tests::{tiny_days, tiny_users};
    use super::*;

    #[test]
    fn a_number_lists_its_users_sorted_by_id() {
        let users = tiny_users();
        let groups = tiny_days(&users);
        let period = Period {
            day: 10,
            text: "1970-01-11".into(),
        };
        let f = file(&groups, &users, Grain::Day, &period, Status::New);
        let rows: Vec<(&str, Option<&str>, u64)> = f
            .rows
            .iter()
            .map(|r| (&*r.0, r.1.as_deref(), r.4))
            .collect();
        assert_eq!(rows, [("a", None, 1), ("b", Some("SG"), 3)]);
        assert_eq!(&*f.rows[1].2, "2025-03-01 10:00:00");
        assert_eq!(
            (f.grain, f.period.as_str(), f.status),
            (Grain::Day, "1970-01-11", Status::New)
        );
        // A period or status without users is an empty file, not an error.
        assert!(
            file(&groups, &users, Grain::Day, &period, Status::Churned)
                .rows
                .is_empty()
        );
    }
}
