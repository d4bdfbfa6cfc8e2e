//! The pipeline's catalog: every table the pipeline writes, as a [`Table`] value rather
//! than a `"layer.name"` string, and what the warehouse is told about each. In: a table;
//! out: its name, and its [`TableSpec`], whose key comes from the table's declared
//! `unique` and `not_null` tests (`quality::specs`) and whose comment says what the table
//! holds. The warehouse stores tables without knowing the pipeline: the pipeline hands it
//! this data with every write. Every mart is a `contract::Mart`, so adding one is a
//! variant there, and each `match` here (and in the marts' builder) then asks for it.

use contract::{Grain, Mart};

use super::quality::specs;
use crate::warehouse::{TableKey, TableSpec};

/// A table the pipeline writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// The latest batch as it arrived. See: METRICS.md, Layers (bronze).
    Bronze,
    /// Input rows that failed parsing or validation, per batch.
    Quarantine,
    /// Every batch ever loaded. See: METRICS.md, Layers (silver).
    Silver,
    /// Each event once. See: METRICS.md, Layers (gold).
    GoldEvents,
    /// One row per user.
    DimUsers,
    /// A mart the dashboard reads.
    Mart(Mart),
    /// The users behind the growth mart of a grain, a row per user and period.
    Lifecycle(Grain),
}

impl Table {
    /// `layer.name`: the schema and table in PostgreSQL, the folder and file on disk, the
    /// table of a test result. `const` so the quality specs can name tables in constants.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Bronze => "bronze.events",
            Table::Quarantine => "quarantine.rows",
            Table::Silver => "silver.events",
            Table::GoldEvents => "gold.fact_events",
            Table::DimUsers => "gold.dim_users",
            // `marts.` + `Mart::name()` (a test checks they agree).
            Table::Mart(Mart::Growth(Grain::Day)) => "marts.user_growth_metrics_day",
            Table::Mart(Mart::Growth(Grain::Week)) => "marts.user_growth_metrics_week",
            Table::Mart(Mart::Growth(Grain::Month)) => "marts.user_growth_metrics_month",
            Table::Mart(Mart::Retention) => "marts.user_retention",
            Table::Mart(Mart::Interactions) => "marts.user_interactions",
            Table::Lifecycle(Grain::Day) => "marts.user_lifecycle_day",
            Table::Lifecycle(Grain::Week) => "marts.user_lifecycle_week",
            Table::Lifecycle(Grain::Month) => "marts.user_lifecycle_month",
        }
    }

    /// The name without its layer (`user_retention`): how the run summary and the tasks
    /// name a mart.
    pub fn short_name(self) -> &'static str {
        let name = self.name();
        name.split_once('.').map_or(name, |(_, table)| table)
    }

    /// Every table, layer by layer.
    pub fn all() -> Vec<Table> {
        [
            Table::Quarantine,
            Table::Bronze,
            Table::Silver,
            Table::GoldEvents,
            Table::DimUsers,
        ]
        .into_iter()
        .chain(Mart::ALL.map(Table::Mart))
        .chain(Grain::ALL.map(Table::Lifecycle))
        .collect()
    }

    pub fn parse(name: &str) -> Option<Table> {
        Table::all().into_iter().find(|t| t.name() == name)
    }

    /// The tables a run builds after gold, in task order: the lifecycle tables first, as
    /// they take longest (workers take ready tasks in this order, so the longest chain,
    /// `mart_user_lifecycle_day -> test_user_lifecycle_day`, starts first).
    pub fn built_from_gold() -> Vec<Table> {
        Grain::ALL
            .map(Table::Lifecycle)
            .into_iter()
            .chain(Mart::ALL.map(Table::Mart))
            .collect()
    }

    /// The mart a lifecycle table must count to (its tests read both).
    pub fn reconciles_with(self) -> Option<Table> {
        match self {
            Table::Lifecycle(grain) => Some(Table::Mart(Mart::Growth(grain))),
            _ => None,
        }
    }

    /// What the warehouse keeps about the table besides its rows.
    pub fn spec(self) -> TableSpec {
        let name = self.name();
        TableSpec {
            name: name.to_string(),
            key: specs::key(name).map(|(columns, not_null)| TableKey {
                columns: columns.iter().map(|c| c.to_string()).collect(),
                not_null,
            }),
            comment: self.comment().to_string(),
        }
    }

    /// What the table holds, for readers of the warehouse (PostgreSQL's table comments).
    fn comment(self) -> &'static str {
        match self {
            Table::Quarantine => {
                "Input rows that failed parsing or validation: source file, line, raw text and reason, per batch."
            }
            Table::Bronze => {
                "The latest batch exactly as it arrived, plus event_id (a hash of the event's fields), batch_id and loaded_at."
            }
            Table::Silver => {
                "Append-only history of every batch ever loaded (audit trail); duplicates kept."
            }
            Table::GoldEvents => {
                "Each event once: deduplicated by event_id, first load wins. The source of every mart."
            }
            Table::DimUsers => {
                "One row per user: latest non-null country, first_seen_at and last_seen_at."
            }
            Table::Mart(Mart::Growth(_)) => {
                "Growth accounting per period and country: new, retained, resurrected, churned and active users, growth rate and quick ratio (METRICS.md)."
            }
            Table::Mart(Mart::Retention) => {
                "Cohort retention by first-active day and country: cohort size, users retained on day N and rates; null where day N is not observed yet."
            }
            Table::Mart(Mart::Interactions) => {
                "Interactions by country, event type and transaction category: events, distinct users, miles and share of the country's events."
            }
            Table::Lifecycle(_) => {
                "One row per user per period in which the user has a growth status (new, retained, resurrected, churned): the users behind the growth marts."
            }
        }
    }
}

