#!/usr/bin/env bash
# Every check: formatting, clippy (warnings are errors), unit, integration and property
# tests (release build, the same one the CLI and benchmarks use), then the browser tests
# (playwright-core + Debian's Chromium against `heymax serve` on the sample).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
./scripts/setup.sh --browser
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --release --locked --all-targets -- -D warnings
./scripts/build.sh
say "cargo test"
cargo test --release --locked --workspace
say "browser tests (e2e/, screenshots in e2e/artifacts/)"
HEYMAX_BIN="$HEYMAX_BIN" node --test --test-concurrency=1 e2e/
