#!/usr/bin/env bash
# Quarry side by side with the stack users would pick instead (issue 16; docs/benchmarks.md,
# "Side by side with LlamaIndex"): LlamaIndex 0.14 hybrid retrieval (MiniLM vector + BM25, fused
# by reciprocal rank) behind FastAPI/uvicorn, on the same SciFact corpus, model and queries, in
# the same run, under the same wrk load (Benchmarks/load/cycle.lua, the 1,109 queries cycled):
#
#   1. the peer in process, no HTTP: one query at a time for SECONDS (p50/p99 per query);
#   2. the peer's POST /search (top_k 10) at 1 and 32 connections, then its nDCG@10 over HTTP;
#   3. `quarry serve` on a copy of .bench/scifact-store, result cache off: POST /search (top_k
#      10) and POST /query (top_k 5, extractive), hybrid, at 1 and 32 connections, then the
#      nDCG@10 of its /search over HTTP, scored by the same script as the peer's;
#   4. `quarry eval --mode hybrid` on SciFact's test split (the figure docs/benchmarks.md quotes).
#
#   Benchmarks/peers/run.sh [SECONDS] [SECONDS_32]
#
# SECONDS (default 20) per one-connection phase, SECONDS_32 (default 40) per 32-connection phase:
# the peer answers a few requests a second, so at 32 connections each request waits seconds and a
# short phase would hold few of them. wrk's timeout is 60 s on both sides, so slow answers are
# measured, not dropped. Prints Quarry / peer ratios and writes Benchmarks/results/peers-<date>.json.
# The peer's virtualenv (.bench/venv-peers, Benchmarks/peers/requirements.txt) and its index
# (.bench/peers-llamaindex) are made on first use, and so is Quarry's evaluation store
# (.bench/peers-eval-store, collection "scifact"): a first run adds the peer's embedding of the
# corpus (5-10 min on 2 idle cores) and Quarry's ingest of it (about 10 min on a busy machine);
# later runs take about 5 minutes. One system runs at a time: the two never share the cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_1=${1:-20}
SECONDS_32=${2:-40}
STORE=${STORE:-.bench/scifact-store}
VENV=${VENV:-.bench/venv-peers}
PEER_PORT=${PEER_PORT:-18091}
QUARRY_PORT=${QUARRY_PORT:-18090}
QUARRY=.build/release/quarry
OUT=Benchmarks/results/peers-$(date +%Y-%m-%d).json
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; }
[ -x "$QUARRY" ] || make build
if [ ! -x "$VENV/bin/uvicorn" ]; then
  echo "peers: creating $VENV (LlamaIndex, FastAPI, uvicorn, CPU torch; pinned in Benchmarks/peers/requirements.txt)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r Benchmarks/peers/requirements.txt
fi
[ -f "$STORE/quarry.sqlite" ] || { echo "peers: no store at $STORE (Benchmarks/load/run.sh ingests it)" >&2; exit 1; }
echo "peers: building or loading the LlamaIndex index"
"$VENV/bin/python" Benchmarks/peers/llamaindex_server.py build

python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
queries = [json.loads(line)["text"] for line in open("corpus/scifact/queries.jsonl") if line.strip()]
with open(f"{work}/search.jsonl", "w") as f:
    for q in queries: f.write(json.dumps({"query": q, "top_k": 10}) + "\n")
with open(f"{work}/query.jsonl", "w") as f:
    for q in queries: f.write(json.dumps({"query": q, "top_k": 5}) + "\n")
print(f"peers: {len(queries)} distinct queries")
PY
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)

wait_up() {  # URL LOG
  for _ in $(seq 1 600); do curl -sf "$1" >/dev/null && return; sleep 0.5; done
  echo "peers: $1 did not come up" >&2; cat "$2" >&2; exit 1
}

