//! What a chart of the explorer is made of, and how it reads from and writes to the URL:
//! the plottable columns of each mart, a series (column, aggregation across countries,
//! mark, axis) and the whole state (grain, countries, series, range). In flows the query,
//! out comes a validated [`ExploreState`] that [`super::join()`] turns into a table; every
//! edit is a small pure method, so the page only writes the result back.

use crate::marts::{Grain, RETENTION_DAYS};
use crate::state::Key;

/// How a column's value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Percent,
    Ratio,
}

/// A column the explorer can plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// `growth.new_users`, `retention.d7_rate`, ...: the key used in URLs.
    pub key: String,
    pub label: String,
    pub unit: Unit,
}

impl Column {
    pub fn is_rate(&self) -> bool {
        self.unit != Unit::Count
    }
}

const GROWTH_COUNTS: [(&str, &str); 6] = [
    ("new_users", "New users"),
    ("retained_users", "Retained users"),
    ("resurrected_users", "Resurrected users"),
    ("churned_users", "Churned users"),
    ("active_users", "Active users"),
    ("growth", "Growth"),
];

/// Every plottable column, growth first.
pub fn columns() -> Vec<Column> {
    let mut out: Vec<Column> = GROWTH_COUNTS
        .iter()
        .map(|(k, l)| Column {
            key: format!("growth.{k}"),
            label: (*l).into(),
            unit: Unit::Count,
        })
        .collect();
    out.push(Column {
        key: "growth.quick_ratio".into(),
        label: "Quick ratio".into(),
        unit: Unit::Ratio,
    });
    out.push(Column {
        key: "retention.cohort_size".into(),
        label: "Cohort size".into(),
        unit: Unit::Count,
    });
    for d in RETENTION_DAYS.iter().skip(1) {
        out.push(Column {
            key: format!("retention.d{d}_retained"),
            label: format!("D{d} retained users"),
            unit: Unit::Count,
        });
        out.push(Column {
            key: format!("retention.d{d}_rate"),
            label: format!("D{d} retention rate"),
            unit: Unit::Percent,
        });
    }
    out
}

pub fn column(key: &str) -> Option<Column> {
    columns().into_iter().find(|c| c.key == key)
}

/// How one series combines the selected countries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agg {
    Sum,
    Mean,
    Min,
    Max,
    /// A rate recomputed from the counts summed over countries.
    Pooled,
}

impl Agg {
    pub const FOR_COUNTS: [Agg; 4] = [Agg::Sum, Agg::Mean, Agg::Min, Agg::Max];

    pub fn key(self) -> &'static str {
        match self {
            Agg::Sum => "sum",
            Agg::Mean => "mean",
            Agg::Min => "min",
            Agg::Max => "max",
            Agg::Pooled => "pooled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Agg::Sum => "sum over countries",
            Agg::Mean => "mean per country",
            Agg::Min => "min over countries",
            Agg::Max => "max over countries",
            Agg::Pooled => "recomputed from counts",
        }
    }

    fn parse(text: &str) -> Option<Agg> {
        [Agg::Sum, Agg::Mean, Agg::Min, Agg::Max, Agg::Pooled]
            .into_iter()
            .find(|a| a.key() == text)
    }

    /// The aggregation picked in the menu of a count column; a sum for anything else.
    pub fn for_count(key: &str) -> Agg {
        Agg::FOR_COUNTS
            .into_iter()
            .find(|a| a.key() == key)
            .unwrap_or(Agg::Sum)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Bar,
    Line,
}

impl Mark {
    /// The name in the URL and in the mark menu.
    pub fn key(self) -> &'static str {
        match self {
            Mark::Bar => "bar",
            Mark::Line => "line",
        }
    }

    /// Anything but `line` is a bar (a hand-edited URL still draws).
    pub fn from_key(key: &str) -> Mark {
        if key == "line" { Mark::Line } else { Mark::Bar }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    Left,
    Right,
}

impl Axis {
    /// The name in the URL and in the axis menu.
    pub fn key(self) -> &'static str {
        match self {
            Axis::Left => "left",
            Axis::Right => "right",
        }
    }

    /// Anything but `right` is the left axis.
    pub fn from_key(key: &str) -> Axis {
        if key == "right" {
            Axis::Right
        } else {
            Axis::Left
        }
    }
}

/// One series of the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesSpec {
    pub column: Column,
    pub agg: Agg,
    pub mark: Mark,
    pub axis: Axis,
}

impl SeriesSpec {
    pub fn new(key: &str, agg: Agg, mark: Mark, axis: Axis) -> Option<Self> {
        let column = column(key)?;
        // See: issue 4, rates over several countries are recomputed, never averaged.
        let agg = if column.is_rate() {
            Agg::Pooled
        } else if agg == Agg::Pooled {
            Agg::Sum
        } else {
            agg
        };
        Some(Self {
            column,
            agg,
            mark,
            axis,
        })
    }

