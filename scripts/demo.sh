#!/usr/bin/env bash
# The main job: build heymax, run the pipeline on the sample events into ./warehouse and
# export the marts to ./warehouse/export (CSV and JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
./scripts/setup.sh
say "building heymax (release; the first build takes several minutes)"
cargo build --release --locked -p heymax
input="${1:-data/sample/event_stream.csv}"
say "heymax run --input $input --warehouse warehouse"
"$HEYMAX_BIN" run --input "$input" --warehouse warehouse
for f in csv json; do
  "$HEYMAX_BIN" --quiet marts export --warehouse warehouse --format "$f" --out warehouse/export
done
say "marts exported to warehouse/export/ (CSV and JSON)"
