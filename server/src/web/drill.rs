//! Drill-down data: the users behind one number of the dashboard, one small JSON file per
//! selection, so a click fetches only what it shows (never every user up front).
//!
//! - `data/drill/<grain>/<period>/<status>.json`: the users with that growth status in
//!   that period (all countries; the browser keeps the countries selected), from the
//!   `user_lifecycle_<grain>` table, with first and last seen from `gold.dim_users`.
//! - `data/drill/cohort/<grain>/<period>.json`: the users whose first active day falls in
//!   that cohort period, and whether each was active on day 0, 1, 7, 30, 60 and 90 after
//!   it (null when that day is past the data). Active days come from `user_lifecycle_day`:
//!   a row that is not `churned` is a day with events.
//!
//! - `data/drill/interactions/<scope>.json`: each flow (event type -> category) of every
//!   country, of the users without one, or of one country, with its totals and its most
//!   active users, from `gold.fact_events`. `<scope>` is made by
//!   [`app::marts::CountryScope::file_stem`], never from the name itself: a country is data,
//!   and `../../x`, `a/b#c` or `all` must name neither a path nor another scope's file.
//!
//! `heymax serve` builds a file when asked; `heymax export` writes them all. Tables are
//! read once per warehouse version (`_heymax/state.json` changes on every run).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use serde_json::{Value, json};

use app::marts::CountryScope;

use super::{WebError, off_runtime};
use crate::pipeline::marts::lifecycle_table;
use crate::pipeline::marts::retention::DAYS;
use crate::warehouse::{Location, Stamp, Warehouse};
use contract::Grain;
use contract::Status;
use contract::calendar::date;

/// Days after the cohort day that the retention mart reports.

/// One user's lifecycle row, with the user as an index into [`Users`].
#[derive(Clone, Copy)]
struct Row {
    user: u32,
    events: u32,
}

/// Every user of the warehouse: id, country, first and last seen (as text).
#[derive(Default)]
struct Users {
    id: Vec<Arc<str>>,
    country: Vec<Option<Arc<str>>>,
    first_seen: Vec<String>,
    last_seen: Vec<String>,
    index: HashMap<Arc<str>, u32>,
}

/// A grain's lifecycle rows grouped by (period day number, status).
type Groups = BTreeMap<(i32, u8), Vec<Row>>;

/// Whose flows: every country's, or one country's (`None`: the users without a country).
/// An enum, not a name: a country called `all` or `unknown` is just a country.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    All,
    Country(Option<Arc<str>>),
}

impl Scope {
    fn as_app(&self) -> CountryScope<'_> {
        match self {
            Scope::All => CountryScope::All,
            Scope::Country(None) => CountryScope::NoCountry,
            Scope::Country(Some(c)) => CountryScope::Country(c),
        }
    }
}

/// Per (scope, event type, category): each user's interactions and miles.
type Flows = BTreeMap<(Scope, String, Option<String>), HashMap<u32, (u64, f64)>>;

/// How many characters of a request's text an error message repeats.
const ECHO_CHARS: usize = 40;

/// How many users an interactions drill file lists per flow (the most active first).
const TOP_USERS: usize = 20;

#[derive(Default)]
struct Loaded {
    /// Interactions per scope, as JSON, by the scope's file stem.
    interactions: Option<Arc<BTreeMap<String, String>>>,
    stamp: Option<Stamp>,
    users: Option<Arc<Users>>,
    groups: HashMap<&'static str, Arc<Groups>>,
    /// Active days per user (ascending), from the day grain.
    active: Option<Arc<Vec<Vec<i32>>>>,
    last_day: i32,
}

/// The warehouse, opened on first use: a request answered from memory opens nothing (for
/// PostgreSQL, that is a connection saved).
struct Lazy<'a> {
    location: &'a Location,
    wh: Option<Warehouse>,
}

impl Lazy<'_> {
    fn get(&mut self) -> Result<&mut Warehouse, WebError> {
        if self.wh.is_none() {
            self.wh = Some(DrillStore::open(self.location)?);
        }
        self.wh
            .as_mut()
            .ok_or_else(|| WebError::Internal("warehouse not open".into()))
    }
}

