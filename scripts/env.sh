# Shared settings for the scripts (sourced, not run).
# Builds go to a cache outside the clone when none is set, so a second clone reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/heymax/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Where `cargo install` puts wasm-bindgen-cli (scripts/setup.sh), for scripts/bundle.py.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
HEYMAX_BIN="$CARGO_TARGET_DIR/release/heymax"

say() { printf '\n== %s\n' "$*" >&2; }

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (https://rustup.rs) and run this again" >&2
    exit 1
  fi
}

# wasm-bindgen crate and CLI must match; Cargo.lock pins the crate with "=".
WASM_BINDGEN_VERSION=0.2.130

need_node() {
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: install Node.js 20+ and run this again" >&2
    exit 1
  fi
}

# The browser bundle is committed (dist/); it is rebuilt only when the sources it is built
# from changed since (scripts/bundle.py --check), or always in CI (CI=true) or with
# HEYMAX_REBUILD_BUNDLE=1. Reusing it spares a new machine wasm-bindgen, npm and the wasm build.
bundle_needs_build() {
  [ "${CI:-}" = true ] || [ "${HEYMAX_REBUILD_BUNDLE:-}" = 1 ] || ! python3 scripts/bundle.py --check 2>/dev/null
}

# The browser bundle (scripts/bundle.py -> dist/) when it must be rebuilt.
build_bundle() {
  if bundle_needs_build; then
    say "scripts/bundle.py (the browser bundle -> dist/)"
    python3 scripts/bundle.py
  else
    say "the committed browser bundle (dist/) is built from these sources: reused"
  fi
}

# The browser bundle (scripts/bundle.py -> dist/), then heymax, which embeds it.
build_bundle_and_server() {
  build_bundle
  say "cargo build --release -p heymax (the first build takes several minutes)"
  cargo build --release --locked -p heymax
}
