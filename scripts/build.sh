#!/usr/bin/env bash
# Builds the browser bundle (scripts/bundle.py -> dist/) and the heymax binary (release),
# which carries the bundle inside it. The committed bundle is reused while its sources are
# unchanged (scripts/env.sh: bundle_needs_build).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
need_rust
build_bundle_and_server
