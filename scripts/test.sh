#!/usr/bin/env bash
# Every check: formatting, clippy (warnings are errors), unit, integration and property
# tests (release build, the same one the CLI and benchmarks use).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
./scripts/setup.sh
say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo clippy"
cargo clippy --release --locked --all-targets -- -D warnings
say "cargo test"
cargo test --release --locked --workspace
