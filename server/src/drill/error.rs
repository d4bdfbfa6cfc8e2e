//! What can go wrong answering a drill-down request: the request names nothing there is
//! (a period, a status, a scope), the warehouse or a table is not built yet, or a table
//! cannot be read. The first two kinds say what to do and are the client's to see
//! ([`DrillError::is_not_found`]); the last is the server's to log.

/// How many characters of a request's text an error message repeats.
const ECHO_CHARS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(
        "no drill-down data in {warehouse} ({detail}): run `heymax run --input <events.csv>` to build it"
    )]
    NoWarehouse { warehouse: String, detail: String },
    #[error("the warehouse has no {table} yet: run `heymax run` again to build it")]
    NoTable { table: String },
    /// The request's period, already [`echo`]ed.
    #[error("not a period: {0} (YYYY-MM-DD)")]
    NotAPeriod(String),
    /// The request's status, already [`echo`]ed.
    #[error("no such status: {0}")]
    NoStatus(String),
    /// The request's file stem, already [`echo`]ed.
    #[error("no interactions drill file {0}.json")]
    NoScope(String),
    #[error("reading {table}: {detail}")]
    Read { table: String, detail: String },
    #[error("{column}: {detail}")]
    Column { column: String, detail: String },
    #[error(
        "the countries {first} and {second} share the drill file name {stem}: rename one in the input"
    )]
    StemClash {
        first: String,
        second: String,
        stem: String,
    },
    #[error("drill cache poisoned")]
    Poisoned,
}

impl DrillError {
    /// Whether the request named something that is not there (yet): a 404 with this text,
    /// not a server error.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            DrillError::NoWarehouse { .. }
                | DrillError::NoTable { .. }
                | DrillError::NotAPeriod(_)
                | DrillError::NoStatus(_)
                | DrillError::NoScope(_)
        )
    }

    pub(super) fn column(column: &str) -> impl FnOnce(polars::error::PolarsError) -> Self + '_ {
        move |e| DrillError::Column {
            column: column.to_string(),
            detail: e.to_string(),
        }
    }
}

/// A request's text as an error repeats it: a short prefix, quoted and escaped (`Debug`
/// escapes quotes and control characters).
pub fn echo(text: &str) -> String {
    let prefix: String = text.chars().take(ECHO_CHARS).collect();
    let cut = if prefix.len() < text.len() { "…" } else { "" };
    format!("{prefix:?}{cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_is_a_short_escaped_prefix() {
        assert_eq!(echo("SG"), "\"SG\"");
        let long = format!("../x\n{}", "y".repeat(1000));
        let text = echo(&long);
        assert!(
            text.starts_with(r#""../x\nyyy"#) && text.ends_with('…'),
            "{text}"
        );
        assert!(text.chars().count() < 50, "{text}");
    }

    #[test]
    fn only_what_the_request_names_is_not_found() {
        assert!(DrillError::NoStatus(echo("gone")).is_not_found());
        assert!(
            DrillError::NoTable {
                table: "marts.x".into()
            }
            .is_not_found()
        );
        assert!(!DrillError::Poisoned.is_not_found());
        assert!(
            !DrillError::Read {
                table: "gold.dim_users".into(),
                detail: "x".into()
            }
            .is_not_found()
        );
    }
}
