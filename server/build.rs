//! The server carries the browser bundle (`web/bundle.rs` embeds `../dist/`). Without a
//! bundle the binary could not show its dashboard, so the build stops here with what to
//! do, instead of shipping a server that fails at run time.

fn main() {
    // Relative paths: cargo checks them against this package's folder, in every clone.
    println!("cargo:rerun-if-changed=../dist");
    println!("cargo:rerun-if-changed=../dist/index.html");
    let index = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/index.html");
    if let Err(e) = std::fs::metadata(&index) {
        eprintln!(
            "\nerror: heymax embeds the browser bundle, and {} cannot be read ({e}).\n\
             Build the bundle first: `scripts/bundle.py` (scripts/build.sh runs it, then builds heymax).\n",
            index.display()
        );
        std::process::exit(1);
    }
}
