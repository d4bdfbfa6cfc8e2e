//! The static site: the dashboard as files for GitHub Pages or any static host, written by
//! `heymax export` (not to be confused with `heymax marts export`, one mart's rows as a
//! file, or the pipeline's mart encoding).
//!
//! Each page route is requested from the same axum router `heymax serve` runs and its HTML
//! saved as `<page>/index.html` ([`pages`]), so an exported page is byte for byte what the
//! server renders for that URL (real numbers and tables, readable without JavaScript).
//! Beside the pages go `404.html`, the marts, the drill-down files and the run history at
//! the paths of [`contract::paths`] (the URLs the browser fetches, which the router also
//! answers), and the bundle trunk built. Every URL carries the base path, so the folder
//! works under `/<repo>/`.
//!
//! Why not Leptos's own static generation (`SsrMode::Static` + `generate_route_list_with_ssg`):
//! in leptos_axum 0.8 a static route is also static under `heymax serve` (rendered once,
//! cached into the bundle folder, the query string ignored, which breaks Explore's URL
//! state); `generate()` returns `()` and drops write errors; pages that answer 404 are never
//! written; and files are named `<base>/<page>.html`, which plain static servers do not map
//! to `/<base>/<page>`. Rendering the route list Leptos declares through the real router
//! avoids all four and needs no second render path.
//!
//! The output folder is replaced as a whole ([`folder`]): everything is written to a
//! sibling staging folder first and renamed into place at the end, so a failed export
//! leaves the previous one untouched and a reader never sees old and new files mixed.
//! The size limits ([`size`]) are checked on the staging folder before that rename, so a
//! site too large for its host is refused the same way.

mod folder;
mod pages;
pub mod size;

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use contract::paths::{self, is_file_stem};

use crate::drill::DrillError;
use crate::web::{BundleError, Site, WebError};
use folder::{Staging, check_output, copy_bundle, io, swap_into_place};
pub use size::{ByteSize, OverLimit, Part, SizeLimits, SizeReport};

/// Marks a folder as written by `heymax export`, the only kind it replaces.
pub const MARKER: &str = ".heymax-export";

