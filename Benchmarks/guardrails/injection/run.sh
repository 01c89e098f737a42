#!/usr/bin/env bash
# Measures the prompt-injection scorer (`quarry guard injection`), end to end:
#
#   Benchmarks/guardrails/injection/run.sh
#
# Data: deepset/prompt-injections (Apache-2.0, 546 train / 116 test rows), committed in data/
# (see data/README.md for where the copy comes from). Scores both splits, prints the weights
# fitted on the TRAIN split (to compare with InjectionWeights.fitted), and reports the TEST split
# (precision, recall, F1, FPR, P/R curve), two keyword baselines on the same rows, and the flag
# rate on benign documentation cut into ~1000-character passages: the bundled SQLite pages
# (corpus/sqlite-docs), SciFact abstracts (corpus/scifact) and, if present, the README files
# under /usr/share/doc. Writes Benchmarks/results/injection-<date>.json.
set -euo pipefail
cd "$(dirname "$0")/../../.."
HERE=Benchmarks/guardrails/injection
QUARRY=${QUARRY:-$PWD/.build/release/quarry}
OUT=Benchmarks/results/injection-$(date +%Y-%m-%d).json
WORK=$(mktemp -d /tmp/quarry-injection.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
[ -x "$QUARRY" ] || swift build -c release --product quarry
# InjectionScorer.defaultThreshold; set THRESHOLD to measure another.
THRESHOLD=${THRESHOLD:-0.5}

READMES=()
[ -d /usr/share/doc ] && READMES=(/usr/share/doc)
python3 $HERE/evaluate.py passages corpus/sqlite-docs corpus/scifact/corpus.jsonl "$WORK/benign.jsonl" "${READMES[@]}"

"$QUARRY" guard injection --jsonl --threshold "$THRESHOLD" $HERE/data/deepset-train.jsonl >"$WORK/train.jsonl"
"$QUARRY" guard injection --jsonl --threshold "$THRESHOLD" $HERE/data/deepset-test.jsonl >"$WORK/test.jsonl"
# Three timed runs over the benign passages; the fastest is reported (the machine is shared).
for run in 1 2 3; do
    "$QUARRY" guard injection --jsonl --timing --threshold "$THRESHOLD" "$WORK/benign.jsonl" \
        >"$WORK/benign-scored.jsonl" 2>>"$WORK/timing-all.txt"
done
python3 -c 'import re,sys; print(min(open(sys.argv[1]).read().splitlines(), key=lambda l: float(re.search(r"([0-9.]+) µs per KB", l).group(1))))' \
    "$WORK/timing-all.txt" >"$WORK/timing.txt"

echo "== weights fitted on the train split (compare with InjectionWeights.fitted):"
python3 $HERE/evaluate.py fit "$WORK/train.jsonl"
echo "== held-out test split:"
python3 $HERE/evaluate.py report --train "$WORK/train.jsonl" --test "$WORK/test.jsonl" \
    --benign "$WORK/benign-scored.jsonl" --threshold "$THRESHOLD" --timing "$WORK/timing.txt" \
    --commit "$(git rev-parse --short HEAD)" --out "$OUT"
cat "$WORK/timing.txt"
echo "wrote $OUT"
