//! The drill-down read side: the users behind one number of the dashboard, as the compact
//! files of [`contract::drill`]: one user dictionary sharded by user, and per selection (a
//! growth status in a period, a cohort period) a header with the exact counts and chunks of
//! user indices, so a click fetches a few kilobytes, never every user up front. The web
//! layer answers them at the paths of [`contract::paths`] and the static site writes them
//! there; both only pass the bytes on.
//!
//! - growth ([`growth`]): the users with one growth status in one period, from the
//!   `user_lifecycle_<grain>` table;
//! - cohort ([`cohort`]): the users whose first active day falls in a cohort period, and
//!   on which retention days each was active, from `user_lifecycle_day`;
//! - the dictionary: `gold.dim_users` sorted by id ([`tables`]);
//! - interactions ([`flows`]): each flow's totals and most active users per scope, from
//!   `gold.fact_events` (small JSON files).
//!
//! Every file is built once per warehouse version: [`DrillStore::each_file`] streams them
//! one grain at a time (what `heymax export` writes), and `heymax serve` keeps the same
//! bytes in memory ([`DrillStore::file`], rebuilt when `Warehouse::stamp` changes), so a
//! click is a lookup. Everything here blocks: call it off the async runtime (the PostgreSQL
//! client runs a runtime of its own).

mod cohort;
mod error;
mod flows;
mod growth;
mod tables;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use contract::calendar::{date, day_number};
use contract::drill::{CHUNK, CohortSpan, FlowsFile, Member, Meta, SHARD, users::encode_shard};
use contract::{Grain, Status, paths};

pub use error::{DrillError, echo};

use crate::pipeline::marts::lifecycle_table;
use crate::warehouse::{Location, Stamp, Warehouse};
use tables::{Groups, Users};

/// A period of a grain as a request names it: its first day (`YYYY-MM-DD`).
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

/// Which part of the drill-down data a file is: the dictionary, a growth or cohort
/// selection (`heymax export` reports each part's size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Users,
    Growth,
    Cohort,
}

/// Every compact file of one warehouse version, by path: what `serve` answers.
type Files = HashMap<String, Arc<[u8]>>;

/// What is loaded of one warehouse version; each part on first use.
#[derive(Default)]
struct Loaded {
    stamp: Option<Stamp>,
    users: Option<Arc<Users>>,
    /// Each part's files, built on first use.
    parts: HashMap<Part, Arc<Files>>,
    /// The day grain's rows and every user's active days, while a part still needs them.
    days: Option<Arc<Days>>,
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

/// The drill-down files of one warehouse, built from tables it keeps in memory until the
/// warehouse changes.
pub struct DrillStore {
    warehouse: Location,
    loaded: Mutex<Loaded>,
    /// One per part (in [`Part::WARM`] order), held while that part is built, so two
    /// requests do not build it twice; the `loaded` lock is not, and neither is another
    /// part's, so a click on a part already built never waits for one being built.
    building: [Mutex<()>; 5],
}

impl DrillStore {
    pub fn new(warehouse: &Location) -> Self {
        Self {
            warehouse: warehouse.clone(),
            loaded: Mutex::new(Loaded::default()),
            building: Default::default(),
        }
    }

    /// The compact file at `path` (a path of [`contract::paths`]), `None` when there is no
    /// such file. The first request of a part (the dictionary, one grain's growth
    /// selections, the cohorts) of a warehouse version builds that part, every later one is
    /// a lookup.
    pub fn file(&self, path: &str) -> Result<Option<Arc<[u8]>>, DrillError> {
        let Some(part) = Part::of(path) else {
            return Ok(None);
        };
        Ok(self.part(part)?.get(path).cloned())
    }

