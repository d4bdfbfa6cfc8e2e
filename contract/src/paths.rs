//! Every URL and file path the server's router, the static site exporter and the browser
//! client agree on, relative to the site's base (`/` or `/<repo>/`): the marts' JSON, the
//! drill-down files, the run history files and the run API. A path here is both a URL
//! (`<base>` + path) and a file of an exported site (`<out>/` + path), which is why the
//! exported folder works on any static host: the three sides cannot spell one differently.
//!
//! [`routes`] holds the same paths as the router's patterns (`{name}` captures), tested
//! against the paths they must match.
//!
//! A drill file of interactions is named by [`CountryScope::file_stem`], never by the
//! country itself: a country is data, and `../../x`, `a/b#c` or `all` must name neither a
//! path nor another scope's file.

use crate::calendar::Grain;

/// `<base>` + `path`: the URL of a path of this module (`base` ends in `/`).
pub fn url(base: &str, path: &str) -> String {
    format!("{base}{path}")
}

/// `data/marts/<name>.json`: one mart's rows.
pub fn mart(name: &str) -> String {
    format!("data/marts/{name}.json")
}

/// `data/drill/<grain>/<period>/<status>.bin`: the header (with the first chunk) of the
/// users behind one growth number (`contract::drill::selection`).
pub fn growth_drill(grain: Grain, period: &str, status: &str) -> String {
    growth_drill_chunk(grain, period, status, 0)
}

/// `data/drill/<grain>/<period>/<status>.<k>.bin`: chunk `k` (from 1) of a growth selection;
/// chunk 0 is [`growth_drill`].
pub fn growth_drill_chunk(grain: Grain, period: &str, status: &str, k: usize) -> String {
    format!(
        "data/drill/{}/{period}/{}",
        grain.name(),
        bin_name(status, k)
    )
}

/// `data/drill/cohort/<grain>/<period>.bin`: the header (with the first chunk) of the users
/// of the cohorts starting in a period.
pub fn cohort_drill(grain: Grain, period: &str) -> String {
    cohort_drill_chunk(grain, period, 0)
}

/// `data/drill/cohort/<grain>/<period>.<k>.bin`: chunk `k` (from 1) of a cohort selection.
pub fn cohort_drill_chunk(grain: Grain, period: &str, k: usize) -> String {
    format!("data/drill/cohort/{}/{}", grain.name(), bin_name(period, k))
}

/// `data/drill/users/<shard>.bin`: one shard of the user dictionary (`contract::drill::users`).
pub fn drill_users(shard: u32) -> String {
    format!("data/drill/users/{shard}.bin")
}

/// `<stem>.bin` for chunk 0, `<stem>.<k>.bin` for the others: one name per file.
fn bin_name(stem: &str, k: usize) -> String {
    match k {
        0 => format!("{stem}.bin"),
        k => format!("{stem}.{k}.bin"),
    }
}

/// The stem and chunk of a `<stem>.bin` or `<stem>.<k>.bin` file name (a router's last
/// segment), only as [`bin_name`] writes them (no `.0.bin`, no leading zeros).
pub fn bin_stem(file: &str) -> Option<(&str, usize)> {
    let name = file.strip_suffix(".bin")?;
    match name.rsplit_once('.') {
        None => Some((name, 0)),
        Some((stem, k)) => {
            let digits = !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit());
            let k: usize = k.parse().ok().filter(|_| digits && !k.starts_with('0'))?;
            Some((stem, k))
        }
    }
}

/// `data/drill/interactions/<stem>.json`: one scope's flows with their most active users.
pub fn interactions_drill(scope: CountryScope<'_>) -> String {
    interactions_drill_file(&scope.file_stem())
}

/// [`interactions_drill`] for a stem already made by [`CountryScope::file_stem`] (the
/// exporter lists the stems the server has; check them with [`is_file_stem`] first).
pub fn interactions_drill_file(stem: &str) -> String {
    format!("data/drill/interactions/{stem}.json")
}

/// The run history: recent runs (a `RunList`).
pub const RUNS: &str = "data/runs.json";

/// `data/runs/<id>.json`: one run with its tasks (a `RunDetail`).
pub fn run(id: i64) -> String {
    format!("data/runs/{id}.json")
}

/// The run API: `GET` lists recent runs, `POST` starts one.
pub const API_RUNS: &str = "api/runs";

/// `api/runs/<id>`: one run with its tasks, as the API answers it.
pub fn api_run(id: i64) -> String {
    format!("{API_RUNS}/{id}")
}

/// `name` of a `<name>.json` file name (a router's last path segment).
pub fn json_stem(file: &str) -> Option<&str> {
    file.strip_suffix(".json")
}

/// The router's patterns of the paths above (axum's `{capture}` syntax), relative to the
/// base. A `{file}` capture is a whole `<name>.json` segment ([`json_stem`] takes it apart).
pub mod routes {
    /// [`super::mart`].
    pub const MART: &str = "data/marts/{file}";
    /// [`super::growth_drill`].
    pub const GROWTH_DRILL: &str = "data/drill/{grain}/{period}/{file}";
    /// [`super::cohort_drill`].
    pub const COHORT_DRILL: &str = "data/drill/cohort/{grain}/{file}";
    /// [`super::drill_users`].
    pub const USERS_DRILL: &str = "data/drill/users/{file}";
    /// [`super::interactions_drill`].
    pub const INTERACTIONS_DRILL: &str = "data/drill/interactions/{file}";
    /// [`super::RUNS`].
    pub const RUNS: &str = super::RUNS;
    /// [`super::run`].
    pub const RUN: &str = "data/runs/{file}";
    /// [`super::API_RUNS`].
    pub const API_RUNS: &str = super::API_RUNS;
    /// [`super::api_run`].
    pub const API_RUN: &str = "api/runs/{id}";
}

