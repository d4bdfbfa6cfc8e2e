//! The chart builder's data: series picked from any marts that share an x key (the period
//! of one grain; retention cohorts are bucketed into the same periods), each aggregated
//! across the selected countries, joined on x into one table. Counts can be summed,
//! averaged, or take the min / max over countries; rates (quick ratio, retention) are only
//! ever recomputed from the summed counts. The whole state round-trips through the URL
//! query, so a chart is shared by link.

use std::collections::{BTreeMap, BTreeSet};

use super::calendar::period_of;
use super::format;
use super::retention::day_index;
use crate::marts::{Grain, GrowthRow, RETENTION_DAYS, RetentionRow};

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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Bar,
    Line,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    Left,
    Right,
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

    fn encode(&self) -> String {
        let mark = match self.mark {
            Mark::Bar => "bar",
            Mark::Line => "line",
        };
        let axis = match self.axis {
            Axis::Left => "left",
            Axis::Right => "right",
        };
        format!("{}:{}:{mark}:{axis}", self.column.key, self.agg.key())
    }

    fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let key = parts.next()?;
        let agg = parts.next().and_then(Agg::parse).unwrap_or(Agg::Sum);
        let mark = match parts.next() {
            Some("line") => Mark::Line,
            _ => Mark::Bar,
        };
        let axis = match parts.next() {
            Some("right") => Axis::Right,
            _ => Axis::Left,
        };
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
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("grain", self.grain.key().to_string())];
        if let Some(countries) = crate::state::list_value(&self.countries) {
            q.push(("countries", countries));
        }
        q.push((
            "series",
            self.series
                .iter()
                .map(SeriesSpec::encode)
                .collect::<Vec<_>>()
                .join(","),
        ));
        if let Some(from) = &self.from {
            q.push(("from", from.clone()));
        }
        if let Some(to) = &self.to {
            q.push(("to", to.clone()));
        }
        q
    }

    /// The state in a query; the default chart when there is no `series` key. Unknown
    /// columns are dropped rather than failing the page, and so are series past the first
    /// [`MAX_SERIES`] and countries past the first [`crate::state::MAX_LIST`]: a URL cannot
    /// make a render (on the server too) larger than that.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Self {
        let Some(series) = get("series") else {
            return ExploreState::default();
        };
        ExploreState {
            grain: get("grain")
                .and_then(|g| Grain::parse(&g))
                .unwrap_or(Grain::Day),
            countries: get("countries")
                .map(|c| crate::state::list_items(&c, crate::state::MAX_LIST))
                .unwrap_or_default(),
            series: series
                .split(',')
                .filter_map(SeriesSpec::decode)
                .take(MAX_SERIES)
                .collect(),
            from: get("from").filter(|d| d.len() == 10),
            to: get("to").filter(|d| d.len() == 10),
        }
    }

    fn keeps(&self, country: &str) -> bool {
        self.countries.is_empty() || self.countries.iter().any(|c| c == country)
    }
}

/// One joined series: a value per x (`None`: no value there).
#[derive(Clone, Debug, PartialEq)]
pub struct JoinedSeries {
    pub spec: SeriesSpec,
    pub values: Vec<Option<f64>>,
}

impl JoinedSeries {
    /// The value at `i` as the tooltip and table show it.
    pub fn text(&self, i: usize) -> String {
        let Some(v) = self.values.get(i).copied().flatten() else {
            return match self.spec.column.unit {
                Unit::Ratio => format::ratio(None),
                Unit::Percent => "not yet observed".into(),
                Unit::Count => format::DASH.into(),
            };
        };
        match (self.spec.column.unit, self.spec.agg) {
            (Unit::Percent, _) => format::percent(v),
            (Unit::Ratio, _) => format::ratio(Some(v)),
            (Unit::Count, Agg::Mean) => format::number(v),
            (Unit::Count, _) => format::count(v.round() as i64),
        }
    }
}

/// The joined table: x labels in order, whether each period is complete, one column per series.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Joined {
    pub x: Vec<String>,
    pub complete: Vec<bool>,
    pub series: Vec<JoinedSeries>,
}

/// Per-country counts of one period, keyed by country.
type PerCountry<T> = BTreeMap<String, T>;

#[derive(Default, Clone)]
struct RetentionCounts {
    size: u64,
    retained: [Option<u64>; 6],
    observed_size: [u64; 6],
}

