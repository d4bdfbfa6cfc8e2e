//! The drill-down read side: the users behind one number of the dashboard, as the typed
//! files of [`contract::drill`], one small file per selection so a click fetches only what
//! it shows (never every user up front). The web layer answers them at the paths of
//! [`contract::paths`] and the static site writes them there; both only serialize.
//!
//! - growth ([`growth`]): the users with one growth status in one period, from the
//!   `user_lifecycle_<grain>` table, with first and last seen from `gold.dim_users`;
//! - cohort ([`cohort`]): the users whose first active day falls in a cohort period, and
//!   whether each was active on each retention day after it, from `user_lifecycle_day`;
//! - interactions ([`flows`]): each flow's totals and most active users per scope, from
//!   `gold.fact_events`.
//!
//! [`tables`] turns the warehouse's tables into indexed users and groups; [`DrillStore`]
//! keeps them per warehouse version (`Warehouse::stamp` changes on every run) and opens the
//! warehouse only when a table is not loaded yet. Everything here blocks: call it off the
//! async runtime (the PostgreSQL client runs a runtime of its own).

mod cohort;
mod error;
mod flows;
mod growth;
mod tables;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use contract::calendar::{date, day_number};
use contract::drill::{CohortFile, FlowsFile, GrowthFile};
use contract::{Grain, Status};

pub use error::{DrillError, echo};

use crate::pipeline::marts::lifecycle_table;
use crate::warehouse::{Location, Stamp, Warehouse};
use tables::{Activity, Groups, Users};

/// A period of a grain as a request names it: its first day (`YYYY-MM-DD`), kept as
/// written because the file repeats it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// Days since 1970-01-01.
    day: i32,
    text: String,
}

