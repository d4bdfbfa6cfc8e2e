//! The orchestrator end to end: run history from the CLI, the file sensor, the schedule,
//! failure notifications, the run API's token checks and its 409, and a transient failure
//! (a warehouse locked by another process) retried until it succeeds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// A `heymax serve` child process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(warehouse: &Path, dist: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_heymax"));
    cmd.args([
        "serve",
        "--warehouse",
        p(warehouse),
        "--dist",
        p(dist),
        "--port",
        "0",
    ])
    .args(extra)
    .env_remove("HEYMAX_WAREHOUSE")
    .env_remove("HEYMAX_API_TOKEN")
    .env_remove("HEYMAX_NOTIFY_URL")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("heymax serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("serve prints its URL");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    Server { child, url }
}

/// A minimal HTTP/1.1 request with std only: (status, body).
fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).expect("connects");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies: the JSON is between the chunk sizes; take from the first brace.
    let body = match (body.find(['{', '[']), body.rfind(['}', ']'])) {
        (Some(a), Some(b)) if a <= b => body[a..=b].to_string(),
        _ => body.to_string(),
    };
    (status, body)
}

fn get_json(url: &str) -> Value {
    let (status, body) = http("GET", url, &[], "");
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn runs_json(warehouse: &Path) -> Vec<Value> {
    let out = ok(&heymax(&["runs", "--warehouse", p(warehouse), "--json"]));
    serde_json::from_str(&out).expect("runs --json")
}

fn run_json(warehouse: &Path, id: i64) -> Value {
    let out = ok(&heymax(&[
        "runs",
        "show",
        &id.to_string(),
        "--warehouse",
        p(warehouse),
        "--json",
    ]));
    serde_json::from_str(&out).expect("runs show --json")
}

fn task<'v>(detail: &'v Value, name: &str) -> &'v Value {
    detail["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task"] == name)
        .unwrap_or_else(|| panic!("no task {name}"))
}

fn events(n: usize, start_user: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "2025-03-{:02} 10:{:02}:00.000,u{},miles_earned,bank,{}.0,web,google,SG\n",
                1 + i % 28,
                i % 60,
                start_user + i % 7,
                10 + i
            )
        })
        .collect()
}

/// `good` events and one row with a bad timestamp (quarantined; fails a --strict run).
fn bad_file(dir: &Path, good: usize) -> std::path::PathBuf {
    write(
        &dir.join("bad.csv"),
        &format!(
            "{HEADER}{}not-a-time,u1,miles_earned,bank,1,web,google,SG\n",
            events(good, 0)
        ),
    )
}

fn run_strict(input: &Path, wh: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--quiet",
        "run",
        "--strict",
        "--input",
        p(input),
        "--warehouse",
        p(wh),
    ];
    args.extend_from_slice(extra);
    heymax(&args)
}

#[test]
fn every_cli_run_is_recorded_with_its_tasks_and_a_quality_failure_skips_downstream() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    run(&sample(), &wh);
    let bad = bad_file(dir.path(), 5);
    let out = run_strict(&bad, &wh, &[]);
    assert_eq!(out.status.code(), Some(2));

    let runs = runs_json(&wh);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["run_id"], 2);
    assert_eq!(runs[0]["status"], "failed");
    assert_eq!(runs[0]["trigger"], "cli");
    assert_eq!(runs[0]["failed_task"], "test_bronze");
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap()
            .contains("no_quarantined_rows")
    );
    assert_eq!(runs[1]["status"], "success");
    assert_eq!(runs[1]["rows"], 10_000);

    let ok_run = run_json(&wh, 1);
    let tasks = ok_run["tasks"].as_array().unwrap();
    assert!(tasks.len() >= 20, "{} tasks", tasks.len());
    assert!(
        tasks
            .iter()
            .all(|t| t["state"] == "success" && t["attempts"] == 1)
    );
    assert_eq!(task(&ok_run, "ingest")["rows"], 10_000);
    assert_eq!(
        task(&ok_run, "mart_user_retention")["upstream"][0],
        "activity"
    );

    let failed = run_json(&wh, 2);
    assert_eq!(task(&failed, "test_bronze")["state"], "failed");
    assert_eq!(
        task(&failed, "test_bronze")["attempts"],
        1,
        "quality failures are not retried"
    );
    for skipped in [
        "silver",
        "gold",
        "test_gold",
        "mart_user_growth_metrics_day",
        "test_user_lifecycle_month",
    ] {
        assert_eq!(task(&failed, skipped)["state"], "skipped", "{skipped}");
    }
    // The commit still ran (all_done): the quarantine was kept.
    assert_eq!(task(&failed, "commit")["state"], "success");

    let text = ok(&heymax(&["runs", "--warehouse", p(&wh)]));
    assert!(
        text.contains("failed") && text.contains("test_bronze"),
        "{text}"
    );
    let shown = ok(&heymax(&["runs", "show", "2", "--warehouse", p(&wh)]));
    assert!(
        shown.contains("skipped") && shown.contains("no_quarantined_rows"),
        "{shown}"
    );
    let missing = heymax(&["runs", "show", "9", "--warehouse", p(&wh)]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no run 9"));
}