/// Joins the selected series on the period of `state.grain`. `growth` is that grain's mart.
pub fn join(state: &ExploreState, growth: &[GrowthRow], retention: &[RetentionRow]) -> Joined {
    let mut growth_by: BTreeMap<&str, PerCountry<&GrowthRow>> = BTreeMap::new();
    let mut complete: BTreeMap<&str, bool> = BTreeMap::new();
    for row in growth {
        *complete.entry(&row.period).or_insert(true) &= row.is_complete;
        if state.keeps(&row.country) {
            growth_by
                .entry(&row.period)
                .or_default()
                .insert(row.country.clone(), row);
        }
    }
    let mut retention_by: BTreeMap<String, PerCountry<RetentionCounts>> = BTreeMap::new();
    for row in retention.iter().filter(|r| state.keeps(&r.country)) {
        let Some(period) = period_of(&row.cohort_date, state.grain) else {
            continue;
        };
        let c = retention_by
            .entry(period)
            .or_default()
            .entry(row.country.clone())
            .or_default();
        c.size += row.cohort_size;
        for (i, r) in row.retained().into_iter().enumerate() {
            if let Some(r) = r {
                c.retained[i] = Some(c.retained[i].unwrap_or(0) + r);
                c.observed_size[i] += row.cohort_size;
            }
        }
    }

    let uses = |source: &str| {
        state
            .series
            .iter()
            .any(|s| s.column.key.starts_with(source))
    };
    let mut x: BTreeSet<&str> = BTreeSet::new();
    if uses("growth.") || !uses("retention.") {
        x.extend(complete.keys().copied());
    }
    if uses("retention.") {
        x.extend(retention_by.keys().map(String::as_str));
    }
    let x: Vec<String> = x
        .into_iter()
        .filter(|p| state.from.as_deref().is_none_or(|f| *p >= f))
        .filter(|p| state.to.as_deref().is_none_or(|t| *p <= t))
        .map(String::from)
        .collect();

    let series = state
        .series
        .iter()
        .map(|spec| {
            let values = x
                .iter()
                .map(|period| match spec.column.key.split_once('.') {
                    Some(("growth", col)) => {
                        growth_value(spec, col, growth_by.get(period.as_str())?)
                    }
                    Some(("retention", col)) => {
                        retention_value(spec, col, retention_by.get(period)?)
                    }
                    _ => None,
                })
                .collect();
            JoinedSeries {
                spec: spec.clone(),
                values,
            }
        })
        .collect();
    let complete = x
        .iter()
        .map(|p| complete.get(p.as_str()).copied().unwrap_or(true))
        .collect();
    Joined {
        x,
        complete,
        series,
    }
}

