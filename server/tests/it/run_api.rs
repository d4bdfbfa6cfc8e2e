//! `POST /api/runs {"input": ...}` through the router (`oneshot`, an orchestrator in this
//! process): only the server's `--input` or files inside an allowed folder load; any
//! other path is refused with one message whether it exists or not, and no response
//! quotes more than a short, escaped prefix of a file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use heymax::drill::DrillStore;
use heymax::orchestrator::{Config, Orchestrator};
use heymax::web::{AllowedInputs, Head, MartStore, Runs, Site, router};
use serde_json::Value;
use tower::ServiceExt;

use crate::util::*;

const TOKEN: &str = "s3cret-token";

struct Api {
    app: axum::Router,
    orchestrator: Arc<Orchestrator>,
    inbox: PathBuf,
    outside: PathBuf,
    _dir: tempfile::TempDir,
}

/// A server whose allowed folder is `<tmp>/inbox`, with files outside it in `<tmp>/outside`.
fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let wh = dir.path().join("wh");
    let orchestrator = Arc::new(Orchestrator::new(Config::new(wh.clone().into())));
    let runs = Runs {
        orchestrator: Some(orchestrator.clone()),
        token: Some(TOKEN.into()),
        allowed: AllowedInputs::new(None, std::slice::from_ref(&inbox)).unwrap(),
        ..Runs::read_only(&wh.clone().into())
    };
    let site = Site {
        marts: Arc::new(MartStore::new(&wh.clone().into())),
        drill: Arc::new(DrillStore::new(&wh.into())),
        head: Head::empty(),
        config: app::SiteConfig::new("/"),
        bundle: None,
        prerender: false,
        runs: Arc::new(runs),
    };
    Api {
        app: router(site),
        orchestrator,
        inbox,
        outside,
        _dir: dir,
    }
}

impl Api {
    /// POST api/runs with the token and `{"input": input}`: (status, error text or body).
    async fn start(&self, input: &Path) -> (StatusCode, String) {
        let body = serde_json::json!({ "input": input }).to_string();
        let request = Request::post("/api/runs")
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        let text = json["error"]
            .as_str()
            .map_or_else(|| json.to_string(), str::to_string);
        (status, text)
    }

    fn wait_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.orchestrator.running().is_some() {
            assert!(Instant::now() < deadline, "the run did not finish");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The refusal without the quoted path (which is the request's own text).
fn unquoted(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    assert_eq!(parts.len(), 3, "{text}");
    format!("{}{}", parts[0], parts[2])
}

#[tokio::test]
async fn paths_outside_the_allowed_folders_are_refused_alike_and_never_read() {
    let api = api();
    let secret_line = "root:$6$very-secret-hash:19000:0:99999:7:::";
    let secret = write(&api.outside.join("shadow"), &format!("{secret_line}\n"));
    // A perfectly loadable CSV outside: it must not be loaded either.
    let csv = write(
        &api.outside.join("events.csv"),
        &format!("{HEADER}2025-03-03 10:00:00,u_1,miles_earned,dining,10.0,web,organic,SG\n"),
    );
    std::os::unix::fs::symlink(&secret, api.inbox.join("link.csv")).unwrap();
    std::os::unix::fs::symlink(&api.outside, api.inbox.join("up")).unwrap();
    let relative_escape = PathBuf::from("../outside/events.csv");
    let mut refusals = Vec::new();
    for path in [
        secret.clone(),
        csv.clone(),
        api.outside.join("missing.csv"),
        PathBuf::from("/etc/shadow"),
        PathBuf::from("/proc/self/environ"),
        PathBuf::from("/nonexistent/file.csv"),
        relative_escape,
        api.inbox.join("../outside/events.csv"),
        PathBuf::from("link.csv"),
        PathBuf::from("up/events.csv"),
        PathBuf::from("missing.csv"),
    ] {
        let (status, text) = api.start(&path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}: {text}", path.display());
        assert!(!text.contains("very-secret"), "{text}");
        assert!(
            !text.contains("HEYMAX") && !text.contains("PATH="),
            "{text}"
        );
        refusals.push(unquoted(&text));
    }
    // One message whatever exists: no file-existence oracle.
    refusals.dedup();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(refusals[0].contains("--allow-input"), "{}", refusals[0]);
    assert!(api.orchestrator.running().is_none(), "nothing was started");
}

#[tokio::test]
async fn a_bad_header_in_an_allowed_file_is_quoted_short_and_escaped() {
    let api = api();
    let header = format!("\u{1b}[31m{}\t{}", "x,".repeat(4000), "tail-marker");
    write(&api.inbox.join("bad.csv"), &format!("{header}\nrow\n"));
    let (status, text) = api.start(Path::new("bad.csv")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.chars().count() <= 301, "{} chars: {text}", text.len());
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(!text.contains("tail-marker"), "{text}");
}

#[tokio::test]
async fn files_inside_the_allowed_folder_load_by_relative_or_absolute_path() {
    let api = api();
    let rows = "2025-03-03 10:00:00,u_1,miles_earned,dining,10.0,web,organic,SG\n";
    write(&api.inbox.join("a.csv"), &format!("{HEADER}{rows}"));
    std::fs::create_dir(api.inbox.join("batch")).unwrap();
    write(&api.inbox.join("batch/b.csv"), &format!("{HEADER}{rows}"));
    for path in [
        PathBuf::from("a.csv"),
        api.inbox.join("a.csv"),
        PathBuf::from("batch"),
    ] {
        let (status, body) = api.start(&path).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{}: {body}", path.display());
        api.wait_idle();
    }
    // Without --input and without a body there is nothing to load.
    let request = Request::post("/api/runs")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
