//! One heymax commit as one PostgreSQL transaction. Replaced tables are built under a
//! staging name and swapped in at the very end, so the old ones stay readable (and the
//! exclusive locks of the swap last milliseconds); appended parts go into their table.
//! The same staged file (bronze, linked as silver's and gold's new part) is sent once and
//! copied on the server after that. Each change carries its table's key and comment
//! ([`TableSpec`]): a table created here gets them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use postgres::Transaction as PgTransaction;

use super::copy::{self, pg_type};
use super::{PgError, Session, copy_err, ident, qualified, query_err, split};
use crate::warehouse::commit::crash_point;
use crate::warehouse::transaction::{Change, Kind};
use crate::warehouse::{PgUrl, Result, State, TableKey, TableSpec, parquet};

/// Rows per COPY statement: bounds the memory a staged file takes while it is sent.
const SEND_BLOCK: usize = 1 << 20;

/// Suffix of a table (and its key) while it is built, before the swap.
const STAGING_SUFFIX: &str = "__heymax_new";

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `CREATE TABLE` columns for a frame's schema.
fn column_ddl(url: &PgUrl, table: &str, schema: &Schema) -> Result<Vec<(String, &'static str)>> {
    schema
        .iter()
        .map(|(name, dtype)| {
            pg_type(dtype)
                .map(|(_, sql, _)| (name.to_string(), sql))
                .ok_or_else(|| {
                    PgError::Data {
                        url: url.to_string(),
                        what: format!("writing {table}"),
                        reason: format!(
                            "column {name} has type {dtype}, which has no PostgreSQL type here"
                        ),
                    }
                    .into()
                })
        })
        .collect()
}

struct Writer<'a, 't> {
    tx: &'a mut PgTransaction<'t>,
    url: &'a PgUrl,
    /// `SHOW server_version_num`: `UNIQUE NULLS NOT DISTINCT` needs 15.
    version: i32,
}

impl Writer<'_, '_> {
    fn exec(&mut self, sql: &str, what: &str) -> Result<()> {
        self.tx
            .batch_execute(sql)
            .map_err(query_err(self.url, what))
    }

