//! Marts: gold (slim events + dim_users) -> the five mart tables of METRICS.md.
//! Every mart reads only gold; none reads another mart.

pub mod activity;
pub mod export;
pub mod growth;
pub mod interactions;
pub mod lifecycle;
pub mod retention;

use polars::prelude::*;

use super::slim::SlimEvents;
use activity::Activity;
use contract::Grain;

/// Mart names and their key columns (rows are unique on, and sorted by, the keys).
pub const MARTS: [(&str, &[&str]); 5] = [
    ("user_growth_metrics_day", &["period", "country"]),
    ("user_growth_metrics_week", &["period", "country"]),
    ("user_growth_metrics_month", &["period", "country"]),
    ("user_retention", &["cohort_date", "country"]),
    (
        "user_interactions",
        &["country", "event_type", "transaction_category"],
    ),
];

/// The user-level lifecycle tables (one per grain), keyed by (period, user_id). They sit
/// with the marts but are not exported as mart files: they are read a period at a time.
pub const LIFECYCLE: [&str; 3] = [
    "user_lifecycle_day",
    "user_lifecycle_week",
    "user_lifecycle_month",
];

pub fn lifecycle_table(grain: Grain) -> &'static str {
    match grain {
        Grain::Day => LIFECYCLE[0],
        Grain::Week => LIFECYCLE[1],
        Grain::Month => LIFECYCLE[2],
    }
}

pub fn growth_mart(grain: Grain) -> &'static str {
    match grain {
        Grain::Day => MARTS[0].0,
        Grain::Week => MARTS[1].0,
        Grain::Month => MARTS[2].0,
    }
}

/// The strings behind the dictionary codes.
pub struct Names {
    pub countries: Vec<String>,
    pub categories: Vec<String>,
}

impl Names {
    pub fn new(slim: &SlimEvents) -> Self {
        let list = |v: &[Box<str>]| v.iter().map(|s| s.to_string()).collect();
        Self {
            countries: list(slim.countries.values()),
            categories: list(slim.categories.values()),
        }
    }
}

/// Builds one mart or lifecycle table (the pipeline's `mart_<table>` task).
pub fn build_one(
    table: &str,
    slim: &SlimEvents,
    act: &Activity,
    names: &Names,
) -> PolarsResult<DataFrame> {
    if let Some(grain) = Grain::ALL.into_iter().find(|&g| growth_mart(g) == table) {
        return growth::build(act, names, grain);
    }
    if let Some(grain) = Grain::ALL
        .into_iter()
        .find(|&g| lifecycle_table(g) == table)
    {
        return lifecycle::build(slim, act, names, grain);
    }
    if table == MARTS[3].0 {
        retention::build(act, names)
    } else if table == MARTS[4].0 {
        interactions::build(slim, act, names)
    } else {
        polars_bail!(ComputeError: "there is no mart named {table}")
    }
}
