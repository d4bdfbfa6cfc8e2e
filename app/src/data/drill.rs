//! Drill-down in the browser: which number was clicked (kept in the URL as
//! `drill=<period>:<status>`), the users behind it as the server or the export lists them
//! (the compact files of `contract::drill`, at the paths of `contract::paths`: see
//! [`crate::data::selection`] for which pieces a page needs), and the user table's sorting
//! and paging. Pure functions, unit-tested; the panel is in `components::drill`.

/// The growth statuses are the contract's (the lifecycle tables' values).
pub use contract::Status;

/// A status's count in a growth row.
pub fn count(status: Status, row: &crate::marts::GrowthRow) -> u64 {
    match status {
        Status::New => row.new_users,
        Status::Retained => row.retained_users,
        Status::Resurrected => row.resurrected_users,
        Status::Churned => row.churned_users,
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
        let status = Status::parse(status)?;
        valid.then(|| Self {
            period: period.to_string(),
            status,
        })
    }

    pub fn to_query(&self) -> String {
        format!("{}:{}", self.period, self.status.name())
    }
}

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

/// A table cell: what it shows and what it sorts by (numbers zero-padded).
pub type Cell = (String, String);

pub fn text(s: &str) -> Cell {
    (s.to_string(), s.to_string())
}

pub fn number(n: u64) -> Cell {
    (crate::data::format::count(n as i64), format!("{n:020}"))
}

/// The row order for `sort` (indices into `rows`): by the column's sort key, ties by the
/// first column (the user id). Indices, not copies: a panel can hold 100,000 users.
pub fn sorted(rows: &[Vec<Cell>], sort: Sort) -> Vec<usize> {
    let key = |i: usize, c: usize| rows[i].get(c).map_or("", |cell| cell.1.as_str());
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        let o = key(a, sort.column)
            .cmp(key(b, sort.column))
            .then_with(|| key(a, 0).cmp(key(b, 0)));
        if sort.descending { o.reverse() } else { o }
    });
    order
}

pub const COHORT_COLUMNS: [&str; 4] = ["user_id", "country", "cohort day", "seen on the day"];

/// A clicked heatmap cell: a cohort period and one of the retention days (its index),
/// kept in the URL as `cell=<period>:<N>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeatCell {
    pub cohort: String,
    pub day: usize,
}

impl HeatCell {
    pub fn parse(text: &str) -> Option<Self> {
        let (cohort, day) = text.rsplit_once(':')?;
        let day: u32 = day.parse().ok()?;
        let day = crate::marts::RETENTION_DAYS
            .iter()
            .position(|d| *d == day)?;
        (cohort.len() == 10).then(|| Self {
            cohort: cohort.to_string(),
            day,
        })
    }

    pub fn to_query(&self) -> String {
        format!("{}:{}", self.cohort, crate::marts::RETENTION_DAYS[self.day])
    }
}

/// A scope's interaction flows with their most active users.
pub use contract::drill::{Flow, FlowsFile};

/// A clicked Sankey link, kept in the URL as `flow=<event_type>:<category>` (`none` for
/// events without a category, as the chart labels them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowPick {
    pub event_type: String,
    pub category: Option<String>,
}

impl FlowPick {
    pub fn parse(text: &str) -> Option<Self> {
        let (event_type, category) = text.split_once(':')?;
        (!event_type.is_empty()).then(|| Self {
            event_type: event_type.to_string(),
            category: (category != "none").then(|| category.to_string()),
        })
    }

    pub fn to_query(&self) -> String {
        format!(
            "{}:{}",
            self.event_type,
            self.category.as_deref().unwrap_or("none")
        )
    }

    pub fn find<'a>(&self, file: &'a FlowsFile) -> Option<&'a Flow> {
        file.links
            .iter()
            .find(|f| f.event_type == self.event_type && f.transaction_category == self.category)
    }
}

pub const TOP_COLUMNS: [&str; 3] = ["user_id", "interactions", "miles"];

/// A flow's top users as table rows.
pub fn top_users(flow: &Flow) -> Vec<Vec<Cell>> {
    flow.top
        .iter()
        .map(|(id, n, miles)| {
            vec![
                text(id),
                number(*n),
                (
                    crate::data::format::number(*miles),
                    format!("{:020.3}", miles.max(0.0)),
                ),
            ]
        })
        .collect()
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
    fn rows_sort_with_a_stable_tie_break() {
        let row =
            |id: &str, country: &str, events: u64| vec![text(id), text(country), number(events)];
        let rows = vec![row("b", "SG", 3), row("a", "MY", 10), row("c", "SG", 3)];
        let ids = |sort: Sort| {
            sorted(&rows, sort)
                .into_iter()
                .map(|i| rows[i][0].0.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(Sort::default()), ["a", "b", "c"]);
        // Numbers sort as numbers (10 after 3), ties by user id.
        let by_events = Sort::default().toggle(2);
        assert_eq!(ids(by_events), ["b", "c", "a"]);
        assert_eq!(ids(by_events.toggle(2)), ["a", "c", "b"]);
        assert_eq!(ids(Sort::default().toggle(1)), ["a", "b", "c"]);
    }

    #[test]
    fn heat_cells_round_trip_through_the_url() {
        assert_eq!(
            HeatCell::parse("2025-03-03:7"),
            Some(HeatCell {
                cohort: "2025-03-03".into(),
                day: 2
            })
        );
        assert_eq!(HeatCell::parse("2025-03-03:8"), None);
        assert_eq!(
            HeatCell::parse("2025-03-03:30").unwrap().to_query(),
            "2025-03-03:30"
        );
    }

    #[test]
    fn flows_are_picked_by_event_type_and_category() {
        let pick = FlowPick::parse("like:none").unwrap();
        assert_eq!(pick.category, None);
        assert_eq!(pick.to_query(), "like:none");
        let file = FlowsFile {
            links: vec![Flow {
                event_type: "like".into(),
                transaction_category: None,
                interactions: 3,
                users: 2,
                miles: 0.0,
                top: vec![("u1".into(), 2, 0.0), ("u2".into(), 1, 0.0)],
            }],
            ..FlowsFile::default()
        };
        assert_eq!(pick.find(&file).map(|f| f.users), Some(2));
        assert_eq!(top_users(pick.find(&file).unwrap())[0][1].0, "2");
        assert!(
            FlowPick::parse("miles_earned:dining")
                .unwrap()
                .find(&file)
                .is_none()
        );
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