/// Combines per-country values with a count aggregation.
fn combine(agg: Agg, values: impl Iterator<Item = f64>) -> Option<f64> {
    let values: Vec<f64> = values.collect();
    if values.is_empty() {
        return None;
    }
    Some(match agg {
        Agg::Sum | Agg::Pooled => values.iter().sum(),
        Agg::Mean => values.iter().sum::<f64>() / values.len() as f64,
        Agg::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Agg::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

fn growth_value(spec: &SeriesSpec, col: &str, rows: &PerCountry<&GrowthRow>) -> Option<f64> {
    if col == "quick_ratio" {
        // See: METRICS.md, quick_ratio = (new + resurrected) / churned, null when churned = 0.
        let gained: u64 = rows
            .values()
            .map(|r| r.new_users + r.resurrected_users)
            .sum();
        let churned: u64 = rows.values().map(|r| r.churned_users).sum();
        return (churned > 0).then(|| gained as f64 / churned as f64);
    }
    let value = |r: &GrowthRow| -> Option<f64> {
        Some(match col {
            "new_users" => r.new_users as f64,
            "retained_users" => r.retained_users as f64,
            "resurrected_users" => r.resurrected_users as f64,
            "churned_users" => r.churned_users as f64,
            "active_users" => r.active_users as f64,
            "growth" => r.growth as f64,
            _ => return None,
        })
    };
    combine(spec.agg, rows.values().filter_map(|r| value(r)))
}

fn retention_value(
    spec: &SeriesSpec,
    col: &str,
    rows: &PerCountry<RetentionCounts>,
) -> Option<f64> {
    if col == "cohort_size" {
        return combine(spec.agg, rows.values().map(|c| c.size as f64));
    }
    let day = |suffix: &str| -> Option<usize> {
        col.strip_prefix('d')?
            .strip_suffix(suffix)?
            .parse()
            .ok()
            .and_then(day_index)
    };
    if let Some(i) = day("_rate") {
        // See: METRICS.md, dN_retention_rate = 100 * dN_retained / cohort_size, pooled.
        let retained: u64 = rows.values().filter_map(|c| c.retained[i]).sum();
        let size: u64 = rows.values().map(|c| c.observed_size[i]).sum();
        return (size > 0).then(|| 100.0 * retained as f64 / size as f64);
    }
    let i = day("_retained")?;
    combine(
        spec.agg,
        rows.values()
            .filter_map(|c| c.retained[i])
            .map(|r| r as f64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn growth(period: &str, country: &str, new: u64, churned: u64, complete: bool) -> GrowthRow {
        GrowthRow {
            period: period.into(),
            country: country.into(),
            new_users: new,
            retained_users: 0,
            resurrected_users: 0,
            churned_users: churned,
            active_users: new,
            growth: new as i64 - churned as i64,
            quick_ratio: (churned > 0).then(|| new as f64 / churned as f64),
            is_complete: complete,
        }
    }

    fn retention(date: &str, country: &str, size: u64, d7: Option<u64>) -> RetentionRow {
        RetentionRow {
            cohort_date: date.into(),
            country: country.into(),
            cohort_size: size,
            d0_retained: Some(size),
            d1_retained: Some(size),
            d7_retained: d7,
            d30_retained: None,
            d60_retained: None,
            d90_retained: None,
            d0_retention_rate: Some(100.0),
            d1_retention_rate: Some(100.0),
            d7_retention_rate: d7.map(|r| 100.0 * r as f64 / size as f64),
            d30_retention_rate: None,
            d60_retention_rate: None,
            d90_retention_rate: None,
        }
    }

    fn data() -> (Vec<GrowthRow>, Vec<RetentionRow>) {
        (
            vec![
                growth("2025-03-07", "SG", 4, 0, true),
                growth("2025-03-07", "MY", 1, 0, true),
                growth("2025-03-08", "SG", 0, 2, true),
                growth("2025-03-08", "MY", 3, 1, false),
            ],
            vec![
                retention("2025-03-07", "SG", 4, Some(1)),
                retention("2025-03-07", "MY", 1, Some(1)),
                retention("2025-03-08", "MY", 3, None),
            ],
        )
    }

    #[test]
    fn the_default_chart_joins_new_users_with_their_d7_rate() {
        let (g, r) = data();
        let joined = join(&ExploreState::default(), &g, &r);
        assert_eq!(joined.x, ["2025-03-07", "2025-03-08"]);
        assert_eq!(joined.complete, [true, false]);
        assert_eq!(joined.series[0].values, [Some(5.0), Some(3.0)]);
        // SG 25% and MY 100% must not average to 62.5%: 2 of 5 users is 40%.
        assert_eq!(joined.series[1].values, [Some(40.0), None]);
        assert_eq!(joined.series[1].text(0), "40.0%");
        assert_eq!(joined.series[1].text(1), "not yet observed");
        assert_eq!(joined.series[0].text(0), "5");
    }

    #[test]
    fn count_aggregations_and_the_pooled_quick_ratio() {
        let (g, r) = data();
        let state = ExploreState {
            grain: Grain::Day,
            countries: vec![],
            series: vec![
                SeriesSpec::new("growth.new_users", Agg::Mean, Mark::Bar, Axis::Left).unwrap(),
                SeriesSpec::new("growth.new_users", Agg::Max, Mark::Bar, Axis::Left).unwrap(),
                // Asking to average a ratio gets the pooled ratio instead.
                SeriesSpec::new("growth.quick_ratio", Agg::Mean, Mark::Line, Axis::Right).unwrap(),
            ],
            from: None,
            to: None,
        };
        let joined = join(&state, &g, &r);
        assert_eq!(joined.series[0].values, [Some(2.5), Some(1.5)]);
        assert_eq!(joined.series[1].values, [Some(4.0), Some(3.0)]);
        assert_eq!(joined.series[2].spec.agg, Agg::Pooled);
        assert_eq!(joined.series[2].values, [None, Some(1.0)]);
        assert_eq!(joined.series[0].text(0), "2.5");
        assert_eq!(joined.series[2].text(0), "n/a (no churn)");
    }

    #[test]
    fn countries_filter_every_source() {
        let (g, r) = data();
        let state = ExploreState {
            countries: vec!["SG".into()],
            ..ExploreState::default()
        };
        let joined = join(&state, &g, &r);
        assert_eq!(joined.series[0].values, [Some(4.0), Some(0.0)]);
        assert_eq!(joined.series[1].values, [Some(25.0), None]);
    }

    #[test]
    fn a_date_range_keeps_only_its_periods() {
        let (g, r) = data();
        let all = join(&ExploreState::default(), &g, &r);
        let state = ExploreState {
            from: Some(all.x[1].clone()),
            ..ExploreState::default()
        };
        let joined = join(&state, &g, &r);
        assert_eq!(joined.x, all.x[1..]);
        assert_eq!(joined.series[0].values, all.series[0].values[1..]);
    }

    #[test]
    fn retention_buckets_into_weeks() {
        let (g, r) = data();
        let state = ExploreState {
            grain: Grain::Week,
            countries: vec![],
            series: vec![
                SeriesSpec::new("retention.d7_rate", Agg::Pooled, Mark::Line, Axis::Left).unwrap(),
            ],
            from: None,
            to: None,
        };
        let joined = join(&state, &g, &r);
        assert_eq!(joined.x, ["2025-03-03"]);
        assert_eq!(joined.series[0].values, [Some(40.0)]);
    }

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
            (k == "series").then(|| "nope:sum,growth.growth".to_string())
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
        let get = |k: &str| query.iter().find(|(q, _)| *q == k).map(|(_, v)| v.clone());
        assert_eq!(ExploreState::from_query(get), state);

        let series = vec!["growth.new_users:sum:bar:left"; 2000].join(",");
        let countries: String = (0..2000).map(|i| format!("C{i},")).collect();
        let big = ExploreState::from_query(|k| match k {
            "series" => Some(series.clone()),
            "countries" => Some(countries.clone()),
            _ => None,
        });
        assert_eq!(big.series.len(), MAX_SERIES);
        assert_eq!(big.countries.len(), crate::state::MAX_LIST);
        assert_eq!(big.countries[0], "C0");
    }
}
