//! Atomic writes: a run killed before or during its commit leaves the previous warehouse
//! readable and consistent (rolled back before the journal, rolled forward after it).

use crate::util::*;

/// Runs the pipeline on the sample with the crash hook set to `point`.
fn crash_run(wh: &std::path::Path, point: &str) -> std::process::Output {
    heymax_env(
        &[
            "--quiet",
            "run",
            "--input",
            p(&sample()),
            "--warehouse",
            p(wh),
        ],
        &[("HEYMAX_CRASH_AT", point)],
    )
}

#[test]
fn a_run_killed_before_commit_leaves_the_previous_warehouse() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let half = write(
        &dir.path().join("half.csv"),
        &std::fs::read_to_string(sample())
            .unwrap()
            .lines()
            .take(3000)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    run(&half, &wh);
    let before = export(&wh, dir.path());
    let out = crash_run(&wh, "before-commit");
    assert!(!out.status.success(), "the crash hook must kill the run");
    assert_eq!(
        export(&wh, dir.path()),
        before,
        "previous version still served"
    );
    // The next run works and discards the dead run's staged files.
    run(&sample(), &wh);
    assert!(!wh.join("_heymax/staging").exists());
    let whole = dir.path().join("whole");
    run(&sample(), &whole);
    assert_eq!(export(&wh, dir.path()), export(&whole, dir.path()));
}

#[test]
fn a_run_killed_mid_commit_is_rolled_forward_on_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = crash_run(&wh, "mid-commit");
    assert!(!out.status.success());
    assert!(
        wh.join("_heymax/journal.json").exists(),
        "the commit was decided"
    );
    // A reader finishes the commit, then sees the complete new version.
    let marts = export(&wh, dir.path());
    assert!(!wh.join("_heymax/journal.json").exists());
    let whole = dir.path().join("whole");
    run(&sample(), &whole);
    assert_eq!(marts, export(&whole, dir.path()));
}
