//! The drill-down files: the users behind one number of the dashboard. The server's read
//! side builds them, `heymax serve` answers them and the static site writes them, at the
//! paths of [`crate::paths`]; the browser decodes the same types, so neither side can write
//! a shape the other cannot read.
//!
//! - Growth and cohort selections are compact binary files ([`selection`], over the
//!   varints of [`bytes`]): a header with the exact counts and chunks of user indices,
//!   read against one user dictionary sharded by user ([`users`]). A weekly bar of 190,000
//!   users is a 16 KB first fetch instead of a 13 MB JSON file (issue 18).
//! - Interactions stay small JSON files ([`FlowsFile`]): a flow lists only its 20 most
//!   active users. Rows are JSON arrays under a fixed `columns` list, not objects.

pub mod bytes;
pub mod selection;
pub mod users;

pub use bytes::DecodeError;
pub use selection::{
    CHUNK, CohortSpan, CohortStats, Header, Kind, Member, Meta, decode_chunk, encode_selection,
};
pub use users::{DictUser, SHARD, UserShard};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::paths::CountryScope;

/// A file's fixed list of column names: always written, never needed to read the rows
/// (their positions are the contract), so reading accepts any list.
macro_rules! columns {
    ($(#[$doc:meta])* $name:ident = [$($column:literal),* $(,)?]) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl $name {
            pub const NAMES: &'static [&'static str] = &[$($column),*];
        }

        impl Serialize for $name {
            fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
                Self::NAMES.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                serde::de::IgnoredAny::deserialize(d).map(|_| $name)
            }
        }
    };
}

columns!(
    /// The columns of [`Flow::top`].
    TopColumns = ["user_id", "interactions", "miles"]
);

/// `data/drill/interactions/<stem>.json` ([`CountryScope::file_stem`]): each flow (event
/// type -> category) of one scope, with its totals and its most active users.
/// See: METRICS.md, Interactions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowsFile {
    pub scope: ScopeKind,
    /// The country of a [`ScopeKind::Country`] file, else null.
    pub country: Option<String>,
    pub top_columns: TopColumns,
    pub links: Vec<Flow>,
}

impl FlowsFile {
    pub fn new(scope: CountryScope<'_>, links: Vec<Flow>) -> Self {
        let (scope, country) = match scope {
            CountryScope::All => (ScopeKind::All, None),
            CountryScope::NoCountry => (ScopeKind::NoCountry, None),
            CountryScope::Country(c) => (ScopeKind::Country, Some(c.to_string())),
        };
        Self {
            scope,
            country,
            top_columns: TopColumns,
            links,
        }
    }

    /// Whose flows these are (a country file without its country reads as the users
    /// without one).
    pub fn scope(&self) -> CountryScope<'_> {
        match (self.scope, &self.country) {
            (ScopeKind::All, _) => CountryScope::All,
            (ScopeKind::Country, Some(c)) => CountryScope::Country(c),
            _ => CountryScope::NoCountry,
        }
    }
}

/// A [`FlowsFile`]'s `scope`: `all`, `none` (the users without a country) or `country`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    #[default]
    All,
    #[serde(rename = "none")]
    NoCountry,
    Country,
}

/// One flow of a [`FlowsFile`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub event_type: String,
    pub transaction_category: Option<String>,
    pub interactions: u64,
    pub users: u64,
    pub miles: f64,
    /// `[user_id, interactions, miles]`, most interactions first.
    pub top: Vec<(String, u64, f64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    /// The bytes the server wrote with `json!` before these types: key order, `null` for a
    /// missing country, floats with their `.0`.
    #[test]
    fn flows_files_keep_their_exact_json() {
        let flows = FlowsFile::new(
            CountryScope::Country("SG"),
            vec![Flow {
                event_type: "miles_earned".into(),
                transaction_category: Some("dining".into()),
                interactions: 3,
                users: 2,
                miles: 37.5,
                top: vec![("u1".into(), 2, 25.0), ("u2".into(), 1, 12.5)],
            }],
        );
        assert_eq!(
            json(&flows),
            r#"{"scope":"country","country":"SG","top_columns":["user_id","interactions","miles"],"links":[{"event_type":"miles_earned","transaction_category":"dining","interactions":3,"users":2,"miles":37.5,"top":[["u1",2,25.0],["u2",1,12.5]]}]}"#
        );
        assert_eq!(
            json(&FlowsFile::new(CountryScope::NoCountry, vec![])),
            r#"{"scope":"none","country":null,"top_columns":["user_id","interactions","miles"],"links":[]}"#
        );
    }

    #[test]
    fn what_the_server_writes_the_browser_reads_back() {
        for scope in [
            CountryScope::All,
            CountryScope::NoCountry,
            CountryScope::Country("all"),
        ] {
            let back: FlowsFile =
                serde_json::from_str(&json(&FlowsFile::new(scope, vec![]))).unwrap();
            assert_eq!(back.scope(), scope);
        }
    }
}
