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
