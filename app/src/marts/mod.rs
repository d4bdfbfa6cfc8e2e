//! The marts as the browser reads them: which marts and grains there are ([`Grain`],
//! [`MART_NAMES`]), their rows as typed structs ([`rows`]) and the one way pages get them,
//! [`MartClient`] ([`client`]), which also knows the drill-down files' URLs. On the server
//! the client reads the warehouse in memory (so the first paint holds real numbers); in the
//! browser it fetches the same JSON files a static host serves, at the paths of
//! `contract::paths`.

mod client;
mod rows;

use serde::{Deserialize, Serialize};

pub use client::{Mart, MartClient, MartError, MartLookup, MartSource, fetch_browser_json, parse};
pub use contract::paths::{CountryScope, is_file_stem};
pub use rows::{GrowthRow, InteractionRow, NO_COUNTRY, RetentionRow};

/// Growth accounting grain. See: METRICS.md, Periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Grain {
    Day,
    #[default]
    Week,
    Month,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Week, Grain::Month];

    pub fn key(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<Grain> {
        Grain::ALL.into_iter().find(|g| g.key() == text)
    }

    /// The growth mart of this grain.
    pub fn mart(self) -> &'static str {
        match self {
            Grain::Day => "user_growth_metrics_day",
            Grain::Week => "user_growth_metrics_week",
            Grain::Month => "user_growth_metrics_month",
        }
    }

    /// "day", "week", "month" as a noun for labels ("last complete week").
    pub fn noun(self) -> &'static str {
        self.key()
    }
}

pub const RETENTION: &str = "user_retention";
pub const INTERACTIONS: &str = "user_interactions";

/// Every mart the dashboard reads, in the order the server loads them.
pub const MART_NAMES: [&str; 5] = [
    "user_growth_metrics_day",
    "user_growth_metrics_week",
    "user_growth_metrics_month",
    RETENTION,
    INTERACTIONS,
];

/// The retention days the mart carries, in column order. See: METRICS.md, Retention.
pub const RETENTION_DAYS: [u32; 6] = [0, 1, 7, 30, 60, 90];