pub struct DrillStore {
    warehouse: Location,
    loaded: Mutex<Loaded>,
}

fn internal(what: &str) -> impl FnOnce(PolarsError) -> WebError + '_ {
    move |e| WebError::Internal(format!("{what}: {e}"))
}

impl DrillStore {
    pub fn new(warehouse: &Location) -> Self {
        Self {
            warehouse: warehouse.clone(),
            loaded: Mutex::new(Loaded::default()),
        }
    }

    fn open(warehouse: &Location) -> Result<Warehouse, WebError> {
        Warehouse::open(warehouse).map_err(|e| {
            WebError::NotFound(format!(
                "no drill-down data in {warehouse} ({e}): run `heymax run --input <events.csv>` to build it"
            ))
        })
    }

    /// The loaded tables for the current warehouse version (reloaded after a run).
    fn with_loaded<T: Send>(
        &self,
        f: impl FnOnce(&mut Loaded, &mut Lazy<'_>) -> Result<T, WebError> + Send,
    ) -> Result<T, WebError> {
        off_runtime(|| self.with_loaded_blocking(f))
    }

    fn with_loaded_blocking<T>(
        &self,
        f: impl FnOnce(&mut Loaded, &mut Lazy<'_>) -> Result<T, WebError>,
    ) -> Result<T, WebError> {
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| WebError::Internal("drill cache poisoned".into()))?;
        let stamp = Warehouse::stamp(&self.warehouse);
        if stamp.is_none() || loaded.stamp != stamp {
            *loaded = Loaded {
                stamp,
                ..Loaded::default()
            };
        }
        let mut lazy = Lazy {
            location: &self.warehouse,
            wh: None,
        };
        f(&mut loaded, &mut lazy)
    }

    fn users(loaded: &mut Loaded, wh: &mut Lazy<'_>) -> Result<Arc<Users>, WebError> {
        if let Some(users) = &loaded.users {
            return Ok(users.clone());
        }
        let dim = wh
            .get()?
            .read_table("gold.dim_users", None)
            .map_err(|e| WebError::Internal(format!("reading gold.dim_users: {e}")))?;
        // `max`: times print as `YYYY-MM-DD HH:MM:SS.ffffff`; the panels show seconds. Ids and
        // countries are kept whole (a UUID or an e-mail is longer than a timestamp).
        let text = |name: &str, max: usize| -> Result<Vec<Option<String>>, WebError> {
            let c = dim
                .column(name)
                .and_then(|c| c.cast(&DataType::String))
                .map_err(internal(name))?;
            Ok(c.str()
                .map_err(internal(name))?
                .iter()
                .map(|v| v.map(|s| s.chars().take(max).collect()))
                .collect())
        };
        const WHOLE: usize = usize::MAX;
        const SECONDS: usize = "YYYY-MM-DD HH:MM:SS".len();
        let ids = text("user_id", WHOLE)?;
        let mut users = Users::default();
        for (i, ((id, country), (first, last))) in ids
            .into_iter()
            .zip(text("country", WHOLE)?)
            .zip(
                text("first_seen_at", SECONDS)?
                    .into_iter()
                    .zip(text("last_seen_at", SECONDS)?),
            )
            .enumerate()
        {
            let id: Arc<str> = id.unwrap_or_default().into();
            users.index.insert(id.clone(), i as u32);
            users.id.push(id);
            users.country.push(country.map(Arc::from));
            users.first_seen.push(first.unwrap_or_default());
            users.last_seen.push(last.unwrap_or_default());
        }
        let users = Arc::new(users);
        loaded.users = Some(users.clone());
        Ok(users)
    }

    fn groups(
        loaded: &mut Loaded,
        wh: &mut Lazy<'_>,
        grain: Grain,
    ) -> Result<Arc<Groups>, WebError> {
        let table = lifecycle_table(grain);
        if let Some(groups) = loaded.groups.get(table) {
            return Ok(groups.clone());
        }
        let users = Self::users(loaded, wh)?;
        let name = format!("marts.{table}");
        if !wh.get()?.has_table(&name) {
            return Err(WebError::NotFound(format!(
                "the warehouse has no {name} yet: run `heymax run` again to build it"
            )));
        }
        let df = wh
            .get()?
            .read_table(&name, Some(&["period", "user_id", "status", "events"]))
            .map_err(|e| WebError::Internal(format!("reading {name}: {e}")))?;
        let period = df
            .column("period")
            .and_then(|c| c.cast(&DataType::Int32))
            .map_err(internal("period"))?;
        let period = period.i32().map_err(internal("period"))?;
        let user = df.column("user_id").map_err(internal("user_id"))?;
        let user = user.str().map_err(internal("user_id"))?;
        let status = df.column("status").map_err(internal("status"))?;
        let status = status.str().map_err(internal("status"))?;
        let events = df
            .column("events")
            .and_then(|c| c.cast(&DataType::UInt32))
            .map_err(internal("events"))?;
        let events = events.u32().map_err(internal("events"))?;
        let mut groups = Groups::new();
        for i in 0..df.height() {
            let (Some(p), Some(u), Some(s)) = (period.get(i), user.get(i), status.get(i)) else {
                continue;
            };
            let (Some(&user), Some(s)) = (users.index.get(u), Status::parse(s).map(Status::index))
            else {
                continue;
            };
            groups.entry((p, s as u8)).or_default().push(Row {
                user,
                events: events.get(i).unwrap_or(0),
            });
        }
        let groups = Arc::new(groups);
        loaded.groups.insert(table, groups.clone());
        if grain == Grain::Day {
            let mut active = vec![Vec::new(); users.id.len()];
            for (&(day, s), rows) in groups.iter() {
                if s as usize != Status::Churned.index() {
                    for r in rows {
                        active[r.user as usize].push(day);
                    }
                }
            }
            loaded.last_day = groups.keys().map(|k| k.0).max().unwrap_or(0);
            loaded.active = Some(Arc::new(active));
        }
        Ok(groups)
    }

    /// Every flow's users from `gold.fact_events`, per country (the user's, as in the
    /// mart) and for all countries together, rendered as one JSON per scope, by file stem.
    fn interactions_json(
        loaded: &mut Loaded,
        wh: &mut Lazy<'_>,
    ) -> Result<Arc<BTreeMap<String, String>>, WebError> {
        if let Some(done) = &loaded.interactions {
            return Ok(done.clone());
        }
        let users = Self::users(loaded, wh)?;
        let columns = [
            "user_id",
            "event_type",
            "transaction_category",
            "miles_amount",
        ];
        let df = wh
            .get()?
            .read_table("gold.fact_events", Some(&columns))
            .map_err(|e| WebError::Internal(format!("reading gold.fact_events: {e}")))?;
        let text = |name: &str| -> Result<StringChunked, WebError> {
            Ok(df
                .column(name)
                .and_then(|c| c.cast(&DataType::String))
                .map_err(internal(name))?
                .str()
                .map_err(internal(name))?
                .clone())
        };
        let (user, event, category) = (
            text("user_id")?,
            text("event_type")?,
            text("transaction_category")?,
        );
        let miles = df
            .column("miles_amount")
            .and_then(|c| c.cast(&DataType::Float64))
            .map_err(internal("miles_amount"))?;
        let miles = miles.f64().map_err(internal("miles_amount"))?;
        let mut flows = Flows::new();
        for i in 0..df.height() {
            let (Some(u), Some(e)) = (user.get(i), event.get(i)) else {
                continue;
            };
            let Some(&code) = users.index.get(u) else {
                continue;
            };
            let country = Scope::Country(users.country[code as usize].clone());
            let m = miles.get(i).unwrap_or(0.0);
            let cat = category.get(i).map(str::to_string);
            for scope in [country, Scope::All] {
                let entry = flows
                    .entry((scope, e.to_string(), cat.clone()))
                    .or_default()
                    .entry(code)
                    .or_default();
                entry.0 += 1;
                entry.1 += m;
            }
        }
        let mut by_scope: BTreeMap<&Scope, Vec<Value>> = BTreeMap::new();
        for ((scope, event, category), per_user) in &flows {
            let interactions: u64 = per_user.values().map(|v| v.0).sum();
            let miles: f64 = per_user.values().map(|v| v.1).sum();
            let mut top: Vec<(&u32, &(u64, f64))> = per_user.iter().collect();
            top.sort_by(|a, b| {
                b.1.0
                    .cmp(&a.1.0)
                    .then(b.1.1.total_cmp(&a.1.1))
                    .then_with(|| users.id[*a.0 as usize].cmp(&users.id[*b.0 as usize]))
            });
            let top: Vec<Value> = top
                .into_iter()
                .take(TOP_USERS)
                .map(|(u, (n, m))| json!([&*users.id[*u as usize], n, m]))
                .collect();
            by_scope.entry(scope).or_default().push(json!({
                "event_type": event,
                "transaction_category": category,
                "interactions": interactions,
                "users": per_user.len(),
                "miles": miles,
                "top": top,
            }));
        }
        let mut json: BTreeMap<String, (&Scope, String)> = BTreeMap::new();
        for (scope, links) in by_scope {
            let (kind, country) = match scope {
                Scope::All => ("all", None),
                Scope::Country(None) => ("none", None),
                Scope::Country(Some(c)) => ("country", Some(&**c)),
            };
            let body = json!({
                "scope": kind,
                "country": country,
                "top_columns": ["user_id", "interactions", "miles"],
                "links": links,
            });
            let stem = scope.as_app().file_stem();
            if let Some((other, _)) = json.get(&stem) {
                // Only two long names with the same first characters and hash get here.
                let name = |s: &Scope| match s {
                    Scope::Country(Some(c)) => echo(c),
                    other => format!("{other:?}"),
                };
                return Err(WebError::Internal(format!(
                    "the countries {} and {} share the drill file name {stem}: rename one in the input",
                    name(other),
                    name(scope),
                )));
            }
            json.insert(stem, (scope, body.to_string()));
        }
        let json: Arc<BTreeMap<String, String>> =
            Arc::new(json.into_iter().map(|(k, (_, v))| (k, v)).collect());
        loaded.interactions = Some(json.clone());
        Ok(json)
    }

    /// The file stems (see [`CountryScope::file_stem`]) of the scopes with interaction flows.
    pub fn interaction_keys(&self) -> Result<Vec<String>, WebError> {
        self.with_loaded(|loaded, wh| {
            Ok(Self::interactions_json(loaded, wh)?
                .keys()
                .cloned()
                .collect())
        })
    }

    /// The flows of the scope whose file stem is `stem`, with their most active users, as
    /// JSON.
    pub fn interactions(&self, stem: &str) -> Result<String, WebError> {
        self.with_loaded(|loaded, wh| {
            Self::interactions_json(loaded, wh)?
                .get(stem)
                .cloned()
                .ok_or_else(|| {
                    WebError::NotFound(format!("no interactions drill file {}.json", echo(stem)))
                })
        })
    }

    /// Periods (as `YYYY-MM-DD`) of a grain that have lifecycle rows.
    pub fn periods(&self, grain: Grain) -> Result<Vec<String>, WebError> {
        self.with_loaded(|loaded, wh| {
            let groups = Self::groups(loaded, wh, grain)?;
            let mut days: Vec<i32> = groups.keys().map(|k| k.0).collect();
            days.dedup();
            Ok(days
                .into_iter()
                .map(|d| date(d.into()).to_string())
                .collect())
        })
    }

    /// The users with `status` in `period` of `grain`, as JSON.
    pub fn growth(&self, grain: Grain, period: &str, status: &str) -> Result<String, WebError> {
        let day = parse_day(period)?;
        let s = Status::parse(status)
            .map(Status::index)
            .ok_or_else(|| WebError::NotFound(format!("no such status: {}", echo(status))))?;
        self.with_loaded(|loaded, wh| {
            let groups = Self::groups(loaded, wh, grain)?;
            let users = Self::users(loaded, wh)?;
            let mut rows: Vec<Row> = groups.get(&(day, s as u8)).cloned().unwrap_or_default();
            rows.sort_by(|a, b| users.id[a.user as usize].cmp(&users.id[b.user as usize]));
            // Typed rows serialize far faster than a `Value` tree (100,000 users per file).
            #[derive(serde::Serialize)]
            struct File<'a> {
                grain: &'a str,
                period: &'a str,
                status: &'a str,
                columns: [&'a str; 5],
                rows: Vec<(&'a str, Option<&'a str>, &'a str, &'a str, u32)>,
            }
            let file = File {
                grain: grain.name(),
                period,
                status,
                columns: ["user_id", "country", "first_seen", "last_seen", "events"],
                rows: rows
                    .iter()
                    .map(|r| {
                        let u = r.user as usize;
                        (
                            &*users.id[u],
                            users.country[u].as_deref(),
                            users.first_seen[u].as_str(),
                            users.last_seen[u].as_str(),
                            r.events,
                        )
                    })
                    .collect(),
            };
            serde_json::to_string(&file).map_err(|e| WebError::Internal(e.to_string()))
        })
    }

    /// The users of the cohorts whose first day falls in `period` of `grain`, as JSON.
    pub fn cohort(&self, grain: Grain, period: &str) -> Result<String, WebError> {
        let day = parse_day(period)?;
        self.with_loaded(|loaded, wh| {
                        let users = Self::users(loaded, wh)?;
            let days = Self::groups(loaded, wh, Grain::Day)?;
            let active = loaded.active.clone().unwrap_or_default();
            let last_day = loaded.last_day;
            let bucket = grain.ordinal(day.into());
            let new = Status::New.index() as u8;
            let mut rows: Vec<(u32, i32)> = days
                .iter()
                .filter(|&(&(d, s), _)| s == new && grain.ordinal(d.into()) == bucket)
                .flat_map(|(&(d, _), rows)| rows.iter().map(move |r| (r.user, d)))
                .collect();
            rows.sort_by(|a, b| users.id[a.0 as usize].cmp(&users.id[b.0 as usize]));
            let rows: Vec<Value> = rows
                .iter()
                .map(|&(user, cohort)| {
                    let u = user as usize;
                    let seen = DAYS.map(|n| {
                        let n = n as i32;
                        (cohort + n <= last_day)
                            .then(|| active[u].binary_search(&(cohort + n)).is_ok())
                    });
                    let mut row = vec![
                        json!(&*users.id[u]),
                        json!(users.country[u].as_deref()),
                        json!(date(cohort.into()).to_string()),
                    ];
                    row.extend(seen.iter().map(|s| json!(s)));
                    Value::Array(row)
                })
                .collect();
            Ok(json!({
                "grain": grain.name(),
                "period": period,
                "columns": ["user_id", "country", "cohort_date", "d0", "d1", "d7", "d30", "d60", "d90"],
                "rows": rows,
            })
            .to_string())
        })
    }
}

fn parse_day(period: &str) -> Result<i32, WebError> {
    chrono::NaiveDate::parse_from_str(period, "%Y-%m-%d")
        .map(|d| contract::calendar::day_number(d) as i32)
        .map_err(|_| WebError::NotFound(format!("not a period: {} (YYYY-MM-DD)", echo(period))))
}

pub fn parse_grain(name: &str) -> Result<Grain, WebError> {
    Grain::ALL
        .into_iter()
        .find(|g| g.name() == name)
        .ok_or_else(|| {
            WebError::NotFound(format!(
                "no such grain: {} (day, week or month)",
                echo(name)
            ))
        })
}

/// A request's text as an error repeats it: a short prefix, quoted and escaped (`Debug`
/// escapes quotes and control characters).
fn echo(text: &str) -> String {
    let prefix: String = text.chars().take(ECHO_CHARS).collect();
    let cut = if prefix.len() < text.len() { "…" } else { "" };
    format!("{prefix:?}{cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_repeat_only_a_short_escaped_prefix_of_the_request() {
        let long = format!("../x\n{}", "y".repeat(1000));
        for e in [
            parse_grain(&long).unwrap_err(),
            parse_day(&long).unwrap_err(),
        ] {
            let text = e.to_string();
            assert!(text.len() < 120 && text.contains(r#""../x\nyyy"#), "{text}");
        }
    }
}
