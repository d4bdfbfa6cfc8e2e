//! One binary (issue 19): `heymax` carries its browser bundle, so `serve` and `export` work
//! from an empty folder with nothing beside the binary, and `--version` names the bundle.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::*;

/// `heymax <args>` run in `dir`, with no bundle folder named anywhere.
fn heymax_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_heymax"))
        .args(args)
        .current_dir(dir)
        .env_remove("HEYMAX_DIST")
        .env_remove("HEYMAX_WAREHOUSE")
        .output()
        .expect("heymax runs")
}

/// A GET over plain HTTP/1.1: (status, headers in lower case, body bytes).
fn get(url: &str) -> (u16, String, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').expect("a path");
    let mut stream = std::net::TcpStream::connect(host).expect("connects");
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head, response[split + 4..].to_vec())
}

#[test]
fn serve_and_export_work_from_an_empty_folder_with_the_built_in_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let version = ok(&heymax_in(dir.path(), &["--version"]));
    let id = version
        .split_whitespace()
        .find(|w| w.starts_with("hydrate-"))
        .map(|w| w.trim_end_matches(')').to_string())
        .unwrap_or_else(|| panic!("--version names no bundle: {version}"));

    let sample = sample();
    ok(&heymax_in(
        dir.path(),
        &["--quiet", "run", "--input", p(&sample), "--warehouse", "wh"],
    ));

    // export: the site carries the bundle the binary was built with.
    ok(&heymax_in(
        dir.path(),
        &["--quiet", "export", "--warehouse", "wh", "--out", "site"],
    ));
    let site = dir.path().join("site");
    let wasm = site.join(format!("{id}_bg.wasm"));
    assert!(wasm.is_file(), "{} is missing", wasm.display());
    assert!(std::fs::read(&wasm).unwrap().starts_with(b"\0asm"));
    assert!(site.join("plotly.min.js").is_file());
    let page = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        page.contains(&format!("{id}.js")),
        "the page loads its bundle"
    );

    // serve: the page and the bundle's files come from the binary.
    let mut child = Command::new(env!("CARGO_BIN_EXE_heymax"))
        .args(["serve", "--warehouse", "wh", "--port", "0"])
        .current_dir(dir.path())
        .env_remove("HEYMAX_DIST")
        .env_remove("HEYMAX_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("heymax serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("serve prints its URL");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(str::to_string);
    let checks = || {
        let url = url.unwrap_or_else(|| panic!("no URL in {line:?}"));
        let (status, _, body) = get(&url);
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).contains(&format!("{id}.js")));
        let (status, head, body) = get(&format!("{url}{id}_bg.wasm"));
        assert_eq!(status, 200, "{head}");
        assert!(head.contains("content-type: application/wasm"), "{head}");
        assert!(body.starts_with(b"\0asm"));
        let (status, _, _) = get(&format!("{url}plotly.min.js"));
        assert_eq!(status, 200);
        // The template is never served, nor anything outside the bundle.
        assert_eq!(get(&format!("{url}index.html")).0, 404);
        assert_eq!(get(&format!("{url}..%2fCargo.toml")).0, 404);
    };
    let result = std::panic::catch_unwind(checks);
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }

    // The folder holds only what the commands were asked to write.
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["site", "wh"]);
}

#[test]
fn a_missing_bundle_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = heymax_in(
        dir.path(),
        &[
            "export",
            "--warehouse",
            "wh",
            "--out",
            "site",
            "--dist",
            "nope",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scripts/bundle.py"), "{err}");
    assert!(err.contains("leave out --dist"), "{err}");
}
