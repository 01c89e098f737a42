#!/usr/bin/env bash
# Soak benchmark of `quarry serve` (docs/benchmarks.md, "Reliability under load"):
#
#  1. /query p99 on one connection, idle, for IDLE_SECONDS;
#  2. /query p99 on one connection while POST /ingest ingests all of SciFact into a new collection
#     (the peer is phase 1, in the same run: goal ≤ 3× the idle p99);
#  3. MINUTES of mixed traffic at CONNECTIONS connections: /query, /search, SSE streams,
#     /v1/embeddings (1, 4 and 64 texts), GET /collections, ingest jobs and deletes on a churned
#     collection; errors, p99 per route, and the server's resident memory, open files and threads
#     sampled every 5 s (flat means the last third of the run peaks within 10 % of the first).
#
#   Benchmarks/soak/run.sh [MINUTES] [CONNECTIONS]      (default 10 and 32)
#
# Serves a copy of .bench/scifact-store (ingested from corpus/scifact when missing), on loopback
# without keys. Writes Benchmarks/results/soak-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-10}
CONNECTIONS=${2:-32}
IDLE_SECONDS=${IDLE_SECONDS:-60}
PORT=${PORT:-18090}
BASE=http://127.0.0.1:$PORT
QUARRY=.build/release/quarry
SOURCE_STORE=.bench/scifact-store
OUT=Benchmarks/results/soak-$(date +%Y-%m-%d).json
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

[ -x "$QUARRY" ] || make build
if [ ! -f "$SOURCE_STORE/quarry.sqlite" ]; then
  echo "soak: ingesting corpus/scifact into $SOURCE_STORE (a few minutes)"
  "$QUARRY" ingest corpus/scifact --store "$SOURCE_STORE" --exclude queries.jsonl --no-progress
fi
cp -r "$SOURCE_STORE" "$WORK/store"

# What POST /ingest reads: SciFact's corpus without its queries, and a small folder to churn.
mkdir -p "$WORK/roots/scifact" "$WORK/roots/churn"
cp corpus/scifact/corpus.jsonl "$WORK/roots/scifact/"
cp corpus/sqlite-docs/*.md "$WORK/roots/churn/"

"$QUARRY" serve --store "$WORK/store" --port "$PORT" --ingest-root "$WORK/roots" --log-level warning >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 150); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.2; done
curl -sf "$BASE/health" >/dev/null || { echo "soak: quarry serve did not start" >&2; cat "$WORK/serve.log" >&2; exit 1; }
# The first dense query loads the HNSW index; then warm the caches of the path.
curl -sf -m 600 "$BASE/query" -H 'Content-Type: application/json' -d '{"query": "warm up"}' >/dev/null
python3 Benchmarks/soak/soak.py latency "$BASE" corpus/scifact/queries.jsonl 10 "$WORK/warm.json" >/dev/null

python3 Benchmarks/soak/soak.py latency "$BASE" corpus/scifact/queries.jsonl "$IDLE_SECONDS" "$WORK/idle.json"
python3 Benchmarks/soak/soak.py during-ingest "$BASE" corpus/scifact/queries.jsonl "$WORK/roots/scifact" incoming "$WORK/ingest.json"
python3 Benchmarks/soak/soak.py mixed "$BASE" corpus/scifact/queries.jsonl "$SERVER" $((MINUTES * 60)) "$CONNECTIONS" "$WORK/roots/churn" "$WORK/mixed.json"

kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true
"$QUARRY" verify --store "$WORK/store" >"$WORK/verify.txt" 2>&1 && verified=true || verified=false

python3 - "$WORK" "$OUT" "$verified" <<'PY'
import json, subprocess, sys
work, out, verified = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
idle, ingest, mixed = (json.load(open(f"{work}/{name}.json")) for name in ("idle", "ingest", "mixed"))
ratio = ingest["query"]["p99_ms"] / idle["query"]["p99_ms"]
report = {
    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
    "idle": idle, "during_ingest": ingest, "mixed": mixed,
    "ratio_query_p99_during_ingest_to_idle": ratio, "store_verified_after": verified,
    "verify_output": open(f"{work}/verify.txt").read()[-2000:],
}
json.dump(report, open(out, "w"), indent=2)
print(f"soak: /query p99 during ingest / idle = {ratio:.2f}× (goal ≤ 3×)")
print(f"soak: store verified after the run: {verified}")
print(f"soak: wrote {out}")
PY
