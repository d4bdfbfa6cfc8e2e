#!/usr/bin/env bash
# Builds the browser bundle (trunk -> dist/) and the heymax binary (release).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
say "trunk build --release (the browser bundle -> dist/)"
TRUNK_SKIP_VERSION_CHECK=true trunk build --release
# Precompressed copies of the big assets; `heymax serve` sends them to gzip-capable browsers.
gzip -9 -k -f dist/*.js dist/*.wasm dist/*.css
say "cargo build --release -p heymax (the first build takes several minutes)"
cargo build --release --locked -p heymax