impl Period {
    pub fn parse(text: &str) -> Result<Period, DrillError> {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|d| Period {
                day: day_number(d) as i32,
                text: text.to_string(),
            })
            .map_err(|_| DrillError::NotAPeriod(echo(text)))
    }

    fn of_day(day: i32) -> Period {
        Period {
            day,
            text: date(day.into()).to_string(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A growth status as a request names it.
pub fn parse_status(name: &str) -> Result<Status, DrillError> {
    Status::parse(name).ok_or_else(|| DrillError::NoStatus(echo(name)))
}

/// What is loaded of one warehouse version; each part on first use.
#[derive(Default)]
struct Loaded {
    stamp: Option<Stamp>,
    users: Option<Arc<Users>>,
    groups: HashMap<Grain, Arc<Groups>>,
    /// From the day grain, loaded with its groups.
    activity: Option<Arc<Activity>>,
    /// Every scope's interactions, by file stem.
    flows: Option<Arc<BTreeMap<String, Arc<FlowsFile>>>>,
}

/// The warehouse, opened on first use: a request answered from memory opens nothing (for
/// PostgreSQL, that is a connection saved).
struct Lazy<'a> {
    location: &'a Location,
    wh: Option<Warehouse>,
}

impl Lazy<'_> {
    fn get(&mut self) -> Result<&mut Warehouse, DrillError> {
        match self.wh {
            Some(ref mut wh) => Ok(wh),
            None => {
                let wh = Warehouse::open(self.location).map_err(|e| DrillError::NoWarehouse {
                    warehouse: self.location.to_string(),
                    detail: e.to_string(),
                })?;
                Ok(self.wh.insert(wh))
            }
        }
    }

    fn read(
        &mut self,
        table: &str,
        columns: Option<&[&str]>,
    ) -> Result<polars::prelude::DataFrame, DrillError> {
        self.get()?
            .read_table(table, columns)
            .map_err(|e| DrillError::Read {
                table: table.to_string(),
                detail: e.to_string(),
            })
    }
}

/// The drill-down files of one warehouse, built on request from tables it keeps in memory
/// until the warehouse changes.
pub struct DrillStore {
    warehouse: Location,
    loaded: Mutex<Loaded>,
}

impl DrillStore {
    pub fn new(warehouse: &Location) -> Self {
        Self {
            warehouse: warehouse.clone(),
            loaded: Mutex::new(Loaded::default()),
        }
    }

    /// Periods of a grain that have lifecycle rows, oldest first.
    pub fn periods(&self, grain: Grain) -> Result<Vec<Period>, DrillError> {
        self.with_loaded(|loaded, wh| {
            let groups = Self::groups(loaded, wh, grain)?;
            let mut days: Vec<i32> = groups.keys().map(|k| k.0).collect();
            days.dedup();
            Ok(days.into_iter().map(Period::of_day).collect())
        })
    }

    /// The users with `status` in `period` of `grain`.
    pub fn growth(
        &self,
        grain: Grain,
        period: &Period,
        status: Status,
    ) -> Result<GrowthFile<Arc<str>>, DrillError> {
        self.with_loaded(|loaded, wh| {
            let groups = Self::groups(loaded, wh, grain)?;
            let users = Self::users(loaded, wh)?;
            Ok(growth::file(&groups, &users, grain, period, status))
        })
    }

    /// The users of the cohorts whose first day falls in `period` of `grain`.
    pub fn cohort(
        &self,
        grain: Grain,
        period: &Period,
    ) -> Result<CohortFile<Arc<str>>, DrillError> {
        self.with_loaded(|loaded, wh| {
            let users = Self::users(loaded, wh)?;
            let days = Self::groups(loaded, wh, Grain::Day)?;
            let activity = loaded.activity.clone().unwrap_or_default();
            Ok(cohort::file(&days, &activity, &users, grain, period))
        })
    }

    /// The file stems (see [`contract::paths::CountryScope::file_stem`]) of the scopes with
    /// interaction flows.
    pub fn interaction_stems(&self) -> Result<Vec<String>, DrillError> {
        self.with_loaded(|loaded, wh| Ok(Self::flows(loaded, wh)?.keys().cloned().collect()))
    }

    /// The flows of the scope whose file stem is `stem`, with their most active users.
    pub fn interactions(&self, stem: &str) -> Result<Arc<FlowsFile>, DrillError> {
        self.with_loaded(|loaded, wh| {
            Self::flows(loaded, wh)?
                .get(stem)
                .cloned()
                .ok_or_else(|| DrillError::NoScope(echo(stem)))
        })
    }

    /// The loaded tables for the current warehouse version (reloaded after a run).
    fn with_loaded<T>(
        &self,
        f: impl FnOnce(&mut Loaded, &mut Lazy<'_>) -> Result<T, DrillError>,
    ) -> Result<T, DrillError> {
        let mut loaded = self.loaded.lock().map_err(|_| DrillError::Poisoned)?;
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

    fn users(loaded: &mut Loaded, wh: &mut Lazy<'_>) -> Result<Arc<Users>, DrillError> {
        if let Some(users) = &loaded.users {
            return Ok(users.clone());
        }
        let users = Arc::new(tables::users(&wh.read("gold.dim_users", None)?)?);
        loaded.users = Some(users.clone());
        Ok(users)
    }

    fn groups(
        loaded: &mut Loaded,
        wh: &mut Lazy<'_>,
        grain: Grain,
    ) -> Result<Arc<Groups>, DrillError> {
        if let Some(groups) = loaded.groups.get(&grain) {
            return Ok(groups.clone());
        }
        let users = Self::users(loaded, wh)?;
        let table = format!("marts.{}", lifecycle_table(grain));
        if !wh.get()?.has_table(&table) {
            return Err(DrillError::NoTable { table });
        }
        let df = wh.read(&table, Some(&tables::LIFECYCLE_COLUMNS))?;
        let groups = Arc::new(tables::groups(&df, &users)?);
        loaded.groups.insert(grain, groups.clone());
        if grain == Grain::Day {
            loaded.activity = Some(Arc::new(tables::activity(&groups, users.len())));
        }
        Ok(groups)
    }

    fn flows(
        loaded: &mut Loaded,
        wh: &mut Lazy<'_>,
    ) -> Result<Arc<BTreeMap<String, Arc<FlowsFile>>>, DrillError> {
        if let Some(done) = &loaded.flows {
            return Ok(done.clone());
        }
        let users = Self::users(loaded, wh)?;
        let events = wh.read("gold.fact_events", Some(&flows::EVENT_COLUMNS))?;
        let files = Arc::new(flows::files(&events, &users)?);
        loaded.flows = Some(files.clone());
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_statuses_parse_what_a_url_holds_and_echo_the_rest() {
        let p = Period::parse("2025-04-14").unwrap();
        assert_eq!((p.as_str(), p.day), ("2025-04-14", 20192));
        assert_eq!(Period::of_day(20192), p);
        assert_eq!(parse_status("churned").unwrap(), Status::Churned);
        let long = format!("../x\n{}", "y".repeat(1000));
        for e in [
            Period::parse(&long).unwrap_err(),
            parse_status(&long).unwrap_err(),
        ] {
            let text = e.to_string();
            assert!(e.is_not_found());
            assert!(text.len() < 120 && text.contains(r#""../x\nyyy"#), "{text}");
        }
    }

    #[test]
    fn a_missing_warehouse_is_not_found_and_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = DrillStore::new(&Location::Dir(dir.path().join("none")));
        let err = store.periods(Grain::Week).unwrap_err();
        assert!(err.is_not_found());
        assert!(err.to_string().contains("heymax run --input"), "{err}");
    }
}
