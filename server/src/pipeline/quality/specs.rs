//! The declared tests, table by table, like dbt's schema `.yml` files: grain (unique keys),
//! not_null, accepted_values, relationships, ranges and row invariants.
//!
//! The frames tested: `bronze.events` chunk by chunk as it streams; `gold.fact_events` as
//! (`event_id`, `user_id` as a user code); `gold.dim_users` as written (a relationship
//! looks it up as user codes); each mart as written.

use std::collections::HashMap;

use contract::{Grain, Mart, Status};
use polars::prelude::*;

use super::Severity::{Error, Warn};
use super::{Check, Context, Severity, TestSpec};
use crate::pipeline::catalog::Table;
use crate::pipeline::marts::retention::DAYS;

const BRONZE: &[(Check, Severity)] = &[
    (Check::NotNull("event_id"), Error),
    (Check::NotNull("event_time"), Error),
    (Check::NotNull("user_id"), Error),
    (Check::NotNull("event_type"), Error),
    (
        Check::EventTypes {
            column: "event_type",
            kept_count: true,
        },
        Error,
    ),
    (Check::NotNull("country"), Warn),
    (Check::Range("miles_amount", 0.0, f64::MAX), Warn),
];

const FACT_EVENTS: &[(Check, Severity)] = &[
    (Check::Unique(&["event_id"]), Error),
    (Check::NotNull("event_id"), Error),
    (
        Check::Relationship {
            column: "user_id",
            to: Table::DimUsers.name(),
            to_column: "user_id",
        },
        Error,
    ),
];

const DIM_USERS: &[(Check, Severity)] = &[
    (Check::Unique(&["user_id"]), Error),
    (Check::NotNull("user_id"), Error),
    (Check::NotNull("country"), Warn),
    (
        Check::Rows("first_seen_at_not_after_last_seen_at", seen_order),
        Error,
    ),
];

const GROWTH: &[(Check, Severity)] = &[
    (Check::NotNull("period"), Error),
    (Check::NotNull("country"), Warn),
    (Check::Unique(&["period", "country"]), Error),
    (Check::Range("new_users", 0.0, f64::MAX), Error),
    (Check::Range("churned_users", 0.0, f64::MAX), Error),
    (Check::Rows("growth_identity", growth_identity), Error),
    (
        Check::Rows(
            "active_is_new_plus_retained_plus_resurrected",
            active_is_sum,
        ),
        Error,
    ),
    (
        Check::Rows("quick_ratio_matches_counts", quick_ratio),
        Error,
    ),
];

const RETENTION: &[(Check, Severity)] = &[
    (Check::NotNull("cohort_date"), Error),
    (Check::Unique(&["cohort_date", "country"]), Error),
    (Check::Range("d1_retention_rate", 0.0, 100.0), Error),
    (Check::Range("d7_retention_rate", 0.0, 100.0), Error),
    (Check::Range("d30_retention_rate", 0.0, 100.0), Error),
    (Check::Range("d60_retention_rate", 0.0, 100.0), Error),
    (Check::Range("d90_retention_rate", 0.0, 100.0), Error),
    (
        Check::Rows("d0_retained_equals_cohort_size", d0_is_cohort),
        Error,
    ),
    (
        Check::Rows("censored_days_null_and_observed_days_set", censoring),
        Error,
    ),
];

const INTERACTIONS: &[(Check, Severity)] = &[
    (
        Check::Unique(&["country", "event_type", "transaction_category"]),
        Error,
    ),
    (
        Check::EventTypes {
            column: "event_type",
            kept_count: false,
        },
        Error,
    ),
    (Check::Range("share", 0.0, 1.0), Error),
    (Check::Rows("shares_sum_to_one", shares_sum_to_one), Error),
    (
        Check::Rows("users_at_most_interactions", users_le_interactions),
        Error,
    ),
];

