#!/usr/bin/env python3
"""Calibrates and scores abstention (issue 14) on SQuAD 2.0 and the corpus/ QA file.

  calibrate.py prepare SQUAD_JSON OUT_DIR      corpus and questions from SQuAD 2.0 train
  calibrate.py collect PORT QUESTIONS OUT      asks a running `quarry serve` every question
                                               (abstain never) and keeps the evidence
  calibrate.py fit TUNE_JSONL HELDOUT_JSONL... [--json OUT] [--keep SHARE]
                                               fits the logistic weights on TUNE, picks the
                                               threshold, scores every file with them

The SQuAD split (from the first ten articles of SQuAD 2.0 train, CC BY-SA 4.0):
  - ingested: every paragraph of articles 0, 1, 2, 4, 5, 6, 7, 8;
  - tune: answerable questions of articles 0-2 and 4, the unanswerable (is_impossible)
    questions of article 4, and out-of-corpus questions of article 3 (not ingested);
  - held-out: answerable questions of articles 5-8, the unanswerable questions of article 5,
    and out-of-corpus questions of article 9 (not ingested).
Nothing of the held-out side is seen while fitting or choosing the threshold.
"""
import json, math, random, sys, urllib.request

INGESTED = [0, 1, 2, 4, 5, 6, 7, 8]
TUNE = {"answerable": [0, 1, 2, 4], "impossible": [4], "out_of_corpus": [3]}
HELDOUT = {"answerable": [5, 6, 7, 8], "impossible": [5], "out_of_corpus": [9]}
PER_KIND = 200


def prepare(squad_path, out):
    import os
    data = json.load(open(squad_path))["data"]
    os.makedirs(f"{out}/corpus", exist_ok=True)
    with open(f"{out}/corpus/squad.jsonl", "w") as f:
        for a in INGESTED:
            for p, para in enumerate(data[a]["paragraphs"]):
                f.write(json.dumps({"_id": f"a{a}p{p}", "title": data[a]["title"].replace("_", " "), "text": para["context"]}) + "\n")
    rng = random.Random(14)
    for name, plan in (("tune", TUNE), ("heldout", HELDOUT)):
        rows = []
        for kind, articles in plan.items():
            pool = []
            for a in articles:
                for p, para in enumerate(data[a]["paragraphs"]):
                    for q in para["qas"]:
                        impossible = q.get("is_impossible", False)
                        if kind == "answerable" and impossible or kind == "impossible" and not impossible:
                            continue
                        pool.append({"id": q["id"], "question": q["question"], "kind": kind, "answerable": kind == "answerable",
                                     "doc": f"a{a}p{p}", "answers": [x["text"] for x in q.get("answers", [])]})
            rng.shuffle(pool)
            rows += pool[:PER_KIND]
        with open(f"{out}/{name}.jsonl", "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        print(f"{name}: " + ", ".join(f"{k} {sum(r['kind'] == k for r in rows)}" for k in plan))


def collect(port, questions, out, collection="default"):
    rows = [json.loads(line) for line in open(questions) if line.strip()]
    with open(out, "w") as f:
        for row in rows:
            body = json.dumps({"query": row["question"], "collection": collection, "top_k": 5, "abstain": "never"}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/query", body, {"Content-Type": "application/json"})
            answer = json.load(urllib.request.urlopen(request))
            cited = set()
            for number in __import__("re").findall(r"\[(\d+)\]", answer.get("answer") or ""):
                n = int(number)
                if 1 <= n <= len(answer["citations"]):
                    cited.add(answer["citations"][n - 1]["document"].split("#")[-1])
            row["evidence"] = answer["evidence"]
            row["cited"] = sorted(cited)
            row["retrieved"] = [c["document"].split("#")[-1] for c in answer["citations"]]
            # What the features are computed from, so that new ones can be tried offline.
            row["answer"] = answer.get("answer")
            row["citations"] = [{"document": c["document"].split("#")[-1], "text": c["text"], "score": c["score"]}
                                for c in answer["citations"]]
            f.write(json.dumps(row) + "\n")
    print(f"collected {len(rows)} answers into {out}")


FEATURES = ("dense_similarity", "coverage", "answer_coverage", "agreement", "sentence_coverage", "name_coverage")
# The dense model's features. With the sentence coverage in, the fit gave the plain coverages
# negative weights (they are nearly collinear with it) for a tune-side gain within the noise of
# cross-validation (abstention 0.692 against 0.683 at the same correct citations; prototype.py),
# so they are left out: every weight stays positive, which is what a corpus nobody tuned for
# can rely on.
DENSE = ("dense_similarity", "agreement", "sentence_coverage", "name_coverage")
# The lexical-only model's features: the first two of vector()'s after dense_similarity. The
# sentence and name coverages were tried there too and did not help it on the tune side
# (prototype.py), so it keeps the word coverages only.
LEXICAL = ("coverage", "answer_coverage")
# The threshold keeps this share of the answerable tune questions that are answered with a
# correct citation when nothing abstains: the goal's 90 % of a ~93 % retrieval ceiling.
KEEP = 0.97
KEEP_LEXICAL = 0.9


def vector(evidence):
    coverage = evidence["coverage"]
    answer = evidence.get("answer_coverage")
    return [evidence.get("dense_similarity") or 0.0, coverage, coverage if answer is None else answer, evidence["agreement"],
            evidence["sentence_coverage"], evidence["name_coverage"]]


def fit_logistic(xs, ys, l2=0.01, steps=50):
    """Newton's method (IRLS) with a little L2 on the weights, not the bias."""
    import numpy as np
    X = np.hstack([np.ones((len(xs), 1)), np.array(xs)])
    y = np.array(ys, dtype=float)
    w = np.zeros(X.shape[1])
    penalty = np.eye(X.shape[1]) * l2
    penalty[0, 0] = 0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-X @ w))
        gradient = X.T @ (p - y) + penalty @ w
        hessian = X.T @ (X * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hessian, gradient)
    return [float(v) for v in w]


