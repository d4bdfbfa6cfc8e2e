use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

fn fast(workers: usize, retries: u32) -> Policy {
    Policy {
        retries,
        retry_delay: Duration::from_millis(5),
        workers,
    }
}

fn state<'r>(records: &'r [TaskRecord], name: &str) -> &'r TaskRecord {
    records.iter().find(|r| r.name == name).expect("task")
}

fn ok() -> Result<Done, TaskError> {
    Ok(Done::default())
}

#[test]
fn tasks_run_after_their_upstream() {
    let log = Mutex::new(Vec::new());
    let step = |name: &'static str| {
        let log = &log;
        move || {
            log.lock().unwrap().push(name);
            ok()
        }
    };
    let mut dag = Dag::new();
    // Added out of order on purpose.
    dag.task("d", "x", &["b", "c"], step("d"))
        .task("b", "x", &["a"], step("b"))
        .task("a", "x", &[], step("a"))
        .task("c", "x", &["a"], step("c"));
    let dag = dag.validate().unwrap();
    let records = dag.run(&fast(4, 0), &|_| {});
    drop(dag);
    let log = log.into_inner().unwrap();
    let pos = |n| log.iter().position(|x| *x == n).unwrap();
    assert_eq!(log.len(), 4);
    assert!(pos("a") < pos("b") && pos("a") < pos("c"));
    assert!(pos("b") < pos("d") && pos("c") < pos("d"));
    assert!(records.iter().all(|r| r.state == TaskState::Success));
    assert!(records.iter().all(|r| r.attempts == 1));
}

