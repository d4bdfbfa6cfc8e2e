//! The PostgreSQL warehouse. Each layer is a schema (`quarantine`, `bronze`, `silver`,
//! `gold`, `marts`) of typed tables with keys and comments, so SQL clients and BI tools
//! read them directly; schema `heymax` holds the state (`heymax.state`, one JSON row with
//! a version that every commit bumps) and a readable list of loaded batches
//! (`heymax.batches`).
//!
//! A commit is one database transaction (`commit`): tables that are replaced are built
//! under a staging name, COPYed into, keyed, then swapped in (drop, rename) at the end of
//! the same transaction; appended parts are COPYed into their table. A killed process or a
//! dropped connection rolls all of it back, and readers see the old tables until the
//! commit. One writer at a time: it holds an advisory lock for its session.
//!
//! The client is the blocking `postgres` crate, as the pipeline is threads, not tasks.
//! It must not be called on an async runtime's thread; the web layer calls it off one.

mod commit;
mod copy;

use polars::prelude::*;
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, NoTls};

use super::{PgUrl, Result, State, WarehouseError};
pub(crate) use commit::commit;

/// A key no other program is likely to use for `pg_advisory_lock`: "heymax" in ASCII.
const WRITER_LOCK: i64 = 0x6865_796d_6178;

/// Rows per frame when reading a table.
const READ_BLOCK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "cannot connect to PostgreSQL at {url}: {reason}; check that the server is running and the URL's host, port, user and password"
    )]
    Connect { url: String, reason: String },
    #[error(
        "database {database} does not exist on {server}: create it (createdb -h {host} -p {port} {database}) or name an existing database in the URL"
    )]
    NoDatabase {
        server: String,
        host: String,
        port: String,
        database: String,
    },
    #[error(
        "user {user} may not {what} in {url} ({reason}): grant it, for example GRANT CREATE ON DATABASE {database} TO {user}"
    )]
    Privilege {
        url: String,
        user: String,
        database: String,
        what: String,
        reason: String,
    },
    #[error("{url}: {what}: {reason}")]
    Query {
        url: String,
        what: String,
        reason: String,
        /// The connection failed rather than the statement: worth retrying.
        transient: bool,
    },
    #[error("{url}: {what}: {reason}")]
    Data {
        url: String,
        what: String,
        reason: String,
    },
}

impl PgError {
    /// A dropped connection or a server going away, rather than a wrong statement or data.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PgError::Connect { .. }
                | PgError::Query {
                    transient: true,
                    ..
                }
        )
    }
}

/// What went wrong, in the server's words when it said something (never the URL).
fn reason(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        };
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

fn transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57P")
                || c == "40001"
                || c == "40P01"
        }
        // No SQLSTATE: the socket or the protocol failed.
        None => e.as_db_error().is_none(),
    }
}

/// Maps a failed statement to a one-line error that names the warehouse and the step.
pub(super) fn query_err<'a>(
    url: &'a PgUrl,
    what: &'a str,
) -> impl FnOnce(postgres::Error) -> WarehouseError + 'a {
    move |e| {
        if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
            return PgError::Privilege {
                url: url.to_string(),
                user: url.user().to_string(),
                database: url.database().to_string(),
                what: what.to_string(),
                reason: reason(&e),
            }
            .into();
        }
        PgError::Query {
            url: url.to_string(),
            what: what.to_string(),
            reason: reason(&e),
            transient: transient(&e),
        }
        .into()
    }
}

fn connect_err(url: &PgUrl, e: postgres::Error) -> WarehouseError {
    if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) {
        let server = url.server();
        let (host, port) = server.rsplit_once(':').unwrap_or((&server, "5432"));
        return PgError::NoDatabase {
            host: host.to_string(),
            port: port.to_string(),
            server: server.clone(),
            database: url.database().to_string(),
        }
        .into();
    }
    PgError::Connect {
        url: url.to_string(),
        reason: reason(&e),
    }
    .into()
}

/// Connects, with a timeout so a wrong host fails in seconds rather than minutes.
pub(super) fn connect(url: &PgUrl) -> Result<Client> {
    let mut config = url.config().clone();
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    let mut client = config.connect(NoTls).map_err(|e| connect_err(url, e))?;
    // A concurrent scan may otherwise start mid-table (parts come back in load order as far
    // as the server keeps it); notices (`... does not exist, skipping`) are not news.
    client
        .batch_execute("SET synchronize_seqscans = off; SET client_min_messages = warning")
        .map_err(query_err(url, "setting up the session"))?;
    Ok(client)
}

