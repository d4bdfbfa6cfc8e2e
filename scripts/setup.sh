#!/usr/bin/env bash
# Installs what heymax needs to build, serve and test, skipping what is already there:
# the wasm target, trunk, wasm-bindgen-cli (the exact version in Cargo.lock), wasm-opt,
# the npm packages (Plotly.js, playwright-core) and, with --browser, Debian's Chromium.
# Tools land in ~/.cargo/bin, so later runs and other clones reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
need_rust

browser=0
[ "${1:-}" = "--browser" ] && browser=1

if command -v rustup >/dev/null 2>&1; then
  installed="$(rustup component list --installed 2>/dev/null || true)"
  for c in rustfmt clippy; do
    grep -q "^$c" <<<"$installed" || rustup component add "$c"
  done
  rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' \
    || { say "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
fi

# trunk 0.22 needs a newer rustc than this toolchain; 0.21 builds with it.
if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.'; then
  say "installing trunk 0.21 (a few minutes, once)"
  cargo install trunk --version "~0.21" --locked
fi

# The CLI must match the wasm-bindgen crate exactly; trunk is pinned to it in Trunk.toml.
wb_version="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)"
wb_version="${wb_version:-$WASM_BINDGEN_VERSION}"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb_version\$"; then
  say "installing wasm-bindgen-cli $wb_version (about 2 minutes, once)"
  # --locked does not resolve for this version here; its own lock file is not needed.
  cargo install wasm-bindgen-cli --version "$wb_version"
fi

# Debian's binaryen (108) produces a bundle that fails at run time; 116 from crates.io works.
if ! wasm-opt --version 2>/dev/null | grep -q 'version 116'; then
  say "installing wasm-opt (binaryen 116; about 8 minutes, once)"
  cargo install wasm-opt --version "~0.116" --locked
fi

need_node
if [ ! -f node_modules/plotly.js-dist-min/plotly.min.js ] || [ ! -d node_modules/playwright-core ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (Plotly.js, playwright-core)"
  npm ci --no-audit --no-fund
fi

if [ "$browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium (for the browser tests)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