#[test]
fn the_sensor_waits_for_a_slowly_written_file_and_rejects_a_bad_header() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let inbox = dir.path().join("inbox");
    let dist = fake_dist(dir.path());
    let server = serve(
        &wh,
        &dist,
        &["--watch", p(&inbox), "--settle", "1", "--poll", "0.1"],
        &[],
    );
    wait_for("the inbox", Duration::from_secs(10), || {
        inbox.join("processed").is_dir().then_some(())
    });

    // Written in chunks, each sooner than --settle after the one before.
    let slow = inbox.join("slow.csv");
    let mut file = std::fs::File::create(&slow).unwrap();
    file.write_all(HEADER.as_bytes()).unwrap();
    for chunk in 0..5 {
        file.write_all(events(20, chunk * 10).as_bytes()).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            slow.exists(),
            "taken while still being written (chunk {chunk})"
        );
    }
    drop(file);
    assert!(
        get_json(&format!("{}api/runs", server.url))["runs"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no run before the file is complete"
    );
    let processed = inbox.join("processed/slow.csv");
    wait_for("slow.csv in processed/", Duration::from_secs(30), || {
        processed.exists().then_some(())
    });
    let runs = get_json(&format!("{}api/runs", server.url));
    let run = &runs["runs"][0];
    assert_eq!(run["trigger"], "sensor");
    assert_eq!(run["status"], "success");
    assert_eq!(run["rows"], 100, "every chunk was loaded");

    // A wrong header: rejected with its reason, no run.
    let bad = inbox.join("bad.csv");
    std::fs::write(&bad, "time,who\n2025-01-01,u1\n").unwrap();
    let reason = inbox.join("rejected/bad.reason");
    wait_for("bad.reason", Duration::from_secs(30), || {
        reason.exists().then_some(())
    });
    assert!(inbox.join("rejected/bad.csv").exists());
    assert!(!bad.exists());
    let why = std::fs::read_to_string(&reason).unwrap();
    assert!(why.contains("header"), "{why}");

    // Two files at once, each with a marker: both loaded, one run each.
    for (name, user) in [("a.csv", 100), ("b.csv", 200)] {
        std::fs::write(inbox.join(name), format!("{HEADER}{}", events(10, user))).unwrap();
    }
    for name in ["a.csv.done", "b.done"] {
        std::fs::write(inbox.join(name), "").unwrap();
    }
    wait_for("a.csv and b.csv processed", Duration::from_secs(30), || {
        (inbox.join("processed/a.csv").exists() && inbox.join("processed/b.csv").exists())
            .then_some(())
    });
    let list = get_json(&format!("{}api/runs", server.url));
    let runs = list["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r["status"] == "success"));
    assert!(!inbox.join("a.csv.done").exists() && !inbox.join("b.done").exists());
    let batches: Vec<i64> = runs.iter().filter_map(|r| r["batch_id"].as_i64()).collect();
    assert_eq!(
        batches,
        vec![3, 2, 1],
        "one batch per file, one after the other"
    );
}

#[test]
fn the_schedule_runs_the_pipeline_and_shows_the_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let dist = fake_dist(dir.path());
    let server = serve(
        &wh,
        &dist,
        &["--input", p(&sample()), "--schedule", "*/2 * * * * *"],
        &[],
    );
    let list = wait_for("a scheduled run", Duration::from_secs(30), || {
        let list = get_json(&format!("{}api/runs", server.url));
        let done = list["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["trigger"] == "schedule" && r["status"] == "success");
        done.then_some(list)
    });
    assert_eq!(list["schedule"], "*/2 * * * * *");
    let next = list["next_scheduled_at"].as_str().expect("next time shown");
    assert!(next.ends_with('Z'), "{next}");
    // The marts were built by the schedule alone.
    assert!(wh.join("marts").is_dir());
}

/// Listens for one HTTP request and returns its body.
fn listener() -> (String, std::sync::mpsc::Receiver<String>) {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", server.local_addr().unwrap());
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in server.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .unwrap();
            let _ = send.send(format!(
                "{}{}",
                request_line,
                String::from_utf8_lossy(&body)
            ));
        }
    });
    (url, receive)
}