#[test]
fn independent_tasks_run_at_the_same_time() {
    // Each of the two waits until both have started: only possible in parallel.
    let started = AtomicU32::new(0);
    let meet = || {
        started.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while started.load(Ordering::SeqCst) < 2 {
            if Instant::now() > deadline {
                return Err(TaskError::fatal("ran alone"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        ok()
    };
    let mut dag = Dag::new();
    dag.task("root", "x", &[], ok)
        .task("left", "x", &["root"], meet)
        .task("right", "x", &["root"], meet);
    let records = dag.validate().unwrap().run(&fast(2, 0), &|_| {});
    assert!(
        records.iter().all(|r| r.state == TaskState::Success),
        "{records:?}"
    );
}

#[test]
fn a_transient_failure_is_retried_until_it_succeeds() {
    let tries = AtomicU32::new(0);
    let seen = Mutex::new(Vec::new());
    let mut dag = Dag::new();
    dag.task("flaky", "x", &[], || {
        if tries.fetch_add(1, Ordering::SeqCst) < 2 {
            Err(TaskError::transient("connection dropped"))
        } else {
            Ok(Done::rows(7))
        }
    })
    .task("after", "x", &["flaky"], ok);
    let records = dag
        .validate()
        .unwrap()
        .run(&fast(2, 3), &|r| seen.lock().unwrap().push(r.state));
    let flaky = state(&records, "flaky");
    assert_eq!(flaky.state, TaskState::Success);
    assert_eq!(flaky.attempts, 3);
    assert_eq!(flaky.rows, Some(7));
    assert_eq!(flaky.error, None);
    assert_eq!(state(&records, "after").state, TaskState::Success);
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen.iter().filter(|s| **s == TaskState::UpForRetry).count(),
        2
    );
}

#[test]
fn retries_run_out_and_the_task_fails() {
    let tries = AtomicU32::new(0);
    let mut dag = Dag::new();
    dag.task("down", "x", &[], || {
        tries.fetch_add(1, Ordering::SeqCst);
        Err(TaskError::transient("server gone"))
    });
    let start = Instant::now();
    let records = dag.validate().unwrap().run(&fast(1, 2), &|_| {});
    assert_eq!(tries.load(Ordering::SeqCst), 3);
    let down = state(&records, "down");
    assert_eq!(down.state, TaskState::Failed);
    assert_eq!(down.attempts, 3);
    assert_eq!(down.error.as_deref(), Some("server gone"));
    // Backoff: 5 ms, then 10 ms.
    assert!(start.elapsed() >= Duration::from_millis(15));
}

#[test]
fn the_backoff_doubles() {
    let p = fast(1, 5);
    assert_eq!(p.backoff(1), Duration::from_millis(5));
    assert_eq!(p.backoff(2), Duration::from_millis(10));
    assert_eq!(p.backoff(4), Duration::from_millis(40));
}

#[test]
fn quality_and_fatal_failures_are_not_retried() {
    let tries = AtomicU32::new(0);
    let mut dag = Dag::new();
    dag.task("tests", "test", &[], || {
        tries.fetch_add(1, Ordering::SeqCst);
        Err(TaskError::quality("1 error-severity test failed"))
    })
    .task("bug", "x", &[], || {
        tries.fetch_add(1, Ordering::SeqCst);
        Err(TaskError::fatal("bad header"))
    });
    let records = dag.validate().unwrap().run(&fast(2, 5), &|_| {});
    assert_eq!(tries.load(Ordering::SeqCst), 2);
    assert_eq!(state(&records, "tests").state, TaskState::Failed);
    assert_eq!(state(&records, "tests").attempts, 1);
    assert_eq!(state(&records, "tests").failure, Some(FailureKind::Quality));
    assert_eq!(state(&records, "bug").attempts, 1);
}

#[test]
fn a_failure_skips_everything_downstream_but_not_its_siblings() {
    let ran = Mutex::new(Vec::new());
    let step = |name: &'static str| {
        let ran = &ran;
        move || {
            ran.lock().unwrap().push(name);
            ok()
        }
    };
    let mut dag = Dag::new();
    dag.task("a", "x", &[], step("a"))
        .task("test_a", "test", &["a"], || {
            Err(TaskError::quality("failed"))
        })
        .task("b", "x", &["test_a"], step("b"))
        .task("c", "x", &["b"], step("c"))
        .task("side", "x", &["a"], step("side"))
        .task("commit", "commit", &["c", "side"], step("commit"))
        .trigger(Trigger::AllDone);
    let records = dag.validate().unwrap().run(&fast(2, 0), &|_| {});
    assert_eq!(state(&records, "test_a").state, TaskState::Failed);
    assert_eq!(state(&records, "b").state, TaskState::Skipped);
    assert_eq!(state(&records, "c").state, TaskState::Skipped);
    assert_eq!(state(&records, "c").attempts, 0);
    assert_eq!(state(&records, "side").state, TaskState::Success);
    // all_done: runs once everything upstream finished, skipped or not.
    assert_eq!(state(&records, "commit").state, TaskState::Success);
    let ran = ran.into_inner().unwrap();
    assert!(!ran.contains(&"b") && !ran.contains(&"c"));
    assert_eq!(ran.last(), Some(&"commit"));
}

#[test]
fn a_panicking_task_fails_without_taking_the_run_down() {
    let mut dag = Dag::new();
    dag.task("boom", "x", &[], || -> Result<Done, TaskError> {
        panic!("index out of bounds")
    })
    .task("after", "x", &["boom"], ok);
    let records = dag.validate().unwrap().run(&fast(2, 3), &|_| {});
    let boom = state(&records, "boom");
    assert_eq!(boom.state, TaskState::Failed);
    assert_eq!(boom.attempts, 1);
    assert!(
        boom.error
            .as_deref()
            .unwrap()
            .contains("index out of bounds")
    );
    assert_eq!(state(&records, "after").state, TaskState::Skipped);
}

#[test]
fn bad_graphs_are_refused_with_the_names() {
    let mut dag = Dag::new();
    dag.task("a", "x", &["b"], ok).task("b", "x", &["a"], ok);
    let err = dag.validate().err().unwrap().to_string();
    assert!(err.contains("cycle") && err.contains('a') && err.contains('b'));
    let mut dag = Dag::new();
    dag.task("a", "x", &["nope"], ok);
    assert!(dag.validate().err().unwrap().to_string().contains("nope"));
    let mut dag = Dag::new();
    dag.task("a", "x", &[], ok).task("a", "x", &[], ok);
    assert!(matches!(dag.validate(), Err(DagError::Duplicate(_))));
}

#[test]
fn dag_errors_read_as_they_did_with_thiserror() {
    let unknown = DagError::UnknownUpstream {
        task: "gold".into(),
        missing: "bronze".into(),
    };
    assert_eq!(
        unknown.to_string(),
        "task gold depends on bronze, which is not a task of this pipeline"
    );
    assert_eq!(
        DagError::Duplicate("a".into()).to_string(),
        "task a appears twice"
    );
    assert_eq!(
        DagError::Cycle("a, b".into()).to_string(),
        "the tasks a, b depend on each other in a cycle"
    );
}
