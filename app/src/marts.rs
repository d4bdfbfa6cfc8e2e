//! The mart rows as the browser receives them from `<base>/data/marts/<name>.json`
//! (METRICS.md's columns, one JSON object per row), and `MartClient::fetch`, the one way
//! pages get them: on the server it reads the warehouse in memory (so the first paint holds
//! real numbers), in the browser it fetches the same JSON files a static host serves.

use std::sync::Arc;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Growth accounting grain. See: METRICS.md, Periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Grain {
    Day,
    #[default]
    Week,
    Month,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Week, Grain::Month];

    pub fn key(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<Grain> {
        Grain::ALL.into_iter().find(|g| g.key() == text)
    }

    /// The growth mart of this grain.
    pub fn mart(self) -> &'static str {
        match self {
            Grain::Day => "user_growth_metrics_day",
            Grain::Week => "user_growth_metrics_week",
            Grain::Month => "user_growth_metrics_month",
        }
    }

    /// "day", "week", "month" as a noun for labels ("last complete week").
    pub fn noun(self) -> &'static str {
        self.key()
    }
}

pub const RETENTION: &str = "user_retention";
pub const INTERACTIONS: &str = "user_interactions";

/// Every mart the dashboard reads, in the order the server loads them.
pub const MART_NAMES: [&str; 5] = [
    "user_growth_metrics_day",
    "user_growth_metrics_week",
    "user_growth_metrics_month",
    RETENTION,
    INTERACTIONS,
];

/// How the pages name the users without a country: the marts hold null for them (a
/// country is optional in the input, METRICS.md), and a page filters, charts and drills
/// by name. Their drill files are [`CountryScope::NoCountry`]'s.
pub const NO_COUNTRY: &str = "(no country)";

fn country_or_label<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Option::<String>::deserialize(d).map(|c| c.unwrap_or_else(|| NO_COUNTRY.to_string()))
}

/// One row of `user_growth_metrics_<grain>`. See: METRICS.md, Growth accounting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthRow {
    pub period: String,
    #[serde(deserialize_with = "country_or_label")]
    pub country: String,
    pub new_users: u64,
    pub retained_users: u64,
    pub resurrected_users: u64,
    pub churned_users: u64,
    pub active_users: u64,
    pub growth: i64,
    pub quick_ratio: Option<f64>,
    pub is_complete: bool,
}

/// The retention days the mart carries, in column order. See: METRICS.md, Retention.
pub const RETENTION_DAYS: [u32; 6] = [0, 1, 7, 30, 60, 90];

/// One row of `user_retention`; `None` is a day not yet observed (right-censored).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetentionRow {
    pub cohort_date: String,
    #[serde(deserialize_with = "country_or_label")]
    pub country: String,
    pub cohort_size: u64,
    pub d0_retained: Option<u64>,
    pub d1_retained: Option<u64>,
    pub d7_retained: Option<u64>,
    pub d30_retained: Option<u64>,
    pub d60_retained: Option<u64>,
    pub d90_retained: Option<u64>,
    pub d0_retention_rate: Option<f64>,
    pub d1_retention_rate: Option<f64>,
    pub d7_retention_rate: Option<f64>,
    pub d30_retention_rate: Option<f64>,
    pub d60_retention_rate: Option<f64>,
    pub d90_retention_rate: Option<f64>,
}

impl RetentionRow {
    /// Retained users on each of `RETENTION_DAYS`.
    pub fn retained(&self) -> [Option<u64>; 6] {
        [
            self.d0_retained,
            self.d1_retained,
            self.d7_retained,
            self.d30_retained,
            self.d60_retained,
            self.d90_retained,
        ]
    }
}

/// One row of `user_interactions`. See: METRICS.md, Interactions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InteractionRow {
    #[serde(deserialize_with = "country_or_label")]
    pub country: String,
    pub event_type: String,
    pub transaction_category: Option<String>,
    pub interactions: u64,
    pub users: u64,
    pub miles: f64,
    pub share: f64,
}

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
        format!("{}data/marts/{name}.json", self.base)
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
    /// The URL of the users behind one growth number (see `data::drill`).
    pub fn drill_url(&self, grain: Grain, period: &str, status: &str) -> String {
        format!(
            "{}data/drill/{}/{period}/{status}.json",
            self.base,
            grain.key()
        )
    }

    /// The URL of the users of the cohorts that start in one period.
    pub fn cohort_url(&self, grain: Grain, period: &str) -> String {
        format!(
            "{}data/drill/cohort/{}/{period}.json",
            self.base,
            grain.key()
        )
    }

    /// The URL of one scope's interaction flows with their top users.
    pub fn interactions_url(&self, scope: CountryScope<'_>) -> String {
        format!(
            "{}data/drill/interactions/{}.json",
            self.base,
            scope.file_stem()
        )
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

/// Whose flows an interactions drill file holds: every country's, the users' without a
/// country, or one country's. The router, the export and the browser all name the file with
/// [`CountryScope::file_stem`], so the three cannot disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CountryScope<'a> {
    All,
    NoCountry,
    Country(&'a str),
}

/// The longest file stem [`CountryScope::file_stem`] writes out in full; longer escaped names
/// are shortened and hashed (a file name holds at most 255 bytes).
const MAX_STEM: usize = 100;

/// How much of a long escaped name stays readable in front of its hash.
const HASHED_PREFIX: usize = 40;

impl CountryScope<'_> {
    /// The drill file's name without `.json`, made only of `[A-Za-z0-9_-]`, so data can never
    /// name a path (`..`, `/`, an absolute path), a URL part (`#`, `?`, `%`) or a hidden file:
    ///
    /// - `all` and `none` for every country and for the users without one;
    /// - `c-<name>` for a country: ASCII capitals, digits and `-` as they are, every other byte
    ///   as `_XX` (capital hex), so the mapping is one-to-one, and also on a file system that
    ///   ignores case (macOS, Windows: only one case is ever written literally);
    /// - `h-<first 40 of those>-<16 hex digits of FNV-1a>` when `c-<name>` would pass 100
    ///   characters. Two long names that share the prefix and the hash would share a file:
    ///   the server checks for that and refuses rather than mix them.
    ///
    /// The reserved stems cannot be a country's: a country's always starts with `c-` or `h-`.
    pub fn file_stem(&self) -> String {
        use std::fmt::Write;
        let name = match self {
            CountryScope::All => return "all".into(),
            CountryScope::NoCountry => return "none".into(),
            CountryScope::Country(name) => name,
        };
        let mut escaped = String::with_capacity(name.len() + 2);
        let mut cut = 0;
        for b in name.bytes() {
            if b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' {
                escaped.push(b as char);
            } else {
                let _ = write!(escaped, "_{b:02X}");
            }
            // Where a shortened name may end: never inside an `_XX`.
            if escaped.len() <= HASHED_PREFIX {
                cut = escaped.len();
            }
        }
        if escaped.len() + 2 <= MAX_STEM {
            format!("c-{escaped}")
        } else {
            format!("h-{}-{:016x}", &escaped[..cut], fnv1a(name.as_bytes()))
        }
    }
}

