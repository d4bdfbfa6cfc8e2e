//! Tiny rows for the app's unit tests, built in one place so every test reads the same
//! shapes: a growth row, a retention cohort observed up to day 7, a finished task.

use crate::marts::{GrowthRow, RetentionRow};
use contract::runs::TaskRow;

/// A growth row with only new and churned users (active = new).
pub fn growth(period: &str, country: &str, new: u64, churned: u64, complete: bool) -> GrowthRow {
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

/// A cohort everyone is back in on days 0 and 1, `d7` on day 7 (`None`: not reached yet).
pub fn retention(date: &str, country: &str, size: u64, d7: Option<u64>) -> RetentionRow {
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

/// A task that succeeded in half a second.
pub fn task(name: &str, upstream: &[&str]) -> TaskRow {
    TaskRow {
        run_id: 1,
        task: name.into(),
        group: "layer".into(),
        upstream: upstream.iter().map(|u| u.to_string()).collect(),
        state: contract::runs::TaskState::Success,
        attempts: 1,
        started_at: None,
        ended_at: None,
        seconds: Some(0.5),
        rows: None,
        error: None,
        note: None,
    }
}
