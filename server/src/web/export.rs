//! `heymax export`: the dashboard as static files for GitHub Pages or any static host.
//!
//! Each page route is requested from the same axum router `heymax serve` runs and its HTML
//! saved as `<page>/index.html`, so an exported page is byte for byte what the server
//! renders for that URL (real numbers and tables, readable without JavaScript). Beside the
//! pages go `404.html`, `data/marts/<name>.json` and `data/drill/...` (the URLs the
//! browser fetches) and the bundle trunk built. Every URL carries the base path, so the folder works under
//! `/<repo>/`.
//!
//! Why not Leptos's own static generation (`SsrMode::Static` + `generate_route_list_with_ssg`):
//! in leptos_axum 0.8 a static route is also static under `heymax serve` (rendered once,
//! cached into the bundle folder, the query string ignored, which breaks Explore's URL
//! state); `generate()` returns `()` and drops write errors; pages that answer 404 are never
//! written; and files are named `<base>/<page>.html`, which plain static servers do not map
//! to `/<base>/<page>`. Rendering the route list Leptos declares through the real router
//! avoids all four and needs no second render path.
//!
//! The output folder is replaced as a whole: everything is written to a sibling staging
//! folder first and renamed into place at the end, so a failed export leaves the previous
//! one untouched and a reader never sees old and new files mixed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::{Site, page_routes, router};

/// Marks a folder as written by `heymax export`, the only kind it replaces.
pub const MARKER: &str = ".heymax-export";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "the warehouse at {warehouse} has no {missing}: run `heymax run --input <events.csv> --warehouse {warehouse}` first"
    )]
    NoMarts { warehouse: String, missing: String },
    #[error("reading the warehouse: {0}")]
    Data(#[from] super::WebError),
    #[error(
        "refusing to write the drill file {0:?}: not a file name heymax makes (a bug: please report it)"
    )]
    UnsafeName(String),
    #[error("writing the run history: {0}")]
    Runs(String),
    #[error("copying the browser bundle: {0}")]
    Bundle(#[from] super::BundleError),
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
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ExportError + 'a {
    move |source| ExportError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What an export wrote.
#[derive(Debug, Default)]
pub struct ExportSummary {
    /// Page URLs (with the base), in the order written.
    pub pages: Vec<String>,
    pub marts: usize,
    /// Periods written to `data/drill/` (each with its statuses and cohort file).
    pub drill_files: usize,
    pub files: usize,
    pub bytes: u64,
}

/// Writes the whole site for `site` (its base path included) to `out`, replacing a
/// previous export there.
pub async fn export(site: Site, out: &Path) -> Result<ExportSummary, ExportError> {
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
    let staging = tempfile::Builder::new()
        .prefix(".heymax-export-")
        .tempdir_in(&parent)
        .map_err(io("creating a staging folder in", &parent))?;
    let mut summary = ExportSummary::default();
    write_pages(&site, staging.path(), &mut summary).await?;
    for (name, json) in &marts {
        let path = staging
            .path()
            .join("data/marts")
            .join(format!("{name}.json"));
        write(&path, json.as_bytes(), &mut summary)?;
        summary.marts += 1;
    }
    write_drill(&site, staging.path(), &mut summary)?;
    write_runs(&site, staging.path(), &mut summary)?;
    if let Some(bundle) = &site.bundle {
        copy_bundle(bundle, staging.path(), &mut summary)?;
    }
    // GitHub Pages: publish the files as they are, without a Jekyll build.
    write(&staging.path().join(".nojekyll"), b"", &mut summary)?;
    write(
        &staging.path().join(MARKER),
        format!("base {}\n", site.config.base).as_bytes(),
        &mut summary,
    )?;
    swap_into_place(staging, out, &parent)?;
    Ok(summary)
}

/// The run history as of the export, at the URLs the Pipeline page reads:
/// `data/runs.json` and `data/runs/<id>.json` for each run listed.
fn write_runs(site: &Site, staging: &Path, summary: &mut ExportSummary) -> Result<(), ExportError> {
    fn json<T: serde::Serialize>(value: &T) -> Result<String, ExportError> {
        serde_json::to_string(value).map_err(|e| ExportError::Runs(e.to_string()))
    }
    let list = site.runs.list(super::runs::DEFAULT_LIMIT)?;
    write(
        &staging.join("data/runs.json"),
        json(&list)?.as_bytes(),
        summary,
    )?;
    for run in &list.runs {
        if let Some(detail) = site.runs.get(run.run_id)? {
            let path = staging.join(format!("data/runs/{}.json", run.run_id));
            write(&path, json(&detail)?.as_bytes(), summary)?;
        }
    }
    Ok(())
}

/// Every mart, or an error naming the missing ones (an export without data is useless).
fn read_marts(site: &Site) -> Result<Vec<(&'static str, std::sync::Arc<str>)>, ExportError> {
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
    Err(ExportError::NoMarts {
        warehouse: site.marts.warehouse().to_string(),
        missing,
    })
}

/// `out` may be missing, empty, or a previous export; anything else is the user's and stays.
fn check_output(out: &Path) -> Result<(), ExportError> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(ExportError::ForeignOutput(out.to_path_buf()));
    }
    let mut entries = std::fs::read_dir(out).map_err(io("reading", out))?;
    if entries.next().is_none() || out.join(MARKER).is_file() {
        return Ok(());
    }
    Err(ExportError::ForeignOutput(out.to_path_buf()))
}

