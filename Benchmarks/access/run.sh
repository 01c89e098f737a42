#!/usr/bin/env bash
# What keys and document permissions cost on /search (issue 13), in one run on SciFact:
#
#   - open: `quarry serve` with no key (loopback), POST /search (hybrid, top_k 10, cache off)
#     under wrk, 1 connection then 32;
#   - keyed: a second server on a copy of the store where keys exist and every document has an
#     access list, the same load sent with a reader key whose principals see 10 % of the
#     documents — authentication, the key's (unlimited) rate check and the permission filter
#     inside every search included;
#   - the two servers run side by side and the loads alternate, open then keyed, ROUNDS times
#     (default 3): the machine's drift over minutes (±1 ms at p50 on this 2-core VM) is larger
#     than the cost measured, so each round compares neighbours and the median round is reported;
#   - filtered recall@10 of dense /search for readers who see 1 % and 10 % of the documents,
#     against an exact search of the same visible chunks (a second server that searches
#     exactly: QUARRY_EXACT_BELOW above the collection's size).
#
#   Benchmarks/access/run.sh [SECONDS [ROUNDS]]   ($ACCESS_STORE: a store that already holds 'scifact', copied, not changed)
#
# Writes Benchmarks/results/access-<date>.json and prints the keyed / open ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_LOAD=${1:-10}
ROUNDS=${2:-3}
PORT=${PORT:-18095}
KEYED_PORT=$((PORT + 1))
QUARRY=$PWD/.build/release/quarry
OUT=Benchmarks/results/access-$(date +%Y-%m-%d).json
WORK=$(mktemp -d /tmp/quarry-access.XXXXXX)
SERVER=""
KEYED=""
cleanup() { for pid in $SERVER $KEYED; do kill "$pid" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
[ -x "$QUARRY" ] || make build
export QUARRY_MODEL=${QUARRY_MODEL:-$PWD/models/all-MiniLM-L6-v2}

STORE=$WORK/store
if [ -n "${ACCESS_STORE:-}" ]; then
  cp -r "$ACCESS_STORE" "$STORE"
else
  echo "access: ingesting corpus/scifact/corpus.jsonl"
  "$QUARRY" ingest corpus/scifact --include corpus.jsonl --collection scifact --no-progress --store "$STORE" >/dev/null
fi

python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
queries = [json.loads(line)["text"] for line in open("corpus/scifact/queries.jsonl") if line.strip()]
with open(f"{work}/search.jsonl", "w") as f:
    for q in queries: f.write(json.dumps({"query": q, "top_k": 10, "collection": "scifact"}) + "\n")
PY

serve() {  # STORE PORT EXACT_BELOW: starts a server; its pid in SPAWNED
  QUARRY_EXACT_BELOW=$3 "$QUARRY" serve --store "$1" --port "$2" --cache-entries 0 --log-level warning >>"$WORK/serve.log" 2>&1 &
  SPAWNED=$!
}
ready() {  # PORT
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$1/health" && return; sleep 0.2; done
  echo "access: the server on port $1 did not start" >&2; cat "$WORK/serve.log" >&2; exit 1
}
load() {  # NAME PORT CONNECTIONS SECONDS
  local threads=$(( $3 < 2 ? 1 : 2 ))
  WRK_JSON="$WORK/$1.json" wrk -t"$threads" -c"$3" -d"$4"s -s Benchmarks/load/cycle.lua \
    "http://127.0.0.1:$2/search" -- "$WORK/search.jsonl" >/dev/null
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"access: {sys.argv[2]:<16} {r['requests_per_second']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  errors {sum(r['errors'].values()) + r['non_200']}\")" "$WORK/$1.json" "$1"
}

# The keyed copy: every document gets an access list — 1 % group:one (and group:ten), 10 %
# group:ten, the rest group:rest — written before its server starts, so no cache has seen the
# old lists; then the keys.
cp -r "$STORE" "$WORK/keyed"
python3 - "$WORK/keyed/quarry.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ids = [row[0] for row in db.execute("SELECT id FROM quarry_documents ORDER BY id")]
for n, id in enumerate(ids):
    access = '["group:one","group:ten"]' if n % 100 == 0 else '["group:ten"]' if n % 10 == 0 else '["group:rest"]'
    db.execute("UPDATE quarry_documents SET access = ? WHERE id = ?", (access, id))
db.execute("UPDATE quarry_collections SET generation = generation + 1")
db.commit()
PY
KEY10=$("$QUARRY" keys create --store "$WORK/keyed" --role reader --principals group:ten 2>/dev/null)
KEY1=$("$QUARRY" keys create --store "$WORK/keyed" --role reader --principals group:one 2>/dev/null)

serve "$STORE" "$PORT" 10000
SERVER=$SPAWNED
serve "$WORK/keyed" "$KEYED_PORT" 10000
KEYED=$SPAWNED
ready "$PORT"
ready "$KEYED_PORT"
curl -sf -m 600 "http://127.0.0.1:$PORT/search" -H 'Content-Type: application/json' -d '{"query": "warm up", "collection": "scifact"}' >/dev/null
curl -sf -m 600 "http://127.0.0.1:$KEYED_PORT/search" -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY10" \
  -d '{"query": "warm up", "collection": "scifact"}' >/dev/null
load open-warmup "$PORT" 4 5 >/dev/null
QUARRY_KEY=$KEY10 load keyed-warmup "$KEYED_PORT" 4 5 >/dev/null
for connections in 1 32; do
  for round in $(seq 1 "$ROUNDS"); do
    load "open-$connections-$round" "$PORT" "$connections" "$SECONDS_LOAD"
    QUARRY_KEY=$KEY10 load "keyed-$connections-$round" "$KEYED_PORT" "$connections" "$SECONDS_LOAD"
  done
done
kill "$SERVER" "$KEYED"; wait "$SERVER" "$KEYED" 2>/dev/null || true
SERVER=""
KEYED=""
STORE=$WORK/keyed

serve1() {  # EXACT_BELOW
  serve "$STORE" "$KEYED_PORT" "$1"
  SERVER=$SPAWNED
  ready "$KEYED_PORT"
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }

recall() {  # OUTPUT: dense hits of the first 300 queries for each key
  python3 - "$KEYED_PORT" "$KEY1" "$KEY10" "$1" <<'PY'
import json, sys, urllib.request
port, key1, key10, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
queries = [json.loads(line)["text"] for line in open("corpus/scifact/queries.jsonl") if line.strip()][:300]
result = {}
for name, key in (("1", key1), ("10", key10)):
    hits = []
    for q in queries:
        body = json.dumps({"query": q, "top_k": 10, "collection": "scifact", "mode": "dense"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/search", body, {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        hits.append([h["chunk_id"] for h in json.load(urllib.request.urlopen(request))["hits"]])
    result[name] = hits
json.dump(result, open(out, "w"))
PY
}
serve1 10000
recall "$WORK/hnsw.json"
stop
serve1 100000000
recall "$WORK/exact.json"
stop

python3 - "$WORK" "$OUT" "$SECONDS_LOAD" "$ROUNDS" <<'PY'
import json, statistics, subprocess, sys
work, out, seconds, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
load = {f"{side}-{c}-{r}": json.load(open(f"{work}/{side}-{c}-{r}.json"))
        for side in ("open", "keyed") for c in (1, 32) for r in range(1, rounds + 1)}
hnsw, exact = json.load(open(f"{work}/hnsw.json")), json.load(open(f"{work}/exact.json"))
recall = {}
for share in ("1", "10"):
    found = sum(len(set(h) & set(e)) for h, e in zip(hnsw[share], exact[share]))
    wanted = sum(len(e) for e in exact[share])
    recall[share] = found / wanted if wanted else 0.0
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
added = [load[f"keyed-1-{r}"]["p50_ms"] - load[f"open-1-{r}"]["p50_ms"] for r in range(1, rounds + 1)]
ratios = [load[f"keyed-32-{r}"]["requests_per_second"] / load[f"open-32-{r}"]["requests_per_second"] for r in range(1, rounds + 1)]
added_p50, throughput = statistics.median(added), statistics.median(ratios)
result = {"commit": commit, "seconds_per_load": seconds, "rounds": rounds, "load": load,
          "added_p50_ms_1conn_by_round": added, "added_p50_ms_1conn": added_p50,
          "keyed_over_open_32conn_by_round": ratios, "keyed_over_open_32conn_requests_per_second": throughput,
          "filtered_recall_at_10": {"1_percent_visible": recall["1"], "10_percent_visible": recall["10"]}}
json.dump(result, open(out, "w"), indent=2)
print("access: keyed - open p50 (1 connection) by round: " + ", ".join(f"{a:+.2f}" for a in added) + f" ms; median {added_p50:+.2f} ms")
print("access: keyed / open at 32 connections by round: " + ", ".join(f"{r:.3f}" for r in ratios) + f"; median {throughput:.3f}x")
print(f"access: filtered recall@10 (dense, HNSW vs exact): 1 % visible {recall['1']:.4f}, 10 % visible {recall['10']:.4f}")
print(f"access: wrote {out}")
PY
