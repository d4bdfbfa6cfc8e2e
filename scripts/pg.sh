#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (and for trying the PostgreSQL warehouse):
# installs Debian's postgresql when no server is found, creates a cluster in a new
# temporary folder, owned by an unprivileged user when run as root (PostgreSQL refuses to
# run as root), listening on 127.0.0.1 on a free port, with superuser `heymax`.
#
#   eval "$(scripts/pg.sh start)"    # exports HEYMAX_TEST_PG (a URL) and HEYMAX_PG_DIR
#   scripts/pg.sh stop "$HEYMAX_PG_DIR"
#
# `start --durable` keeps PostgreSQL's crash-safety settings (fsync, full page writes), as
# a benchmark should; by default they are off, as nothing in a test cluster must survive
# a power cut.
set -euo pipefail

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  return 1
}

as_owner() {
  # $1: the cluster folder; the rest: the command.
  local dir="$1"; shift
  local owner
  owner="$(stat -c %U "$dir")"
  if [ "$(id -un)" = "$owner" ]; then
    "$@"
  else
    runuser -u "$owner" -- "$@"
  fi
}

start() {
  local durable=0
  [ "${1:-}" = "--durable" ] && durable=1
  local bin
  if ! bin="$(find_bin)"; then
    echo "== installing Debian's postgresql (for the PostgreSQL warehouse tests)" >&2
    local sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >/dev/null
    # Debian starts its own cluster on 5432; these tests use their own and leave it alone.
    bin="$(find_bin)" || { echo "postgresql installed but pg_ctl/initdb not found" >&2; exit 1; }
  fi
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/heymax-pg.XXXXXX")"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then
    local user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$dir"
  fi
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  as_owner "$dir" "$bin/initdb" -D "$dir/data" -U heymax -A trust -E UTF8 --locale=C --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  local settings="-p $port -k $dir -c listen_addresses=127.0.0.1 -c wal_level=minimal -c max_wal_senders=0 -c shared_buffers=256MB -c max_wal_size=4GB -c maintenance_work_mem=256MB"
  if [ "$durable" = 0 ]; then
    settings="$settings -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  as_owner "$dir" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$settings" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "export HEYMAX_TEST_PG=postgres://heymax@127.0.0.1:$port/postgres HEYMAX_PG_DIR=$dir"
}

stop() {
  local dir="${1:?usage: pg.sh stop <dir>}"
  [ -d "$dir/data" ] || return 0
  local bin
  bin="$(find_bin)" || return 0
  as_owner "$dir" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: scripts/pg.sh start [--durable] | stop <dir>" >&2; exit 2 ;;
esac
