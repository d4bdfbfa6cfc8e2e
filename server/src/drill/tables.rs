//! The warehouse tables a drill-down reads, turned into what its files index: every user
//! of `gold.dim_users` (id, country, first and last seen) as a number in the order of the
//! ids (the dictionary's index, `contract::drill::users`), a grain's
//! `user_lifecycle_<grain>` rows grouped by (period, status) and sorted by that number,
//! and each user's active days (from the day grain). Built once per warehouse version (or
//! per export) and shared by every file of it, so a file is a walk over sorted rows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use contract::Status;
use polars::prelude::*;
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use super::DrillError;

/// One user's lifecycle row, with the user as an index into [`Users`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Row {
    pub user: u32,
    pub events: u32,
}

/// Every user of the warehouse, sorted by id: id, country, first and last seen (seconds).
#[derive(Default)]
pub(super) struct Users {
    pub id: Vec<Arc<str>>,
    pub country: Vec<Option<Arc<str>>>,
    /// Each user's country as an index into [`Users::countries`].
    pub country_code: Vec<u32>,
    /// Every country once, sorted (`None`, the users without one, first).
    pub countries: Vec<Option<Arc<str>>>,
    pub first_seen: Vec<Option<i64>>,
    pub last_seen: Vec<Option<i64>>,
    pub index: HashMap<Arc<str>, u32, Xxh3DefaultBuilder>,
    /// A hash of everything above: the dictionary's version, which every selection file
    /// repeats (the browser refuses to mix files of two runs).
    pub version: u64,
}

impl Users {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// The ids' order, for rows sorted by user id (the indices' order).
    pub fn by_id(&self, a: u32, b: u32) -> std::cmp::Ordering {
        a.cmp(&b)
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

/// A column as text, nulls kept.
fn text(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>, DrillError> {
    let c = df
        .column(name)
        .and_then(|c| c.cast(&DataType::String))
        .map_err(DrillError::column(name))?;
    Ok(c.str()
        .map_err(DrillError::column(name))?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// A timestamp column as whole seconds since 1970-01-01 (the panels show seconds); a text
/// column (`YYYY-MM-DD HH:MM:SS[.f]`) is parsed, an unreadable time is unknown.
fn seconds(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>, DrillError> {
    let column = df.column(name).map_err(DrillError::column(name))?;
    if column.dtype() == &DataType::String {
        let parse = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp())
        };
        return Ok(text(df, name)?
            .into_iter()
            .map(|v| v.as_deref().and_then(parse))
            .collect());
    }
    let c = df
        .column(name)
        .and_then(|c| c.cast(&DataType::Datetime(TimeUnit::Microseconds, None)))
        .and_then(|c| c.cast(&DataType::Int64))
        .map_err(DrillError::column(name))?;
    Ok(c.i64()
        .map_err(DrillError::column(name))?
        .iter()
        .map(|v| v.map(|us| us.div_euclid(1_000_000)))
        .collect())
}

/// The users of `gold.dim_users` (`user_id`, `country`, `first_seen_at`, `last_seen_at`),
/// sorted by id. Ids and countries are kept whole (a UUID or an e-mail is longer than a
/// timestamp).
pub(super) fn users(dim: &DataFrame) -> Result<Users, DrillError> {
    let ids = text(dim, "user_id")?;
    let countries = text(dim, "country")?;
    let (first, last) = (
        seconds(dim, "first_seen_at")?,
        seconds(dim, "last_seen_at")?,
    );
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
    let mut names: Vec<Option<Arc<str>>> = countries
        .iter()
        .map(|c| c.as_deref().map(Arc::from))
        .collect();
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    let code: HashMap<Option<Arc<str>>, u32> = distinct
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i as u32))
        .collect();
    let mut users = Users {
        countries: distinct,
        ..Users::default()
    };
    let mut hash = xxhash_rust::xxh3::Xxh3::new();
    for (i, &row) in order.iter().enumerate() {
        let id: Arc<str> = ids[row].as_deref().unwrap_or_default().into();
        let country = names[row].take();
        hash.update(id.as_bytes());
        hash.update(&[0xff]);
        hash.update(country.as_deref().unwrap_or("\0").as_bytes());
        for t in [first[row], last[row]] {
            hash.update(&t.unwrap_or(i64::MIN).to_le_bytes());
        }
        users.index.insert(id.clone(), i as u32);
        users.id.push(id);
        users
            .country_code
            .push(code.get(&country).copied().unwrap_or(0));
        users.country.push(country);
        users.first_seen.push(first[row]);
        users.last_seen.push(last[row]);
    }
    users.version = hash.digest();
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
    let rows = period
        .iter()
        .zip(user.iter())
        .zip(status.iter())
        .zip(events.iter());
    // Rows come in runs of one period and status: gather a run, then add it to its group
    // with one map lookup (not one per row).
    let mut run: Option<(i32, &str, Option<Status>)> = None;
    let mut rows_of_run: Vec<Row> = Vec::new();
    let mut flush = |run: Option<(i32, &str, Option<Status>)>, rows: &mut Vec<Row>| {
        if let Some((p, _, Some(status))) = run {
            groups.entry((p, status)).or_default().append(rows);
        }
        rows.clear();
    };
    for (((p, u), s), e) in rows {
        let (Some(p), Some(u), Some(s)) = (p, u, s) else {
            continue;
        };
        if !matches!(run, Some((rp, rs, _)) if rp == p && rs == s) {
            flush(run, &mut rows_of_run);
            run = Some((p, s, Status::parse(s)));
        }
        let Some(&user) = users.index.get(u) else {
            continue;
        };
        rows_of_run.push(Row {
            user,
            events: e.unwrap_or(0),
        });
    }
    flush(run, &mut rows_of_run);
    // By dictionary index, which is by user id: the order of a selection's members.
    for rows in groups.values_mut() {
        rows.sort_unstable_by_key(|r| r.user);
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
    fn users_are_numbered_by_id_with_whole_countries_and_times_to_the_second() {
        let users = tiny_users();
        assert_eq!(users.len(), 3);
        assert_eq!(
            users.id.iter().map(|i| &**i).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(users.index["a"], 0);
        assert_eq!(users.country[0], None);
        assert_eq!(users.country[1].as_deref(), Some("SG"));
        assert_eq!(
            users.countries,
            [None, Some("MY".into()), Some("SG".into())]
        );
        assert_eq!(users.country_code, [0, 2, 1]);
        let text = |t| contract::drill::users::time_text(t);
        assert_eq!(text(users.first_seen[1]), "2025-03-01 10:00:00");
        assert_eq!(text(users.first_seen[0]), "2025-03-02 11:00:00");
        assert!(users.by_id(0, 1).is_lt());
        assert_ne!(users.version, Users::default().version);
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
            [Row { user: 0, events: 1 }, Row { user: 1, events: 3 }]
        );
        assert!(groups.values().flatten().all(|r| r.events != 9));
    }

    #[test]
    fn active_days_leave_churned_rows_out() {
        let users = tiny_users();
        let activity = activity(&tiny_days(&users), users.len());
        assert_eq!(activity.days, [vec![10, 12], vec![10, 11], vec![12]]);
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