    /// Every file of `part`, built if it is not yet.
    fn part(&self, part: Part) -> Result<Arc<Files>, DrillError> {
        let built = |store: &Self| store.with_loaded(|l, _| Ok(l.parts.get(&part).cloned()));
        if let Some(files) = built(self)? {
            return Ok(files);
        }
        let slot = Part::WARM.iter().position(|p| *p == part).unwrap_or(0);
        let _building = self.building[slot]
            .lock()
            .map_err(|_| DrillError::Poisoned)?;
        // Built by another request while this one waited.
        if let Some(files) = built(self)? {
            return Ok(files);
        }
        let (users, mut days, stamp) =
            self.with_loaded(|l, wh| Ok((Self::users(l, wh)?, l.days.clone(), l.stamp.clone())))?;
        let started = std::time::Instant::now();
        let mut lazy = Lazy {
            location: &self.warehouse,
            wh: None,
        };
        let mut files = Files::new();
        let mut bytes = 0usize;
        build_part(part, &users, &mut days, &mut lazy, &mut |_, path, data| {
            bytes += data.len();
            files.insert(path, data.into());
            Ok::<(), DrillError>(())
        })?;
        tracing::info!(
            part = ?part,
            files = files.len(),
            bytes,
            seconds = started.elapsed().as_secs_f64(),
            "built drill-down files"
        );
        let files = Arc::new(files);
        self.with_loaded(|loaded, _| {
            // A run replaced the warehouse meanwhile: these files are of the old one.
            if loaded.stamp != stamp {
                return Ok(files.clone());
            }
            loaded.parts.insert(part, files.clone());
            let both = [Part::Growth(Grain::Day), Part::Cohorts];
            // Both parts that read the day grain are built: its rows can go.
            loaded.days = if both.iter().all(|p| loaded.parts.contains_key(p)) {
                None
            } else {
                days
            };
            Ok(files.clone())
        })
    }

