//! The dashboard router under a sub-path, driven with `oneshot` (no socket): pages with and
//! without the trailing slash, marts, bundle files, and the not-found page.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use heymax::web::{DrillStore, Head, MartStore, Runs, Site, router};
use tower::ServiceExt;

use crate::util::*;

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn site(base: &str, dist: &std::path::Path) -> Site {
    Site {
        marts: Arc::new(MartStore::new(&sample_warehouse().into())),
        drill: Arc::new(DrillStore::new(&sample_warehouse().into())),
        head: Head::load(dist).unwrap(),
        config: app::SiteConfig::new(base),
        dist: Some(dist.to_path_buf()),
        prerender: false,
        runs: Arc::new(Runs::read_only(&sample_warehouse().into())),
    }
}

#[tokio::test]
async fn everything_lives_under_the_base_path() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(site("/heymax/", &fake_dist(dir.path())));
    for (path, title) in [
        ("/heymax/", "Overview"),
        ("/heymax", "Overview"),
        ("/heymax/growth/", "Growth"),
        ("/heymax/growth", "Growth"),
        ("/heymax/explore/?grain=week", "Explore"),
        ("/heymax/retention/", "Retention"),
        ("/heymax/interactions/", "Interactions"),
    ] {
        let (status, html) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            html.contains(&format!("<h1>{title}</h1>")),
            "{path}: {html}"
        );
        // Assets and links carry the base; the page says where the site lives.
        assert!(html.contains(r#"href="/heymax/app-1.css""#), "{path}");
        assert!(html.contains(r#"href="/heymax/growth/""#), "{path}");
        assert!(html.contains(r#"<meta name="heymax-base" content="/heymax/""#));
        assert!(
            !html.contains("heymax-prerendered"),
            "served pages hydrate as they are"
        );
    }
    let (status, json) = get(&app, "/heymax/data/marts/user_retention.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(json.starts_with('['), "{json}");
    let (status, css) = get(&app, "/heymax/app-1.css").await;
    assert_eq!(
        (status, css.as_str()),
        (StatusCode::OK, "body { margin: 0 }\n")
    );
}

#[tokio::test]
async fn unknown_paths_get_the_not_found_page_with_404() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(site("/heymax/", &fake_dist(dir.path())));
    for path in [
        "/heymax/nope",
        "/heymax/growth/extra",
        "/growth/",
        "/app-1.css",
    ] {
        let (status, html) = get(&app, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("Page not found"), "{path}: {html}");
    }
    let (status, text) = get(&app, "/heymax/data/marts/nope.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("heymax run"), "{text}");
}

#[tokio::test]
async fn the_root_base_serves_the_same_pages() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(site("/", &fake_dist(dir.path())));
    for path in ["/", "/growth", "/growth/", "/explore/"] {
        let (status, html) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(r#"href="/app-1.css""#), "{path}");
    }
    assert_eq!(get(&app, "/plotly.min.js").await.0, StatusCode::OK);
    assert_eq!(get(&app, "/nope/").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn drill_files_are_served_on_demand_under_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(site("/heymax/", &fake_dist(dir.path())));
    let (status, json) = get(&app, "/heymax/data/drill/week/2025-03-03/new.json").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["status"], "new");
    assert!(!value["rows"].as_array().unwrap().is_empty());
    let (status, json) = get(&app, "/heymax/data/drill/cohort/week/2025-03-03.json").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    for bad in [
        "/heymax/data/drill/year/2025-03-03/new.json",
        "/heymax/data/drill/week/2025-03-03/gone.json",
        "/heymax/data/drill/week/March/new.json",
    ] {
        assert_eq!(get(&app, bad).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
}
