//! Dictionary codes for the few columns the marts group by (user, category, country).
//!
//! The marts only need user, day, country, type, category and miles per event. Grouping
//! 10M rows by small integers instead of strings is what keeps the marts stage fast and
//! its memory small, so ingest hands the marts integer codes plus one dictionary per column.
//! A hash map + `Vec` is all this needs (polars' fast-hashing map; ingest looks up three
//! codes per event).

use polars::prelude::PlHashMap;

/// Code used for a null value.
pub const NULL_CODE: u32 = u32::MAX;

/// Assigns dense `u32` codes to distinct strings, in first-seen order.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    index: PlHashMap<Box<str>, u32>,
    values: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, value: &str) -> u32 {
        if let Some(&code) = self.index.get(value) {
            return code;
        }
        let code = self.values.len() as u32;
        self.values.push(value.into());
        self.index.insert(value.into(), code);
        code
    }

    pub fn values(&self) -> &[Box<str>] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Maps every code of `other` to this interner's code for the same string.
    pub fn merge(&mut self, other: &Interner) -> Vec<u32> {
        other.values.iter().map(|v| self.intern(v)).collect()
    }
}

/// Rewrites local codes into global ones (`NULL_CODE` stays null).
pub fn remap(codes: &mut [u32], map: &[u32]) {
    for c in codes.iter_mut() {
        if *c != NULL_CODE {
            *c = map[*c as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_maps_local_codes_to_global_ones() {
        let mut global = Interner::default();
        global.intern("b");
        let mut local = Interner::default();
        let mut codes = vec![
            local.intern("a"),
            local.intern("b"),
            NULL_CODE,
            local.intern("a"),
        ];
        let map = global.merge(&local);
        remap(&mut codes, &map);
        assert_eq!(codes, vec![1, 0, NULL_CODE, 1]);
        assert_eq!(global.values().len(), 2);
    }
}
