//! What the warehouse is told about a table besides its rows: its name (`layer.table`),
//! the key its rows are unique on, and a sentence saying what it holds. The pipeline's
//! catalog builds one per table it writes and hands it over with each staged change;
//! PostgreSQL turns it into the table's key constraint and `COMMENT`, a folder of Parquet
//! files needs only the name.
//!
//! Data rather than a lookup into the pipeline: the warehouse sits below the pipeline and
//! must not know which tests or which layers exist to store a table correctly.

/// A table the pipeline writes, as the warehouse needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// `layer.table`: the schema and table in PostgreSQL, the folder and file on disk.
    pub name: String,
    /// The columns each row is unique on, when the table has such a key.
    pub key: Option<TableKey>,
    /// What the table holds, for whoever reads the warehouse without heymax.
    pub comment: String,
}

/// The columns a table's rows are unique on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKey {
    pub columns: Vec<String>,
    /// Every key column is also never null: a primary key. Otherwise a unique key whose
    /// nulls compare equal (as the pipeline's `unique` test counts them).
    pub not_null: bool,
}

impl TableSpec {
    /// A table with no key and no comment beyond the default.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_string(),
            key: None,
            comment: "Written by heymax.".to_string(),
        }
    }
}
