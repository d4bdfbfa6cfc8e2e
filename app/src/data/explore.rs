//! The chart builder's data: series picked from any marts that share an x key (the period
//! of one grain; retention cohorts are bucketed into the same periods), each aggregated
//! across the selected countries, joined on x into one table. Counts can be summed,
//! averaged, or take the min / max over countries; rates (quick ratio, retention) are only
//! ever recomputed from the summed counts. The whole state round-trips through the URL
//! query, so a chart is shared by link.
//!
//! Split by what flows through: [`spec`] reads and edits the state (columns, series, the
//! URL), [`join`](mod@join) turns a state and the marts' rows into the table the chart draws.

pub mod join;
pub mod spec;

pub use join::{Joined, JoinedSeries, join};
pub use spec::{
    Agg, Axis, Column, ExploreState, MAX_SERIES, Mark, SeriesSpec, Unit, column, columns, preset,
};
