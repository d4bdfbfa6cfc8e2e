//! Where a warehouse lives: a folder of Parquet files (the default), or a PostgreSQL
//! database named by a `postgres://` URL. The URL's password never leaves this module:
//! `Display` and `Debug` print `postgres://user@host:port/db`, so logs and error messages
//! can name the warehouse freely.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A warehouse location as given on the command line (`--warehouse`, `HEYMAX_WAREHOUSE`).
#[derive(Clone)]
pub enum Location {
    Dir(PathBuf),
    Postgres(PgUrl),
}

/// A parsed `postgres://` URL.
#[derive(Clone)]
pub struct PgUrl {
    config: std::sync::Arc<postgres::Config>,
}

impl PgUrl {
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// The server, as `host:port` (the first one when the URL lists several).
    pub fn server(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_string(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}")
    }

    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or("(current user)")
    }

    /// The database; PostgreSQL defaults it to the user's name.
    pub fn database(&self) -> &str {
        self.config
            .get_dbname()
            .or(self.config.get_user())
            .unwrap_or("postgres")
    }

    /// The same server and credentials, another database (bench and tests use scratch ones).
    pub fn with_database(&self, database: &str) -> PgUrl {
        let mut config = (*self.config).clone();
        config.dbname(database);
        PgUrl {
            config: config.into(),
        }
    }
}

/// Percent-encodes a URL component (RFC 3986 unreserved characters stay as they are).
fn encode(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl PgUrl {
    /// The full URL, password included, to hand to a child process (never to print).
    pub fn secret_url(&self) -> String {
        let user = self.config.get_user().map(|u| encode(u.as_bytes()));
        let password = self.config.get_password().map(encode);
        let credentials = match (user, password) {
            (Some(u), Some(p)) => format!("{u}:{p}@"),
            (Some(u), None) => format!("{u}@"),
            _ => String::new(),
        };
        format!(
            "postgres://{credentials}{}/{}",
            self.server(),
            encode(self.database().as_bytes())
        )
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self
            .config
            .get_user()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        write!(f, "postgres://{user}{}/{}", self.server(), self.database())
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "the warehouse URL is not a valid PostgreSQL URL ({0}); write it as postgres://user:password@host:port/database"
)]
pub struct LocationError(String);

impl FromStr for Location {
    type Err = LocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            // The parser's message may quote the URL, password included: keep only its kind.
            let config = s.parse::<postgres::Config>().map_err(|e| {
                let text = e.to_string();
                LocationError(if text.contains(s) {
                    "unparseable".into()
                } else {
                    text
                })
            })?;
            let mut config = config;
            if config.get_hosts().is_empty() {
                config.host("localhost");
            }
            config.application_name("heymax");
            return Ok(Location::Postgres(PgUrl {
                config: config.into(),
            }));
        }
        Ok(Location::Dir(PathBuf::from(s)))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Dir(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::Dir(p.to_path_buf())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::Dir(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_urls_are_told_apart() {
        assert!(matches!("warehouse".parse(), Ok(Location::Dir(_))));
        assert!(matches!(
            "postgresql://u@db.example:6543/w".parse(),
            Ok(Location::Postgres(_))
        ));
    }

    #[test]
    fn the_password_is_never_printed() {
        let loc: Location = "postgres://max:s3cret@db.example:6543/growth"
            .parse()
            .unwrap();
        assert_eq!(loc.to_string(), "postgres://max@db.example:6543/growth");
        assert_eq!(format!("{loc:?}"), "postgres://max@db.example:6543/growth");
        let Location::Postgres(url) = loc else {
            panic!("not a URL")
        };
        assert_eq!(url.database(), "growth");
        assert_eq!(url.server(), "db.example:6543");
    }

    #[test]
    fn the_secret_url_round_trips() {
        let text = "postgres://max:p%40ss%2Fw@db.example:6543/growth";
        let Ok(Location::Postgres(url)) = text.parse::<Location>() else {
            panic!("not a URL")
        };
        assert_eq!(url.secret_url(), text);
        let again: Location = url.secret_url().parse().unwrap();
        assert_eq!(again.to_string(), "postgres://max@db.example:6543/growth");
    }

    #[test]
    fn a_bad_url_says_how_to_write_one_without_echoing_it() {
        let err = "postgres://max:s3cret@host:notaport/db"
            .parse::<Location>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("postgres://user:password@host"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
