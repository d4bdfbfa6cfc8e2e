//! [`MartClient`]: how pages get marts and drill-down files. A mart comes from the server's
//! [`MartSource`] when the page renders there, else over HTTP; a drill-down file is only
//! ever fetched by the browser, when a number is clicked. Every URL is the site's base and
//! a path of `contract::paths`, the paths the router answers and the exporter writes.

use std::sync::Arc;

use contract::paths;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{CountryScope, Grain};

/// Why a mart could not be shown; the message says what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum MartError {
    #[error(
        "the mart `{name}` is not in the warehouse yet: run `heymax run --input <events.csv>` to build it, then reload this page"
    )]
    Missing { name: String },
    #[error(
        "could not load the mart `{name}` ({detail}); check that the server is running and reload"
    )]
    Fetch { name: String, detail: String },
    #[error(
        "the mart `{name}` is not in the expected format ({detail}); rebuild it with `heymax run`"
    )]
    Format { name: String, detail: String },
}

pub type Mart<T> = Result<Arc<Vec<T>>, MartError>;

/// Where the server finds mart JSON: name -> `Some(json)`, or `None` when the mart is
/// missing. Provided as context by the server (and the static export) only.
#[derive(Clone)]
pub struct MartSource(pub Arc<MartLookup>);

/// Mart name -> its JSON, `None` when missing.
pub type MartLookup = dyn Fn(&str) -> Option<Arc<str>> + Send + Sync;

/// Fetches marts; created once by `App` and shared through context.
#[derive(Clone)]
pub struct MartClient {
    /// The site's base path, ending in `/` (`/` or `/<repo>/`).
    base: String,
    source: Option<MartSource>,
}

impl MartClient {
    pub fn new(base: String, source: Option<MartSource>) -> Self {
        Self { base, source }
    }

    /// The URL the browser fetches for `name`.
    pub fn url(&self, name: &str) -> String {
        paths::url(&self.base, &paths::mart(name))
    }

    /// The rows of `name`: from the server's source when there is one, else over HTTP.
    pub fn fetch<T>(
        &self,
        name: &'static str,
    ) -> impl std::future::Future<Output = Mart<T>> + Send + 'static + use<T>
    where
        T: DeserializeOwned + Send + Sync + 'static,
    {
        let source = self.source.clone();
        let url = self.url(name);
        async move {
            match source {
                Some(source) => match (source.0)(name) {
                    Some(json) => parse(name, &json),
                    None => Err(MartError::Missing { name: name.into() }),
                },
                None => fetch_http(name, url).await,
            }
        }
    }
}

impl MartClient {
    /// The URL of chunk `k` of the users behind one growth number (chunk 0 is the
    /// selection's header, see `data::selection`).
    pub fn drill_url(&self, grain: Grain, period: &str, status: &str, k: usize) -> String {
        paths::url(
            &self.base,
            &paths::growth_drill_chunk(grain, period, status, k),
        )
    }

    /// The URL of chunk `k` of the users of the cohorts that start in one period.
    pub fn cohort_url(&self, grain: Grain, period: &str, k: usize) -> String {
        paths::url(&self.base, &paths::cohort_drill_chunk(grain, period, k))
    }

    /// The URL of one shard of the user dictionary.
    pub fn users_url(&self, shard: u32) -> String {
        paths::url(&self.base, &paths::drill_users(shard))
    }

    /// A compact drill-down file's bytes, fetched by the browser (never on the server).
    pub async fn fetch_bytes(url: String) -> Result<Vec<u8>, String> {
        #[cfg(target_arch = "wasm32")]
        {
            let stale = |status: u16| {
                format!(
                    "could not load {url} (HTTP {status}): if a run finished since this page loaded, reload it (a static site is exported again after each run)"
                )
            };
            let response = gloo_net::http::Request::get(&url)
                .send()
                .await
                .map_err(|e| format!("could not load {url}: {e}"))?;
            if !response.ok() {
                return Err(stale(response.status()));
            }
            response
                .binary()
                .await
                .map_err(|e| format!("could not load {url}: {e}"))
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            Err(format!("{url} is only fetched in the browser"))
        }
    }

    /// The URL of one scope's interaction flows with their top users.
    pub fn interactions_url(&self, scope: CountryScope<'_>) -> String {
        paths::url(&self.base, &paths::interactions_drill(scope))
    }