/// Whose flows an interactions drill file holds: every country's, the users' without a
/// country, or one country's. The router, the exporter and the browser all name the file
/// with [`CountryScope::file_stem`], so the three cannot disagree.
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
        use core::fmt::Write;
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

/// Whether `stem` is a name [`CountryScope::file_stem`] can write: what the exporter checks
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the router's `pattern` matches `path`: the same segments, a `{capture}`
    /// standing for any one non-empty segment.
    fn matches(pattern: &str, path: &str) -> bool {
        let (p, q): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
        p.len() == q.len()
            && p.iter()
                .zip(&q)
                .all(|(p, q)| (p.starts_with('{') && p.ends_with('}') && !q.is_empty()) || p == q)
    }

    #[test]
    fn every_path_is_matched_by_its_route_and_no_other_drill_route() {
        let cases = [
            (routes::MART, mart("user_retention")),
            (
                routes::GROWTH_DRILL,
                growth_drill(Grain::Week, "2025-04-14", "churned"),
            ),
            (
                routes::COHORT_DRILL,
                cohort_drill(Grain::Month, "2025-04-01"),
            ),
            (
                routes::INTERACTIONS_DRILL,
                interactions_drill(CountryScope::Country("a/b")),
            ),
            (routes::USERS_DRILL, drill_users(3)),
            (
                routes::GROWTH_DRILL,
                growth_drill_chunk(Grain::Day, "2025-04-14", "retained", 2),
            ),
            (
                routes::COHORT_DRILL,
                cohort_drill_chunk(Grain::Day, "2025-04-14", 12),
            ),
            (routes::RUNS, RUNS.to_string()),
            (routes::RUN, run(12)),
            (routes::API_RUNS, API_RUNS.to_string()),
            (routes::API_RUN, api_run(12)),
        ];
        for (route, path) in &cases {
            assert!(matches(route, path), "{route} should match {path}");
        }
        // A growth drill file of any grain is not a cohort or interactions file: the router
        // tries those two literal prefixes first, and no grain is named like them.
        for g in Grain::ALL {
            let path = growth_drill(g, "2025-04-14", "new");
            assert!(!matches(routes::COHORT_DRILL, &path), "{path}");
            assert!(!matches(routes::INTERACTIONS_DRILL, &path), "{path}");
            assert!(!matches(routes::USERS_DRILL, &path), "{path}");
            assert!(g.name() != "cohort" && g.name() != "interactions" && g.name() != "users");
        }
    }

    #[test]
    fn paths_are_the_urls_the_site_has_always_used() {
        assert_eq!(
            url("/heymax/", &mart("user_retention")),
            "/heymax/data/marts/user_retention.json"
        );
        assert_eq!(
            growth_drill(Grain::Day, "2025-04-14", "new"),
            "data/drill/day/2025-04-14/new.bin"
        );
        assert_eq!(
            growth_drill_chunk(Grain::Day, "2025-04-14", "new", 3),
            "data/drill/day/2025-04-14/new.3.bin"
        );
        assert_eq!(
            cohort_drill(Grain::Week, "2025-04-14"),
            "data/drill/cohort/week/2025-04-14.bin"
        );
        assert_eq!(
            cohort_drill_chunk(Grain::Week, "2025-04-14", 1),
            "data/drill/cohort/week/2025-04-14.1.bin"
        );
        assert_eq!(drill_users(0), "data/drill/users/0.bin");
        assert_eq!(
            url(
                "/heymax/",
                &interactions_drill(CountryScope::Country("a/b"))
            ),
            "/heymax/data/drill/interactions/c-_61_2F_62.json"
        );
        assert_eq!(
            interactions_drill(CountryScope::All),
            "data/drill/interactions/all.json"
        );
        assert_eq!(url("/", RUNS), "/data/runs.json");
        assert_eq!(url("/heymax/", &run(12)), "/heymax/data/runs/12.json");
        assert_eq!(url("/", &api_run(7)), "/api/runs/7");
        assert_eq!(json_stem("new.json"), Some("new"));
        assert_eq!(json_stem("new"), None);
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
    }

    #[test]
    fn binary_file_names_parse_only_as_they_are_written() {
        assert_eq!(bin_stem("new.bin"), Some(("new", 0)));
        assert_eq!(bin_stem("new.12.bin"), Some(("new", 12)));
        assert_eq!(bin_stem("2025-04-14.3.bin"), Some(("2025-04-14", 3)));
        for bad in [
            "new.json",
            "new.0.bin",
            "new.01.bin",
            "new.x.bin",
            "new..bin",
            "new.+1.bin",
        ] {
            assert_eq!(bin_stem(bad), None, "{bad}");
        }
        for k in [0, 1, 99] {
            let path = growth_drill_chunk(Grain::Week, "2025-04-14", "new", k);
            let file = path.rsplit('/').next().unwrap();
            assert_eq!(bin_stem(file), Some(("new", k)));
        }
    }

    #[test]
    fn only_stems_the_rule_writes_pass_the_check() {
        for bad in ["", "../x", "a/b", "a.json", "/tmp/x", "a b", "%2E%2E"] {
            assert!(!is_file_stem(bad), "{bad}");
        }
        assert!(!is_file_stem(&"c".repeat(MAX_STEM + 1)));
    }
}
