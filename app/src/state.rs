//! Page state that lives in the URL query (grain, countries, dates, the explorer's
//! series), so a view can be reloaded, bookmarked and shared, and the server renders
//! exactly what the link shows. Updates replace the history entry and never reload.
//!
//! Every key a page reads or writes is a [`Key`], so the URL's vocabulary is listed once;
//! [`filters::PageFilters`] builds the typed memos and callbacks the pages share on top of
//! the raw [`QueryState`].
//!
//! Values are data (a country can be named `a,b`, `100%` or `x&y=z`), so they are encoded
//! here, once: a list's items with [`encode_item`] (only URL-unreserved characters, so no
//! layer of URL decoding changes them), and every value escaped before leptos_router's
//! `ParamsMap::replace`, which percent-decodes what it is given. A list holds at most
//! [`MAX_LIST`] items, which bounds what one URL can make the server render.

pub mod filters;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

/// A query key. Links, bookmarks and the browser tests hold these names: renaming one
/// breaks every link that uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Grain,
    /// A country list ([`list_value`]).
    Countries,
    /// The first and last period shown.
    From,
    To,
    /// `complete=1`: complete periods only (Growth).
    Complete,
    /// The growth bar whose users are open (`period:status`).
    Drill,
    /// The retention cell whose users are open (`cohort:day`).
    Cell,
    /// `curves=cohorts`: retention curves by cohort instead of by country.
    Curves,
    /// The one country of the Interactions page.
    Country,
    /// The Sankey link whose users are open (`event_type:category`).
    Flow,
    /// The explorer's series.
    Series,
}

impl Key {
    pub const fn name(self) -> &'static str {
        match self {
            Key::Grain => "grain",
            Key::Countries => "countries",
            Key::From => "from",
            Key::To => "to",
            Key::Complete => "complete",
            Key::Drill => "drill",
            Key::Cell => "cell",
            Key::Curves => "curves",
            Key::Country => "country",
            Key::Flow => "flow",
            Key::Series => "series",
        }
    }
}

/// `(key, Some(value) | None)` updates to the URL query, applied in order (a key new to the
/// query goes at its end, so the order is the links' order).
pub type Updates = Vec<(Key, Option<String>)>;

/// The query as a memo, and a setter that applies [`Updates`]. `Copy`, so every handler
/// can hold it.
#[derive(Clone, Copy)]
pub struct QueryState {
    pub map: Memo<ParamsMap>,
    set: Callback<Updates>,
}

impl QueryState {
    pub fn new() -> Self {
        let map = use_query_map();
        let navigate = use_navigate();
        let location = use_location();
        let site = use_context::<crate::SiteConfig>().unwrap_or_default();
        let set = move |updates: Updates| {
            let mut query = map.get_untracked();
            for (key, value) in updates {
                match value {
                    // `replace` percent-decodes its value: escaped first, it stores `v` as is.
                    Some(v) => query.replace(key.name(), percent_encode(&v)),
                    None => {
                        query.remove(key.name());
                    }
                }
            }
            let pathname = location.pathname.get_untracked();
            navigate(
                &format!("{}{}", site.route_path(&pathname), query.to_query_string()),
                NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..NavigateOptions::default()
                },
            );
        };
        Self {
            map,
            set: Callback::new(set),
        }
    }

    /// The page's grain (`grain=`), day when absent or unknown.
    pub fn grain(&self) -> Memo<crate::marts::Grain> {
        let map = self.map;
        Memo::new(move |_| {
            map.with(|q| q.get(Key::Grain.name()))
                .and_then(|g| crate::marts::Grain::parse(&g))
                .unwrap_or_default()
        })
    }

    pub fn get(&self, key: Key) -> Option<String> {
        self.map.with(|q| q.get(key.name()))
    }

    pub fn set(&self, updates: Updates) {
        self.set.run(updates)
    }

    /// A comma-separated list (`countries=SG,MY`), its first [`MAX_LIST`] items; empty when
    /// absent.
    pub fn list(&self, key: Key) -> Vec<String> {
        self.get(key)
            .map(|v| list_items(&v, MAX_LIST))
            .unwrap_or_default()
    }
}

impl Default for QueryState {
    fn default() -> Self {
        Self::new()
    }
}

/// The most items a list in the URL keeps (the first ones): a country filter of 200 is
/// already more than a chart can show apart.
pub const MAX_LIST: usize = 200;

