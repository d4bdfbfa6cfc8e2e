//! The marts as the browser gets them: each mart table of the warehouse written as JSON
//! (the `marts export` format) and kept in memory. A request re-reads the warehouse only
//! when its version changed (`Warehouse::stamp`), so a new `heymax run` shows up on the
//! next reload.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{WebError, off_runtime};
use crate::pipeline::catalog::Table;
use crate::pipeline::marts::encoding;
use crate::warehouse::{Location, Stamp, Warehouse, WarehouseError};
use contract::Mart;

#[derive(Default)]
struct Snapshot {
    stamp: Option<Stamp>,
    json: HashMap<String, Arc<str>>,
}

pub struct MartStore {
    warehouse: Location,
    snapshot: Mutex<Snapshot>,
}

impl MartStore {
    pub fn new(warehouse: &Location) -> Self {
        Self {
            warehouse: warehouse.clone(),
            snapshot: Mutex::new(Snapshot::default()),
        }
    }

    /// The warehouse the marts come from.
    pub fn warehouse(&self) -> &Location {
        &self.warehouse
    }

    /// The JSON of `name`, `None` when the warehouse has no such mart (yet).
    pub fn get(&self, name: &str) -> Result<Option<Arc<str>>, WebError> {
        off_runtime(|| self.get_blocking(name))
    }

    fn get_blocking(&self, name: &str) -> Result<Option<Arc<str>>, WebError> {
        let mut snapshot = self
            .snapshot
            .lock()
            .map_err(|_| WebError::Internal("mart cache poisoned".into()))?;
        let stamp = Warehouse::stamp(&self.warehouse);
        if stamp.is_none() || snapshot.stamp != stamp {
            *snapshot = Snapshot {
                stamp,
                json: self.load()?,
            };
        }
        Ok(snapshot.json.get(name).cloned())
    }

    /// Every mart the warehouse has, as JSON; empty when there is no warehouse yet.
    fn load(&self) -> Result<HashMap<String, Arc<str>>, WebError> {
        let mut wh = match Warehouse::open(&self.warehouse) {
            Ok(wh) => wh,
            Err(WarehouseError::Missing(_)) => return Ok(HashMap::new()),
            Err(e) => {
                return Err(WebError::Internal(format!(
                    "opening {}: {e}",
                    self.warehouse
                )));
            }
        };
        let mut out = HashMap::new();
        for mart in Mart::ALL {
            let (name, table) = (mart.name(), Table::Mart(mart).name());
            if !wh.has_table(table) {
                continue;
            }
            let df = wh
                .read_table(table, None)
                .map_err(|e| WebError::Internal(format!("reading {table}: {e}")))?;
            let mut json = Vec::new();
            encoding::write(&df, encoding::Format::Json, &mut json)
                .map_err(|e| WebError::Internal(format!("writing {table} as JSON: {e:#}")))?;
            let text = String::from_utf8(json).map_err(|e| WebError::Internal(e.to_string()))?;
            out.insert(name.to_string(), Arc::from(text));
        }
        tracing::info!("loaded {} marts from {}", out.len(), self.warehouse);
        Ok(out)
    }
}
