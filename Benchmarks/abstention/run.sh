#!/usr/bin/env bash
# Calibrates and scores abstention (issue 14) on SQuAD 2.0, end to end:
#
#   Benchmarks/abstention/run.sh SQUAD_TRAIN_JSON
#
# SQUAD_TRAIN_JSON is SQuAD 2.0's training set (train-v2.0.json, CC BY-SA 4.0; only its first ten
# articles are read). Ingests the split's corpus, asks every tune and held-out question through
# `POST /query` (extractive, hybrid, top_k 5, abstain never, so every answer's evidence is seen),
# fits the logistic weights and the threshold on the tune side only, and scores both sides.
# Writes Benchmarks/results/abstention-<date>.json; the weights and threshold it prints are the
# ones to put in AnswerEvidence.Weights.calibrated and AbstentionPolicy.defaultThreshold.
set -euo pipefail
cd "$(dirname "$0")/../.."
SQUAD=${1:?usage: Benchmarks/abstention/run.sh SQUAD_TRAIN_JSON}
PORT=${PORT:-18200}
QUARRY=$PWD/.build/release/quarry
OUT=Benchmarks/results/abstention-$(date +%Y-%m-%d).json
WORK=$(mktemp -d /tmp/quarry-abstention.XXXXXX)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
[ -x "$QUARRY" ] || make build
export QUARRY_MODEL=${QUARRY_MODEL:-$PWD/models/all-MiniLM-L6-v2}

python3 Benchmarks/abstention/calibrate.py prepare "$SQUAD" "$WORK"
"$QUARRY" ingest "$WORK/corpus" --store "$WORK/store" --no-progress
"$QUARRY" serve --store "$WORK/store" --port "$PORT" --cache-entries 0 --log-level warning >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.2; done
python3 Benchmarks/abstention/calibrate.py collect "$PORT" "$WORK/tune.jsonl" "$WORK/tune-out.jsonl"
python3 Benchmarks/abstention/calibrate.py collect "$PORT" "$WORK/heldout.jsonl" "$WORK/heldout-out.jsonl"
(cd "$WORK" && python3 "$OLDPWD/Benchmarks/abstention/calibrate.py" fit tune-out.jsonl heldout-out.jsonl --json fit.json >/dev/null)
python3 - "$WORK/fit.json" "$OUT" <<'PY'
import json, subprocess, sys
d = json.load(open(sys.argv[1]))
d["heldout"] = d.pop("heldout-out.jsonl")
d["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
d["source"] = {
    "data": "SQuAD 2.0 train, first ten articles (CC BY-SA 4.0), as prepared by Benchmarks/abstention/calibrate.py prepare",
    "collection": "one paragraph per document, articles 0,1,2,4,5,6,7,8",
    "request": "POST /query top_k 5, hybrid, extractive, abstain never",
    "model": "all-MiniLM-L6-v2",
}
json.dump(d, open(sys.argv[2], "w"), indent=2)
for side in ("tune", "heldout"):
    s = d[side]
    print(f"abstention {side}: abstains on {s['abstention_recall']:.3f} of unanswerable ({', '.join(f'{k} {v:.3f}' for k, v in s['abstention_recall_by_kind'].items())}), "
          f"precision {s['abstention_precision']:.3f}; answers {s['coverage']:.3f} of answerable, {s['answered_with_correct_citation']:.3f} with a correct citation")
print("weights", d["weights"], "lexical", d["lexical_weights"], "threshold", d["threshold"])
print("wrote", sys.argv[2])
PY
