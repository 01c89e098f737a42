#!/usr/bin/env python3
"""nDCG@10 of a served /search on the SciFact test queries, through HTTP, one query at a time.

Asks POST URL {"query", "top_k"} for each judged query, reads the document id of each hit
(Quarry: `document` "corpus.jsonl#ID"; the LlamaIndex peer: `id`), keeps each document's first
(best) hit, and scores the first 10 documents against the qrels with trec_eval's nDCG
(gain = the judged relevance, discount log2(rank + 1), ideal ranking from the qrels). Queries
with no relevant document returned score 0. Standard library only.

    python3 ndcg.py --url http://127.0.0.1:8080/search --field document --json out.json
"""
import argparse
import csv
import json
import math
import time
import urllib.request


def ndcg_at(ranked, relevant, k=10):
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(i + 2) for i, gain in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--field", required=True, help="the hit field holding the document id")
    parser.add_argument("--queries", default="corpus/scifact/queries.jsonl")
    parser.add_argument("--qrels", default="corpus/scifact/qrels/test.tsv")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--json")
    args = parser.parse_args()

    qrels = {}
    with open(args.qrels, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    texts = {}
    with open(args.queries, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                texts[str(q["_id"])] = q["text"]

    scores, times = {}, []
    for qid in sorted(qrels, key=int):
        body = json.dumps({"query": texts[qid], "top_k": args.top_k}).encode()
        request = urllib.request.Request(args.url, data=body, headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            hits = json.load(response)["hits"]
        times.append((time.perf_counter() - start) * 1000)
        ranked = []
        for hit in hits:
            doc = str(hit[args.field]).split("#", 1)[-1]  # "corpus.jsonl#ID" -> "ID"
            if doc not in ranked:
                ranked.append(doc)
        scores[qid] = ndcg_at(ranked, qrels[qid], 10)

    report = {"queries": len(scores), "ndcg@10": sum(scores.values()) / len(scores), "top_k": args.top_k,
              "mean_ms": sum(times) / len(times), "per_query": scores}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f)
    print(json.dumps({k: v for k, v in report.items() if k != "per_query"}))


if __name__ == "__main__":
    main()