def confidence(w, x):
    z = w[0] + sum(a * b for a, b in zip(w[1:], x))
    return 1 / (1 + math.exp(-z))


def dense_vector(evidence):
    x = vector(evidence)
    return [x[FEATURES.index(f)] for f in DENSE]


def score(rows, w, threshold):
    """Abstention as classification: precision and recall of abstaining on unanswerable
    questions; coverage (share answered) and accuracy (answered with a correct citation) on
    answerable ones."""
    unanswerable = [r for r in rows if not r["answerable"]]
    answerable = [r for r in rows if r["answerable"]]
    abstain = lambda r: confidence(w, dense_vector(r["evidence"])) < threshold
    abstained = [r for r in rows if abstain(r)]
    true_abstentions = sum(1 for r in abstained if not r["answerable"])
    answered = [r for r in answerable if not abstain(r)]
    correct = sum(1 for r in answered if r["doc"] in r["cited"])
    by_kind = {}
    for kind in sorted({r["kind"] for r in unanswerable}):
        group = [r for r in unanswerable if r["kind"] == kind]
        by_kind[kind] = sum(1 for r in group if abstain(r)) / len(group)
    return {
        "questions": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "abstention_precision": true_abstentions / len(abstained) if abstained else 1.0,
        "abstention_recall": true_abstentions / len(unanswerable) if unanswerable else 1.0,
        "abstention_recall_by_kind": by_kind,
        "coverage": len(answered) / len(answerable) if answerable else 0.0,
        "answered_with_correct_citation": correct / len(answerable) if answerable else 0.0,
        "accuracy_when_answered": correct / len(answered) if answered else 0.0,
    }


def risk_coverage(rows, w):
    """(coverage, risk) as the threshold sweeps: risk = share of answered questions that are
    unanswerable or cite the wrong passage."""
    ranked = sorted(rows, key=lambda r: -confidence(w, dense_vector(r["evidence"])))
    points, wrong = [], 0
    for n, r in enumerate(ranked, 1):
        wrong += 0 if r["answerable"] and r["doc"] in r["cited"] else 1
        points.append((n / len(ranked), wrong / n))
    return points[:: max(1, len(points) // 50)]


def fit(tune_path, others, out=None, keep=KEEP):
    tune = [json.loads(line) for line in open(tune_path) if line.strip()]
    xs = [vector(r["evidence"]) for r in tune]
    ys = [1 if r["answerable"] and r["doc"] in r["retrieved"] else 0 for r in tune]
    w = fit_logistic([dense_vector(r["evidence"]) for r in tune], ys)
    # The threshold: the highest that still answers KEEP of the answerable tune questions that
    # get a correct citation when nothing abstains, so that abstention is as strong as the
    # coverage goal allows.
    best = None
    ceiling = score(tune, w, 0.0)["answered_with_correct_citation"]
    for t in [i / 200 for i in range(1, 200)]:
        if score(tune, w, t)["answered_with_correct_citation"] >= keep * max(1e-9, ceiling):
            best = t
    threshold = best or 0.5
    report = {"weights": dict(zip(("bias",) + DENSE, w)), "threshold": threshold, "keep": keep, "tune": score(tune, w, threshold)}
    # The model of lexical-only queries (no dense similarity), fitted on the same labels; Quarry
    # uses it with the same threshold.
    lexical = fit_logistic([[x[FEATURES.index(f)] for f in LEXICAL] for x in xs], ys)
    # Words alone cannot keep 97 % of the correct citations and still abstain usefully (at
    # that share it lets a quarter of the out-of-corpus tune questions through), so the lexical
    # model keeps the earlier rule, 90 %: its own threshold is chosen by it, and its bias shifted
    # so that the common threshold decides as its own would.
    lexical_rows = [(r, [x[FEATURES.index(f)] for f in LEXICAL]) for r, x in zip(tune, xs)]
    correct = lambda t: sum(1 for r, x in lexical_rows if r["answerable"] and r["doc"] in r["cited"] and confidence(lexical, x) >= t)
    lexical_threshold = max([t for t in [i / 200 for i in range(1, 200)] if correct(t) >= KEEP_LEXICAL * correct(0.0)], default=threshold)
    lexical[0] += math.log(threshold / (1 - threshold)) - math.log(lexical_threshold / (1 - lexical_threshold))
    report["lexical_weights"] = dict(zip(("bias",) + LEXICAL, lexical))
    report["lexical_threshold"] = lexical_threshold
    for path in others:
        rows = [json.loads(line) for line in open(path) if line.strip()]
        report[path] = score(rows, w, threshold)
        report[path]["risk_coverage"] = risk_coverage(rows, w)
    print(json.dumps({k: v for k, v in report.items()}, indent=2))
    if out:
        json.dump(report, open(out, "w"), indent=2)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    elif command == "collect":
        collect(sys.argv[2], sys.argv[3], sys.argv[4], *(sys.argv[5:6]))
    elif command == "fit":
        args = sys.argv[2:]
        out = None
        if "--json" in args:
            i = args.index("--json")
            out = args[i + 1]
            args = args[:i] + args[i + 2:]
        keep = KEEP
        if "--keep" in args:
            i = args.index("--keep")
            keep = float(args[i + 1])
            args = args[:i] + args[i + 2:]
        fit(args[0], args[1:], out, keep)