/// Each page route as `<page>/index.html`, and the not-found page as `404.html`.
async fn write_pages(
    site: &Site,
    staging: &Path,
    summary: &mut ExportSummary,
) -> Result<(), ExportError> {
    let base = site.config.base.clone();
    // The trailing-slash form of each route: the URL the links use.
    let paths: BTreeSet<String> = page_routes(site)
        .iter()
        .map(|r| r.path().to_string())
        .filter(|p| p.ends_with('/') && !p.contains('{'))
        .collect();
    let app = router(site.clone());
    for path in paths {
        let html = render(&app, &path, StatusCode::OK).await?;
        let rel = path
            .strip_prefix(&base)
            .unwrap_or(path.trim_start_matches('/'));
        write(
            &staging.join(rel).join("index.html"),
            html.as_bytes(),
            summary,
        )?;
        summary.pages.push(path);
    }
    // Static hosts (GitHub Pages included) answer a missing path with this file.
    let html = render(&app, &format!("{base}404.html"), StatusCode::NOT_FOUND).await?;
    write(&staging.join("404.html"), html.as_bytes(), summary)?;
    Ok(())
}

/// The drill-down files, the same URLs `serve` answers: per grain and period, the users of
/// each growth status and of the cohorts that start in it; per scope (all countries, no
/// country, each country), the interaction flows' most active users.
fn write_drill(
    site: &Site,
    staging: &Path,
    summary: &mut ExportSummary,
) -> Result<(), ExportError> {
    use contract::Grain;
    let dir = staging.join("data/drill");
    for grain in Grain::ALL {
        for period in site.drill.periods(grain)? {
            for status in contract::Status::ALL.map(contract::Status::name) {
                let json = site.drill.growth(grain, &period, status)?;
                let path = dir
                    .join(grain.name())
                    .join(&period)
                    .join(format!("{status}.json"));
                write(&path, json.as_bytes(), summary)?;
            }
            let json = site.drill.cohort(grain, &period)?;
            let path = dir
                .join("cohort")
                .join(grain.name())
                .join(format!("{period}.json"));
            write(&path, json.as_bytes(), summary)?;
            summary.drill_files += 1;
        }
    }
    // A country is data: its file is named by `CountryScope::file_stem` (what `serve` and
    // the browser use), and checked again here, so no name can reach outside `out`.
    for stem in site.drill.interaction_keys()? {
        if !app::marts::is_file_stem(&stem) {
            return Err(ExportError::UnsafeName(stem.chars().take(40).collect()));
        }
        let json = site.drill.interactions(&stem)?;
        write(
            &dir.join("interactions").join(format!("{stem}.json")),
            json.as_bytes(),
            summary,
        )?;
    }
    Ok(())
}

