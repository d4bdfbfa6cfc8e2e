//! Marts: gold (slim events + dim_users) -> the five mart tables of METRICS.md.
//! Every mart reads only gold; none reads another mart.

pub mod activity;
pub mod encoding;
pub mod growth;
pub mod interactions;
pub mod lifecycle;
pub mod retention;
pub mod scope;
pub(in crate::pipeline) mod tasks;

/// The encoding's former name, still imported by `web/marts.rs`; new code says `encoding`.
use polars::prelude::*;

use super::catalog::Table;
use super::schema::EventTypes;
use super::slim::SlimEvents;
use activity::Activity;
use contract::{Grain, Mart};

/// The user-level lifecycle table of a grain (`user_lifecycle_<grain>`, without its
/// `marts.` layer), keyed by (period, user_id). It sits with the marts but is not exported
/// as a mart file: it is read a period at a time.
pub fn lifecycle_table(grain: Grain) -> &'static str {
    Table::Lifecycle(grain).short_name()
}

/// The strings behind the dictionary codes.
pub struct Names {
    pub countries: Vec<String>,
    pub categories: Vec<String>,
    /// The declared event types (a slim event type code is a position here).
    pub event_types: Vec<String>,
}

impl Names {
    pub fn new(slim: &SlimEvents, types: &EventTypes) -> Self {
        let list = |v: &[Box<str>]| v.iter().map(|s| s.to_string()).collect();
        Self {
            countries: list(slim.countries.values()),
            categories: list(slim.categories.values()),
            event_types: types.names().to_vec(),
        }
    }
}

/// Builds one mart or lifecycle table as one frame (the pipeline's `mart_<table>` task
/// builds a lifecycle table as `lifecycle::Rows` instead, to write it a period at a time).
pub fn build_one(
    table: Table,
    slim: &SlimEvents,
    act: &Activity,
    names: &Names,
) -> PolarsResult<DataFrame> {
    match table {
        Table::Mart(Mart::Growth(grain)) => growth::build(act, names, grain),
        Table::Mart(Mart::Retention) => retention::build(act, names),
        Table::Mart(Mart::Interactions) => interactions::build(slim, act, names),
        Table::Lifecycle(grain) => lifecycle::build(slim, act, names, grain, None),
        other => polars_bail!(ComputeError: "{} is not a mart", other.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifecycle_table_of_a_grain_is_named_for_it() {
        assert_eq!(lifecycle_table(Grain::Month), "user_lifecycle_month");
    }
}