#[derive(Debug, thiserror::Error)]
pub enum StaticSiteError {
    #[error(
        "the warehouse at {warehouse} has no {missing}: run `heymax run --input <events.csv> --warehouse {warehouse}` first"
    )]
    NoMarts { warehouse: String, missing: String },
    #[error("reading the warehouse: {0}")]
    Data(#[from] WebError),
    #[error(
        "refusing to write the drill file {0:?}: not a file name heymax makes (a bug: please report it)"
    )]
    UnsafeName(String),
    #[error("writing the run history: {0}")]
    Runs(String),
    #[error("copying the browser bundle: {0}")]
    Bundle(#[from] BundleError),
    #[error(
        "{0} exists and was not written by `heymax export`: pick another --out, or empty or remove that folder (export only replaces its own output)"
    )]
    ForeignOutput(PathBuf),
    #[error("the page {path} answered {status} instead of {expected}: {body}")]
    Page {
        path: String,
        status: StatusCode,
        expected: StatusCode,
        body: String,
    },
    #[error(transparent)]
    TooLarge(#[from] Box<OverLimit>),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A drill-down file that cannot be built: the message `heymax export` always printed for
/// it (`reading the warehouse: ...`).
impl From<DrillError> for StaticSiteError {
    fn from(e: DrillError) -> Self {
        StaticSiteError::Data(e.into())
    }
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct StaticSiteSummary {
    /// Page URLs (with the base), in the order written.
    pub pages: Vec<String>,
    pub marts: usize,
    /// Periods written to `data/drill/` (each with its statuses and cohort file).
    pub drill_files: usize,
    /// Every file written, by part, with the largest.
    pub size: SizeReport,
}

/// Writes the whole site for `site` (its base path included) to `out`, replacing a
/// previous export there, unless it passes one of `limits`: then `out` is left as it was.
pub async fn write_site(
    site: Site,
    out: &Path,
    limits: SizeLimits,
) -> Result<StaticSiteSummary, StaticSiteError> {
    let site = Site {
        prerender: true,
        ..site
    };
    let marts = read_marts(&site)?;
    check_output(out)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io("creating", &parent))?;
    // Dropped (and deleted) on any error below: nothing half-written survives.
    let mut staging = Staging::new_in(&parent)?;
    let mut summary = StaticSiteSummary::default();
    pages::write_pages(&site, &mut staging, &mut summary).await?;
    for (name, json) in &marts {
        staging.write(Part::Marts, &paths::mart(name), json.as_bytes())?;
        summary.marts += 1;
    }
    // The read side blocks (PostgreSQL runs a runtime of its own): off this one.
    crate::web::off_runtime(|| write_drill(&site, &mut staging, &mut summary))?;
    write_runs(&site, &mut staging)?;
    if let Some(bundle) = &site.bundle {
        copy_bundle(bundle, &mut staging)?;
    }
    // GitHub Pages: publish the files as they are, without a Jekyll build.
    staging.write(Part::Host, ".nojekyll", b"")?;
    let marker = format!("base {}\n", site.config.base);
    staging.write(Part::Host, MARKER, marker.as_bytes())?;
    // Before the swap: a refusal drops `staging`, and `out` is as it was.
    summary.size = limits.check(staging.size())?;
    swap_into_place(staging, out, &parent)?;
    Ok(summary)
}

/// The run history as of the export, at the URLs the Pipeline page reads:
/// `data/runs.json` and `data/runs/<id>.json` for each run listed.
fn write_runs(site: &Site, staging: &mut Staging) -> Result<(), StaticSiteError> {
    fn json<T: serde::Serialize>(value: &T) -> Result<String, StaticSiteError> {
        serde_json::to_string(value).map_err(|e| StaticSiteError::Runs(e.to_string()))
    }
    let list = site.runs.list(crate::web::runs::DEFAULT_LIMIT)?;
    staging.write(Part::Runs, paths::RUNS, json(&list)?.as_bytes())?;
    for run in &list.runs {
        if let Some(detail) = site.runs.get(run.run_id)? {
            let path = paths::run(run.run_id);
            staging.write(Part::Runs, &path, json(&detail)?.as_bytes())?;
        }
    }
    Ok(())
}

/// Every mart, or an error naming the missing ones (an export without data is useless).
fn read_marts(site: &Site) -> Result<Vec<(&'static str, std::sync::Arc<str>)>, StaticSiteError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in contract::Mart::ALL.map(contract::Mart::name) {
        match site.marts.get(name)? {
            Some(json) => found.push((name, json)),
            None => missing.push(name),
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let missing = if found.is_empty() {
        "marts".to_string()
    } else {
        format!("marts {}", missing.join(", "))
    };
    Err(StaticSiteError::NoMarts {
        warehouse: site.marts.warehouse().to_string(),
        missing,
    })
}

/// A drill file as `serve` answers it.
fn json<T: serde::Serialize>(file: &T) -> Result<String, StaticSiteError> {
    serde_json::to_string(file)
        .map_err(|e| StaticSiteError::Data(WebError::Internal(e.to_string())))
}

/// The drill-down files, the same URLs and bytes `serve` answers: the user dictionary's
/// shards, per grain and period each growth status's selection and the cohorts that start
/// in it (streamed: each file is written as it is encoded), and per scope (all countries,
/// no country, each country) the interaction flows' most active users.
fn write_drill(
    site: &Site,
    staging: &mut Staging,
    summary: &mut StaticSiteSummary,
) -> Result<(), StaticSiteError> {
    site.drill.each_file(&mut |kind, path, bytes| {
        if kind == crate::drill::FileKind::Cohort && path.matches('.').count() == 1 {
            summary.drill_files += 1;
        }
        staging.write(Part::Drill, &path, &bytes)
    })?;
    // A country is data: its file is named by `CountryScope::file_stem` (what `serve` and
    // the browser use), and checked again here, so no name can reach outside `out`.
    for stem in site.drill.interaction_stems()? {
        if !is_file_stem(&stem) {
            return Err(StaticSiteError::UnsafeName(stem.chars().take(40).collect()));
        }
        let file = site.drill.interactions(&stem)?;
        let path = paths::interactions_drill_file(&stem);
        staging.write(Part::Drill, &path, json(&*file)?.as_bytes())?;
    }
    Ok(())
}
