//! Marts: gold (slim events + dim_users) -> the five mart tables of METRICS.md.
//! Every mart reads only gold; none reads another mart.

pub mod activity;
pub mod calendar;
pub mod export;
pub mod growth;
pub mod interactions;
pub mod lifecycle;
pub mod retention;

use polars::prelude::*;

use super::slim::{DimUsers, SlimEvents};
use activity::Activity;
use calendar::Grain;

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

/// Builds all five marts, in [`MARTS`] order, then the three lifecycle tables.
pub fn build_all(
    slim: &SlimEvents,
    dim: &DimUsers,
) -> PolarsResult<(Activity, Vec<(&'static str, DataFrame)>)> {
    let act = Activity::new(slim, dim);
    let names = Names::new(slim);
    let mut out = Vec::with_capacity(MARTS.len() + LIFECYCLE.len());
    for grain in Grain::ALL {
        out.push((growth_mart(grain), growth::build(&act, &names, grain)?));
    }
    out.push((MARTS[3].0, retention::build(&act, &names)?));
    out.push((MARTS[4].0, interactions::build(slim, &act, &names)?));
    // The lifecycle tables are mostly string building (user ids): one grain per core.
    use rayon::prelude::*;
    let tables = Grain::ALL
        .par_iter()
        .map(|&grain| {
            lifecycle::build(slim, &act, &names, grain).map(|df| (lifecycle_table(grain), df))
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    out.extend(tables);
    Ok((act, out))
}