#[test]
fn a_failed_run_is_announced_and_a_dead_webhook_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let bad = bad_file(dir.path(), 3);
    let (url, received) = listener();
    let out = run_strict(&bad, &wh, &["--notify-url", &url]);
    assert_eq!(out.status.code(), Some(2));
    let request = received
        .recv_timeout(Duration::from_secs(10))
        .expect("a notification");
    assert!(request.starts_with("POST /hook "), "{request}");
    let body: Value = serde_json::from_str(request.split_once('\n').unwrap().1).unwrap();
    assert_eq!(body["event"], "run_failed");
    assert_eq!(body["run_id"], 1);
    assert_eq!(body["failed_task"], "test_bronze");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no_quarantined_rows")
    );

    // Nobody listens there: the run's result is the same, the log says why.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    // (--quiet still logs warnings.)
    let out = run_strict(&bad, &wh, &["--notify-url", &dead_url]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not delivered"), "{stderr}");
    // A run that succeeds sends nothing.
    ok(&heymax(&[
        "--quiet",
        "run",
        "--input",
        p(&sample()),
        "--warehouse",
        p(&wh),
        "--notify-url",
        &url,
    ]));
    assert!(received.recv_timeout(Duration::from_millis(500)).is_err());
}

/// Holds the folder warehouse's writer lock, as another heymax run would.
fn lock_warehouse(wh: &Path) -> std::fs::File {
    let meta = wh.join("_heymax");
    std::fs::create_dir_all(&meta).unwrap();
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(meta.join("lock"))
        .unwrap();
    file.try_lock().unwrap();
    file
}

#[test]
fn the_run_api_checks_its_token_refuses_a_second_run_and_retries_a_locked_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let dist = fake_dist(dir.path());

    // No token configured: nobody may start a run.
    {
        let server = serve(&wh, &dist, &["--input", p(&sample())], &[]);
        let (status, body) = http(
            "POST",
            &format!("{}api/runs", server.url),
            &[("Authorization", "Bearer x")],
            "",
        );
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("HEYMAX_API_TOKEN"), "{body}");
    }

    let server = serve(
        &wh,
        &dist,
        &[
            "--input",
            p(&sample()),
            "--retries",
            "5",
            "--retry-delay",
            "0.5",
        ],
        &[("HEYMAX_API_TOKEN", "s3cret-token")],
    );
    let runs = format!("{}api/runs", server.url);
    let (status, _) = http("POST", &runs, &[], "");
    assert_eq!(status, 401, "no token");
    let (status, _) = http(
        "POST",
        &runs,
        &[("Authorization", "Bearer s3cret-tokeN")],
        "",
    );
    assert_eq!(status, 401, "wrong token");
    let (status, _) = http("POST", &runs, &[("Authorization", "s3cret-token")], "");
    assert_eq!(status, 401, "not a bearer token");

    // Another process holds the warehouse: the run keeps retrying ingest meanwhile.
    let lock = lock_warehouse(&wh);
    let auth = [("Authorization", "Bearer s3cret-token")];
    let (status, body) = http("POST", &runs, &auth, "");
    assert_eq!(status, 202, "{body}");
    let started: Value = serde_json::from_str(&body).unwrap();
    let id = started["run_id"].as_i64().unwrap();
    let (status, body) = http("POST", &runs, &auth, "");
    assert_eq!(status, 409, "{body}");
    let refused: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refused["running"], id);

    let detail_url = format!("{}api/runs/{id}", server.url);
    wait_for("ingest up for retry", Duration::from_secs(10), || {
        (task(&get_json(&detail_url), "ingest")["state"] == "up_for_retry").then_some(())
    });
    assert_eq!(get_json(&runs)["running"], id);
    drop(lock);
    let detail = wait_for("the run to finish", Duration::from_secs(60), || {
        let d = get_json(&detail_url);
        (d["run"]["status"] != "running").then_some(d)
    });
    assert_eq!(detail["run"]["status"], "success", "{detail}");
    assert_eq!(detail["run"]["trigger"], "api");
    let ingest = task(&detail, "ingest");
    assert!(ingest["attempts"].as_i64().unwrap() >= 2, "{ingest}");
    assert_eq!(ingest["state"], "success");
    // The dashboard reads the same JSON under data/.
    assert_eq!(
        get_json(&format!("{}data/runs/{id}.json", server.url))["run"]["run_id"],
        id
    );
    assert!(get_json(&format!("{}data/runs.json", server.url))["running"].is_null());
    let (status, _) = http("GET", &format!("{}api/runs/999", server.url), &[], "");
    assert_eq!(status, 404);
}