/// Quotes an identifier for SQL.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `layer.name` -> (`layer`, `name`).
pub(crate) fn split(table: &str) -> (&str, &str) {
    table.split_once('.').unwrap_or(("public", table))
}

/// `layer.name` as a quoted SQL name.
pub(crate) fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// An open connection to a PostgreSQL warehouse.
pub struct Session {
    client: Client,
    url: PgUrl,
    /// The server process serving this session (for the benchmark's memory reading).
    backend_pid: i32,
}

const META_DDL: &str = "
CREATE SCHEMA IF NOT EXISTS heymax;
COMMENT ON SCHEMA heymax IS 'heymax bookkeeping: the warehouse state and the batches loaded.';
CREATE TABLE IF NOT EXISTS heymax.state (
    id integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL,
    committed_at timestamptz NOT NULL,
    state jsonb NOT NULL
);
COMMENT ON TABLE heymax.state IS 'The warehouse state heymax reads and writes (tables, batches); version grows by one per commit.';
CREATE TABLE IF NOT EXISTS heymax.batches (
    batch_id bigint PRIMARY KEY,
    loaded_at timestamp NOT NULL,
    status text NOT NULL,
    rows bigint NOT NULL,
    quarantined bigint NOT NULL,
    new_in_gold bigint NOT NULL,
    sources text[] NOT NULL
);
COMMENT ON TABLE heymax.batches IS 'Every batch heymax loaded: loaded (every layer) or failed (only its quarantine kept).';
";

impl Session {
    fn connect(url: &PgUrl) -> Result<Self> {
        let mut client = connect(url)?;
        let backend_pid = client
            .query_one("SELECT pg_backend_pid()", &[])
            .and_then(|r| r.try_get(0))
            .map_err(query_err(url, "reading the session"))?;
        Ok(Session {
            client,
            url: url.clone(),
            backend_pid,
        })
    }

