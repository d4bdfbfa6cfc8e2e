//! The explorer's join: a validated [`ExploreState`] and the rows of the growth mart (of the
//! state's grain) and of the retention mart flow in; out comes one table keyed by period,
//! a column per series. Each series is aggregated across the selected countries on its
//! own; rates are recomputed from the summed counts, never averaged. See: METRICS.md.

use std::collections::{BTreeMap, BTreeSet};

use super::spec::{Agg, ExploreState, SeriesSpec, Unit};
use crate::data::calendar::period_of;
use crate::data::format;
use crate::data::retention::day_index;
use crate::marts::{GrowthRow, RetentionRow};

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

/// The growth rows of each period, by country.
type GrowthByPeriod<'a> = BTreeMap<&'a str, PerCountry<&'a GrowthRow>>;

#[derive(Default, Clone)]
struct RetentionCounts {
    size: u64,
    retained: [Option<u64>; 6],
    observed_size: [u64; 6],
}

/// Joins the selected series on the period of `state.grain`. `growth` is that grain's mart.
pub fn join(state: &ExploreState, growth: &[GrowthRow], retention: &[RetentionRow]) -> Joined {
    let (growth_by, complete) = growth_by_period(state, growth);
    let retention_by = retention_by_period(state, retention);
    let x = x_axis(state, complete.keys().copied(), retention_by.keys());
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

/// The kept countries' growth rows by period, and whether each period is complete (in
/// every country, kept or not: the data ends at the same time for all).
fn growth_by_period<'a>(
    state: &ExploreState,
    growth: &'a [GrowthRow],
) -> (GrowthByPeriod<'a>, BTreeMap<&'a str, bool>) {
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
    (growth_by, complete)
}

/// The kept countries' retention counts, cohorts bucketed into the periods of the grain.
fn retention_by_period(
    state: &ExploreState,
    retention: &[RetentionRow],
) -> BTreeMap<String, PerCountry<RetentionCounts>> {
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
    retention_by
}

/// The periods of the marts the series use (the growth mart's when none is used), in
/// order, within the state's range.
fn x_axis<'a>(
    state: &ExploreState,
    growth: impl Iterator<Item = &'a str>,
    retention: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let uses = |source: &str| {
        state
            .series
            .iter()
            .any(|s| s.column.key.starts_with(source))
    };
    let mut x: BTreeSet<&str> = BTreeSet::new();
    if uses("growth.") || !uses("retention.") {
        x.extend(growth);
    }
    if uses("retention.") {
        x.extend(retention.map(String::as_str));
    }
    x.into_iter()
        .filter(|p| state.from.as_deref().is_none_or(|f| *p >= f))
        .filter(|p| state.to.as_deref().is_none_or(|t| *p <= t))
        .map(String::from)
        .collect()
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
    use crate::data::explore::{Axis, Mark};
    use crate::data::fixtures::{growth, retention};
    use crate::marts::Grain;

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
}
