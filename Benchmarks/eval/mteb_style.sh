#!/usr/bin/env bash
# The embedder alone on SciFact as MTEB scores all-MiniLM-L6-v2 (published nDCG@10 0.645): each
# document embedded whole as "title text" (truncated at the model's 256 word pieces, no
# chunking), queries embedded as they are, exact cosine ranking, nDCG@10 by pytrec_eval.
# Separates the model's faithfulness from the effect of Quarry's chunking (`quarry eval`).
#
#   Benchmarks/eval/mteb_style.sh [DATASET]      (default corpus/scifact)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATASET=${1:-corpus/scifact}
QUARRY=.build/release/quarry
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
[ -x "$QUARRY" ] || make build
python3 -c "import numpy, pytrec_eval" 2>/dev/null || python3 -m pip install --quiet --root-user-action=ignore numpy "pytrec_eval-terrier==0.5.11"

python3 - "$DATASET" "$WORK" <<'PY'
import json, sys
dataset, work = sys.argv[1:]
with open(f"{work}/docs.jsonl", "w") as out, open(f"{work}/doc_ids.txt", "w") as ids:
    for line in open(f"{dataset}/corpus.jsonl"):
        d = json.loads(line)
        out.write(json.dumps({"text": (d.get("title", "") + " " + d["text"]).strip()}) + "\n")
        ids.write(d["_id"] + "\n")
with open(f"{work}/queries.jsonl", "w") as out, open(f"{work}/query_ids.txt", "w") as ids:
    for line in open(f"{dataset}/queries.jsonl"):
        q = json.loads(line)
        out.write(json.dumps({"text": q["text"]}) + "\n")
        ids.write(str(q["_id"]) + "\n")
PY
"$QUARRY" embed --batch-size 32 < "$WORK/docs.jsonl" > "$WORK/docs.vectors.jsonl"
"$QUARRY" embed --batch-size 32 < "$WORK/queries.jsonl" > "$WORK/queries.vectors.jsonl"

python3 - "$DATASET" "$WORK" <<'PY'
import json, sys
import numpy as np, pytrec_eval
dataset, work = sys.argv[1:]
def load(name):
    return np.array([json.loads(l)["embedding"] for l in open(f"{work}/{name}.vectors.jsonl")], dtype=np.float32)
docs, queries = load("docs"), load("queries")
doc_ids = open(f"{work}/doc_ids.txt").read().split()
query_ids = open(f"{work}/query_ids.txt").read().split()
qrels = {}
for i, line in enumerate(open(f"{dataset}/qrels/test.tsv")):
    q, d, s = line.strip().split("\t")
    if i == 0 and not s.isdigit(): continue
    qrels.setdefault(q, {})[d] = int(s)
scores = queries @ docs.T
run = {}
for qi, q in enumerate(query_ids):
    if q not in qrels: continue
    top = np.argsort(-scores[qi])[:100]
    run[q] = {doc_ids[j]: float(scores[qi, j]) for j in top}
result = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"}).evaluate(run)
ndcg = np.mean([m["ndcg_cut_10"] for m in result.values()])
recall = np.mean([m["recall_100"] for m in result.values()])
print(f"mteb-style: {len(run)} queries, {len(doc_ids)} documents embedded whole: nDCG@10 {ndcg:.4f} (MTEB all-MiniLM-L6-v2: 0.645), Recall@100 {recall:.4f}")
PY