/// A list as its query value (each item encoded, joined by `,`); `None` (drop the key) when
/// empty.
pub fn list_value(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| {
        items
            .iter()
            .map(|i| encode_item(i))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// The first `max` items of a list value written by [`list_value`] (empty items skipped).
pub fn list_items(value: &str, max: usize) -> Vec<String> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .take(max)
        .map(decode_item)
        .collect()
}

/// One list item: ASCII letters, digits, `-`, `_` and `.` as they are, every other byte as
/// `~XX` (capital hex). Only URL-unreserved characters remain, so the item survives any
/// number of URL encodings and decodings, and `,` can only be a separator. `SG` stays `SG`.
pub fn encode_item(item: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(item.len());
    for b in item.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            let _ = write!(out, "~{b:02X}");
        }
    }
    out
}

/// The inverse of [`encode_item`]; a `~` without two hex digits after it stays a `~`, and
/// bytes that are not UTF-8 become U+FFFD (a hand-edited URL is not trusted).
pub fn decode_item(item: &str) -> String {
    let bytes = item.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Two hex digits exactly (`from_str_radix` alone would also take a sign).
        let hex = |at: usize| {
            let h = bytes.get(at..at + 2)?;
            let digit = |d: u8| (d as char).to_digit(16);
            Some((digit(h[0])? * 16 + digit(h[1])?) as u8)
        };
        match (bytes[i], hex(i + 1)) {
            (b'~', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every byte but ASCII letters and digits as `%XX`: what leptos_router's `Url::unescape`
/// (percent-decoding on the server, `decodeURIComponent` in the browser) turns back into
/// exactly `text`. Unescaped, a value holding `%41` would be stored as `A`.
fn percent_encode(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The current page's URL (path and query), as a "link to this selection" points at it.
pub fn link_here() -> Signal<String> {
    let location = use_location();
    Signal::derive(move || {
        let search = location.search.get();
        format!(
            "{}?{}",
            location.pathname.get(),
            search.trim_start_matches('?')
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_the_names_links_hold() {
        let keys = [
            Key::Grain,
            Key::Countries,
            Key::From,
            Key::To,
            Key::Complete,
            Key::Drill,
            Key::Cell,
            Key::Curves,
            Key::Country,
            Key::Flow,
            Key::Series,
        ];
        assert_eq!(
            keys.map(Key::name),
            [
                "grain",
                "countries",
                "from",
                "to",
                "complete",
                "drill",
                "cell",
                "curves",
                "country",
                "flow",
                "series"
            ]
        );
    }

    #[test]
    fn any_country_name_round_trips_through_a_list_value() {
        let names: Vec<String> = [
            "SG",
            "a,b",
            ",",
            "100%",
            "x&y=z",
            "a#b?c",
            "~7E",
            "~",
            "a b+c",
            "../../PWNED",
            "Việt Nam",
            "all",
        ]
        .map(String::from)
        .to_vec();
        let value = list_value(&names).unwrap();
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~,".contains(&b)),
            "{value}"
        );
        assert_eq!(list_items(&value, MAX_LIST), names);
        // Older links (plain `SG,MY`) read as before.
        assert_eq!(list_items("SG,MY,", MAX_LIST), ["SG", "MY"]);
        assert_eq!(decode_item("a~zz~4~+F"), "a~zz~4~+F");
        assert_eq!(decode_item("~FF"), "\u{fffd}");
        assert_eq!(list_value(&[]), None);
    }

    #[test]
    fn a_list_keeps_its_first_items_only() {
        let many: String = (0..5000).map(|i| format!("C{i},")).collect();
        let items = list_items(&many, MAX_LIST);
        assert_eq!(items.len(), MAX_LIST);
        assert_eq!((items[0].as_str(), items[199].as_str()), ("C0", "C199"));
    }

    #[test]
    fn escaped_values_decode_back_exactly() {
        let text = "a,b:100% x&y=z#~é";
        let escaped = percent_encode(text);
        assert!(
            escaped
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'%')
        );
        // What `ParamsMap::replace` does to a value (on the server; the browser's
        // `decodeURIComponent` decodes the same way).
        #[cfg(feature = "ssr")]
        assert_eq!(leptos_router::location::Url::unescape(&escaped), text);
    }
}
