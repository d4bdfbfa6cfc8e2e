//! The marts as the browser reads them: which marts and grains there are ([`Grain`],
//! [`contract::Mart`]), their rows as typed structs ([`rows`]) and the one way pages get them,
//! [`MartClient`] ([`client`]), which also knows the drill-down files' URLs. On the server
//! the client reads the warehouse in memory (so the first paint holds real numbers); in the
//! browser it fetches the same JSON files a static host serves, at the paths of
//! `contract::paths`.

mod client;
mod rows;

pub use client::{Mart, MartClient, MartError, MartLookup, MartSource, fetch_browser_json, parse};
pub use contract::paths::{CountryScope, is_file_stem};
pub use rows::{GrowthRow, InteractionRow, NO_COUNTRY, RetentionRow};

/// The grains, the marts and the retention days are the contract's: the server writes by them.
pub use contract::{Grain, RETENTION_DAYS};
