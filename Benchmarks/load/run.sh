#!/usr/bin/env bash
# Load benchmark of `quarry serve` on SciFact (docs/benchmarks.md, "Query service"): the 1,109
# SciFact queries cycled against POST /search and POST /query (extractive, hybrid), result cache
# off (then on, SQLite only), on the embedded SQLite store and then on PostgreSQL + pgvector,
# with the embedder alone on the same queries measured in the same run, as the ceiling the
# service is compared with.
#
#   Benchmarks/load/run.sh [STORE] [SECONDS]
#
# STORE (default .bench/scifact-store) is ingested from corpus/scifact when it does not exist.
# PostgreSQL (scripts/pg-server.sh, fsync on) keeps its data in .bench/pg-scifact, ingested the
# same way on the first run; PGVECTOR=0 skips it.
# Writes Benchmarks/results/load-<date>.json. Needs wrk (installed from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
STORE=${1:-.bench/scifact-store}
SECONDS_LONG=${2:-60}
SECONDS_SHORT=20
PORT=${PORT:-18080}
QUARRY=.build/release/quarry
OUT=Benchmarks/results/load-$(date +%Y-%m-%d).json
PGVECTOR=${PGVECTOR:-1}
PG_DIR=.bench/pg-scifact
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ "$PGVECTOR" = 1 ] && scripts/pg-server.sh stop "$PG_DIR" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
[ -x "$QUARRY" ] || make build
if [ ! -f "$STORE/quarry.sqlite" ]; then
  echo "load: ingesting corpus/scifact into $STORE (a few minutes)"
  "$QUARRY" ingest corpus/scifact --store "$STORE" --exclude queries.jsonl --no-progress
fi

python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
queries = [json.loads(line)["text"] for line in open("corpus/scifact/queries.jsonl") if line.strip()]
with open(f"{work}/search.jsonl", "w") as f:
    for q in queries: f.write(json.dumps({"query": q, "top_k": 10}) + "\n")
with open(f"{work}/query.jsonl", "w") as f:
    for q in queries: f.write(json.dumps({"query": q, "top_k": 5}) + "\n")
print(f"load: {len(queries)} distinct queries")
PY

STORE_ARGS=(--store "$STORE")
serve() {  # serve CACHE_ENTRIES
  "$QUARRY" serve "${STORE_ARGS[@]}" --port "$PORT" --cache-entries "$1" --log-level warning >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return; sleep 0.2; done
  echo "load: quarry serve did not start" >&2; cat "$WORK/serve.log" >&2; exit 1
}

load() {  # NAME ROUTE CONNECTIONS SECONDS
  local threads=$(( $3 < 2 ? 1 : 2 ))
  WRK_JSON="$WORK/$1.json" wrk -t"$threads" -c"$3" -d"$4"s -s Benchmarks/load/cycle.lua \
    "http://127.0.0.1:$PORT/$2" -- "$WORK/$2.jsonl" >/dev/null
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"load: {sys.argv[2]:<24} {r['requests_per_second']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {sum(r['errors'].values()) + r['non_200']}\")" "$WORK/$1.json" "$1"
}

# The embedder alone, one query per call, as many callers as the machine has cores.
"$QUARRY" bench queries --seconds "$SECONDS_SHORT" --concurrency 2 --json "$WORK/embedder.json"

serve 0
# The first dense query builds (or loads) the HNSW index.
curl -sf -m 600 "http://127.0.0.1:$PORT/search" -H 'Content-Type: application/json' -d '{"query": "warm up"}' >/dev/null
load warmup search 4 5 >/dev/null
load search-1conn search 1 "$SECONDS_SHORT"
load query-1conn query 1 "$SECONDS_SHORT"
load search-32conn search 32 "$SECONDS_LONG"
load query-32conn query 32 "$SECONDS_LONG"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

serve 100000
curl -sf -m 600 "http://127.0.0.1:$PORT/search" -H 'Content-Type: application/json' -d '{"query": "warm up"}' >/dev/null
load search-32conn-cached search 32 "$SECONDS_LONG"
load query-32conn-cached query 32 "$SECONDS_LONG"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

if [ "$PGVECTOR" = 1 ]; then
  URL=$(QUARRY_PG_FSYNC=on scripts/pg-server.sh start "$PG_DIR" $(( 20000 + RANDOM % 40000 )) | tail -1)
  echo "load: PostgreSQL + pgvector at $URL (fsync on)"
  STORE_ARGS=(--backend pgvector --pg-url "$URL")
  # In step with the folder: the first run ingests it (a few minutes), later ones find it unchanged.
  "$QUARRY" ingest corpus/scifact "${STORE_ARGS[@]}" --exclude queries.jsonl --no-progress | tail -1
  serve 0
  curl -sf -m 600 "http://127.0.0.1:$PORT/search" -H 'Content-Type: application/json' -d '{"query": "warm up"}' >/dev/null
  load warmup search 4 5 >/dev/null
  load pgvector-search-1conn search 1 "$SECONDS_SHORT"
  load pgvector-query-1conn query 1 "$SECONDS_SHORT"
  load pgvector-search-32conn search 32 "$SECONDS_LONG"
  load pgvector-query-32conn query 32 "$SECONDS_LONG"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
fi

python3 - "$WORK" "$OUT" <<'PY'
import json, sys, os, subprocess
work, out = sys.argv[1], sys.argv[2]
runs = {name[:-5]: json.load(open(f"{work}/{name}")) for name in os.listdir(work) if name.endswith(".json") and name != "embedder.json" and not name.startswith("warmup")}
embedder = json.load(open(f"{work}/embedder.json"))
ceiling = embedder["queries_per_second"]
report = {"embedder_alone": embedder, "runs": runs,
          "ratio_search_32conn_to_embedder": runs["search-32conn"]["requests_per_second"] / ceiling,
          "ratio_query_32conn_to_embedder": runs["query-32conn"]["requests_per_second"] / ceiling,
          **({"ratio_pgvector_search_32conn_to_embedder": runs["pgvector-search-32conn"]["requests_per_second"] / ceiling,
              "ratio_pgvector_query_32conn_to_embedder": runs["pgvector-query-32conn"]["requests_per_second"] / ceiling}
             if "pgvector-search-32conn" in runs else {}),
          "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()}
json.dump(report, open(out, "w"), indent=2, sort_keys=True)
print(f"load: embedder alone {ceiling:.1f} queries/s (2 callers); /search at 32 connections {report['ratio_search_32conn_to_embedder']:.2f}x of it, /query {report['ratio_query_32conn_to_embedder']:.2f}x")
if "ratio_pgvector_search_32conn_to_embedder" in report:
    print(f"load: pgvector: /search at 32 connections {report['ratio_pgvector_search_32conn_to_embedder']:.2f}x of it, /query {report['ratio_pgvector_query_32conn_to_embedder']:.2f}x")
print(f"load: wrote {out}")
PY
