#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 16 + pgvector 0.8.5 (scripts/pg-server.sh) on a free
# loopback port, its URL in $QUARRY_TEST_PG_URL; the server is stopped and its data removed when
# the command ends, however it ends. `make test` runs the test suite this way.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$(mktemp -d /tmp/quarry-test-pg.XXXXXX)
chmod 755 "$DIR"
cleanup() { scripts/pg-server.sh stop "$DIR/pg" >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT
URL=""
for _ in 1 2 3 4 5; do
  PORT=$(( 20000 + RANDOM % 40000 ))
  if URL=$(scripts/pg-server.sh start "$DIR/pg" "$PORT" | tail -1); then break; fi
  scripts/pg-server.sh stop "$DIR/pg" 2>/dev/null || true
  rm -rf "$DIR/pg"; URL=""
done
[ -n "$URL" ] || { echo "with-test-postgres: could not start PostgreSQL" >&2; exit 1; }
echo "with-test-postgres: PostgreSQL at $URL" >&2
QUARRY_TEST_PG_URL=$URL "$@"
