#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis against its own /openapi.json, with every check: a real
# `quarry serve` (the release binary, or $QUARRY_BIN) over a small throwaway store ingested from a
# few files of corpus/, on a free loopback port, with an operator key and an ingest root so every
# route can run. Fails when schemathesis finds a server error, a response the document does not
# describe, or any other failed check.
#
#   scripts/schemathesis.sh            bounded (30 examples per operation; `make test`)
#   EXAMPLES=300 scripts/schemathesis.sh   longer (`make fuzz`)
#
# Extra arguments go to `schemathesis run` (e.g. --include-path /query, --seed 1).
set -euo pipefail
cd "$(dirname "$0")/.."
QUARRY_BIN=${QUARRY_BIN:-$PWD/.build/release/quarry}
EXAMPLES=${EXAMPLES:-30}
PHASES=${PHASES:-examples,coverage,fuzzing}
export QUARRY_MODEL=${QUARRY_MODEL:-$PWD/models/all-MiniLM-L6-v2}
command -v schemathesis >/dev/null || { echo "schemathesis: not installed; run scripts/install-deps.sh" >&2; exit 1; }
[ -x "$QUARRY_BIN" ] || { echo "schemathesis: no $QUARRY_BIN; run make build" >&2; exit 1; }

DIR=$(mktemp -d /tmp/quarry-fuzz.XXXXXX)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

# A few small documents; the ingest root holds them too, so POST /ingest can start real jobs.
mkdir -p "$DIR/root/docs"
cp corpus/sqlite-docs/{lang_createview,rowidtable,lang_createindex,expridx}.md "$DIR/root/docs/"
"$QUARRY_BIN" ingest "$DIR/root/docs" --store "$DIR/store" --no-progress >"$DIR/ingest.log" 2>&1 \
  || { cat "$DIR/ingest.log" >&2; exit 1; }
KEY=$("$QUARRY_BIN" keys create --store "$DIR/store" --role operator 2>"$DIR/keys.log" | grep -o 'qk_[A-Za-z0-9_-]*' | head -1)
[ -n "$KEY" ] || { cat "$DIR/keys.log" >&2; echo "schemathesis: could not create a key" >&2; exit 1; }

PORT=""
for _ in 1 2 3 4 5; do
  PORT=$(( 20000 + RANDOM % 40000 ))
  "$QUARRY_BIN" serve --store "$DIR/store" --host 127.0.0.1 --port "$PORT" --ingest-root "$DIR/root" \
    --log-level warning >"$DIR/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break 2
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
  done
  kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=""
done
[ -n "$SERVER" ] || { cat "$DIR/server.log" >&2; echo "schemathesis: could not start quarry serve" >&2; exit 1; }
echo "schemathesis: quarry serve on 127.0.0.1:$PORT, $EXAMPLES examples per operation" >&2
# A job whose id the job routes are called with (scripts/schemathesis.toml).
QUARRY_FUZZ_JOB=$(curl -sf "http://127.0.0.1:$PORT/ingest" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' -d '{"path": "docs"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["job_id"])')
export QUARRY_FUZZ_JOB

status=0
SECONDS=0
# Run from the temporary folder: schemathesis keeps a cache of crashes in ./.schemathesis.
ROOT=$PWD
(cd "$DIR" && schemathesis --config-file "$ROOT/scripts/schemathesis.toml" run "http://127.0.0.1:$PORT/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks all --phases "$PHASES" --max-examples "$EXAMPLES" --workers 2 \
  --request-timeout 30 --suppress-health-check too_slow,filter_too_much --generation-database none \
  --report junit --report-dir "$DIR/report" --no-color "$@") || status=$?
echo "schemathesis: ${SECONDS}s, exit status $status" >&2
if ! kill -0 "$SERVER" 2>/dev/null; then
  echo "schemathesis: quarry serve died during the run" >&2; status=1
fi
if grep -q ' error\|fatal\|Fatal' "$DIR/server.log"; then
  echo "schemathesis: the server logged errors:" >&2; grep -i 'error\|fatal' "$DIR/server.log" | head -20 >&2
fi
exit "$status"
