//! Drill-down in the browser: which number was clicked (kept in the URL as
//! `drill=<period>:<status>`), the users behind it as the server or the export lists them
//! (`data/drill/<grain>/<period>/<status>.json`), and the user table's filtering, sorting
//! and paging. Pure functions, unit-tested; the panel is in `components::drill`.

use serde::Deserialize;

/// A growth status, as the lifecycle table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    New,
    Retained,
    Resurrected,
    Churned,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::New,
        Status::Retained,
        Status::Resurrected,
        Status::Churned,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Retained => "retained",
            Status::Resurrected => "resurrected",
            Status::Churned => "churned",
        }
    }

    /// The growth chart's series name for it.
    pub fn label(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Retained => "Retained",
            Status::Resurrected => "Resurrected",
            Status::Churned => "Churned",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.label() == label)
    }

    /// This status's count in a growth row.
    pub fn count(self, row: &crate::marts::GrowthRow) -> u64 {
        match self {
            Status::New => row.new_users,
            Status::Retained => row.retained_users,
            Status::Resurrected => row.resurrected_users,
            Status::Churned => row.churned_users,
        }
    }
}

/// Which segment of a growth bar is at height `y`: the positive bars stack new, retained,
/// resurrected upward from zero (the chart's trace order); churned hangs below zero.
pub fn status_at(row: &crate::data::growth::Period, y: f64) -> Option<Status> {
    if y < 0.0 {
        return (row.churned_users > 0 && y >= -(row.churned_users as f64))
            .then_some(Status::Churned);
    }
    let mut top = 0.0;
    for status in [Status::New, Status::Retained, Status::Resurrected] {
        let n = match status {
            Status::New => row.new_users,
            Status::Retained => row.retained_users,
            _ => row.resurrected_users,
        } as f64;
        top += n;
        if n > 0.0 && y <= top {
            return Some(status);
        }
    }
    None
}

/// A clicked growth number: a period and a status (the grain and countries are the page's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub period: String,
    pub status: Status,
}

impl Selection {
    pub fn parse(text: &str) -> Option<Self> {
        let (period, status) = text.rsplit_once(':')?;
        let valid = period.len() == 10 && period.chars().all(|c| c.is_ascii_digit() || c == '-');
        let status = Status::from_key(status)?;
        valid.then(|| Self {
            period: period.to_string(),
            status,
        })
    }

    pub fn to_query(&self) -> String {
        format!("{}:{}", self.period, self.status.key())
    }
}

/// The users behind one growth number, as `data/drill/...` serves them.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct DrillFile {
    pub rows: Vec<UserRow>,
}

/// `[user_id, country, first_seen, last_seen, events]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct UserRow(
    pub String,
    pub Option<String>,
    pub String,
    pub String,
    pub u64,
);

pub const USER_COLUMNS: [&str; 5] = [
    "user_id",
    "country",
    "first seen",
    "last seen",
    "events in period",
];

/// How the user table is sorted: a column of [`USER_COLUMNS`], ascending or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Sort {
    pub column: usize,
    pub descending: bool,
}

impl Sort {
    /// Clicking a header: the same column flips direction, another sorts ascending.
    pub fn toggle(self, column: usize) -> Self {
        Sort {
            column,
            descending: self.column == column && !self.descending,
        }
    }
}

/// The rows of the selected countries (all when none is selected), sorted.
pub fn users(file: &DrillFile, countries: &[String], sort: Sort) -> Vec<UserRow> {
    let mut rows: Vec<UserRow> = file
        .rows
        .iter()
        .filter(|r| countries.is_empty() || r.1.as_ref().is_some_and(|c| countries.contains(c)))
        .cloned()
        .collect();
    rows.sort_by(|a, b| {
        let order = match sort.column {
            1 => a.1.cmp(&b.1),
            2 => a.2.cmp(&b.2),
            3 => a.3.cmp(&b.3),
            4 => a.4.cmp(&b.4),
            _ => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.0.cmp(&b.0));
        if sort.descending {
            order.reverse()
        } else {
            order
        }
    });
    rows
}

/// Rows per page of the user table.
pub const PAGE: usize = 50;

