#!/usr/bin/env bash
# The main job: install what is missing, build heymax and the browser bundle, run the
# pipeline on the sample events into ./warehouse, export the marts (CSV and JSON) and the
# static site, then serve the dashboard at http://127.0.0.1:3000/ (PORT=8080 to change).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
need_rust
./scripts/setup.sh
build_bundle_and_server
input="${1:-data/sample/event_stream.csv}"
say "heymax run --input $input --warehouse warehouse"
"$HEYMAX_BIN" run --input "$input" --warehouse warehouse
for f in csv json; do
  "$HEYMAX_BIN" --quiet marts export --warehouse warehouse --format "$f" --out warehouse/export
done
say "marts exported to warehouse/export/ (CSV and JSON)"
"$HEYMAX_BIN" --quiet export --warehouse warehouse --out warehouse/site
say "static copy of the dashboard in warehouse/site/ (heymax export; the README says how to publish it)"
say "serving the dashboard (Ctrl-C to stop)"
exec "$HEYMAX_BIN" serve --warehouse warehouse --port "${PORT:-3000}"
