//! The warehouse tables a drill-down reads, turned into what its queries index: every user
//! of `gold.dim_users` (id, country, first and last seen) as a number, a grain's
//! `user_lifecycle_<grain>` rows grouped by (period, status), and each user's active days
//! (from the day grain). Built once per warehouse version and shared by every file of it,
//! so a file is a lookup and a sort, never a scan of a table.
//!
//! Strings are `Arc<str>`: each user's are copied into the files by reference count only.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use contract::Status;
use polars::prelude::*;

use super::DrillError;

/// One user's lifecycle row, with the user as an index into [`Users`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Row {
    pub user: u32,
    pub events: u32,
}

/// Every user of the warehouse: id, country, first and last seen (as text, to the second).
#[derive(Default)]
pub(super) struct Users {
    pub id: Vec<Arc<str>>,
    pub country: Vec<Option<Arc<str>>>,
    pub first_seen: Vec<Arc<str>>,
    pub last_seen: Vec<Arc<str>>,
    pub index: HashMap<Arc<str>, u32>,
}

impl Users {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// The ids' order, for rows sorted by user id.
    pub fn by_id(&self, a: u32, b: u32) -> std::cmp::Ordering {
        self.id[a as usize].cmp(&self.id[b as usize])
    }
}

/// A grain's lifecycle rows by (period as a day number, status).
pub(super) type Groups = BTreeMap<(i32, Status), Vec<Row>>;

/// Which days each user was active (ascending), and the data's last day: what the cohort
/// files check retention days against.
#[derive(Default)]
pub(super) struct Activity {
    pub days: Vec<Vec<i32>>,
    pub last_day: i32,
}

/// A column as text (`max` characters at most), nulls kept.
fn text(df: &DataFrame, name: &str, max: usize) -> Result<Vec<Option<String>>, DrillError> {
    let c = df
        .column(name)
        .and_then(|c| c.cast(&DataType::String))
        .map_err(DrillError::column(name))?;
    Ok(c.str()
        .map_err(DrillError::column(name))?
        .iter()
        .map(|v| v.map(|s| s.chars().take(max).collect()))
        .collect())
}

/// The users of `gold.dim_users` (`user_id`, `country`, `first_seen_at`, `last_seen_at`).
pub(super) fn users(dim: &DataFrame) -> Result<Users, DrillError> {
    // Times print as `YYYY-MM-DD HH:MM:SS.ffffff`; the panels show seconds. Ids and
    // countries are kept whole (a UUID or an e-mail is longer than a timestamp).
    const WHOLE: usize = usize::MAX;
    const SECONDS: usize = "YYYY-MM-DD HH:MM:SS".len();
    let ids = text(dim, "user_id", WHOLE)?;
    let mut users = Users::default();
    for (i, ((id, country), (first, last))) in ids
        .into_iter()
        .zip(text(dim, "country", WHOLE)?)
        .zip(text(dim, "first_seen_at", SECONDS)?.into_iter().zip(text(
            dim,
            "last_seen_at",
            SECONDS,
        )?))
        .enumerate()
    {
        let id: Arc<str> = id.unwrap_or_default().into();
        users.index.insert(id.clone(), i as u32);
        users.id.push(id);
        users.country.push(country.map(Arc::from));
        users.first_seen.push(first.unwrap_or_default().into());
        users.last_seen.push(last.unwrap_or_default().into());
    }
    Ok(users)
}

/// The columns [`groups`] reads of a lifecycle table.
pub(super) const LIFECYCLE_COLUMNS: [&str; 4] = ["period", "user_id", "status", "events"];

/// A lifecycle table's rows by (period, status); rows of users not in `users` or with a
/// status the contract does not know are left out.
pub(super) fn groups(df: &DataFrame, users: &Users) -> Result<Groups, DrillError> {
    let column = DrillError::column;
    let period = df
        .column("period")
        .and_then(|c| c.cast(&DataType::Int32))
        .map_err(column("period"))?;
    let period = period.i32().map_err(column("period"))?;
    let user = df.column("user_id").map_err(column("user_id"))?;
    let user = user.str().map_err(column("user_id"))?;
    let status = df.column("status").map_err(column("status"))?;
    let status = status.str().map_err(column("status"))?;
    let events = df
        .column("events")
        .and_then(|c| c.cast(&DataType::UInt32))
        .map_err(column("events"))?;
    let events = events.u32().map_err(column("events"))?;
    let mut groups = Groups::new();
    for i in 0..df.height() {
        let (Some(p), Some(u), Some(s)) = (period.get(i), user.get(i), status.get(i)) else {
            continue;
        };
        let (Some(&user), Some(s)) = (users.index.get(u), Status::parse(s)) else {
            continue;
        };
        groups.entry((p, s)).or_default().push(Row {
            user,
            events: events.get(i).unwrap_or(0),
        });
    }
    Ok(groups)
}

