//! Dictionary codes for the few columns the marts group by (user, category, country).
//!
//! The marts only need user, day, country, type, category and miles per event. Grouping
//! 10M rows by small integers instead of strings is what keeps the marts stage fast and
//! its memory small, so ingest hands the marts integer codes plus one dictionary per column.
//! A hash map + `Vec` is all this needs (polars' fast-hashing map; ingest looks up three
//! codes per event).

use std::hash::{BuildHasher, Hash, Hasher};

use polars::prelude::PlHashMap;
use xxhash_rust::xxh3::xxh3_64;

/// Code used for a null value.
pub const NULL_CODE: u32 = u32::MAX;

/// Bytes of a value kept in its table slot.
const HEAD: usize = 16;

/// One table slot: the value's hash, length and first bytes beside its code, so a lookup
/// of a value up to 16 bytes (most user ids) reads one slot and not the value's heap
/// copy. With a `PlHashMap<Box<str>, u32>`, interning 10M events of 200,000 users was
/// 16 % of a run's profile (`Interner::intern` + `memcmp` on that second cache miss).
#[derive(Debug, Clone)]
struct Slot {
    hash: u64,
    len: u32,
    code: u32,
    head: [u8; HEAD],
}

/// The table hashes a slot by its value's hash alone (lookups go through
/// `raw_entry_mut().from_hash`, which hashbrown builds polars with, so the value's bytes
/// are hashed once, by xxh3, where they are read).
impl Hash for Slot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hash.hash(state);
    }
}

fn head(value: &[u8]) -> [u8; HEAD] {
    let mut h = [0u8; HEAD];
    let n = value.len().min(HEAD);
    h[..n].copy_from_slice(&value[..n]);
    h
}

/// Assigns dense `u32` codes to distinct strings, in first-seen order.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    table: PlHashMap<Slot, ()>,
    values: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, value: &str) -> u32 {
        let bytes = value.as_bytes();
        let hash = xxh3_64(bytes);
        let (len, first) = (bytes.len() as u32, head(bytes));
        let table_hash = self.table.hasher().hash_one(hash);
        let values = &mut self.values;
        let (slot, ()) = self
            .table
            .raw_entry_mut()
            .from_hash(table_hash, |s| {
                s.hash == hash
                    && s.len == len
                    && s.head == first
                    && (bytes.len() <= HEAD || values[s.code as usize].as_bytes() == bytes)
            })
            .or_insert_with(|| {
                let code = values.len() as u32;
                values.push(value.into());
                (
                    Slot {
                        hash,
                        len,
                        code,
                        head: first,
                    },
                    (),
                )
            });
        slot.code
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

    /// The values this interner gained from code `first` on.
    pub fn gained_since(&self, first: usize) -> Gained {
        Gained {
            first: first as u32,
            values: self.values[first.min(self.values.len())..].to_vec(),
        }
    }

    /// Renumbers the codes from `base` on: `order` lists them in their new order, and the
    /// returned map gives each old code its new one (codes below `base` keep theirs).
    fn reorder_from(&mut self, base: usize, order: &[u32]) -> Vec<u32> {
        let mut map: Vec<u32> = (0..self.values.len() as u32).collect();
        let mut values: Vec<Box<str>> = self.values[..base].to_vec();
        for (new, &code) in order.iter().enumerate() {
            map[code as usize] = (base + new) as u32;
            values.push(self.values[code as usize].clone());
        }
        // Once a run: the table is built again rather than patched slot by slot.
        *self = Interner::default();
        for v in &values {
            self.intern(v);
        }
        map
    }

    /// Puts the codes from `base` on in the order their first use in `codes` comes (values
    /// never used go last, by value), and rewrites `codes` to match: a run's dictionaries
    /// then do not depend on which parser thread saw a value first.
    pub fn first_use_order(&mut self, base: usize, codes: &mut [u32]) {
        let n = self.values.len();
        if base >= n {
            return;
        }
        let mut seen = vec![false; n - base];
        let mut order = Vec::with_capacity(n - base);
        for &c in codes.iter() {
            let c = c as usize;
            if c != NULL_CODE as usize && c >= base && !seen[c - base] {
                seen[c - base] = true;
                order.push(c as u32);
            }
        }
        let mut unused: Vec<u32> = (base..n)
            .filter(|&c| !seen[c - base])
            .map(|c| c as u32)
            .collect();
        unused.sort_by(|a, b| self.values[*a as usize].cmp(&self.values[*b as usize]));
        order.extend(unused);
        if order
            .iter()
            .enumerate()
            .all(|(i, &c)| c as usize == base + i)
        {
            return;
        }
        let map = self.reorder_from(base, &order);
        remap(codes, &map);
    }
}

/// The values an interner gained from code `first` on: what a chunk coded by an interner
/// shared with other chunks (ingest's parser threads keep one each for the whole input)
/// brings that the run's dictionary has not seen.
#[derive(Debug, Default, Clone)]
pub struct Gained {
    pub first: u32,
    pub values: Vec<Box<str>>,
}

/// For each shared interner (by source number), its codes as the run's interner's codes,
/// grown as their gains arrive in order.
#[derive(Debug, Default)]
pub struct SharedMaps {
    maps: Vec<Vec<u32>>,
}

impl SharedMaps {
    /// Adds the values `source` gained to `global`. Gains must come in code order: a gap
    /// means a chunk arrived before the values it uses, a bug (an error, not a wrong code).
    pub fn replay(&mut self, global: &mut Interner, source: usize, gained: &Gained) -> bool {
        if self.maps.len() <= source {
            self.maps.resize_with(source + 1, Vec::new);
        }
        let map = &mut self.maps[source];
        let first = gained.first as usize;
        if first > map.len() {
            return false;
        }
        // Values replayed already (a gain moved ahead of its chunk) are skipped.
        for v in gained.values.iter().skip(map.len() - first) {
            map.push(global.intern(v));
        }
        true
    }

    /// Rewrites codes of `source` into the run's codes; false when a code has no mapping.
    pub fn remap(&self, source: usize, codes: &mut [u32]) -> bool {
        let Some(map) = self.maps.get(source) else {
            return codes.iter().all(|&c| c == NULL_CODE);
        };
        for c in codes.iter_mut() {
            if *c != NULL_CODE {
                match map.get(*c as usize) {
                    Some(&g) => *c = g,
                    None => return false,
                }
            }
        }
        true
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

    #[test]
    fn shared_interners_replay_their_gains_in_order() {
        let mut global = Interner::default();
        global.intern("z");
        let mut thread = Interner::default();
        let mut first = vec![thread.intern("a"), thread.intern("b")];
        let gain1 = thread.gained_since(0);
        let mut second = vec![thread.intern("b"), thread.intern("c")];
        let gain2 = thread.gained_since(2);
        let mut maps = SharedMaps::default();
        // The second chunk's gain cannot come before the first's.
        assert!(!maps.replay(&mut global, 0, &gain2));
        assert!(maps.replay(&mut global, 0, &gain1));
        assert!(
            maps.replay(&mut global, 0, &gain1),
            "a gain replayed twice is skipped"
        );
        assert!(maps.replay(&mut global, 0, &gain2));
        assert!(maps.remap(0, &mut first) && maps.remap(0, &mut second));
        assert_eq!((first, second), (vec![1, 2], vec![2, 3]));
        assert_eq!(global.len(), 4);
        let mut unknown = vec![7];
        assert!(!maps.remap(0, &mut unknown));
        assert!(!maps.remap(1, &mut [0]));
    }

    #[test]
    fn first_use_order_renumbers_new_codes_only() {
        let mut dict = Interner::default();
        for v in ["old", "d", "c", "unused_b", "unused_a"] {
            dict.intern(v);
        }
        let mut codes = vec![0, 2, NULL_CODE, 1, 2, 0];
        dict.first_use_order(1, &mut codes);
        assert_eq!(codes, vec![0, 1, NULL_CODE, 2, 1, 0]);
        let values: Vec<&str> = dict.values().iter().map(|v| &**v).collect();
        assert_eq!(values, ["old", "c", "d", "unused_a", "unused_b"]);
        assert_eq!(dict.intern("d"), 2);
        assert_eq!(dict.intern("unused_b"), 4);
    }
}
