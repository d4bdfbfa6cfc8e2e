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

# A fresh checkout has no browser bundle yet, and heymax's build.rs refuses to build
# without one. The server's dependencies (polars, the Leptos SSR stack: most of the first
# build) need no bundle, so they build in the background while wasm-bindgen installs and
# the bundle builds; --keep-going lets cargo go on past heymax's own (refused) build.
# A no-op when dist/ exists: then the dependencies are built already, or a later build
# would need them after the bundle anyway.
deps_build_start() {
  DEPS_BUILD_PID=""
  [ -f dist/index.html ] && return 0
  DEPS_BUILD_LOG="$(mktemp -t heymax-deps-build.XXXXXX)"
  say "building the server's dependencies in the background while the bundle builds (log: $DEPS_BUILD_LOG)"
  cargo build --release --locked -p heymax --keep-going >"$DEPS_BUILD_LOG" 2>&1 &
  DEPS_BUILD_PID=$!
  # Not left running when the script stops early (a missing tool, Ctrl-C).
  trap 'kill "${DEPS_BUILD_PID:-}" 2>/dev/null || true' EXIT
}

# Waits for deps_build_start's build (its failure is heymax's build.rs without a bundle;
# the real build after the bundle reports any other error itself).
deps_build_wait() {
  [ -n "${DEPS_BUILD_PID:-}" ] || return 0
  say "waiting for the server's dependencies (background build)"
  wait "$DEPS_BUILD_PID" || true
  rm -f "$DEPS_BUILD_LOG"
  DEPS_BUILD_PID=""
}

# The browser bundle (scripts/bundle.py -> dist/), then heymax, which embeds it.
build_bundle_and_server() {
  say "scripts/bundle.py (the browser bundle -> dist/)"
  python3 scripts/bundle.py
  deps_build_wait
  say "cargo build --release -p heymax (the first build takes several minutes)"
  cargo build --release --locked -p heymax
}
