#!/usr/bin/env bash
# Installs what heymax needs to build and test, skipping what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
need_rust
if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi
