//! The filters the pages share, typed: in flows the URL query ([`QueryState`]), out come a
//! memo per filter (grain, countries, date range) and ready callbacks for the controls
//! that change them, plus memos of a page's own keys parsed into their types (a drill
//! selection, a heatmap cell, a switch). Pages wire controls to these instead of each
//! spelling query keys and encodings again, so Growth, Retention, Interactions and the
//! Overview write the URL the same way. Every update names its keys in the order the
//! page's links have always had them (a key new to the query goes at its end).

use leptos::prelude::*;

use super::{Key, QueryState, list_value};
use crate::marts::Grain;

/// The shared filters of one page. `Copy`: memos and callbacks all the way down.
#[derive(Clone, Copy)]
pub struct PageFilters {
    pub query: QueryState,
    /// `grain=`; day when absent or unknown.
    pub grain: Memo<Grain>,
    /// `countries=`; empty: every country.
    pub countries: Memo<Vec<String>>,
    /// `from=` / `to=`: the first and last period shown.
    pub from: Memo<Option<String>>,
    pub to: Memo<Option<String>>,
}

impl PageFilters {
    /// The filters of the current page's URL.
    pub fn new() -> Self {
        Self::from_query(QueryState::new())
    }

    pub fn from_query(query: QueryState) -> Self {
        Self {
            query,
            grain: query.grain(),
            countries: Memo::new(move |_| query.list(Key::Countries)),
            from: Memo::new(move |_| query.get(Key::From)),
            to: Memo::new(move |_| query.get(Key::To)),
        }
    }

    /// `key` as it is (`country=`).
    pub fn value(self, key: Key) -> Memo<Option<String>> {
        let query = self.query;
        Memo::new(move |_| query.get(key))
    }

    /// Whether `key` holds `value` (`complete=1`, `curves=cohorts`).
    pub fn flag(self, key: Key, value: &'static str) -> Memo<bool> {
        let query = self.query;
        Memo::new(move |_| query.get(key).as_deref() == Some(value))
    }

    /// `key` parsed by `parse` (a drill selection, a cell, a flow); `None` when absent or
    /// unreadable, so a hand-edited URL opens nothing rather than failing the page.
    pub fn parsed<T>(self, key: Key, parse: fn(&str) -> Option<T>) -> Memo<Option<T>>
    where
        T: Clone + PartialEq + Send + Sync + 'static,
    {
        let query = self.query;
        Memo::new(move |_| query.get(key).and_then(|v| parse(&v)))
    }

    /// Sets (or, with `None`, drops) one key.
    pub fn set(self, key: Key, value: Option<String>) {
        self.query.set(vec![(key, value)])
    }

    /// Keeps only the periods from `from` to `to` (a brushed range).
    pub fn set_range(self, from: String, to: String) {
        self.query
            .set(vec![(Key::From, Some(from)), (Key::To, Some(to))])
    }

    /// Keeps only these countries (a legend pick); all of them when empty.
    pub fn set_countries(self, countries: &[String]) {
        self.set(Key::Countries, list_value(countries))
    }

    /// A grain button: sets the grain and drops `resets`, the keys that name periods of
    /// the old grain (a date range, an open bar or cell).
    pub fn on_grain(self, resets: &'static [Key]) -> Callback<Grain> {
        Callback::new(move |g: Grain| {
            let mut updates = vec![(Key::Grain, Some(g.name().to_string()))];
            updates.extend(resets.iter().map(|&k| (k, None)));
            self.query.set(updates)
        })
    }

    /// The country picker.
    pub fn on_countries(self) -> Callback<Vec<String>> {
        Callback::new(move |c: Vec<String>| self.set_countries(&c))
    }

    /// The date inputs: both ends at once (an empty end drops its key).
    pub fn on_dates(self) -> Callback<(Option<String>, Option<String>)> {
        Callback::new(move |(from, to): (Option<String>, Option<String>)| {
            self.query.set(vec![(Key::From, from), (Key::To, to)])
        })
    }

    /// A switch or a two-way toggle: `key=value` when on, no key when off.
    pub fn on_flag(self, key: Key, value: &'static str) -> Callback<bool> {
        Callback::new(move |on: bool| self.set(key, on.then(|| value.to_string())))
    }

    /// A filter chip (or "Reset all"): drops its keys.
    pub fn on_clear(self) -> Callback<Vec<Key>> {
        Callback::new(move |keys: Vec<Key>| {
            self.query
                .set(keys.into_iter().map(|k| (k, None)).collect())
        })
    }

    /// A panel's "Close": drops the key that opened it.
    pub fn on_close(self, key: Key) -> Callback<()> {
        Callback::new(move |()| self.set(key, None))
    }
}

impl Default for PageFilters {
    fn default() -> Self {
        Self::new()
    }
}
