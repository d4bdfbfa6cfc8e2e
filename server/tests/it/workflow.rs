//! `.github/workflows/pages.yml` cannot run here, so this checks what can be checked: it is
//! valid YAML, it uses the official Pages actions with the permissions they need, and its
//! `heymax` commands parse with today's CLI and publish the folder the export writes, under
//! the repository's name.

use clap::Parser;
use heymax::cli::{Cli, Command};
use yaml_rust2::{Yaml, YamlLoader};

use crate::util::repo;

fn workflow() -> Yaml {
    let path = repo().join(".github/workflows/pages.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut docs =
        YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn steps(job: &Yaml) -> &[Yaml] {
    job["steps"].as_vec().expect("a job with steps")
}

/// A step's `run` as arguments, with the repository name filled in for the expression.
fn heymax_args(run: &str) -> Vec<String> {
    let run = run.replace("${{ github.event.repository.name }}", "heymax");
    let mut args: Vec<String> = run.split_whitespace().map(|a| a.replace('"', "")).collect();
    args[0] = "heymax".into();
    args
}

#[test]
fn the_pages_workflow_builds_exports_and_deploys() {
    let wf = workflow();
    assert!(!wf["on"]["push"].is_badvalue(), "runs on push");
    assert!(
        !wf["on"]["workflow_dispatch"].is_badvalue(),
        "can be run by hand"
    );
    assert_eq!(wf["permissions"]["pages"].as_str(), Some("write"));
    assert_eq!(wf["permissions"]["id-token"].as_str(), Some("write"));

    let build = &wf["jobs"]["build"];
    let uses: Vec<&str> = steps(build)
        .iter()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    for action in [
        "actions/checkout@",
        "actions/configure-pages@",
        "actions/upload-pages-artifact@",
    ] {
        assert!(
            uses.iter().any(|u| u.starts_with(action)),
            "build uses {action}"
        );
    }
    let runs: Vec<&str> = steps(build)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    for script in ["scripts/setup.sh", "scripts/build.sh"] {
        assert!(runs.contains(&script), "build runs {script}");
        assert!(repo().join(script).is_file(), "{script} exists");
    }

    let heymax: Vec<Cli> = runs
        .iter()
        .filter(|r| r.contains("release/heymax "))
        .map(|r| Cli::try_parse_from(heymax_args(r)).unwrap_or_else(|e| panic!("{r}: {e}")))
        .collect();
    let [run, export] = &heymax[..] else {
        panic!("expected a run and an export step: {runs:?}")
    };
    let (Command::Run(run), Command::Export(export)) = (&run.command, &export.command) else {
        panic!("expected `heymax run` then `heymax export`")
    };
    assert_eq!(
        run.warehouse.to_string(),
        export.warehouse.to_string(),
        "export reads what run wrote"
    );
    assert_eq!(
        export.base_path, "/heymax/",
        "the base path is /<repository>/"
    );
    let events = wf["env"]["EVENTS"]
        .as_str()
        .expect("EVENTS names the input");
    assert!(repo().join(events).is_file(), "{events} exists");

    let upload = steps(build)
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-pages-artifact@"))
        })
        .unwrap();
    assert_eq!(
        upload["with"]["path"].as_str(),
        export.out.to_str(),
        "uploads the exported folder"
    );

    let deploy = &wf["jobs"]["deploy"];
    assert_eq!(deploy["needs"].as_str(), Some("build"));
    assert_eq!(deploy["environment"]["name"].as_str(), Some("github-pages"));
    assert!(steps(deploy).iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/deploy-pages@"))
    }));
}
