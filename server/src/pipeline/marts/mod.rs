//! Marts: gold (as slim frames of codes) -> the five mart tables of METRICS.md.
//! Every mart reads only gold; none reads another mart.

pub mod calendar;
pub mod export;
pub mod growth;
pub mod interactions;
pub mod retention;

use polars::prelude::*;

use super::slim::SlimFrames;
use calendar::Grain;

/// Mart names and their key columns (rows are unique on, and sorted by, the keys).
pub const MARTS: [(&str, &[&str]); 5] = [
    ("user_growth_metrics_day", &["period", "country"]),
    ("user_growth_metrics_week", &["period", "country"]),
    ("user_growth_metrics_month", &["period", "country"]),
    ("user_retention", &["cohort_date", "country"]),
    ("user_interactions", &["country", "event_type", "transaction_category"]),
];

pub fn growth_mart(grain: Grain) -> &'static str {
    match grain {
        Grain::Day => MARTS[0].0,
        Grain::Week => MARTS[1].0,
        Grain::Month => MARTS[2].0,
    }
}

/// What every mart is computed from.
pub struct MartContext {
    pub events: DataFrame,
    /// dim_users by code: `user`, `user_id`, `country`, `first_time`, `last_time`.
    pub users: DataFrame,
    pub countries: DataFrame,
    pub categories: DataFrame,
    pub event_types: DataFrame,
    /// Distinct (user, day) pairs: the activity every growth and retention number rests on.
    pub activity: DataFrame,
    pub first_day: i64,
    pub last_day: i64,
}

impl MartContext {
    pub fn new(frames: SlimFrames) -> PolarsResult<Self> {
        let activity = frames
            .events
            .clone()
            .lazy()
            .select([col("user"), col("day")])
            .unique(None, UniqueKeepStrategy::Any)
            .collect()?;
        let day = activity.column("day")?.i64()?;
        let (first_day, last_day) = (day.min().unwrap_or(0), day.max().unwrap_or(0));
        Ok(Self {
            events: frames.events,
            users: frames.users,
            countries: frames.countries,
            categories: frames.categories,
            event_types: frames.event_types,
            activity,
            first_day,
            last_day,
        })
    }
}

/// Builds all five marts, in [`MARTS`] order.
pub fn build_all(ctx: &MartContext) -> PolarsResult<Vec<(&'static str, DataFrame)>> {
    let mut out = Vec::with_capacity(MARTS.len());
    for grain in Grain::ALL {
        out.push((growth_mart(grain), growth::build(ctx, grain)?));
    }
    out.push((MARTS[3].0, retention::build(ctx)?));
    out.push((MARTS[4].0, interactions::build(ctx)?));
    Ok(out)
}