/// A lifecycle table's tests; it must count to the growth mart `growth` of its grain.
macro_rules! lifecycle_specs {
    ($growth:expr) => {
        &[
            (Check::NotNull("period"), Error),
            (Check::NotNull("user_id"), Error),
            (Check::Unique(&["period", "user_id"]), Error),
            (Check::AcceptedValues("status", &Status::NAMES), Error),
            (Check::Reconciles { to: $growth }, Error),
        ]
    };
}
const LIFECYCLE_DAY: &[(Check, Severity)] =
    lifecycle_specs!(Table::Mart(Mart::Growth(Grain::Day)).name());
const LIFECYCLE_WEEK: &[(Check, Severity)] =
    lifecycle_specs!(Table::Mart(Mart::Growth(Grain::Week)).name());
const LIFECYCLE_MONTH: &[(Check, Severity)] =
    lifecycle_specs!(Table::Mart(Mart::Growth(Grain::Month)).name());

/// A table's declared tests. A `match` rather than a list, so a new mart (a new
/// `contract::Mart` variant) does not compile until its tests are declared here.
fn checks(table: Table) -> &'static [(Check, Severity)] {
    match table {
        Table::Bronze => BRONZE,
        Table::GoldEvents => FACT_EVENTS,
        Table::DimUsers => DIM_USERS,
        Table::Mart(Mart::Growth(_)) => GROWTH,
        Table::Mart(Mart::Retention) => RETENTION,
        Table::Mart(Mart::Interactions) => INTERACTIONS,
        Table::Lifecycle(Grain::Day) => LIFECYCLE_DAY,
        Table::Lifecycle(Grain::Week) => LIFECYCLE_WEEK,
        Table::Lifecycle(Grain::Month) => LIFECYCLE_MONTH,
        // Checked elsewhere: quarantine by bronze's tests, silver is bronze's bytes.
        Table::Quarantine | Table::Silver => &[],
    }
}

/// Every declared test, table by table.
pub fn declared() -> Vec<TestSpec> {
    let tables = [Table::Bronze, Table::GoldEvents, Table::DimUsers]
        .into_iter()
        .chain(Mart::ALL.map(Table::Mart))
        .chain(Grain::ALL.map(Table::Lifecycle));
    tables
        .flat_map(|table| {
            checks(table)
                .iter()
                .map(move |&(check, severity)| TestSpec {
                    table: table.name(),
                    check,
                    severity,
                })
        })
        .collect()
}

/// A table's key, from its declared `unique` test: the columns, and whether each of them
/// is also declared not null (a primary key) or may be null (a unique key whose nulls
/// compare equal, as the `unique` test counts them).
pub fn key(table: &str) -> Option<(&'static [&'static str], bool)> {
    let specs = declared();
    let columns = specs.iter().find_map(|s| match s.check {
        Check::Unique(cs) if s.table == table => Some(cs),
        _ => None,
    })?;
    let not_null = columns.iter().all(|c| {
        specs.iter().any(|s| {
            s.table == table
                && s.severity == Error
                && matches!(s.check, Check::NotNull(n) if n == *c)
        })
    });
    Some((columns, not_null))
}

fn i64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .collect())
}