    /// A drill-down file, fetched by the browser when a number is clicked (never on the
    /// server: the pages render without it and the panel loads after hydration).
    pub async fn fetch_drill<T: DeserializeOwned>(url: String) -> Result<T, String> {
        match fetch_browser_json(&url, false).await? {
            Ok(value) => Ok(value),
            Err(status) => Err(format!(
                "could not load {url} (HTTP {status}): if a run finished since this page loaded, reload it (a static site is exported again after each run)"
            )),
        }
    }
}

/// A JSON file the browser GETs: the value, or `Ok(Err(status))` when the server answered
/// with an HTTP error. `revalidate` skips the browser's cache (files a run rewrites).
/// Never called on the server: pages render without these files.
pub async fn fetch_browser_json<T: DeserializeOwned>(
    url: &str,
    revalidate: bool,
) -> Result<Result<T, u16>, String> {
    #[cfg(target_arch = "wasm32")]
    {
        let mut request = gloo_net::http::Request::get(url);
        if revalidate {
            request = request.cache(web_sys::RequestCache::NoCache);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("could not load {url}: {e}"))?;
        if !response.ok() {
            return Ok(Err(response.status()));
        }
        let text = response
            .text()
            .await
            .map_err(|e| format!("could not load {url}: {e}"))?;
        serde_json::from_str(&text).map(Ok).map_err(|e| {
            format!("{url} is not in the expected format ({e}): serve or export it with this version of heymax")
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = revalidate;
        Err(format!("{url} is only fetched in the browser"))
    }
}

pub fn parse<T: DeserializeOwned>(name: &str, json: &str) -> Mart<T> {
    serde_json::from_str::<Vec<T>>(json)
        .map(Arc::new)
        .map_err(|e| MartError::Format {
            name: name.into(),
            detail: e.to_string(),
        })
}

#[cfg(target_arch = "wasm32")]
async fn fetch_http<T: DeserializeOwned>(name: &'static str, url: String) -> Mart<T> {
    // gloo-net's futures are not Send; wasm is single-threaded, so wrap them for the
    // resource's Send bound.
    send_wrapper::SendWrapper::new(async move {
        let fetch_error = |detail: String| MartError::Fetch {
            name: name.into(),
            detail,
        };
        let response = gloo_net::http::Request::get(&url)
            .send()
            .await
            .map_err(|e| fetch_error(e.to_string()))?;
        if response.status() == 404 {
            return Err(MartError::Missing { name: name.into() });
        }
        if !response.ok() {
            return Err(fetch_error(format!(
                "HTTP {} from {url}",
                response.status()
            )));
        }
        let text = response
            .text()
            .await
            .map_err(|e| fetch_error(e.to_string()))?;
        parse(name, &text)
    })
    .await
}

#[cfg(not(target_arch = "wasm32"))]
async fn fetch_http<T: DeserializeOwned>(name: &'static str, url: String) -> Mart<T> {
    Err(MartError::Fetch {
        name: name.into(),
        detail: format!("no mart source on the server for {url}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marts::GrowthRow;

    #[test]
    fn parses_the_export_format_with_nulls() {
        let json = r#"[{"period":"2025-03-07","country":"ID","new_users":4,"retained_users":0,"resurrected_users":0,"churned_users":0,"active_users":4,"growth":4,"quick_ratio":null,"is_complete":true}]"#;
        let rows: Vec<GrowthRow> = parse("g", json).unwrap().to_vec();
        assert_eq!(rows[0].quick_ratio, None);
        assert_eq!(rows[0].active_users, 4);
    }

    #[test]
    fn a_wrong_shape_is_a_format_error_naming_the_mart() {
        let err = parse::<GrowthRow>("user_growth_metrics_day", r#"[{"period":1}]"#).unwrap_err();
        assert!(matches!(err, MartError::Format { .. }));
        assert!(err.to_string().contains("user_growth_metrics_day"));
    }

    #[test]
    fn urls_honour_the_base_path() {
        let client = MartClient::new("/heymax/".into(), None);
        assert_eq!(
            client.url(contract::Mart::Retention.name()),
            "/heymax/data/marts/user_retention.json"
        );
        assert_eq!(
            MartClient::new("/heymax/".into(), None).interactions_url(CountryScope::Country("a/b")),
            "/heymax/data/drill/interactions/c-_61_2F_62.json"
        );
        assert_eq!(
            client.drill_url(Grain::Week, "2025-04-14", "new", 0),
            "/heymax/data/drill/week/2025-04-14/new.bin"
        );
        assert_eq!(
            client.cohort_url(Grain::Day, "2025-04-14", 2),
            "/heymax/data/drill/cohort/day/2025-04-14.2.bin"
        );
        assert_eq!(client.users_url(7), "/heymax/data/drill/users/7.bin");
    }
}
