//! The file sensor and writers that pause longer than `--settle`: a file that changes
//! during its run is not moved, one that grows after it was moved comes back to the
//! inbox, and in the end every row is loaded exactly once (loads are idempotent by
//! `event_id`).

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use heymax::orchestrator::sensor::{Sensor, SensorConfig};
use heymax::orchestrator::{Config, Orchestrator};
use serde_json::Value;

use crate::util::*;

fn wait_for<T>(
    what: &str,
    timeout: Duration,
    step: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(step);
    }
}

/// `n` events numbered from `from`; distinct miles, so no two share an `event_id`.
fn events(n: usize, from: usize) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "2025-03-{:02} 10:{:02}:00.000,u{},miles_earned,bank,{}.0,web,google,SG\n",
                1 + i % 28,
                i % 60,
                i % 7,
                10 + i
            )
        })
        .collect()
}

/// The events the marts count: the sum of `interactions` over `user_interactions`.
fn mart_events(wh: &Path, dir: &Path) -> f64 {
    export(wh, dir)["user_interactions"]
        .1
        .iter()
        .map(|r| r["interactions"].parse::<f64>().expect("a count"))
        .sum()
}

#[test]
fn a_file_that_grows_during_its_run_stays_in_the_inbox_and_is_loaded_whole_later() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let inbox = dir.path().join("inbox");
    let orchestrator = Orchestrator::new(Config::new(wh.as_path().into()));
    let mut sensor = Sensor::new(SensorConfig {
        inbox: inbox.clone(),
        poll: Duration::from_millis(10),
        settle: Duration::from_millis(50),
        require_done: false,
    })
    .unwrap();
    let file = inbox.join("slow.csv");
    let mut writer = std::fs::File::create(&file).unwrap();
    writer
        .write_all(format!("{HEADER}{}", events(50, 0)).as_bytes())
        .unwrap();
    writer.flush().unwrap();
    let settled = |sensor: &mut Sensor| {
        wait_for(
            "slow.csv to settle",
            Duration::from_secs(30),
            Duration::from_millis(10),
            || sensor.poll().contains(&file).then_some(()),
        )
    };

    // The writer paused longer than settle, and resumes while the run is in progress.
    settled(&mut sensor);
    let resumed_during_the_run = std::thread::scope(|s| {
        let resume = s.spawn(|| {
            wait_for(
                "the run to start",
                Duration::from_secs(60),
                Duration::from_millis(1),
                || orchestrator.running(),
            );
            writer.write_all(events(50, 50).as_bytes()).unwrap();
            writer.flush().unwrap();
            orchestrator.running().is_some()
        });
        sensor.load(&orchestrator, &file);
        resume.join().expect("the writer thread")
    });
    assert!(
        resumed_during_the_run,
        "the run ended before the writer resumed: nothing was tested"
    );
    assert!(file.exists(), "moved to processed/ while still changing");
    assert!(!inbox.join("processed/slow.csv").exists());
    drop(writer);

    // Loaded again once it settles: the whole file, the first half not twice.
    settled(&mut sensor);
    sensor.load(&orchestrator, &file);
    assert!(!file.exists());
    let processed = std::fs::read_to_string(inbox.join("processed/slow.csv")).unwrap();
    assert_eq!(processed.lines().count(), 101);
    assert_eq!(
        mart_events(&wh, dir.path()),
        100.0,
        "every row exactly once"
    );
}

/// A `heymax serve --watch` child process, killed when dropped.
struct Watching(Child);

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn runs(wh: &Path) -> Option<Vec<Value>> {
    // Read while the server may be writing the history: a failed read is tried again.
    let out = heymax(&["runs", "--warehouse", p(wh), "--json"]);
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

#[test]
fn a_writer_that_pauses_longer_than_settle_has_every_row_loaded_once() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let inbox = dir.path().join("inbox");
    let dist = fake_dist(dir.path());
    let server = Watching(
        Command::new(env!("CARGO_BIN_EXE_heymax"))
            .args([
                "serve",
                "--warehouse",
                p(&wh),
                "--dist",
                p(&dist),
                "--port",
                "0",
            ])
            .args(["--watch", p(&inbox), "--settle", "0.3", "--poll", "0.05"])
            .env_remove("HEYMAX_WAREHOUSE")
            .env_remove("HEYMAX_API_TOKEN")
            .env_remove("HEYMAX_NOTIFY_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("heymax serve starts"),
    );
    let step = Duration::from_millis(50);
    wait_for("the inbox", Duration::from_secs(30), step, || {
        inbox.join("processed").is_dir().then_some(())
    });

    // Half the file, then a pause the sensor takes for the end of it.
    let file = inbox.join("slow.csv");
    let processed = inbox.join("processed/slow.csv");
    let mut writer = std::fs::File::create(&file).unwrap();
    writer
        .write_all(format!("{HEADER}{}", events(50, 0)).as_bytes())
        .unwrap();
    writer.flush().unwrap();
    wait_for(
        "the first half in processed/",
        Duration::from_secs(60),
        step,
        || processed.exists().then_some(()),
    );
    // The rest, through the writer's open file, which now sits in processed/.
    writer.write_all(events(50, 50).as_bytes()).unwrap();
    drop(writer);

    let runs = wait_for("a second run", Duration::from_secs(60), step, || {
        runs(&wh).filter(|r| {
            r.len() == 2
                && r.iter().all(|r| r["status"] == "success")
                && processed.exists()
                && !file.exists()
        })
    });
    drop(server);
    let rows: Vec<i64> = runs.iter().filter_map(|r| r["rows"].as_i64()).collect();
    assert_eq!(rows, vec![100, 50], "the half, then the whole file");
    let text = std::fs::read_to_string(&processed).unwrap();
    assert_eq!(text.lines().count(), 101);
    assert_eq!(
        mart_events(&wh, dir.path()),
        100.0,
        "every row exactly once"
    );
}