/// Each user's active days from the day grain's groups: a row that is not `churned` is a
/// day with events. See: METRICS.md, Retention.
pub(super) fn activity(days: &Groups, users: usize) -> Activity {
    let mut active = vec![Vec::new(); users];
    // Groups iterate by day first, so each user's days come out ascending.
    for (&(day, s), rows) in days {
        if s != Status::Churned {
            for r in rows {
                active[r.user as usize].push(day);
            }
        }
    }
    Activity {
        days: active,
        last_day: days.keys().map(|k| k.0).max().unwrap_or(0),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Three users: `b` in SG, `a` without a country, `c` in MY.
    pub fn tiny_users() -> Users {
        let dim = df![
            "user_id" => ["b", "a", "c"],
            "country" => [Some("SG"), None, Some("MY")],
            "first_seen_at" => ["2025-03-01 10:00:00.123456", "2025-03-02 11:00:00.5", "2025-03-03 12:00:00"],
            "last_seen_at" => ["2025-04-01 10:00:00.123456", "2025-04-02 11:00:00", "2025-04-03 12:00:00"],
        ]
        .unwrap();
        users(&dim).unwrap()
    }

    /// Day grain rows: day 10 new b and a; day 11 retained b, churned a; day 12 new c and
    /// resurrected a; plus a stranger and a status nobody knows, both left out.
    pub fn tiny_days(users: &Users) -> Groups {
        let df = df![
            "period" => [10i32, 10, 11, 11, 12, 12, 12, 12],
            "user_id" => ["b", "a", "b", "a", "c", "a", "zz", "b"],
            "status" => ["new", "new", "retained", "churned", "new", "resurrected", "new", "gone"],
            "events" => [3u32, 1, 2, 0, 5, 4, 9, 9],
        ]
        .unwrap();
        groups(&df, users).unwrap()
    }

    #[test]
    fn users_keep_ids_and_countries_whole_and_times_to_the_second() {
        let users = tiny_users();
        assert_eq!(users.len(), 3);
        assert_eq!(users.index["a"], 1);
        assert_eq!(users.country[1], None);
        assert_eq!(users.country[0].as_deref(), Some("SG"));
        assert_eq!(&*users.first_seen[0], "2025-03-01 10:00:00");
        assert_eq!(&*users.first_seen[1], "2025-03-02 11:00:00");
        assert!(users.by_id(1, 0).is_lt());
    }

    #[test]
    fn lifecycle_rows_group_by_period_and_status_without_strangers() {
        let users = tiny_users();
        let groups = tiny_days(&users);
        let keys: Vec<_> = groups.keys().copied().collect();
        assert_eq!(
            keys,
            [
                (10, Status::New),
                (11, Status::Retained),
                (11, Status::Churned),
                (12, Status::New),
                (12, Status::Resurrected),
            ]
        );
        assert_eq!(
            groups[&(10, Status::New)],
            [Row { user: 0, events: 3 }, Row { user: 1, events: 1 }]
        );
        assert!(groups.values().flatten().all(|r| r.events != 9));
    }

    #[test]
    fn active_days_leave_churned_rows_out() {
        let users = tiny_users();
        let activity = activity(&tiny_days(&users), users.len());
        assert_eq!(activity.days, [vec![10, 11], vec![10, 12], vec![12]]);
        assert_eq!(activity.last_day, 12);
        assert_eq!(super::activity(&Groups::new(), 0).last_day, 0);
    }

    #[test]
    fn a_missing_column_names_itself() {
        let df = df!["period" => [1i32]].unwrap();
        let err = groups(&df, &tiny_users()).err().unwrap();
        assert!(err.to_string().starts_with("user_id: "), "{err}");
        assert!(!err.is_not_found());
    }
}