/// Page `page` (from 0) of `rows`, and how many pages there are (at least 1).
pub fn page<T: Clone>(rows: &[T], page: usize) -> (Vec<T>, usize) {
    let pages = rows.len().div_ceil(PAGE).max(1);
    let page = page.min(pages - 1);
    let start = page * PAGE;
    (
        rows[start.min(rows.len())..(start + PAGE).min(rows.len())].to_vec(),
        pages,
    )
}

/// The periods inside a brushed x range (`from`/`to` as Plotly reports dates), as the
/// first and last period label: what the page's date filter becomes.
pub fn periods_in_range(periods: &[String], from: &str, to: &str) -> Option<(String, String)> {
    // Plotly gives `YYYY-MM-DD[ HH:MM[:SS.sss]]`; a period is in when its bar's centre (its
    // label at midnight) is: as text, `2025-04-14` sorts before `2025-04-14 06:00`.
    let inside: Vec<&String> = periods
        .iter()
        .filter(|p| p.as_str() >= from && p.as_str() <= to)
        .collect();
    Some((inside.first()?.to_string(), inside.last()?.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, country: &str, events: u64) -> UserRow {
        UserRow(
            id.into(),
            Some(country.into()),
            "2025-03-01 10:00:00".into(),
            "2025-04-01 10:00:00".into(),
            events,
        )
    }

    #[test]
    fn selections_round_trip_through_the_url() {
        let s = Selection::parse("2025-04-14:churned").unwrap();
        assert_eq!(s.status, Status::Churned);
        assert_eq!(s.to_query(), "2025-04-14:churned");
        assert!(Selection::parse("2025-04-14:gone").is_none());
        assert!(Selection::parse("April:new").is_none());
        assert_eq!(Status::from_label("Resurrected"), Some(Status::Resurrected));
        assert_eq!(Status::from_label("Active"), None);
    }

    #[test]
    fn users_are_filtered_by_country_and_sorted_with_a_stable_tie_break() {
        let file = DrillFile {
            rows: vec![row("b", "SG", 3), row("a", "MY", 3), row("c", "SG", 1)],
        };
        let ids = |rows: Vec<UserRow>| rows.into_iter().map(|r| r.0).collect::<Vec<_>>();
        assert_eq!(ids(users(&file, &[], Sort::default())), ["a", "b", "c"]);
        assert_eq!(
            ids(users(&file, &["SG".into()], Sort::default())),
            ["b", "c"]
        );
        let by_events = Sort::default().toggle(4);
        assert_eq!(ids(users(&file, &[], by_events)), ["c", "a", "b"]);
        assert_eq!(ids(users(&file, &[], by_events.toggle(4))), ["b", "a", "c"]);
    }

    #[test]
    fn the_pointer_height_picks_the_stacked_segment() {
        let p = crate::data::growth::Period {
            new_users: 10,
            retained_users: 0,
            resurrected_users: 5,
            churned_users: 4,
            ..Default::default()
        };
        assert_eq!(status_at(&p, 3.0), Some(Status::New));
        assert_eq!(status_at(&p, 12.0), Some(Status::Resurrected));
        assert_eq!(status_at(&p, -2.0), Some(Status::Churned));
        assert_eq!(status_at(&p, 16.0), None);
        assert_eq!(status_at(&p, -5.0), None);
    }

    #[test]
    fn pages_hold_fifty_rows_and_clamp() {
        let rows: Vec<usize> = (0..120).collect();
        assert_eq!(page(&rows, 0).0.len(), 50);
        assert_eq!(page(&rows, 2), ((100..120).collect(), 3));
        assert_eq!(page(&rows, 9).0.first(), Some(&100));
        assert_eq!(page::<usize>(&[], 0), (vec![], 1));
    }

    #[test]
    fn a_brushed_range_becomes_the_periods_inside_it() {
        let periods: Vec<String> = ["2025-04-07", "2025-04-14", "2025-04-21", "2025-04-28"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            periods_in_range(&periods, "2025-04-10 12:00", "2025-04-25 03:10:00.5"),
            Some(("2025-04-14".into(), "2025-04-21".into()))
        );
        assert_eq!(periods_in_range(&periods, "2025-05-01", "2025-05-09"), None);
        // A brush starting just after a bar's centre leaves that bar out.
        assert_eq!(
            periods_in_range(&periods, "2025-04-07 00:30", "2025-04-14"),
            Some(("2025-04-14".into(), "2025-04-14".into()))
        );
    }
}
