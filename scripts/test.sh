#!/usr/bin/env bash
# Every check: formatting, the browser bundle, clippy (warnings are errors), unit, integration and property
# tests (release build, the same one the CLI and benchmarks use; the PostgreSQL warehouse
# ones against a throwaway server, scripts/pg.sh; the `--engine spark` ones against a
# throwaway Spark standalone cluster on loopback, scripts/spark.sh), then the browser tests
# (playwright-core + Debian's Chromium on the sample) twice: against `heymax serve`, and
# against `heymax export --base-path /heymax/` served by a plain static server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
need_rust
if [ "${CI:-}" = true ]; then
  # dist/ is committed so a new machine need not build it: it must be built from the
  # committed sources (CI rebuilds it below all the same, and tests that one).
  say "the committed browser bundle is built from the committed sources (scripts/bundle.py --check)"
  python3 scripts/bundle.py --check
fi
./scripts/setup.sh --browser
say "cargo fmt --check"
cargo fmt --all -- --check
# The server carries the browser bundle (its build.rs needs dist/), so the bundle comes first.
build_bundle
say "cargo clippy"
cargo clippy --release --locked --all-targets -- -D warnings
say "cargo clippy, wasm (the browser-only code)"
cargo clippy --release --locked --target wasm32-unknown-unknown -p heymax-app --features hydrate --lib --bins -- -D warnings
say "cargo build --release -p heymax"
cargo build --release --locked -p heymax
say "a throwaway PostgreSQL for the warehouse tests (scripts/pg.sh)"
pg_env="$(scripts/pg.sh start)"
eval "$pg_env"
# Both stopped however this script ends: success, a failed test, or Ctrl-C.
trap 'scripts/pg.sh stop "$HEYMAX_PG_DIR"; [ -z "${HEYMAX_SPARK_DIR:-}" ] || scripts/spark.sh stop "$HEYMAX_SPARK_DIR"' EXIT
trap 'exit 130' INT TERM
export HEYMAX_REQUIRE_PG=1
say "a throwaway Spark cluster for the --engine spark tests (scripts/spark.sh: pyspark venv, JDK 17)"
spark_env="$(scripts/spark.sh start)"
eval "$spark_env"
export HEYMAX_REQUIRE_SPARK=1
say "cargo test (PostgreSQL at $HEYMAX_TEST_PG, Spark at $HEYMAX_SPARK_MASTER)"
cargo test --release --locked --workspace
say "browser tests on heymax serve (e2e/, screenshots in e2e/artifacts/)"
HEYMAX_BIN="$HEYMAX_BIN" HEYMAX_E2E_SITE=served node --test --test-concurrency=1 e2e/
command -v python3 >/dev/null || { echo "python3 not found: the static-site browser tests serve the export with python3 -m http.server; install Python 3" >&2; exit 1; }
say "browser tests on the exported static site under /heymax/"
HEYMAX_BIN="$HEYMAX_BIN" HEYMAX_E2E_SITE=exported node --test --test-concurrency=1 e2e/