    fn exists(&mut self, schema: &str, name: &str) -> Result<bool> {
        self.tx
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&qualified(schema, name)],
            )
            .and_then(|r| r.try_get(0))
            .map_err(query_err(self.url, "looking up a table"))
    }

    fn create(&mut self, schema: &str, name: &str, columns: &[(String, &str)]) -> Result<()> {
        let list: Vec<String> = columns
            .iter()
            .map(|(c, ty)| format!("{} {ty}", ident(c)))
            .collect();
        let target = qualified(schema, name);
        self.exec(
            &format!(
                "DROP TABLE IF EXISTS {target}; CREATE TABLE {target} ({})",
                list.join(", ")
            ),
            &format!("creating {schema}.{name}"),
        )
    }

    /// Existing table's columns must be the ones written (an append to a table an older
    /// heymax, or someone else, made differently would otherwise fail half-way).
    fn check_columns(&mut self, table: &str, columns: &[(String, &str)]) -> Result<()> {
        let (schema, name) = split(table);
        let rows = self
            .tx
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
                   FROM pg_attribute a
                  WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY a.attnum",
                &[&qualified(schema, name)],
            )
            .map_err(query_err(self.url, "reading a table's columns"))?;
        let found = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<(String, String)>, postgres::Error>>()
            .map_err(query_err(self.url, "reading a table's columns"))?;
        let wanted: Vec<(String, String)> = columns
            .iter()
            .map(|(c, t)| {
                let t = if *t == "timestamp" {
                    "timestamp without time zone"
                } else {
                    t
                };
                (c.clone(), t.to_string())
            })
            .collect();
        if found != wanted {
            let show = |cols: &[(String, String)]| {
                cols.iter()
                    .map(|(c, t)| format!("{c} {t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(PgError::Data {
                url: self.url.to_string(),
                what: format!("appending to {table}"),
                reason: format!(
                    "the table has columns ({}) but heymax writes ({}); drop the table or load into a new database",
                    show(&found),
                    show(&wanted)
                ),
            }
            .into());
        }
        Ok(())
    }

    /// Sends a staged file's rows, a block at a time.
    fn send(&mut self, staged: &Path, table: &str, target: &str, fresh: bool) -> Result<u64> {
        let what = format!("loading {table}");
        let total = parquet::num_rows(staged)?;
        // FREEZE: rows of a table created in this transaction need no later visibility pass.
        let freeze = if fresh { ", FREEZE" } else { "" };
        let mut sent = 0;
        let mut offset = 0;
        while offset < total {
            let df = parquet::read_slice(staged, offset, SEND_BLOCK)?;
            let names: Vec<String> = df.get_column_names().iter().map(|n| ident(n)).collect();
            let sql = format!(
                "COPY {target} ({}) FROM STDIN (FORMAT binary{freeze})",
                names.join(", ")
            );
            let writer = self.tx.copy_in(&sql).map_err(query_err(self.url, &what))?;
            sent += copy::send(writer, &df).map_err(|e| copy_err(self.url, &what, e))?;
            offset += SEND_BLOCK;
            crash_point("mid-copy");
        }
        Ok(sent)
    }

    fn key(&mut self, table: &TableSpec, schema: &str, name: &str) -> Result<()> {
        let Some(TableKey { columns, not_null }) = &table.key else {
            return Ok(());
        };
        let list: Vec<String> = columns.iter().map(|c| ident(c)).collect();
        let (suffix, kind) = if *not_null {
            ("pkey", "PRIMARY KEY".to_string())
        } else if self.version >= 150_000 {
            ("key", "UNIQUE NULLS NOT DISTINCT".to_string())
        } else {
            ("key", "UNIQUE".to_string())
        };
        self.exec(
            &format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {kind} ({})",
                qualified(schema, name),
                ident(&format!("{name}_{suffix}")),
                list.join(", ")
            ),
            &format!("adding the key of {}", table.name),
        )
    }

    fn key_name(table: &TableSpec, name: &str) -> Option<String> {
        let not_null = table.key.as_ref()?.not_null;
        Some(format!("{name}_{}", if not_null { "pkey" } else { "key" }))
    }
}

