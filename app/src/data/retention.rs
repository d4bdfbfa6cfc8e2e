//! Retention rows -> cohorts summed over the selected countries (and, for the explorer,
//! over the days of a week or month). Rates are always recomputed from counts:
//! 100 * sum(retained) / sum(cohort size) over the cohorts that have reached that day,
//! never an average of rates. A day no cohort has reached stays `None` ("not yet
//! observed"), never 0. See: METRICS.md, Retention.

use std::collections::BTreeMap;

use super::calendar::period_of;
use crate::marts::{Grain, RETENTION_DAYS, RetentionRow};

/// One cohort (or a bucket of cohorts) summed over countries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cohort {
    pub date: String,
    pub size: u64,
    /// Retained users on each of `RETENTION_DAYS`, summed over the cohorts that observed it.
    pub retained: [Option<u64>; 6],
    /// Cohort size behind each `retained` sum (differs from `size` when a bucket holds
    /// cohorts that reached the day and cohorts that did not yet).
    pub observed_size: [u64; 6],
}

impl Cohort {
    /// The day-`RETENTION_DAYS[i]` rate in percent, `None` when not yet observed.
    pub fn rate(&self, i: usize) -> Option<f64> {
        let retained = self.retained[i]?;
        let size = self.observed_size[i];
        (size > 0).then(|| 100.0 * retained as f64 / size as f64)
    }
}

/// Index of `day` in `RETENTION_DAYS`.
pub fn day_index(day: u32) -> Option<usize> {
    RETENTION_DAYS.iter().position(|d| *d == day)
}

/// Cohorts in date order, bucketed by `grain`, summed over the countries `keep` accepts.
pub fn cohorts(rows: &[RetentionRow], grain: Grain, keep: impl Fn(&str) -> bool) -> Vec<Cohort> {
    let mut by_date: BTreeMap<String, Cohort> = BTreeMap::new();
    for row in rows.iter().filter(|r| keep(&r.country)) {
        let Some(date) = period_of(&row.cohort_date, grain) else {
            continue;
        };
        let c = by_date.entry(date.clone()).or_insert_with(|| Cohort {
            date,
            ..Cohort::default()
        });
        c.size += row.cohort_size;
        for (i, retained) in row.retained().into_iter().enumerate() {
            if let Some(r) = retained {
                c.retained[i] = Some(c.retained[i].unwrap_or(0) + r);
                c.observed_size[i] += row.cohort_size;
            }
        }
    }
    by_date.into_values().collect()
}

/// The day-`RETENTION_DAYS[i]` rate pooled over every cohort that reached it, with the
/// number of such cohorts; `None` when none has.
pub fn pooled_rate(cohorts: &[Cohort], i: usize) -> Option<(f64, usize)> {
    let observed: Vec<&Cohort> = cohorts.iter().filter(|c| c.retained[i].is_some()).collect();
    let size: u64 = observed.iter().map(|c| c.observed_size[i]).sum();
    let retained: u64 = observed.iter().filter_map(|c| c.retained[i]).sum();
    (size > 0).then(|| (100.0 * retained as f64 / size as f64, observed.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: &str, country: &str, size: u64, retained: [Option<u64>; 6]) -> RetentionRow {
        let rate = |r: Option<u64>| r.map(|r| 100.0 * r as f64 / size as f64);
        RetentionRow {
            cohort_date: date.into(),
            country: country.into(),
            cohort_size: size,
            d0_retained: retained[0],
            d1_retained: retained[1],
            d7_retained: retained[2],
            d30_retained: retained[3],
            d60_retained: retained[4],
            d90_retained: retained[5],
            d0_retention_rate: rate(retained[0]),
            d1_retention_rate: rate(retained[1]),
            d7_retention_rate: rate(retained[2]),
            d30_retention_rate: rate(retained[3]),
            d60_retention_rate: rate(retained[4]),
            d90_retention_rate: rate(retained[5]),
        }
    }

    fn rows() -> Vec<RetentionRow> {
        vec![
            row(
                "2025-03-07",
                "SG",
                4,
                [Some(4), Some(3), Some(1), None, None, None],
            ),
            row(
                "2025-03-07",
                "MY",
                1,
                [Some(1), Some(1), Some(1), None, None, None],
            ),
            row(
                "2025-03-08",
                "SG",
                5,
                [Some(5), Some(2), None, None, None, None],
            ),
        ]
    }

    #[test]
    fn rates_across_countries_are_recomputed_from_counts() {
        let c = cohorts(&rows(), Grain::Day, |_| true);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].size, 5);
        // SG 25% and MY 100% average to 62.5%; the true rate is 2 of 5 users.
        assert_eq!(c[0].rate(2), Some(40.0));
        assert_eq!(c[1].rate(2), None, "censored stays not-observed, never 0");
    }

    #[test]
    fn buckets_pool_only_the_cohorts_that_reached_the_day() {
        let c = cohorts(&rows(), Grain::Week, |_| true);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].date, "2025-03-03");
        assert_eq!(c[0].size, 10);
        assert_eq!(c[0].rate(1), Some(60.0));
        // Only the 2025-03-07 cohorts (5 users) reached day 7: 2 of 5.
        assert_eq!(c[0].rate(2), Some(40.0));
        assert_eq!(c[0].rate(3), None);
    }

    #[test]
    fn pooled_rate_counts_observed_cohorts_only() {
        let c = cohorts(&rows(), Grain::Day, |country| country == "SG");
        assert_eq!(pooled_rate(&c, day_index(7).unwrap()), Some((25.0, 1)));
        assert_eq!(
            pooled_rate(&c, day_index(1).unwrap()),
            Some((500.0 / 9.0, 2))
        );
        assert_eq!(pooled_rate(&c, day_index(30).unwrap()), None);
    }
}
