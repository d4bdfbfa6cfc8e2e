//! The static site's pages: every page route Leptos declares (in its trailing-slash form,
//! the URL links use) requested from the real router and saved as `<page>/index.html`, and
//! the not-found page as `404.html`. In: a [`Site`]; out: HTML files byte for byte what
//! `serve` answers, except the per-response CSP nonce, which a file cannot match.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::folder::Staging;
use super::{Part, StaticSiteError, StaticSiteSummary};
use crate::web::{Site, page_routes, router};

/// Each page route as `<page>/index.html`, and the not-found page as `404.html`.
pub(super) async fn write_pages(
    site: &Site,
    staging: &mut Staging,
    summary: &mut StaticSiteSummary,
) -> Result<(), StaticSiteError> {
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
        // `rel` is empty or ends in `/`: the routes kept are the trailing-slash ones.
        staging.write(Part::Pages, &format!("{rel}index.html"), html.as_bytes())?;
        summary.pages.push(path);
    }
    // Static hosts (GitHub Pages included) answer a missing path with this file.
    let html = render(&app, &format!("{base}404.html"), StatusCode::NOT_FOUND).await?;
    staging.write(Part::Pages, "404.html", html.as_bytes())?;
    Ok(())
}

async fn render(
    app: &axum::Router,
    path: &str,
    expected: StatusCode,
) -> Result<String, StaticSiteError> {
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

fn page_error(
    path: &str,
    status: StatusCode,
    expected: StatusCode,
    body: String,
) -> StaticSiteError {
    StaticSiteError::Page {
        path: path.to_string(),
        status,
        expected,
        body: body.chars().take(300).collect(),
    }
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