pub(crate) fn commit(
    session: &mut Session,
    changes: &[Change],
    links: &HashMap<PathBuf, PathBuf>,
    state: &State,
) -> Result<()> {
    let url = session.url.clone();
    let version: i32 = session
        .client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .and_then(|r| r.try_get(0))
        .map_err(query_err(&url, "reading the server version"))?;
    let mut tx = session
        .client
        .transaction()
        .map_err(query_err(&url, "starting a transaction"))?;
    let mut w = Writer {
        tx: &mut tx,
        url: &url,
        version,
    };
    // Staged file -> the table (name in this transaction) its rows went into.
    let mut loaded: HashMap<PathBuf, String> = HashMap::new();
    let mut schemas: HashSet<String> = HashSet::new();
    let mut swaps: Vec<&Change> = Vec::new();
    for change in changes {
        let start = Instant::now();
        let table = change.table.name.as_str();
        let (schema, name) = split(table);
        if schemas.insert(schema.to_string()) {
            w.exec(
                &format!("CREATE SCHEMA IF NOT EXISTS {}", ident(schema)),
                &format!("creating schema {schema}"),
            )?;
        }
        let columns = column_ddl(
            &url,
            table,
            parquet::read_slice(&change.staged, 0, 0)?.schema(),
        )?;
        let (target_name, fresh) = match &change.kind {
            Kind::Replace => {
                let staging = format!("{name}{STAGING_SUFFIX}");
                w.create(schema, &staging, &columns)?;
                swaps.push(change);
                (staging, true)
            }
            Kind::Append { .. } => {
                if w.exists(schema, name)? {
                    w.check_columns(table, &columns)?;
                    (name.to_string(), false)
                } else {
                    w.create(schema, name, &columns)?;
                    (name.to_string(), true)
                }
            }
        };
        let target = qualified(schema, &target_name);
        let original = links.get(&change.staged).unwrap_or(&change.staged);
        let rows = match loaded.get(original) {
            Some(source) => {
                let list: Vec<String> = columns.iter().map(|(c, _)| ident(c)).collect();
                let list = list.join(", ");
                w.tx.execute(
                    &format!("INSERT INTO {target} ({list}) SELECT {list} FROM {source}"),
                    &[],
                )
                .map_err(query_err(&url, &format!("loading {table}")))?
            }
            None => w.send(&change.staged, table, &target, fresh)?,
        };
        loaded.entry(original.clone()).or_insert(target.clone());
        if fresh {
            w.key(&change.table, schema, &target_name)?;
            w.exec(
                &format!(
                    "COMMENT ON TABLE {target} IS {}",
                    literal(&change.table.comment)
                ),
                &format!("commenting {table}"),
            )?;
        }
        tracing::info!(
            table,
            rows,
            secs = start.elapsed().as_secs_f64(),
            "loaded into PostgreSQL"
        );
    }
    crash_point("mid-commit");
    // The swap: from here to COMMIT only takes catalog locks, briefly.
    for change in swaps {
        let (schema, name) = split(&change.table.name);
        let staging = format!("{name}{STAGING_SUFFIX}");
        let mut sql = format!(
            "DROP TABLE IF EXISTS {}; ALTER TABLE {} RENAME TO {};",
            qualified(schema, name),
            qualified(schema, &staging),
            ident(name)
        );
        if let (Some(from), Some(to)) = (
            Writer::key_name(&change.table, &staging),
            Writer::key_name(&change.table, name),
        ) {
            sql.push_str(&format!(
                "ALTER TABLE {} RENAME CONSTRAINT {} TO {};",
                qualified(schema, name),
                ident(&from),
                ident(&to)
            ));
        }
        w.exec(&sql, &format!("swapping in the new {}", change.table.name))?;
    }
    save_state(&mut w, state)?;
    tx.commit().map_err(query_err(&url, "committing"))
}

fn save_state(w: &mut Writer<'_, '_>, state: &State) -> Result<()> {
    let text = serde_json::to_string(state).map_err(|e| PgError::Data {
        url: w.url.to_string(),
        what: "writing heymax.state".into(),
        reason: e.to_string(),
    })?;
    w.tx.execute(
        "INSERT INTO heymax.state (id, version, committed_at, state)
             VALUES (1, 1, now(), $1::text::jsonb)
             ON CONFLICT (id) DO UPDATE
                SET version = heymax.state.version + 1,
                    committed_at = now(),
                    state = EXCLUDED.state",
        &[&text],
    )
    .map_err(query_err(w.url, "writing heymax.state"))?;
    for b in &state.batches {
        let loaded_at = chrono::DateTime::from_timestamp_micros(b.loaded_at)
            .unwrap_or_default()
            .naive_utc();
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        w.tx.execute(
            "INSERT INTO heymax.batches
                    (batch_id, loaded_at, status, rows, quarantined, new_in_gold, sources)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (batch_id) DO UPDATE
                    SET loaded_at = EXCLUDED.loaded_at, status = EXCLUDED.status,
                        rows = EXCLUDED.rows, quarantined = EXCLUDED.quarantined,
                        new_in_gold = EXCLUDED.new_in_gold, sources = EXCLUDED.sources",
            &[
                &b.batch_id,
                &loaded_at,
                &b.status,
                &as_i64(b.rows),
                &as_i64(b.quarantined),
                &as_i64(b.new_in_gold),
                &b.sources,
            ],
        )
        .map_err(query_err(w.url, "writing heymax.batches"))?;
    }
    Ok(())
}