load() {  # NAME URL BODIES CONNECTIONS SECONDS
  local threads=$(( $4 < 2 ? 1 : 2 ))
  WRK_JSON="$WORK/run-$1.json" wrk -t"$threads" -c"$4" -d"$5"s --timeout 60s -s Benchmarks/load/cycle.lua \
    "$2" -- "$WORK/$3.jsonl" >/dev/null
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"peers: {sys.argv[2]:<24} {r['requests_per_second']:8.1f} req/s  p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  ({r['requests']} requests, errors {sum(r['errors'].values()) + r['non_200']})\")" "$WORK/run-$1.json" "$1"
}

echo "== LlamaIndex in process =="
"$VENV/bin/python" Benchmarks/peers/llamaindex_server.py inprocess --queries "$WORK/search.jsonl" \
  --seconds "$SECONDS_1" --json "$WORK/peer-inprocess.json"

echo "== LlamaIndex behind FastAPI/uvicorn (1 worker) =="
"$VENV/bin/uvicorn" llamaindex_server:app --app-dir Benchmarks/peers --host 127.0.0.1 --port "$PEER_PORT" \
  --workers 1 --log-level warning >"$WORK/peer.log" 2>&1 &
PEER=$!
wait_up "http://127.0.0.1:$PEER_PORT/health" "$WORK/peer.log"
load warmup-peer "http://127.0.0.1:$PEER_PORT/search" search 2 5 >/dev/null
load peer-search-1conn "http://127.0.0.1:$PEER_PORT/search" search 1 "$SECONDS_1"
load peer-search-32conn "http://127.0.0.1:$PEER_PORT/search" search 32 "$SECONDS_32"
python3 Benchmarks/peers/ndcg.py --url "http://127.0.0.1:$PEER_PORT/search" --field id --json "$WORK/peer-ndcg.json"
kill "$PEER"; wait "$PEER" 2>/dev/null || true

echo "== quarry serve (hybrid, cache off) =="
# A copy, so that the run neither changes nor waits on the store other benchmarks use.
cp -r "$STORE" "$WORK/store"
"$QUARRY" serve --store "$WORK/store" --port "$QUARRY_PORT" --cache-entries 0 --log-level warning >"$WORK/serve.log" 2>&1 &
SERVER=$!
wait_up "http://127.0.0.1:$QUARRY_PORT/health" "$WORK/serve.log"
curl -sf -m 600 "http://127.0.0.1:$QUARRY_PORT/search" -H 'Content-Type: application/json' -d '{"query": "warm up"}' >/dev/null
load warmup-quarry "http://127.0.0.1:$QUARRY_PORT/search" search 2 5 >/dev/null
load quarry-search-1conn "http://127.0.0.1:$QUARRY_PORT/search" search 1 "$SECONDS_1"
load quarry-query-1conn "http://127.0.0.1:$QUARRY_PORT/query" query 1 "$SECONDS_1"
load quarry-search-32conn "http://127.0.0.1:$QUARRY_PORT/search" search 32 "$SECONDS_32"
load quarry-query-32conn "http://127.0.0.1:$QUARRY_PORT/query" query 32 "$SECONDS_32"
python3 Benchmarks/peers/ndcg.py --url "http://127.0.0.1:$QUARRY_PORT/search" --field document --json "$WORK/quarry-ndcg.json"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

echo "== quarry eval (hybrid, SciFact test) =="
"$QUARRY" eval --dataset corpus/scifact --mode hybrid --store .bench/peers-eval-store --json "$WORK/quarry-eval.json" >"$WORK/eval.log" 2>&1 \
  || { cat "$WORK/eval.log" >&2; exit 1; }
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

"$VENV/bin/python" - "$WORK" "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" "$SECONDS_1" "$SECONDS_32" <<'PY'
import json, os, subprocess, sys
from importlib import metadata
work, out, load_before, load_after, s1, s32 = sys.argv[1:7]
runs = {n[4:-5]: json.load(open(f"{work}/{n}")) for n in os.listdir(work)
        if n.startswith("run-") and n.endswith(".json") and "warmup" not in n}