async fn render(
    app: &axum::Router,
    path: &str,
    expected: StatusCode,
) -> Result<String, ExportError> {
    let request = Request::get(path)
        .body(Body::empty())
        .map_err(|e| page_error(path, StatusCode::BAD_REQUEST, expected, e.to_string()))?;
    let response = app.clone().oneshot(request).await.map_err(|e| {
        page_error(
            path,
            StatusCode::INTERNAL_SERVER_ERROR,
            expected,
            e.to_string(),
        )
    })?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| page_error(path, status, expected, e.to_string()))?;
    let text = String::from_utf8_lossy(&body).into_owned();
    if status != expected {
        return Err(page_error(path, status, expected, text));
    }
    Ok(without_nonce(&text))
}

/// leptos_axum puts a fresh random CSP nonce on its inline scripts for every response. A
/// file has no response header for it to match, and it would make two exports differ.
fn without_nonce(html: &str) -> String {
    const ATTR: &str = " nonce=\"";
    let Some(start) = html.find(ATTR).map(|i| i + ATTR.len()) else {
        return html.to_string();
    };
    let Some(len) = html[start..].find('"') else {
        return html.to_string();
    };
    html.replace(&format!("{ATTR}{}\"", &html[start..start + len]), "")
}

fn page_error(path: &str, status: StatusCode, expected: StatusCode, body: String) -> ExportError {
    ExportError::Page {
        path: path.to_string(),
        status,
        expected,
        body: body.chars().take(300).collect(),
    }
}

/// The browser bundle, without its `index.html` (a template the pages replace) and
/// without the `.gz` copies made for `serve` (static hosts compress themselves).
fn copy_bundle(
    bundle: &super::Bundle,
    staging: &Path,
    summary: &mut ExportSummary,
) -> Result<(), ExportError> {
    for rel in bundle.files()? {
        if rel == "index.html" || rel.ends_with(".gz") {
            continue;
        }
        let bytes = bundle.read(&rel)?;
        write(&staging.join(&rel), &bytes, summary)?;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8], summary: &mut ExportSummary) -> Result<(), ExportError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("creating", dir))?;
    }
    std::fs::write(path, bytes).map_err(io("writing", path))?;
    summary.files += 1;
    summary.bytes += bytes.len() as u64;
    Ok(())
}

/// Renames the finished staging folder to `out`; a previous `out` is moved aside first and
/// deleted after, or moved back if the rename fails.
fn swap_into_place(
    staging: tempfile::TempDir,
    out: &Path,
    parent: &Path,
) -> Result<(), ExportError> {
    let old = if out.exists() {
        let old = tempfile::Builder::new()
            .prefix(".heymax-export-old-")
            .tempdir_in(parent)
            .map_err(io("creating a folder in", parent))?;
        // rename(2) replaces the empty directory `old` with `out`.
        std::fs::rename(out, old.path()).map_err(io("moving aside", out))?;
        Some(old)
    } else {
        None
    };
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, out) {
        if let Some(old) = &old {
            let _ = std::fs::rename(old.path(), out);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(io("moving the export into", out)(e));
    }
    // `old` (the previous export) is deleted when dropped here.
    drop(old);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_the_per_response_nonce_only() {
        let html =
            r#"<script nonce="abc">a</script><p>nonce="x"</p><script nonce="abc">b</script>"#;
        assert_eq!(
            without_nonce(html),
            r#"<script>a</script><p>nonce="x"</p><script>b</script>"#
        );
        assert_eq!(without_nonce("<p>plain</p>"), "<p>plain</p>");
    }
}
