#!/usr/bin/env bash
# The two store backends side by side on SciFact, in one run (docs/benchmarks.md, "Backends"):
# the embedded SQLite store and PostgreSQL 16 + pgvector 0.8.5 (scripts/pg-server.sh, fsync on,
# on this machine), each given the same corpus, queries and load:
#
#   - ingest time of corpus/scifact/corpus.jsonl (5,183 abstracts, 11,767 chunks; embedding
#     included, the same for both), HNSW build included;
#   - quarry eval on the 300 test queries, every mode: nDCG@10 and the rest, per backend;
#   - quarry bench store: the store's searches alone on the 1,109 queries (embedded beforehand):
#     recall@10 of each backend's HNSW (ef 64, the service's default) against its exact search,
#     chunk by chunk, and the latency of HNSW, exact and BM25 searches;
#   - quarry serve under wrk, POST /search cycling the 1,109 SciFact queries, result cache off:
#     one connection, then 32, for SECONDS each.
#
#   Benchmarks/backends/run.sh [SECONDS]
#
# Writes Benchmarks/results/backends-<date>.json and prints pgvector's ratios to SQLite.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_LOAD=${1:-30}
PORT=${PORT:-18090}
QUARRY=.build/release/quarry
OUT=Benchmarks/results/backends-$(date +%Y-%m-%d).json
WORK=$(mktemp -d /tmp/quarry-backends.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  scripts/pg-server.sh stop "$WORK/pg" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
[ -x "$QUARRY" ] || make build
export QUARRY_MODEL=${QUARRY_MODEL:-$PWD/models/all-MiniLM-L6-v2}

URL=""
for _ in 1 2 3 4 5; do
  if URL=$(QUARRY_PG_FSYNC=on scripts/pg-server.sh start "$WORK/pg" $(( 20000 + RANDOM % 40000 )) | tail -1); then break; fi
  scripts/pg-server.sh stop "$WORK/pg" 2>/dev/null || true; rm -rf "$WORK/pg"; URL=""
done
[ -n "$URL" ] || { echo "backends: PostgreSQL did not start" >&2; exit 1; }
echo "backends: PostgreSQL at $URL (fsync on)"

python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
queries = [json.loads(line)["text"] for line in open("corpus/scifact/queries.jsonl") if line.strip()]
with open(f"{work}/search.jsonl", "w") as f:
    for q in queries: f.write(json.dumps({"query": q, "top_k": 10, "collection": "scifact"}) + "\n")
print(f"backends: {len(queries)} distinct queries")
PY

load() {  # NAME CONNECTIONS SECONDS
  local threads=$(( $2 < 2 ? 1 : 2 ))
  WRK_JSON="$WORK/$1.json" wrk -t"$threads" -c"$2" -d"$3"s -s Benchmarks/load/cycle.lua \
    "http://127.0.0.1:$PORT/search" -- "$WORK/search.jsonl" >/dev/null
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"backends: {sys.argv[2]:<26} {r['requests_per_second']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {sum(r['errors'].values()) + r['non_200']}\")" "$WORK/$1.json" "$1"
}

for backend in sqlite pgvector; do
  if [ "$backend" = sqlite ]; then ARGS=(--store "$WORK/sqlite-store"); else ARGS=(--backend pgvector --pg-url "$URL"); fi
  echo "backends: $backend: ingesting corpus/scifact/corpus.jsonl"
  start=$(date +%s.%N)
  "$QUARRY" ingest corpus/scifact --include corpus.jsonl --collection scifact --no-progress "${ARGS[@]}" >"$WORK/$backend-ingest.log"
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)" >"$WORK/$backend-ingest-seconds"
  echo "backends: $backend: ingest $(cat "$WORK/$backend-ingest-seconds") s"
  # Eval through the HNSW index (11,767 chunks are above the default exact-search limit).
  "$QUARRY" eval --dataset corpus/scifact --mode all "${ARGS[@]}" --json "$WORK/$backend-eval.json" \
    >"$WORK/$backend-eval.log" 2>&1
  grep -E "^(mode|dense|lexical|hybrid)" "$WORK/$backend-eval.log" | sed "s/^/backends: $backend: /"

  "$QUARRY" serve "${ARGS[@]}" --port "$PORT" --cache-entries 0 --log-level warning >"$WORK/$backend-serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
  curl -sf -m 600 "http://127.0.0.1:$PORT/search" -H 'Content-Type: application/json' \
    -d '{"query": "warm up", "collection": "scifact"}' >/dev/null
  load "$backend-warmup" 4 5 >/dev/null
  load "$backend-search-1conn" 1 "$SECONDS_LOAD"
  load "$backend-search-32conn" 32 "$SECONDS_LOAD"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  "$QUARRY" bench store --collection scifact "${ARGS[@]}" --json "$WORK/$backend-store.json" | sed "s/^/backends: /"
done

python3 - "$WORK" "$OUT" <<'PY'
import json, sys, subprocess
work, out = sys.argv[1], sys.argv[2]

report = {"commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()}
for backend in ("sqlite", "pgvector"):
    evaluation = json.load(open(f"{work}/{backend}-eval.json"))["retrieval"]
    store = json.load(open(f"{work}/{backend}-store.json"))
    report[backend] = {
        "ingest_seconds": float(open(f"{work}/{backend}-ingest-seconds").read()),
        "ndcg@10": {m["mode"]: m["metrics"]["ndcg@10"] for m in evaluation["modes"]},
        "eval_latency_ms": {m["mode"]: m["latency"] for m in evaluation["modes"]},
        "store_searches": store,
        "hnsw_recall@10_vs_exact": store["recall"],
        "search_1conn": json.load(open(f"{work}/{backend}-search-1conn.json")),
        "search_32conn": json.load(open(f"{work}/{backend}-search-32conn.json")),
    }
s, p = report["sqlite"], report["pgvector"]
report["ratios_pgvector_to_sqlite"] = {
    "ingest_seconds": p["ingest_seconds"] / s["ingest_seconds"],
    "store_hnsw_p50": p["store_searches"]["hnsw"]["p50_ms"] / s["store_searches"]["hnsw"]["p50_ms"],
    "store_bm25_p50": p["store_searches"]["lexical"]["p50_ms"] / s["store_searches"]["lexical"]["p50_ms"],
    "search_1conn_p50": p["search_1conn"]["p50_ms"] / s["search_1conn"]["p50_ms"],
    "search_1conn_p99": p["search_1conn"]["p99_ms"] / s["search_1conn"]["p99_ms"],
    "search_32conn_requests_per_second": p["search_32conn"]["requests_per_second"] / s["search_32conn"]["requests_per_second"],
}
json.dump(report, open(out, "w"), indent=2, sort_keys=True)
for backend in ("sqlite", "pgvector"):
    r = report[backend]
    print(f"backends: {backend:<8} ingest {r['ingest_seconds']:6.1f} s  nDCG@10 " +
          " ".join(f"{m} {v:.4f}" for m, v in r["ndcg@10"].items()) +
          f"  HNSW recall@10 {r['hnsw_recall@10_vs_exact']:.4f}  /search 1 conn p50 {r['search_1conn']['p50_ms']:.2f} ms"
          f" p99 {r['search_1conn']['p99_ms']:.2f} ms  32 conns {r['search_32conn']['requests_per_second']:.1f} req/s")
print("backends: pgvector / sqlite: " + "  ".join(f"{k} {v:.2f}x" for k, v in report["ratios_pgvector_to_sqlite"].items()))
print(f"backends: wrote {out}")
PY