inproc = json.load(open(f"{work}/peer-inprocess.json"))
peer_ndcg, quarry_ndcg = (json.load(open(f"{work}/{n}-ndcg.json")) for n in ("peer", "quarry"))
for r in (peer_ndcg, quarry_ndcg): r.pop("per_query")
ev = json.load(open(f"{work}/quarry-eval.json"))
hybrid = next(m for m in ev["retrieval"]["modes"] if m["mode"] == "hybrid")
quarry_eval = {"metrics": hybrid["metrics"], "latency_ms": {k: v for k, v in hybrid["latency"].items() if k != "samples"},
               "queries": ev["retrieval"]["queries"], "top_k": ev["retrieval"]["top_k"], "commit": ev.get("commit")}

def licence(name):
    m = metadata.metadata(name)
    if m.get("License-Expression"):
        return m["License-Expression"]
    text = m.get("License") or ""
    if not text or len(text) > 40:  # a whole licence text rather than its name
        classifiers = [c.split(" :: ")[-1] for c in m.get_all("Classifier") or [] if c.startswith("License ::")]
        text = ", ".join(classifiers) or text[:40]
    return text

packages = ["llama-index-core", "llama-index-embeddings-huggingface", "llama-index-retrievers-bm25", "fastapi",
            "uvicorn", "starlette", "pydantic", "torch", "sentence-transformers", "transformers", "bm25s", "PyStemmer", "numpy"]
versions = {p: {"version": metadata.version(p), "licence": licence(p)} for p in packages}

pairs = [  # (what, Quarry's run, the peer's run)
    ("/search, 1 connection", "quarry-search-1conn", "peer-search-1conn"),
    ("/query, 1 connection", "quarry-query-1conn", "peer-search-1conn"),
    ("/search, 32 connections", "quarry-search-32conn", "peer-search-32conn"),
    ("/query, 32 connections", "quarry-query-32conn", "peer-search-32conn"),
]
ratios = []
print(f"\n{'Quarry / LlamaIndex over HTTP':<34}{'req/s':>8}{'p50':>8}{'p99':>8}   (req/s: higher is better; p50/p99: lower)")
for what, q, p in pairs:
    rq, rp = runs[q], runs[p]
    row = {"what": what, "quarry": q, "peer": p,
           "requests_per_second": rq["requests_per_second"] / rp["requests_per_second"],
           "p50": rq["p50_ms"] / rp["p50_ms"], "p99": rq["p99_ms"] / rp["p99_ms"]}
    ratios.append(row)
    print(f"{what:<34}{row['requests_per_second']:8.2f}{row['p50']:8.3f}{row['p99']:8.3f}")
q1 = runs["quarry-search-1conn"]
row = {"what": "Quarry /search (HTTP, 1 connection) / peer in process", "quarry": "quarry-search-1conn",
       "peer": "peer-inprocess", "p50": q1["p50_ms"] / inproc["p50_ms"], "p99": q1["p99_ms"] / inproc["p99_ms"]}
ratios.append(row)
print(f"{'/search over HTTP / peer in process':<34}{'':>8}{row['p50']:8.3f}{row['p99']:8.3f}")
eval_ndcg = hybrid["metrics"]["ndcg@10"]
print(f"\nnDCG@10, SciFact test (300 queries): LlamaIndex {peer_ndcg['ndcg@10']:.4f} (its /search, top_k 10); "
      f"Quarry {quarry_ndcg['ndcg@10']:.4f} (its /search, top_k 10), {eval_ndcg:.4f} (quarry eval --mode hybrid)")
report = {
    "runs": runs, "peer_in_process": inproc, "ratios_quarry_over_peer": ratios,
    "ndcg@10": {"peer_search_http": peer_ndcg, "quarry_search_http": quarry_ndcg, "quarry_eval_hybrid": eval_ndcg},
    "quarry_eval": quarry_eval, "peer_versions": versions,
    "seconds_per_phase": {"one_connection": float(s1), "32_connections": float(s32)},
    "load_average": {"before": float(load_before), "after": float(load_after)}, "cores": os.cpu_count(),
    "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
}
json.dump(report, open(out, "w"), indent=2, sort_keys=True)
print("peer versions: " + ", ".join(f"{p} {v['version']} ({v['licence']})" for p, v in versions.items()))
print(f"peers: load average {load_before} before, {load_after} after; wrote {out}")
PY
