#!/usr/bin/env bash
# A throwaway Apache Spark standalone cluster for the tests (and for trying
# `heymax run --engine spark`): a master and two workers (1 core, 2 GiB each) on
# 127.0.0.1, on free ports, run from a venv with PyPI's pyspark 4.x (which carries the
# whole runtime: bin/spark-class, spark-submit), xxhash (the event ids are xxh3_64, which
# Spark does not have) and pyarrow/pandas; Debian's OpenJDK 17 is installed when no
# Java 17+ is found. Logs and work folders go to a new temporary folder.
#
#   eval "$(scripts/spark.sh start)"   # exports HEYMAX_SPARK_MASTER, HEYMAX_SPARK_SUBMIT,
#                                      # HEYMAX_SPARK_PYTHON and HEYMAX_SPARK_DIR
#   scripts/spark.sh stop "$HEYMAX_SPARK_DIR"
#
# The venv lives under ${HEYMAX_CACHE:-$HOME/.cache/heymax}/spark-venv, so a second run
# (or a second clone) reuses it; everything the cluster runs is started from here and
# stopped by its process id, never by name.
set -euo pipefail

cache="${HEYMAX_CACHE:-$HOME/.cache/heymax}"
venv="$cache/spark-venv"
# Spark 4 (tested with 4.3.0); pandas stays below 3, which PySpark 4 does not support yet.
PYSPARK_SPEC='pyspark>=4.0,<5'

say() { printf '== %s\n' "$*" >&2; }

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [ -n "$v" ] && [ "$v" -ge 17 ]
}

ensure_java() {
  java_ok && return 0
  say "installing Debian's openjdk-17-jre-headless (Spark 4 needs Java 17)"
  local sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  java_ok || { echo "java 17 installed but \`java -version\` does not say so" >&2; exit 1; }
}

ensure_venv() {
  if [ -x "$venv/bin/spark-submit" ] && "$venv/bin/python" -c 'import pyspark, xxhash, pyarrow, pandas' 2>/dev/null; then
    return 0
  fi
  say "creating $venv with pyspark 4, xxhash, pyarrow, pandas (about a minute, once)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$PYSPARK_SPEC" xxhash pyarrow 'pandas<3' >&2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts `spark-class <class> <args>` in the background, its pid in $dir/<name>.pid.
launch() {
  local dir="$1" name="$2"; shift 2
  SPARK_LOG_DIR="$dir" SPARK_WORKER_DIR="$dir/work-$name" \
    setsid "$venv/bin/spark-class" "$@" >"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

alive_workers() {
  # The master's JSON status page lists its workers with their state.
  python3 - "$1" <<'EOF' 2>/dev/null || echo 0
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2) as r:
    status = json.load(r)
print(sum(1 for w in status.get("workers", []) if w.get("state") == "ALIVE"))
EOF
}

start() {
  ensure_java
  ensure_venv
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/heymax-spark.XXXXXX")"
  local port ui
  port="$(free_port)"
  ui="$(free_port)"
  export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS="$dir/local" PYSPARK_PYTHON="$venv/bin/python"
  launch "$dir" master org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$port" --webui-port "$ui"
  local i
  for i in 1 2; do
    launch "$dir" "worker$i" org.apache.spark.deploy.worker.Worker "spark://127.0.0.1:$port" \
      --host 127.0.0.1 --port "$(free_port)" --webui-port "$(free_port)" \
      --cores 1 --memory 2g --work-dir "$dir/work-worker$i"
  done
  local waited=0
  while [ "$(alive_workers "$ui")" != 2 ]; do
    waited=$((waited + 1))
    if [ "$waited" -gt 120 ]; then
      echo "the Spark cluster did not come up in 60 s; logs in $dir:" >&2
      tail -n 20 "$dir"/*.log >&2 || true
      stop "$dir"
      exit 1
    fi
    sleep 0.5
  done
  echo "export HEYMAX_SPARK_MASTER=spark://127.0.0.1:$port HEYMAX_SPARK_SUBMIT=$venv/bin/spark-submit HEYMAX_SPARK_PYTHON=$venv/bin/python HEYMAX_SPARK_DIR=$dir"
}

stop() {
  local dir="${1:?usage: spark.sh stop <dir>}"
  [ -d "$dir" ] || return 0
  local f pid
  for f in "$dir"/worker*.pid "$dir"/master.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    # setsid made each daemon the leader of its own process group: end the group.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  sleep 1
  for f in "$dir"/worker*.pid "$dir"/master.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: scripts/spark.sh start | stop <dir>" >&2; exit 2 ;;
esac
