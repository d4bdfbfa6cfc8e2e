//! Page state that lives in the URL query (grain, countries, dates, the explorer's
//! series), so a view can be reloaded, bookmarked and shared, and the server renders
//! exactly what the link shows. Updates replace the history entry and never reload.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

/// Applies `(key, Some(value) | None)` updates to the URL query.
type Setter = dyn Fn(Vec<(&'static str, Option<String>)>) + Send + Sync;

/// The query as a memo, and a setter that applies `(key, Some(value) | None)` updates.
#[derive(Clone)]
pub struct QueryState {
    pub map: Memo<ParamsMap>,
    set: std::sync::Arc<Setter>,
}

impl QueryState {
    pub fn new() -> Self {
        let map = use_query_map();
        let navigate = use_navigate();
        let location = use_location();
        let site = use_context::<crate::SiteConfig>().unwrap_or_default();
        let set = move |updates: Vec<(&'static str, Option<String>)>| {
            let mut query = map.get_untracked();
            for (key, value) in updates {
                match value {
                    Some(v) => query.replace(key, v),
                    None => {
                        query.remove(key);
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
            set: std::sync::Arc::new(set),
        }
    }

    /// The page's grain (`grain=`), day when absent or unknown.
    pub fn grain(&self) -> Memo<crate::marts::Grain> {
        let map = self.map;
        Memo::new(move |_| {
            map.with(|q| q.get("grain"))
                .and_then(|g| crate::marts::Grain::parse(&g))
                .unwrap_or_default()
        })
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.map.with(|q| q.get(key))
    }

    pub fn set(&self, updates: Vec<(&'static str, Option<String>)>) {
        (self.set)(updates)
    }

    /// A comma-separated list (`countries=SG,MY`); empty when absent.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Default for QueryState {
    fn default() -> Self {
        Self::new()
    }
}

/// A list as its query value; `None` (drop the key) when empty.
pub fn list_value(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join(","))
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
