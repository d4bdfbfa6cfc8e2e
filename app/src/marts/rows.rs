//! The mart rows as the browser receives them from `<base>data/marts/<name>.json`:
//! METRICS.md's columns, one JSON object per row, a null country read as [`NO_COUNTRY`]
//! (the pages filter, chart and drill by a country's name).

use serde::{Deserialize, Serialize};

/// How the pages name the users without a country: the marts hold null for them (a
/// country is optional in the input, METRICS.md), and a page filters, charts and drills
/// by name. Their drill files are `contract::paths::CountryScope::NoCountry`'s.
pub const NO_COUNTRY: &str = "(no country)";

fn country_or_label<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Option::<String>::deserialize(d).map(|c| c.unwrap_or_else(|| NO_COUNTRY.to_string()))
}

/// One row of `user_growth_metrics_<grain>`. See: METRICS.md, Growth accounting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthRow {
    pub period: String,
    #[serde(deserialize_with = "country_or_label")]
    pub country: String,
    pub new_users: u64,
    pub retained_users: u64,
    pub resurrected_users: u64,
    pub churned_users: u64,
    pub active_users: u64,
    pub growth: i64,
    pub quick_ratio: Option<f64>,
    pub is_complete: bool,
}

/// One row of `user_retention`; `None` is a day not yet observed (right-censored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetentionRow {
    pub cohort_date: String,
    #[serde(deserialize_with = "country_or_label")]
    pub country: String,
    pub cohort_size: u64,
    pub d0_retained: Option<u64>,
    pub d1_retained: Option<u64>,
    pub d7_retained: Option<u64>,
    pub d30_retained: Option<u64>,
    pub d60_retained: Option<u64>,
    pub d90_retained: Option<u64>,
    pub d0_retention_rate: Option<f64>,
    pub d1_retention_rate: Option<f64>,
    pub d7_retention_rate: Option<f64>,
    pub d30_retention_rate: Option<f64>,
    pub d60_retention_rate: Option<f64>,
    pub d90_retention_rate: Option<f64>,
}

impl RetentionRow {
    /// Retained users on each of `RETENTION_DAYS`.
    pub fn retained(&self) -> [Option<u64>; 6] {
        [
            self.d0_retained,
            self.d1_retained,
            self.d7_retained,
            self.d30_retained,
            self.d60_retained,
            self.d90_retained,
        ]
    }
}

/// One row of `user_interactions`. See: METRICS.md, Interactions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InteractionRow {
    #[serde(deserialize_with = "country_or_label")]
    pub country: String,
    pub event_type: String,
    pub transaction_category: Option<String>,
    pub interactions: u64,
    pub users: u64,
    pub miles: f64,
    pub share: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_country_reads_as_the_no_country_label() {
        let json = r#"[{"period":"2025-03-07","country":null,"new_users":1,"retained_users":0,"resurrected_users":0,"churned_users":0,"active_users":1,"growth":1,"quick_ratio":null,"is_complete":true}]"#;
        let rows: Vec<GrowthRow> = serde_json::from_str(json).unwrap();
        assert_eq!(rows[0].country, NO_COUNTRY);
        let json = r#"[{"country":null,"event_type":"like","transaction_category":null,"interactions":1,"users":1,"miles":0.0,"share":1.0}]"#;
        let rows: Vec<InteractionRow> = serde_json::from_str(json).unwrap();
        assert_eq!(rows[0].country, NO_COUNTRY);
    }
}
