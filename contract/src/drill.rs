//! The drill-down files: the users behind one number of the dashboard, one small JSON file
//! per selection (at the paths of [`crate::paths`]). The server's read side builds these
//! structs, `heymax serve` and the static site serialize them, and the browser
//! deserializes the same structs, so neither side can write a shape the other cannot read.
//!
//! Rows are JSON arrays (tuple structs) under a fixed `columns` list, not objects: a file
//! can list 100,000 users, and repeating five keys per user would more than double it.
//! The string type `S` of the big files is generic so the server can fill them with the
//! shared strings it caches (no copy per request) while the browser reads plain `String`s.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::Grain;
use crate::paths::CountryScope;
use crate::status::Status;

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
    /// The columns of [`UserRow`].
    UserColumns = ["user_id", "country", "first_seen", "last_seen", "events"]
);
columns!(
    /// The columns of [`CohortRow`]: `d<N>` for each of [`crate::RETENTION_DAYS`].
    CohortColumns = ["user_id", "country", "cohort_date", "d0", "d1", "d7", "d30", "d60", "d90"]
);
columns!(
    /// The columns of [`Flow::top`].
    TopColumns = ["user_id", "interactions", "miles"]
);

/// `data/drill/<grain>/<period>/<status>.json`: the users with `status` in `period`, from
/// the lifecycle table of `grain`, of every country (the browser keeps the ones selected),
/// sorted by user id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthFile<S = String> {
    #[serde(with = "grain_name")]
    pub grain: Grain,
    /// The period as the request named it (`YYYY-MM-DD`, its first day).
    pub period: String,
    pub status: Status,
    pub columns: UserColumns,
    pub rows: Vec<UserRow<S>>,
}

impl<S> Default for GrowthFile<S> {
    fn default() -> Self {
        Self {
            grain: Grain::default(),
            period: String::new(),
            status: Status::New,
            columns: UserColumns,
            rows: Vec::new(),
        }
    }
}

/// `[user_id, country, first_seen, last_seen, events]`: first and last seen to the second
/// (`YYYY-MM-DD HH:MM:SS`), the user's events in the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserRow<S = String>(pub S, pub Option<S>, pub S, pub S, pub u64);

/// `data/drill/cohort/<grain>/<period>.json`: the users whose first active day falls in the
/// cohort period, and whether each was active on each retention day after it.
/// See: METRICS.md, Retention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CohortFile<S = String> {
    #[serde(with = "grain_name")]
    pub grain: Grain,
    pub period: String,
    pub columns: CohortColumns,
    pub rows: Vec<CohortRow<S>>,
}

impl<S> Default for CohortFile<S> {
    fn default() -> Self {
        Self {
            grain: Grain::default(),
            period: String::new(),
            columns: CohortColumns,
            rows: Vec::new(),
        }
    }
}

/// `[user_id, country, cohort_date, d0, d1, d7, d30, d60, d90]`: seen on that day, or null
/// when the day is past the data (right-censored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CohortRow<S = String>(
    pub S,
    pub Option<S>,
    pub String,
    pub Option<bool>,
    pub Option<bool>,
    pub Option<bool>,
    pub Option<bool>,
    pub Option<bool>,
    pub Option<bool>,
);

impl<S> CohortRow<S> {
    /// A row from its user, country, cohort day and what was seen on each retention day.
    pub fn new(user: S, country: Option<S>, cohort_date: String, seen: [Option<bool>; 6]) -> Self {
        let [d0, d1, d7, d30, d60, d90] = seen;
        Self(user, country, cohort_date, d0, d1, d7, d30, d60, d90)
    }

    /// Seen on the `i`-th of the retention days (D0, D1, D7, D30, D60, D90).
    pub fn seen(&self, i: usize) -> Option<bool> {
        [self.3, self.4, self.5, self.6, self.7, self.8]
            .get(i)
            .copied()
            .flatten()
    }
}

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

/// A grain as its name (`day`, `week`, `month`), as in the file's path.
mod grain_name {
    use super::*;

    pub fn serialize<Z: Serializer>(grain: &Grain, s: Z) -> Result<Z::Ok, Z::Error> {
        s.serialize_str(grain.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Grain, D::Error> {
        let name = String::deserialize(d)?;
        Grain::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("no such grain: {name:?} (day, week or month)"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    /// The bytes the server wrote with `json!` before these types: key order, `null` for a
    /// missing country or an unobserved day, floats with their `.0`.
    #[test]
    fn the_files_keep_their_exact_json() {
        let growth = GrowthFile {
            grain: Grain::Week,
            period: "2025-04-14".into(),
            status: Status::Churned,
            columns: UserColumns,
            rows: vec![
                UserRow(
                    "u1",
                    Some("SG"),
                    "2025-03-01 10:00:00",
                    "2025-04-01 10:00:00",
                    3,
                ),
                UserRow("u2", None, "", "", 0),
            ],
        };
        assert_eq!(
            json(&growth),
            r#"{"grain":"week","period":"2025-04-14","status":"churned","columns":["user_id","country","first_seen","last_seen","events"],"rows":[["u1","SG","2025-03-01 10:00:00","2025-04-01 10:00:00",3],["u2",null,"","",0]]}"#
        );
        let cohort = CohortFile {
            grain: Grain::Day,
            period: "2025-03-03".into(),
            columns: CohortColumns,
            rows: vec![CohortRow::new(
                "a",
                None,
                "2025-03-03".into(),
                [Some(true), Some(false), None, None, None, None],
            )],
        };
        assert_eq!(
            json(&cohort),
            r#"{"grain":"day","period":"2025-03-03","columns":["user_id","country","cohort_date","d0","d1","d7","d30","d60","d90"],"rows":[["a",null,"2025-03-03",true,false,null,null,null,null]]}"#
        );
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
        let growth: GrowthFile<&str> = GrowthFile {
            grain: Grain::Month,
            period: "2025-04-01".into(),
            status: Status::Resurrected,
            rows: vec![UserRow("u1", None, "a", "b", 7)],
            ..GrowthFile::default()
        };
        let back: GrowthFile = serde_json::from_str(&json(&growth)).unwrap();
        assert_eq!(back.grain, Grain::Month);
        assert_eq!(back.status, Status::Resurrected);
        assert_eq!(
            back.rows,
            vec![UserRow("u1".to_string(), None, "a".into(), "b".into(), 7)]
        );
        for scope in [
            CountryScope::All,
            CountryScope::NoCountry,
            CountryScope::Country("all"),
        ] {
            let back: FlowsFile =
                serde_json::from_str(&json(&FlowsFile::new(scope, vec![]))).unwrap();
            assert_eq!(back.scope(), scope);
        }
        let bad = r#"{"grain":"Week","period":"x","status":"new","columns":[],"rows":[]}"#;
        assert!(serde_json::from_str::<GrowthFile>(bad).is_err());
    }

    #[test]
    fn cohort_columns_follow_the_retention_days() {
        let days: Vec<String> = crate::RETENTION_DAYS
            .iter()
            .map(|d| format!("d{d}"))
            .collect();
        assert_eq!(
            CohortColumns::NAMES[3..],
            days.iter().map(String::as_str).collect::<Vec<_>>()[..]
        );
        let row = CohortRow::new(
            "u",
            None,
            String::new(),
            [None, Some(true), None, None, None, Some(false)],
        );
        assert_eq!(
            (row.seen(1), row.seen(5), row.seen(0), row.seen(6)),
            (Some(true), Some(false), None, None)
        );
    }
}