    pub fn label(&self) -> String {
        match self.agg {
            Agg::Sum | Agg::Pooled => self.column.label.clone(),
            agg => format!("{} ({})", self.column.label, agg.key()),
        }
    }

    /// The spec re-validated after an edit: a rate column forces the pooled aggregation.
    pub fn validated(&self) -> Self {
        SeriesSpec::new(&self.column.key, self.agg, self.mark, self.axis)
            .unwrap_or_else(|| self.clone())
    }

    fn encode(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.column.key,
            self.agg.key(),
            self.mark.key(),
            self.axis.key()
        )
    }

    fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let key = parts.next()?;
        let agg = parts.next().and_then(Agg::parse).unwrap_or(Agg::Sum);
        let mark = Mark::from_key(parts.next().unwrap_or_default());
        let axis = Axis::from_key(parts.next().unwrap_or_default());
        SeriesSpec::new(key, agg, mark, axis)
    }
}

/// The most series one chart holds: more is unreadable, and each one is a column of the
/// table and a trace the server renders.
pub const MAX_SERIES: usize = 12;

/// The explorer's whole state; it lives in the URL query.
#[derive(Clone, Debug, PartialEq)]
pub struct ExploreState {
    pub grain: Grain,
    /// Empty: every country.
    pub countries: Vec<String>,
    pub series: Vec<SeriesSpec>,
    /// The first and last period shown (a brushed range); `None`: from the start / to the end.
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Default for ExploreState {
    /// The ready-made cross-mart chart: new users per day (growth mart, bars) with the D7
    /// retention rate of that day's cohort (retention mart, line, right axis).
    fn default() -> Self {
        preset(0).map(|p| p.1).unwrap_or(ExploreState {
            grain: Grain::Day,
            countries: vec![],
            series: vec![],
            from: None,
            to: None,
        })
    }
}

/// Ready-made charts: (title, state).
pub fn preset(i: usize) -> Option<(&'static str, ExploreState)> {
    let s = |k: &str, agg, mark, axis| SeriesSpec::new(k, agg, mark, axis);
    let (title, grain, series) = match i {
        0 => (
            "New users and their D7 retention",
            Grain::Day,
            vec![
                s("growth.new_users", Agg::Sum, Mark::Bar, Axis::Left),
                s("retention.d7_rate", Agg::Pooled, Mark::Line, Axis::Right),
            ],
        ),
        1 => (
            "Active users and quick ratio",
            Grain::Week,
            vec![
                s("growth.active_users", Agg::Sum, Mark::Bar, Axis::Left),
                s("growth.quick_ratio", Agg::Pooled, Mark::Line, Axis::Right),
            ],
        ),
        2 => (
            "Cohort size and D30 retention",
            Grain::Month,
            vec![
                s("retention.cohort_size", Agg::Sum, Mark::Bar, Axis::Left),
                s("retention.d30_rate", Agg::Pooled, Mark::Line, Axis::Right),
            ],
        ),
        _ => return None,
    };
    Some((
        title,
        ExploreState {
            grain,
            countries: vec![],
            series: series.into_iter().flatten().collect(),
            from: None,
            to: None,
        },
    ))
}

impl ExploreState {
    /// Query pairs (`grain`, `countries`, `series`); the inverse of `from_query`.
    pub fn to_query(&self) -> Vec<(Key, String)> {
        let mut q = vec![(Key::Grain, self.grain.name().to_string())];
        if let Some(countries) = crate::state::list_value(&self.countries) {
            q.push((Key::Countries, countries));
        }
        q.push((
            Key::Series,
            self.series
                .iter()
                .map(SeriesSpec::encode)
                .collect::<Vec<_>>()
                .join(","),
        ));
        if let Some(from) = &self.from {
            q.push((Key::From, from.clone()));
        }
        if let Some(to) = &self.to {
            q.push((Key::To, to.clone()));
        }
        q
    }

    /// The state in a query; the default chart when there is no `series` key. Unknown
    /// columns are dropped rather than failing the page, and so are series past the first
    /// [`MAX_SERIES`] and countries past the first [`crate::state::MAX_LIST`]: a URL cannot
    /// make a render (on the server too) larger than that.
    pub fn from_query(get: impl Fn(Key) -> Option<String>) -> Self {
        let Some(series) = get(Key::Series) else {
            return ExploreState::default();
        };
        ExploreState {
            grain: get(Key::Grain)
                .and_then(|g| Grain::parse(&g))
                .unwrap_or(Grain::Day),
            countries: get(Key::Countries)
                .map(|c| crate::state::list_items(&c, crate::state::MAX_LIST))
                .unwrap_or_default(),
            series: series
                .split(',')
                .filter_map(SeriesSpec::decode)
                .take(MAX_SERIES)
                .collect(),
            from: get(Key::From).filter(|d| d.len() == 10),
            to: get(Key::To).filter(|d| d.len() == 10),
        }
    }