    /// Connects as the one writer: takes the lock, creates the bookkeeping schema if needed.
    pub fn open_for_write(url: &PgUrl) -> Result<(Self, State)> {
        let mut session = Self::connect(url)?;
        let locked: bool = session
            .client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK])
            .and_then(|r| r.try_get(0))
            .map_err(query_err(url, "taking the writer's lock"))?;
        if !locked {
            return Err(WarehouseError::Locked(url.to_string()));
        }
        let exists = session.has_meta()?;
        if !exists {
            session
                .client
                .batch_execute(META_DDL)
                .map_err(query_err(url, "create the heymax schema"))?;
        }
        let state = session.load_state()?.unwrap_or_else(State::new);
        Ok((session, state))
    }

    /// Connects as a reader: the warehouse must exist.
    pub fn open(url: &PgUrl) -> Result<(Self, State)> {
        let mut session = Self::connect(url)?;
        match session.load_state()? {
            Some(state) => Ok((session, state)),
            None => Err(WarehouseError::Missing(url.to_string())),
        }
    }

    fn has_meta(&mut self) -> Result<bool> {
        self.client
            .query_one("SELECT to_regclass('heymax.state') IS NOT NULL", &[])
            .and_then(|r| r.try_get(0))
            .map_err(query_err(&self.url, "looking for heymax.state"))
    }

    fn load_state(&mut self) -> Result<Option<State>> {
        if !self.has_meta()? {
            return Ok(None);
        }
        let row = self
            .client
            .query_opt("SELECT state::text FROM heymax.state WHERE id = 1", &[])
            .map_err(query_err(&self.url, "reading heymax.state"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let text: String = row
            .try_get(0)
            .map_err(query_err(&self.url, "reading heymax.state"))?;
        serde_json::from_str(&text).map(Some).map_err(|e| {
            PgError::Data {
                url: self.url.to_string(),
                what: "reading heymax.state".into(),
                reason: format!("{e}; restore the database from a backup or load into a new one"),
            }
            .into()
        })
    }

    /// The columns of `layer.name` with their types, in table order.
    fn columns(&mut self, schema: &str, name: &str) -> Result<Vec<(String, Type)>> {
        let rows = self
            .client
            .query(
                "SELECT a.attname::text, a.atttypid
                   FROM pg_attribute a
                   JOIN pg_class c ON c.oid = a.attrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY a.attnum",
                &[&schema, &name],
            )
            .map_err(query_err(&self.url, "reading a table's columns"))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (column, oid): (String, u32) = (
                row.try_get(0)
                    .map_err(query_err(&self.url, "reading a table's columns"))?,
                row.try_get(1)
                    .map_err(query_err(&self.url, "reading a table's columns"))?,
            );
            let ty = Type::from_oid(oid).unwrap_or(Type::UNKNOWN);
            out.push((column, ty));
        }
        Ok(out)
    }

    /// Reads `table` in blocks of rows, in the order they were loaded.
    pub fn read_parts(
        &mut self,
        table: &str,
        columns: Option<&[&str]>,
        each: &mut dyn FnMut(DataFrame) -> Result<()>,
    ) -> Result<()> {
        let (schema, name) = split(table);
        let all = self.columns(schema, name)?;
        if all.is_empty() {
            return Err(WarehouseError::NoTable {
                table: table.to_string(),
            });
        }
        let chosen: Vec<(String, Type)> = match columns {
            None => all,
            Some(wanted) => wanted
                .iter()
                .map(|w| {
                    all.iter().find(|(c, _)| c == w).cloned().ok_or_else(|| {
                        WarehouseError::from(PgError::Data {
                            url: self.url.to_string(),
                            what: format!("reading {table}"),
                            reason: format!("it has no column {w}; run `heymax run` to rebuild it"),
                        })
                    })
                })
                .collect::<Result<_>>()?,
        };
        for (column, ty) in &chosen {
            if copy::polars_type(ty).is_none() {
                return Err(PgError::Data {
                    url: self.url.to_string(),
                    what: format!("reading {table}"),
                    reason: format!("column {column} has type {ty}, which heymax does not read"),
                }
                .into());
            }
        }
        let list: Vec<String> = chosen.iter().map(|(c, _)| ident(c)).collect();
        let sql = format!(
            "COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)",
            list.join(", "),
            qualified(schema, name)
        );
        let what = format!("reading {table}");
        let url = self.url.clone();
        let reader = self.client.copy_out(&sql).map_err(query_err(&url, &what))?;
        // The callback's own error is kept aside so it is returned as it was.
        let mut failed: Option<WarehouseError> = None;
        let result = copy::receive(reader, &chosen, READ_BLOCK, &mut |df| {
            each(df).map_err(|e| {
                failed = Some(e);
                copy::CopyError::Frame(PolarsError::ComputeError("stopped".into()))
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        result.map_err(|e| copy_err(&url, &what, e))
    }

    /// Peak resident memory of the server process serving this session, when the server
    /// runs on this machine and its `/proc` entry is readable (for `heymax bench`).
    pub fn backend_peak_rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.backend_pid)).ok()?;
        // Only trust it if that process is a PostgreSQL server.
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", self.backend_pid)).ok()?;
        if !String::from_utf8_lossy(&cmdline).contains("postgres") {
            return None;
        }
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    }
}

fn copy_err(url: &PgUrl, what: &str, e: copy::CopyError) -> WarehouseError {
    match e {
        copy::CopyError::Db(e) => query_err(url, what)(e),
        copy::CopyError::Frame(e) => PgError::Data {
            url: url.to_string(),
            what: what.to_string(),
            reason: e.to_string(),
        }
        .into(),
    }
}

/// Creates an empty database `name` on `url`'s server (dropping one of that name first)
/// and returns its URL: the benchmark loads into one of its own.
pub fn create_scratch(url: &PgUrl, name: &str) -> Result<PgUrl> {
    let mut client = connect(url)?;
    for sql in [
        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name)),
        format!("CREATE DATABASE {}", ident(name)),
    ] {
        client
            .execute(&sql, &[])
            .map_err(query_err(url, "creating a scratch database"))?;
    }
    Ok(url.with_database(name))
}

/// Drops database `name` on `url`'s server.
pub fn drop_database(url: &PgUrl, name: &str) -> Result<()> {
    let mut client = connect(url)?;
    client
        .execute(
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name)),
            &[],
        )
        .map_err(query_err(url, "dropping a scratch database"))?;
    Ok(())
}

/// The warehouse's version (bumped by every commit), or `None` when there is none yet.
pub fn stamp(url: &PgUrl) -> Option<String> {
    let mut client = connect(url).ok()?;
    let row = client
        .query_opt("SELECT version FROM heymax.state WHERE id = 1", &[])
        .ok()??;
    row.try_get::<_, i64>(0).ok().map(|v| v.to_string())
}
