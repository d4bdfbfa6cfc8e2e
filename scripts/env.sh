# Shared settings for the scripts (sourced, not run).
# Builds go to a cache outside the clone when none is set, so a second clone reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/heymax/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
HEYMAX_BIN="$CARGO_TARGET_DIR/release/heymax"

say() { printf '\n== %s\n' "$*" >&2; }

need_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (https://rustup.rs) and run this again" >&2
    exit 1
  fi
}