    /// A new series: active users as a line, on the left axis if it is the first and on
    /// the right one beside others.
    pub fn add_series(&mut self) {
        let axis = if self.series.is_empty() {
            Axis::Left
        } else {
            Axis::Right
        };
        if let Some(spec) = SeriesSpec::new("growth.active_users", Agg::Sum, Mark::Line, axis) {
            self.series.push(spec);
        }
    }

    /// Drops what a filter chip's key holds (the other keys are not chips here).
    pub fn clear(&mut self, key: Key) {
        match key {
            Key::From => self.from = None,
            Key::To => self.to = None,
            Key::Countries => self.countries.clear(),
            _ => {}
        }
    }

    pub(super) fn keeps(&self, country: &str) -> bool {
        self.countries.is_empty() || self.countries.iter().any(|c| c == country)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_the_query() {
        let state = ExploreState {
            grain: Grain::Week,
            countries: vec!["SG".into(), "MY".into()],
            series: vec![
                SeriesSpec::new("growth.churned_users", Agg::Min, Mark::Line, Axis::Right).unwrap(),
                SeriesSpec::new("retention.d30_retained", Agg::Sum, Mark::Bar, Axis::Left).unwrap(),
            ],
            from: Some("2025-03-10".into()),
            to: None,
        };
        let query = state.to_query();
        let back = ExploreState::from_query(|k| {
            query.iter().find(|(q, _)| *q == k).map(|(_, v)| v.clone())
        });
        assert_eq!(back, state);
        assert_eq!(ExploreState::from_query(|_| None), ExploreState::default());
        let junk = ExploreState::from_query(|k| {
            (k == Key::Series).then(|| "nope:sum,growth.growth".to_string())
        });
        assert_eq!(junk.series.len(), 1);
    }

    #[test]
    fn any_country_name_round_trips_and_a_url_asks_for_a_bounded_chart() {
        let state = ExploreState {
            countries: vec!["a,b".into(), "100%".into(), "all".into(), "x&y=z#".into()],
            ..ExploreState::default()
        };
        let query = state.to_query();
        let get = |k: Key| query.iter().find(|(q, _)| *q == k).map(|(_, v)| v.clone());
        assert_eq!(ExploreState::from_query(get), state);

        let series = vec!["growth.new_users:sum:bar:left"; 2000].join(",");
        let countries: String = (0..2000).map(|i| format!("C{i},")).collect();
        let big = ExploreState::from_query(|k| match k {
            Key::Series => Some(series.clone()),
            Key::Countries => Some(countries.clone()),
            _ => None,
        });
        assert_eq!(big.series.len(), MAX_SERIES);
        assert_eq!(big.countries.len(), crate::state::MAX_LIST);
        assert_eq!(big.countries[0], "C0");
    }

    #[test]
    fn marks_axes_and_menu_picks_read_like_the_url() {
        for mark in [Mark::Bar, Mark::Line] {
            assert_eq!(Mark::from_key(mark.key()), mark);
        }
        for axis in [Axis::Left, Axis::Right] {
            assert_eq!(Axis::from_key(axis.key()), axis);
        }
        assert_eq!(
            (Mark::from_key("pie"), Axis::from_key("")),
            (Mark::Bar, Axis::Left)
        );
        assert_eq!(Agg::for_count("max"), Agg::Max);
        // The pooled rate is not a menu pick for counts.
        assert_eq!(Agg::for_count("pooled"), Agg::Sum);
        let mut spec =
            SeriesSpec::new("growth.new_users", Agg::Mean, Mark::Bar, Axis::Left).unwrap();
        spec.column = column("retention.d7_rate").unwrap();
        assert_eq!(spec.validated().agg, Agg::Pooled);
    }

    #[test]
    fn added_series_go_right_of_the_first_and_chips_clear_their_keys() {
        let mut state = ExploreState {
            series: vec![],
            countries: vec!["SG".into()],
            from: Some("2025-03-10".into()),
            to: Some("2025-03-17".into()),
            ..ExploreState::default()
        };
        state.add_series();
        state.add_series();
        let axes: Vec<Axis> = state.series.iter().map(|s| s.axis).collect();
        assert_eq!(axes, [Axis::Left, Axis::Right]);
        assert_eq!(state.series[0].column.key, "growth.active_users");
        state.clear(Key::From);
        state.clear(Key::Grain);
        assert_eq!(
            (state.from.as_deref(), state.to.as_deref()),
            (None, Some("2025-03-17"))
        );
        state.clear(Key::Countries);
        state.clear(Key::To);
        assert!(state.countries.is_empty() && state.to.is_none());
        assert_eq!(state.grain, Grain::Day);
    }
}
