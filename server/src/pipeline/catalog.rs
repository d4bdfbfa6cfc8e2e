//! The pipeline's catalog: what the warehouse is told about each table the pipeline
//! writes. In: a table's name; out: its [`TableSpec`], whose key comes from the table's
//! declared `unique` and `not_null` tests (`quality::specs`) and whose comment says what
//! the table holds. The warehouse stores tables without knowing the pipeline: the
//! pipeline hands it this data with every write.

use super::quality::specs;
use crate::warehouse::{TableKey, TableSpec};

/// What the warehouse keeps about `table` (`layer.name`) besides its rows.
pub fn spec(table: &str) -> TableSpec {
    TableSpec {
        name: table.to_string(),
        key: specs::key(table).map(|(columns, not_null)| TableKey {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            not_null,
        }),
        comment: comment(table).to_string(),
    }
}

/// What each table holds, for readers of the warehouse (PostgreSQL's table comments).
fn comment(table: &str) -> &'static str {
    match table {
        "quarantine.rows" => {
            "Input rows that failed parsing or validation: source file, line, raw text and reason, per batch."
        }
        "bronze.events" => {
            "The latest batch exactly as it arrived, plus event_id (a hash of the event's fields), batch_id and loaded_at."
        }
        "silver.events" => {
            "Append-only history of every batch ever loaded (audit trail); duplicates kept."
        }
        "gold.fact_events" => {
            "Each event once: deduplicated by event_id, first load wins. The source of every mart."
        }
        "gold.dim_users" => {
            "One row per user: latest non-null country, first_seen_at and last_seen_at."
        }
        "marts.user_growth_metrics_day"
        | "marts.user_growth_metrics_week"
        | "marts.user_growth_metrics_month" => {
            "Growth accounting per period and country: new, retained, resurrected, churned and active users, growth rate and quick ratio (METRICS.md)."
        }
        "marts.user_retention" => {
            "Cohort retention by first-active day and country: cohort size, users retained on day N and rates; null where day N is not observed yet."
        }
        "marts.user_interactions" => {
            "Interactions by country, event type and transaction category: events, distinct users, miles and share of the country's events."
        }
        "marts.user_lifecycle_day" | "marts.user_lifecycle_week" | "marts.user_lifecycle_month" => {
            "One row per user per period in which the user has a growth status (new, retained, resurrected, churned): the users behind the growth marts."
        }
        _ => "Written by heymax.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_declared_tests() {
        let fact = spec("gold.fact_events");
        assert_eq!(
            fact.key,
            Some(TableKey {
                columns: vec!["event_id".into()],
                not_null: true
            })
        );
        // country may be null: a unique key, not a primary key.
        let growth = spec("marts.user_growth_metrics_week");
        assert_eq!(growth.key.map(|k| k.not_null), Some(false));
        assert_eq!(spec("silver.events").key, None);
        assert!(spec("quarantine.rows").comment.starts_with("Input rows"));
    }
}
