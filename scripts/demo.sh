#!/usr/bin/env bash
# The main job: install what is missing, build heymax and the browser bundle, run the
# pipeline on the sample events into ./warehouse, export the marts (CSV and JSON), then
# serve the dashboard at http://127.0.0.1:3000/ (PORT=8080 ./scripts/demo.sh to change).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
./scripts/setup.sh
./scripts/build.sh
input="${1:-data/sample/event_stream.csv}"
say "heymax run --input $input --warehouse warehouse"
"$HEYMAX_BIN" run --input "$input" --warehouse warehouse
for f in csv json; do
  "$HEYMAX_BIN" --quiet marts export --warehouse warehouse --format "$f" --out warehouse/export
done
say "marts exported to warehouse/export/ (CSV and JSON)"
say "serving the dashboard (Ctrl-C to stop)"
exec "$HEYMAX_BIN" serve --warehouse warehouse --dist dist --port "${PORT:-3000}"
