//! The server carries the browser bundle (`web/bundle.rs` embeds `../dist/`). Without a
//! bundle the binary could not show its dashboard, so the build stops here with what to
//! do, instead of shipping a server that fails at run time. It also names the bundle
//! (its content-hashed wasm file) for `heymax --version`.

use std::path::Path;

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let index = dist.join("index.html");
    println!("cargo:rerun-if-changed={}", index.display());
    let html = match std::fs::read_to_string(&index) {
        Ok(html) => html,
        Err(e) => {
            eprintln!(
                "\nerror: heymax embeds the browser bundle, and {} cannot be read ({e}).\n\
                 Build the bundle first: `scripts/bundle.py` (scripts/build.sh runs it, then builds heymax).\n",
                index.display()
            );
            std::process::exit(1);
        }
    };
    // `hydrate-<hash>_bg.wasm` names this bundle.
    let id = html
        .split(['\'', '"', '/'])
        .find(|s| s.starts_with("hydrate-") && s.ends_with("_bg.wasm"))
        .map(|s| s.trim_end_matches("_bg.wasm").to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=HEYMAX_BUNDLE_ID={id}");
}
