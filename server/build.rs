//! The server carries the browser bundle (`web/bundle.rs` embeds `../dist/`). Without a
//! bundle the binary could not show its dashboard, so the build stops here with what to
//! do, instead of shipping a server that fails at run time.

fn main() {
    // Relative paths: cargo checks them against this package's folder, in every clone.
    println!("cargo:rerun-if-changed=../dist");
    println!("cargo:rerun-if-changed=../dist/index.html");
    // Read when the script runs, not baked in when it is compiled: one compiled build
    // script serves every clone that shares the build cache (a clone elsewhere once got
    // another clone's path from `env!`).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into());
    let index = std::path::Path::new(&manifest).join("../dist/index.html");
    if let Err(e) = std::fs::metadata(&index) {
        eprintln!(
            "\nerror: heymax embeds the browser bundle, and {} cannot be read ({e}).\n\
             Build the bundle first: `scripts/bundle.py` (scripts/build.sh runs it, then builds heymax).\n",
            index.display()
        );
        std::process::exit(1);
    }
}