fn keys(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    Ok(df
        .column(name)?
        .cast(&DataType::String)?
        .str()?
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// active(t) - active(t-1) = new(t) + resurrected(t) - churned(t), per country, with
/// active before the first period = 0. Rows are in period order.
/// See: METRICS.md, Growth accounting (the identity).
fn growth_identity(df: &DataFrame, _: &Context) -> PolarsResult<u64> {
    let country = keys(df, "country")?;
    let (new, res, churn, active) = (
        i64s(df, "new_users")?,
        i64s(df, "resurrected_users")?,
        i64s(df, "churned_users")?,
        i64s(df, "active_users")?,
    );
    let mut prev: HashMap<Option<String>, i64> = HashMap::new();
    let mut bad = 0;
    for i in 0..df.height() {
        let a = active[i].unwrap_or(0);
        let p = prev.insert(country[i].clone(), a).unwrap_or(0);
        if a - p != new[i].unwrap_or(0) + res[i].unwrap_or(0) - churn[i].unwrap_or(0) {
            bad += 1;
        }
    }
    Ok(bad)
}

fn active_is_sum(df: &DataFrame, _: &Context) -> PolarsResult<u64> {
    let (new, ret, res, active) = (
        i64s(df, "new_users")?,
        i64s(df, "retained_users")?,
        i64s(df, "resurrected_users")?,
        i64s(df, "active_users")?,
    );
    Ok((0..df.height())
        .filter(|&i| {
            active[i] != Some(new[i].unwrap_or(0) + ret[i].unwrap_or(0) + res[i].unwrap_or(0))
        })
        .count() as u64)
}

fn quick_ratio(df: &DataFrame, _: &Context) -> PolarsResult<u64> {
    let (new, res, churn) = (
        i64s(df, "new_users")?,
        i64s(df, "resurrected_users")?,
        i64s(df, "churned_users")?,
    );
    let qr: Vec<Option<f64>> = df.column("quick_ratio")?.f64()?.iter().collect();
    Ok((0..df.height())
        .filter(|&i| {
            let c = churn[i].unwrap_or(0);
            let want =
                (c != 0).then(|| (new[i].unwrap_or(0) + res[i].unwrap_or(0)) as f64 / c as f64);
            want != qr[i]
        })
        .count() as u64)
}

fn seen_order(df: &DataFrame, _: &Context) -> PolarsResult<u64> {
    let first = i64s(df, "first_seen_at")?;
    let last = i64s(df, "last_seen_at")?;
    Ok(first.iter().zip(&last).filter(|(f, l)| f > l).count() as u64)
}

fn d0_is_cohort(df: &DataFrame, _: &Context) -> PolarsResult<u64> {
    let size = i64s(df, "cohort_size")?;
    let d0 = i64s(df, "d0_retained")?;
    Ok(size.iter().zip(&d0).filter(|(s, d)| s != d).count() as u64)
}

/// dN is null exactly when cohort_date + N is after the last day, and never above the size.
/// See: METRICS.md, Retention (right-censoring).
fn censoring(df: &DataFrame, ctx: &Context) -> PolarsResult<u64> {
    let cohort = i64s(df, "cohort_date")?;
    let size = i64s(df, "cohort_size")?;
    let mut bad = vec![false; df.height()];
    for n in DAYS {
        let retained = i64s(df, &format!("d{n}_retained"))?;
        let rate: Vec<Option<f64>> = df
            .column(&format!("d{n}_retention_rate"))?
            .f64()?
            .iter()
            .collect();
        for i in 0..df.height() {
            let observed = cohort[i].is_some_and(|c| c + n <= ctx.last_day);
            let ok = match (observed, retained[i], rate[i]) {
                (true, Some(r), Some(p)) => r >= 0 && Some(r) <= size[i] && p.is_finite(),
                (false, None, None) => true,
                _ => false,
            };
            bad[i] |= !ok;
        }
    }
    Ok(bad.iter().filter(|b| **b).count() as u64)
}

fn shares_sum_to_one(df: &DataFrame, _: &Context) -> PolarsResult<u64> {
    let country = keys(df, "country")?;
    let kind = keys(df, "event_type")?;
    let share: Vec<Option<f64>> = df.column("share")?.f64()?.iter().collect();
    let mut sums: HashMap<(Option<String>, Option<String>), (f64, u64)> = HashMap::new();
    for i in 0..df.height() {
        let e = sums
            .entry((country[i].clone(), kind[i].clone()))
            .or_default();
        e.0 += share[i].unwrap_or(f64::NAN);
        e.1 += 1;
    }
    Ok(sums
        .values()
        .filter(|(s, _)| (s - 1.0).abs() > 1e-9)
        .map(|(_, rows)| rows)
        .sum())
}

fn users_le_interactions(df: &DataFrame, _: &Context) -> PolarsResult<u64> {
    let users = i64s(df, "users")?;
    let inter = i64s(df, "interactions")?;
    Ok(users
        .iter()
        .zip(&inter)
        .filter(|(u, n)| u > n || u.is_none())
        .count() as u64)
}
