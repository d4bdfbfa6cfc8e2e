//! The pipeline's tasks by identity: a [`Task`] value names each step of a run, and its
//! [`Task::name`] is the one place the names the run history, the CLI and the Pipeline
//! page show (`ingest`, `mart_user_retention`, `test_gold`, ...) are spelled. The
//! wiring is in `plan.rs`; what each task does is in the file named after it.

use super::catalog::Table;

/// A step of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    /// The Spark engine's job: every layer and mart computed on the cluster.
    Spark,
    Ingest,
    Bronze,
    TestBronze,
    Silver,
    Gold,
    /// Gold's events in the form the marts read them, for the next run (`gold_slim.rs`).
    GoldSlim,
    TestGold,
    /// Who was active on which day: what every mart is counted from.
    Activity,
    /// Builds one table from gold (a mart or a lifecycle table).
    Mart(Table),
    /// Tests one table built from gold.
    TestMart(Table),
    Commit,
}

impl Task {
    pub fn name(self) -> String {
        match self {
            Task::Spark => "spark".into(),
            Task::Ingest => "ingest".into(),
            Task::Bronze => "bronze".into(),
            Task::TestBronze => "test_bronze".into(),
            Task::Silver => "silver".into(),
            Task::Gold => "gold".into(),
            Task::GoldSlim => "gold_slim".into(),
            Task::TestGold => "test_gold".into(),
            Task::Activity => "activity".into(),
            Task::Mart(table) => format!("mart_{}", table.short_name()),
            Task::TestMart(table) => format!("test_{}", table.short_name()),
            Task::Commit => "commit".into(),
        }
    }

    /// What kind of step, for the Pipeline page's colours: `ingest`, `layer`, `mart`,
    /// `test`, `commit`.
    pub fn group(self) -> &'static str {
        match self {
            Task::Spark | Task::Ingest => "ingest",
            Task::Bronze | Task::Silver | Task::Gold | Task::GoldSlim => "layer",
            Task::Activity | Task::Mart(_) => "mart",
            Task::TestBronze | Task::TestGold | Task::TestMart(_) => "test",
            Task::Commit => "commit",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::{Grain, Mart};

    #[test]
    fn mart_tasks_are_named_after_their_table() {
        let retention = Table::Mart(Mart::Retention);
        assert_eq!(Task::Mart(retention).name(), "mart_user_retention");
        assert_eq!(
            Task::TestMart(Table::Lifecycle(Grain::Day)).name(),
            "test_user_lifecycle_day"
        );
        assert_eq!(Task::TestBronze.name(), "test_bronze");
        assert_eq!(Task::Activity.group(), "mart");
    }
}
