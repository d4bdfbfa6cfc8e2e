#!/usr/bin/env bash
# Builds the browser bundle (scripts/bundle.py -> dist/) and the heymax binary (release),
# which carries the bundle inside it; on a fresh checkout the server's dependencies build
# beside the bundle (scripts/env.sh: deps_build_start).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
need_rust
deps_build_start
build_bundle_and_server
