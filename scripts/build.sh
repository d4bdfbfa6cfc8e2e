#!/usr/bin/env bash
# Builds the browser bundle (scripts/bundle.py -> dist/) and the heymax binary (release),
# which carries the bundle inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
say "scripts/bundle.py (the browser bundle -> dist/)"
python3 scripts/bundle.py
say "cargo build --release -p heymax (the first build takes several minutes)"
cargo build --release --locked -p heymax
