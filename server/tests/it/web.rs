//! The dashboard router under a sub-path, driven with `oneshot` (no socket): pages with and
//! without the trailing slash, marts, bundle files, and the not-found page; the limits on
//! what one request may cost, the security headers and the `Host` check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use heymax::drill::DrillStore;
use heymax::web::guard::{Hosts, RenderLimit};
use heymax::web::{Bundle, Guard, Head, MartStore, Runs, Site, router, router_with};
use tower::ServiceExt;

use crate::util::*;

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let (status, _, body) = send(app, Request::get(path).body(Body::empty()).unwrap()).await;
    (status, body)
}

fn site(base: &str, dist: &std::path::Path) -> Site {
    Site {
        marts: Arc::new(MartStore::new(&sample_warehouse().into())),
        drill: Arc::new(DrillStore::new(&sample_warehouse().into())),
        head: Head::load(&Bundle::Dir(dist.to_path_buf())).unwrap(),
        config: app::SiteConfig::new(base),
        bundle: Some(Bundle::Dir(dist.to_path_buf())),
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

async fn get_bytes(app: &axum::Router, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}

#[tokio::test]
async fn drill_files_are_served_from_memory_under_the_base() {
    use contract::drill::{Header, Kind, UserShard};
    let dir = tempfile::tempdir().unwrap();
    let app = router(site("/heymax/", &fake_dist(dir.path())));
    let (status, headers, bytes) =
        get_bytes(&app, "/heymax/data/drill/week/2025-03-03/new.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
    let header = Header::decode(&bytes, Kind::Growth).unwrap();
    assert!(header.count > 0 && header.count == header.first.len() as u64);
    let (status, _, bytes) = get_bytes(&app, "/heymax/data/drill/cohort/week/2025-03-03.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(Header::decode(&bytes, Kind::Cohort).unwrap().count > 0);
    let (status, _, bytes) = get_bytes(&app, "/heymax/data/drill/users/0.bin").await;
    assert_eq!(status, StatusCode::OK);
    let shard = UserShard::decode(&bytes).unwrap();
    assert_eq!((shard.first, shard.version), (0, header.version));
    for bad in [
        "/heymax/data/drill/year/2025-03-03/new.bin",
        "/heymax/data/drill/week/2025-03-03/gone.bin",
        "/heymax/data/drill/week/March/new.bin",
        "/heymax/data/drill/week/2025-03-03/new.json",
        "/heymax/data/drill/week/2025-03-03/new.0.bin",
        "/heymax/data/drill/week/2025-03-03/new.1.bin",
        "/heymax/data/drill/week/2025-03-04/new.bin",
        "/heymax/data/drill/users/99.bin",
        "/heymax/data/drill/users/..bin",
    ] {
        assert_eq!(get(&app, bad).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn long_uris_queries_and_path_segments_get_414_never_an_empty_500() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(site("/heymax/", &fake_dist(dir.path())));
    let series = vec!["growth_week.new_users"; 2_000].join(",");
    for path in [
        format!("/heymax/{}", "a".repeat(300)),
        format!("/heymax/{}.css", "a".repeat(256)),
        format!("/heymax/data/marts/{}.json", "a".repeat(300)),
        format!("/heymax/data/drill/week/2025-03-03/{}.bin", "n".repeat(400)),
        format!("/heymax/explore/?series={series}"),
        format!("/heymax/explore/?q={}", "x".repeat(5_000)),
        format!("/heymax/{}", "b/".repeat(5_000)),
    ] {
        let (status, body) = get(&app, &path).await;
        assert_eq!(status, StatusCode::URI_TOO_LONG, "{}", &path[..60]);
        assert!(body.contains("bytes"), "{body}");
        assert!(
            body.len() < 200,
            "the refusal quotes nothing of the request"
        );
    }
    // Just under the limits is still served.
    assert_eq!(
        get(&app, &format!("/heymax/{}", "a".repeat(255))).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/heymax/explore/?q={}", "x".repeat(4_000)))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_busy_renderer_answers_503_while_json_and_assets_stay_fast() {
    let dir = tempfile::tempdir().unwrap();
    let renders = RenderLimit::new(1, Duration::from_millis(300));
    let guard = Guard {
        renders: renders.clone(),
        hosts: Hosts::Any,
    };
    let app = router_with(site("/heymax/", &fake_dist(dir.path())), guard);
    // Another render holds the only turn.
    let turn = renders.acquire().await.expect("a free turn");
    for page in ["/heymax/growth/", "/heymax/nope"] {
        let started = Instant::now();
        let (status, headers, _) =
            send(&app, Request::get(page).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
        assert!(headers.contains_key(header::RETRY_AFTER), "{page}");
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "it waited first"
        );
    }
    let started = Instant::now();
    for path in [
        "/heymax/data/marts/user_retention.json",
        "/heymax/app-1.css",
        "/heymax/api/runs",
    ] {
        assert_eq!(get(&app, path).await.0, StatusCode::OK, "{path}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not held up by renders"
    );
    drop(turn);
    assert_eq!(get(&app, "/heymax/growth/").await.0, StatusCode::OK);
    assert_eq!(get(&app, "/heymax/nope").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_carry_a_csp_whose_nonce_is_on_every_script() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(site("/heymax/", &fake_dist(dir.path())));
    let mut nonces = Vec::new();
    for page in ["/heymax/", "/heymax/growth/", "/heymax/nope"] {
        let (_, headers, html) = send(&app, Request::get(page).body(Body::empty()).unwrap()).await;
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("no nonce in {policy}"));
        let scripts = html.matches("<script").count();
        assert!(scripts >= 1, "{html}");
        assert_eq!(
            html.matches(&format!("<script nonce=\"{nonce}\"")).count(),
            scripts,
            "{page}: every script carries the nonce: {html}"
        );
        nonces.push(nonce.to_string());
    }
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a fresh nonce per response");
    // Anything else loads nothing and cannot be framed by another site.
    for path in [
        "/heymax/data/marts/user_retention.json",
        "/heymax/app-1.css",
    ] {
        let (_, headers, _) = send(&app, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'self'"),
            "{path}: {policy}"
        );
    }
}

#[tokio::test]
async fn bound_to_loopback_only_loopback_names_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let guard = Guard {
        renders: RenderLimit::default(),
        hosts: Hosts::for_addr("127.0.0.1:3000".parse().unwrap()),
    };
    let app = router_with(site("/", &fake_dist(dir.path())), guard);
    let with_host = |path: &str, host: &str| {
        Request::get(path)
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    };
    for host in ["127.0.0.1:3000", "localhost:3000", "[::1]:3000"] {
        let (status, _, _) = send(&app, with_host("/data/marts/user_retention.json", host)).await;
        assert_eq!(status, StatusCode::OK, "{host}");
        assert_eq!(
            send(&app, with_host("/", host)).await.0,
            StatusCode::OK,
            "{host}"
        );
    }
    for host in ["rebound.example:3000", "localhost:8080", "127.0.0.1"] {
        let (status, headers, body) =
            send(&app, with_host("/data/marts/user_retention.json", host)).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{host}");
        assert!(
            body.contains("DNS rebinding") && body.contains("http://127.0.0.1:3000/"),
            "{body}"
        );
        assert!(!body.contains("rebound"), "{body}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}