/// The part a batch adds to an append-only table (quarantine, silver, gold's facts).
pub fn part_name(batch_id: i64) -> String {
    format!("batch={batch_id:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_declared_tests() {
        let fact = Table::GoldEvents.spec();
        assert_eq!(
            fact.key,
            Some(TableKey {
                columns: vec!["event_id".into()],
                not_null: true
            })
        );
        // country may be null: a unique key, not a primary key.
        let growth = Table::Mart(Mart::Growth(Grain::Week)).spec();
        assert_eq!(growth.key.map(|k| k.not_null), Some(false));
        assert_eq!(Table::Silver.spec().key, None);
        assert!(Table::Quarantine.spec().comment.starts_with("Input rows"));
    }

    #[test]
    fn names_are_the_layer_and_the_contract_names_and_parse_back() {
        for mart in Mart::ALL {
            assert_eq!(Table::Mart(mart).name(), format!("marts.{}", mart.name()));
            assert_eq!(Table::Mart(mart).short_name(), mart.name());
        }
        for grain in Grain::ALL {
            assert_eq!(
                Table::Lifecycle(grain).short_name(),
                format!("user_lifecycle_{}", grain.name())
            );
        }
        let all = Table::all();
        for &t in &all {
            assert_eq!(Table::parse(t.name()), Some(t));
        }
        let mut names: Vec<_> = all.iter().map(|t| t.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(Table::parse("marts.users"), None);
    }

    #[test]
    fn lifecycle_tables_come_first_and_reconcile_with_their_growth_mart() {
        let built = Table::built_from_gold();
        assert_eq!(built.len(), Grain::ALL.len() + Mart::ALL.len());
        assert_eq!(built[0], Table::Lifecycle(Grain::Day));
        assert_eq!(
            Table::Lifecycle(Grain::Week).reconciles_with(),
            Some(Table::Mart(Mart::Growth(Grain::Week)))
        );
        assert_eq!(Table::Mart(Mart::Retention).reconciles_with(), None);
        assert_eq!(part_name(12), "batch=000012");
    }
}
