#!/usr/bin/env bash
# Installs what heymax needs to build, serve and test, skipping what is already there.
# Building the browser bundle needs the wasm target, wasm-bindgen-cli (the exact version
# in Cargo.lock) and the npm packages (Plotly.js and esbuild for its partial bundle,
# binaryen's wasm-opt); the committed bundle makes them unneeded until its sources change
# (scripts/env.sh: bundle_needs_build). The tests (--browser) need the wasm target (the
# wasm clippy), playwright-core from npm and Debian's Chromium. wasm-bindgen lands in
# ~/.cargo/bin, so later runs and other clones reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
need_rust

browser=0
[ "${1:-}" = "--browser" ] && browser=1
bundle=0
bundle_needs_build && bundle=1

if command -v rustup >/dev/null 2>&1; then
  installed="$(rustup component list --installed 2>/dev/null || true)"
  for c in rustfmt clippy; do
    grep -q "^$c" <<<"$installed" || rustup component add "$c"
  done
  [ "$bundle$browser" = 00 ] || rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' \
    || { say "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
fi

# The CLI must match the wasm-bindgen crate exactly (scripts/bundle.py runs it).
wb_version="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)"
wb_version="${wb_version:-$WASM_BINDGEN_VERSION}"
if [ "$bundle" = 1 ] && ! wasm-bindgen --version 2>/dev/null | grep -q " $wb_version\$"; then
  say "installing wasm-bindgen-cli $wb_version (about 2 minutes, once)"
  # --locked does not resolve for this version here; its own lock file is not needed.
  # Its own target folder: the build cache's profile settings are not its business.
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR}/tools" cargo install wasm-bindgen-cli --version "$wb_version"
fi

[ "$bundle$browser" = 00 ] && exit 0
need_node
# wasm-opt (binaryen 116) comes from npm too: seconds instead of 8 minutes from source.
if [ ! -f node_modules/plotly.js/package.json ] || [ ! -d node_modules/esbuild ] \
   || [ ! -d node_modules/binaryen ] || [ ! -d node_modules/playwright-core ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci (Plotly.js and esbuild, binaryen's wasm-opt, playwright-core)"
  npm ci --no-audit --no-fund
fi

if [ "$browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium (for the browser tests)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