    /// Builds every part of the current warehouse version on a thread of its own, the
    /// default grain (week) first, so the first clicks after `heymax serve` starts find
    /// them ready; a click meanwhile waits at most for the part being built. A warehouse
    /// not built yet is no error here: the request that needs it says what to do.
    pub fn warm(self: &Arc<Self>) {
        let store = self.clone();
        let spawned = std::thread::Builder::new()
            .name("drill-warm".into())
            .spawn(move || {
                for part in Part::WARM {
                    if let Err(e) = store.part(part) {
                        tracing::debug!("drill-down files not built yet: {e}");
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("could not start building the drill-down files: {e}");
        }
    }

    /// Every compact file (dictionary shards, then each grain's growth and cohort
    /// selections), handed to `emit` as it is encoded and then dropped: memory holds one
    /// grain's rows, never the files.
    pub fn each_file<E: From<DrillError>>(
        &self,
        emit: &mut dyn FnMut(FileKind, String, Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut lazy = Lazy {
            location: &self.warehouse,
            wh: None,
        };
        let users = Arc::new(tables::users(&lazy.read("gold.dim_users", None)?)?);
        let mut days = None;
        for part in Part::EXPORT {
            build_part(part, &users, &mut days, &mut lazy, emit)?;
        }
        Ok(())
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

/// A grain's lifecycle rows by (period, status), or an error saying how to build them.
fn groups(wh: &mut Lazy<'_>, grain: Grain, users: &Users) -> Result<Groups, DrillError> {
    let table = format!("marts.{}", lifecycle_table(grain));
    if !wh.get()?.has_table(&table) {
        return Err(DrillError::NoTable { table });
    }
    let df = wh.read(&table, Some(&tables::LIFECYCLE_COLUMNS))?;
    tables::groups(&df, users)
}

/// A part of the compact files, built on its own: `serve` builds the one a request needs
/// first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Part {
    /// The user dictionary's shards.
    Users,
    /// One grain's growth selections.
    Growth(Grain),
    /// Every grain's cohort selections (all read the day grain).
    Cohorts,
}

impl Part {
    /// The order `heymax export` writes them in (the day grain's rows are read once).
    const EXPORT: [Part; 5] = [
        Part::Users,
        Part::Growth(Grain::Day),
        Part::Cohorts,
        Part::Growth(Grain::Week),
        Part::Growth(Grain::Month),
    ];
    /// The order `serve` builds them in: the growth page's default grain first.
    const WARM: [Part; 5] = [
        Part::Users,
        Part::Growth(Grain::Week),
        Part::Growth(Grain::Month),
        Part::Growth(Grain::Day),
        Part::Cohorts,
    ];

    /// The part holding `path` (a path of [`contract::paths`]).
    fn of(path: &str) -> Option<Part> {
        let (first, _) = path.strip_prefix("data/drill/")?.split_once('/')?;
        match first {
            "users" => Some(Part::Users),
            "cohort" => Some(Part::Cohorts),
            grain => Grain::parse(grain).map(Part::Growth),
        }
    }
}

/// The day grain's rows, and every user's active days from them.
struct Days {
    groups: Groups,
    activity: tables::Activity,
}

/// The day grain's rows, read once for the parts that need them.
fn days(
    days: &mut Option<Arc<Days>>,
    wh: &mut Lazy<'_>,
    users: &Users,
) -> Result<Arc<Days>, DrillError> {
    if let Some(d) = days {
        return Ok(d.clone());
    }
    let groups = groups(wh, Grain::Day, users)?;
    let activity = tables::activity(&groups, users.len());
    Ok(days.insert(Arc::new(Days { groups, activity })).clone())
}

/// The files of `part` of the warehouse `wh` whose users are `users`, handed to `emit` as
/// they are encoded.
fn build_part<E: From<DrillError>>(
    part: Part,
    users: &Users,
    day_rows: &mut Option<Arc<Days>>,
    wh: &mut Lazy<'_>,
    emit: &mut dyn FnMut(FileKind, String, Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let countries: Vec<Option<&str>> = users.countries.iter().map(|c| c.as_deref()).collect();
    let meta = Meta {
        version: users.version,
        users: users.len() as u64,
        shard: SHARD,
        chunk: CHUNK,
        countries: &countries,
    };
    match part {
        Part::Users => {
            let shard = SHARD as usize;
            for (k, start) in (0..users.len()).step_by(shard).enumerate() {
                let end = (start + shard).min(users.len());
                let rows =
                    (start..end).map(|u| (&*users.id[u], users.first_seen[u], users.last_seen[u]));
                let bytes = encode_shard(users.version, start as u32, rows);
                emit(FileKind::Users, paths::drill_users(k as u32), bytes)?;
            }
        }
        Part::Growth(grain) => {
            let owned;
            let day;
            let groups = match grain {
                Grain::Day => {
                    day = days(day_rows, wh, users)?;
                    &day.groups
                }
                _ => {
                    owned = groups(wh, grain, users)?;
                    &owned
                }
            };
            for (day, by_status) in growth::selections(groups, users) {
                let period = Period::of_day(day);
                for (status, members) in Status::ALL.iter().zip(&by_status) {
                    let files = contract::drill::encode_selection(&meta, None, members);
                    for (k, bytes) in files.into_iter().enumerate() {
                        let path =
                            paths::growth_drill_chunk(grain, period.as_str(), status.name(), k);
                        emit(FileKind::Growth, path, bytes)?;
                    }
                }
            }
        }
        Part::Cohorts => {
            let day = days(day_rows, wh, users)?;
            for grain in Grain::ALL {
                // Every period of the grain gets a file, an empty one when nobody started then.
                let mut periods: Vec<i32> = match grain {
                    Grain::Day => day.groups.keys().map(|k| k.0).collect(),
                    _ => day
                        .groups
                        .keys()
                        .map(|k| grain.start(grain.ordinal(k.0.into())) as i32)
                        .collect(),
                };
                periods.dedup();
                let mut cohorts = cohort::selections(&day.groups, &day.activity, users, grain);
                for start in periods {
                    let members: Vec<Member> = cohorts.remove(&start).unwrap_or_default();
                    let span = CohortSpan {
                        start,
                        last_day: day.activity.last_day,
                    };
                    let files = contract::drill::encode_selection(&meta, Some(span), &members);
                    let period = Period::of_day(start);
                    for (k, bytes) in files.into_iter().enumerate() {
                        emit(
                            FileKind::Cohort,
                            paths::cohort_drill_chunk(grain, period.as_str(), k),
                            bytes,
                        )?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drill_path_belongs_to_one_part() {
        assert_eq!(Part::of(&paths::drill_users(3)), Some(Part::Users));
        assert_eq!(
            Part::of(&paths::growth_drill_chunk(
                Grain::Week,
                "2025-04-14",
                "new",
                2
            )),
            Some(Part::Growth(Grain::Week))
        );
        assert_eq!(
            Part::of(&paths::cohort_drill(Grain::Month, "2025-04-01")),
            Some(Part::Cohorts)
        );
        assert_eq!(Part::of("data/drill/interactions/all.json"), None);
        assert_eq!(Part::of("data/drill/users"), None);
        let mut parts = Part::WARM.to_vec();
        parts.sort_by_key(|p| format!("{p:?}"));
        let mut export = Part::EXPORT.to_vec();
        export.sort_by_key(|p| format!("{p:?}"));
        assert_eq!(parts, export, "serve and export build the same parts");
    }

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
        let err = store.file("data/drill/users/0.bin").unwrap_err();
        assert_eq!(store.file("data/marts/x.json").unwrap(), None);
        assert!(err.is_not_found());
        assert!(err.to_string().contains("heymax run --input"), "{err}");
    }
}