/// Whether `stem` is a name [`CountryScope::file_stem`] can write: what the export checks
/// before it joins a drill file's name to its output folder.
pub fn is_file_stem(stem: &str) -> bool {
    !stem.is_empty()
        && stem.len() <= MAX_STEM
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// FNV-1a, 64 bits: stable across builds and targets (std's hasher is neither), and small
/// enough to run in the browser. Collisions are checked for where they would matter.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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

    #[test]
    fn a_null_country_reads_as_the_no_country_label() {
        let json = r#"[{"period":"2025-03-07","country":null,"new_users":1,"retained_users":0,"resurrected_users":0,"churned_users":0,"active_users":1,"growth":1,"quick_ratio":null,"is_complete":true}]"#;
        let rows: Vec<GrowthRow> = serde_json::from_str(json).unwrap();
        assert_eq!(rows[0].country, NO_COUNTRY);
        let json = r#"[{"country":null,"event_type":"like","transaction_category":null,"interactions":1,"users":1,"miles":0.0,"share":1.0}]"#;
        let rows: Vec<InteractionRow> = serde_json::from_str(json).unwrap();
        assert_eq!(rows[0].country, NO_COUNTRY);
    }

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

    /// Names a CSV can hold (and NUL, which ingest refuses) that must not steer a path.
    const HOSTILE: [&str; 17] = [
        "../../../../PWNED",
        "/tmp/x",
        "a/b",
        "a#b",
        "a?b",
        "a,b",
        "a%2Fb",
        "100%",
        "all",
        "none",
        "unknown",
        "c-SG",
        ".",
        "..",
        "nul\0byte",
        "Việt Nam",
        "",
    ];

    #[test]
    fn drill_file_stems_are_safe_one_to_one_and_never_reserved() {
        let long_a = "x".repeat(1000);
        let long_b = format!("{}y", "x".repeat(999));
        let mut names: Vec<&str> = HOSTILE.to_vec();
        names.extend(["SG", "sg", "Sg", long_a.as_str(), long_b.as_str()]);
        let mut stems: Vec<String> = names
            .iter()
            .map(|n| CountryScope::Country(n).file_stem())
            .collect();
        for (name, stem) in names.iter().zip(&stems) {
            assert!(is_file_stem(stem), "{name:?} -> {stem}");
            assert!(stem.starts_with("c-") || stem.starts_with("h-"), "{stem}");
        }
        assert_eq!(CountryScope::Country("SG").file_stem(), "c-SG");
        assert_eq!(CountryScope::Country("all").file_stem(), "c-_61_6C_6C");
        assert!(
            CountryScope::Country(&long_a)
                .file_stem()
                .starts_with("h-_78_78")
        );
        stems.extend([
            CountryScope::All.file_stem(),
            CountryScope::NoCountry.file_stem(),
        ]);
        // Distinct even ignoring case (macOS and Windows file systems).
        let folded: std::collections::BTreeSet<String> =
            stems.iter().map(|s| s.to_ascii_lowercase()).collect();
        assert_eq!(folded.len(), stems.len(), "{stems:?}");
        assert_eq!(
            MartClient::new("/heymax/".into(), None).interactions_url(CountryScope::Country("a/b")),
            "/heymax/data/drill/interactions/c-_61_2F_62.json"
        );
    }

    #[test]
    fn only_stems_the_rule_writes_pass_the_check() {
        for bad in ["", "../x", "a/b", "a.json", "/tmp/x", "a b", "%2E%2E"] {
            assert!(!is_file_stem(bad), "{bad}");
        }
        assert!(!is_file_stem(&"c".repeat(MAX_STEM + 1)));
    }

    #[test]
    fn urls_honour_the_base_path() {
        let client = MartClient::new("/heymax/".into(), None);
        assert_eq!(
            client.url(RETENTION),
            "/heymax/data/marts/user_retention.json"
        );
    }
}
