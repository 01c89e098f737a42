#!/usr/bin/env python3
"""Measures `quarry guard injection` on a labelled prompt-injection set and on benign documents.

  evaluate.py passages SQLITE_DOCS_DIR SCIFACT_CORPUS_JSONL OUT.jsonl [README_ROOT]
      Cuts the benign documentation into ~1000-character passages (at paragraph, then sentence,
      boundaries) as JSON lines {"text", "source", "id"}. README_ROOT (e.g. /usr/share/doc) adds
      every README* under it (gzip or plain), a third set never looked at while writing phrases.
  evaluate.py fit TRAIN_SCORED.jsonl
      Fits the logistic weights on the scored TRAINING split only and prints them as Swift
      (for InjectionWeights.fitted) with the threshold that maximises F1 on that split.
  evaluate.py report --train T.jsonl --test T.jsonl --benign B.jsonl [--timing FILE] --out OUT.json
      Scores the held-out split (precision, recall, F1, FPR, a P/R curve over thresholds), the
      keyword baselines on the same rows, and the flag rate on the benign passages.

The scored files are `quarry guard injection --jsonl` output: the input rows with "score",
"flagged" and "signals" added.
"""
import argparse
import json
import math
import os
import re
import sys

SIGNALS = [
    "override_instructions", "reveal_prompt", "role_play_jailbreak", "restriction_removal", "new_instructions",
    "system_impersonation", "exfiltration", "addressed_to_model", "obfuscation", "forced_output", "task_pivot",
]
# The weight each signal starts from, and is pulled back towards by the penalty: what one would
# set by hand from public detectors' experience, before seeing the data. A signal the training
# split never shows keeps its prior.
PRIORS = {
    "override_instructions": 4.0, "reveal_prompt": 4.0, "role_play_jailbreak": 3.0, "restriction_removal": 4.0,
    "new_instructions": 3.0, "system_impersonation": 4.0, "exfiltration": 4.0, "addressed_to_model": 3.0,
    "obfuscation": 2.0, "forced_output": 3.0, "task_pivot": 1.5,
}
PENALTY = 1.0  # λ in Σ λ (w - prior)^2; the bias is not penalised.


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# Benign passages

def cut(text, size=1000):
    """Splits text into pieces of about `size` characters at paragraph, then sentence, breaks."""
    pieces, current = [], ""
    units = []
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        if len(para) <= size:
            units.append(para)
        else:
            units.extend(s for s in re.split(r"(?<=[.!?])\s+", para) if s)
    for unit in units:
        if current and len(current) + len(unit) + 2 > size:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{unit}" if current else unit
        while len(current) > 2 * size:  # one overlong sentence or table
            pieces.append(current[:size])
            current = current[size:]
    if current.strip():
        pieces.append(current)
    return pieces


def passages(args):
    out = open(args[2], "w", encoding="utf-8")
    count = {"sqlite-docs": 0, "scifact": 0}
    for name in sorted(os.listdir(args[0])):
        if not name.endswith(".md") or name == "SOURCE.md":
            continue
        with open(os.path.join(args[0], name), encoding="utf-8") as f:
            for i, piece in enumerate(cut(f.read())):
                out.write(json.dumps({"text": piece, "source": "sqlite-docs", "id": f"{name}#{i}"}) + "\n")
                count["sqlite-docs"] += 1
    for row in read_jsonl(args[1]):
        text = (row.get("title", "") + "\n\n" + row.get("text", "")).strip()
        for i, piece in enumerate(cut(text)):
            out.write(json.dumps({"text": piece, "source": "scifact", "id": f"{row['_id']}#{i}"}) + "\n")
            count["scifact"] += 1
    if len(args) > 3:
        import gzip
        count["debian-readmes"] = 0
        for root, _, files in sorted(os.walk(args[3])):
            for name in sorted(files):
                if not name.startswith("README"):
                    continue
                path = os.path.join(root, name)
                if os.path.islink(path):
                    continue
                try:
                    raw = gzip.open(path).read() if name.endswith(".gz") else open(path, "rb").read()
                    text = raw.decode("utf-8")
                except (OSError, UnicodeDecodeError, EOFError):
                    continue
                for i, piece in enumerate(cut(text)):
                    out.write(json.dumps({"text": piece, "source": "debian-readmes", "id": f"{path}#{i}"}) + "\n")
                    count["debian-readmes"] += 1
    print(json.dumps(count), file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# Fitting

def features(row):
    fired = set(row["signals"])
    return [1.0 if s in fired else 0.0 for s in SIGNALS]


def fit_weights(rows, iterations=2000):
    """Penalised logistic regression by Newton's method (11 binary features: tiny)."""
    import numpy as np
    X = np.array([[1.0] + features(r) for r in rows])
    y = np.array([float(r["label"]) for r in rows])
    prior = np.array([0.0] + [PRIORS[s] for s in SIGNALS])
    lam = np.array([0.0] + [PENALTY] * len(SIGNALS))
    w = prior.copy()
    w[0] = -3.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(X @ w)))
        grad = X.T @ (p - y) + 2 * lam * (w - prior)
        hess = (X.T * (p * (1 - p))) @ X + np.diag(2 * lam + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(w[0]), {s: float(v) for s, v in zip(SIGNALS, w[1:])}


def score_with(bias, weights, row):
    z = bias + sum(weights[s] for s in row["signals"] if s in weights)
    return 1 / (1 + math.exp(-z))


def best_threshold(scores, labels):
    best = (0.0, 0.5)
    for t in sorted(set(scores)):
        m = metrics(scores, labels, t)
        if m["f1"] > best[0] + 1e-12:
            best = (m["f1"], t)
    return best[1]


def fit(args):
    rows = read_jsonl(args[0])
    bias, weights = fit_weights(rows)
    scores = [score_with(bias, weights, r) for r in rows]
    labels = [r["label"] for r in rows]
    t = best_threshold(scores, labels)
    # Scores are discrete (sums of weights), so F1 is flat between the best threshold and the
    # next score below it: report the whole interval; any round value in it is as good.
    below = max([s for s in set(scores) if s < t], default=0.0)
    print(f"        bias: {bias:.2f},")
    print("        weights: [")
    for s in SIGNALS:
        name = "".join(p.capitalize() if i else p for i, p in enumerate(s.split("_")))
        print(f"            .{name}: {weights[s]:.2f},")
    print("        ]")
    print(f"thresholds with the best F1 on train: ({below:.3f}, {t:.3f}]  train at {t:.3f}: {json.dumps(metrics(scores, labels, t))}")
    support = {s: [sum(1 for r in rows if s in r['signals'] and r['label'] == y) for y in (1, 0)] for s in SIGNALS}
    print("support (fired on injections, on benign):", json.dumps(support))


# ---------------------------------------------------------------------------------------------
# Reporting

def metrics(scores, labels, threshold):
    tp = sum(1 for s, y in zip(scores, labels) if s >= threshold and y == 1)
    fp = sum(1 for s, y in zip(scores, labels) if s >= threshold and y == 0)
    fn = sum(1 for s, y in zip(scores, labels) if s < threshold and y == 1)
    tn = sum(1 for s, y in zip(scores, labels) if s < threshold and y == 0)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    return {"threshold": round(threshold, 4), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "fpr": round(fpr, 4), "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def curve(scores, labels):
    points = []
    for t in sorted(set(scores) | {0.5}):
        m = metrics(scores, labels, t)
        points.append({k: m[k] for k in ("threshold", "precision", "recall", "f1", "fpr")})
    return points


def auc_pr(points):
    """Average precision over the curve's points (step interpolation, recall descending)."""
    pts = sorted(points, key=lambda p: p["recall"])
    total, last_recall = 0.0, 0.0
    for p in pts:
        total += (p["recall"] - last_recall) * p["precision"]
        last_recall = p["recall"]
    return round(total, 4)


BASELINES = {
    "keyword_ignore": ("contains 'ignore' (case-insensitive)", re.compile(r"ignore", re.I)),
    "keyword_override_multilingual": (
        "contains ignore/forget/disregard or a German/French/Spanish form (ignorier, vergiss, vergessen, oubli, olvid)",
        re.compile(r"ignor|forget|disregard|vergiss|vergessen|oubli|olvid", re.I)),
}


def report(a):
    train, test, benign = read_jsonl(a.train), read_jsonl(a.test), read_jsonl(a.benign)
    threshold = a.threshold
    out = {
        "benchmark": "prompt-injection scorer (quarry guard injection)",
        "dataset": {
            "name": "deepset/prompt-injections",
            "licence": "Apache-2.0",
            "copy": "Benchmarks/guardrails/injection/data/ (converted from github.com/philipogn/attention-nlp-detector, "
                    "data/1-raw/{train,test}/deepset_{train,test}.csv at commit 17941e92f26901b019223f3a23b0f66daa23962d; "
                    "row and label counts match the original: 546 train (203 injections), 116 test (60 injections))",
            "train": {"rows": len(train), "injections": sum(r["label"] for r in train)},
            "test": {"rows": len(test), "injections": sum(r["label"] for r in test)},
            "tuned_on": "train only (phrases written from train rows and public detectors; weights and threshold fitted on train)",
        },
        "threshold": threshold,
    }
    labels = [r["label"] for r in test]
    scores = [r["score"] for r in test]
    points = curve(scores, labels)
    out["test"] = metrics(scores, labels, threshold)
    out["test"]["average_precision"] = auc_pr(points)
    out["test_pr_curve"] = points
    tl = [r["label"] for r in train]
    out["train"] = metrics([r["score"] for r in train], tl, threshold)
    missed = [r["text"][:160] for r in test if r["label"] == 1 and r["score"] < threshold]
    false_alarms = [{"text": r["text"][:160], "signals": r["signals"]} for r in test if r["label"] == 0 and r["score"] >= threshold]
    out["test_errors"] = {"missed_injections": missed, "false_alarms": false_alarms}
    fired = {s: {"injections": sum(1 for r in test if s in r["signals"] and r["label"] == 1),
                 "benign": sum(1 for r in test if s in r["signals"] and r["label"] == 0)} for s in SIGNALS}
    out["test_signal_counts"] = fired
    out["peers"] = {}
    for key, (description, pattern) in BASELINES.items():
        bscores = [1.0 if pattern.search(r["text"]) else 0.0 for r in test]
        m = metrics(bscores, labels, 0.5)
        bflags = [r for r in benign if pattern.search(r["text"])]
        m["description"] = description
        m["benign_passages_flag_rate"] = round(len(bflags) / len(benign), 4)
        out["peers"][key] = m
    by_source = {}
    for r in benign:
        s = by_source.setdefault(r["source"], {"passages": 0, "flagged": 0, "examples": []})
        s["passages"] += 1
        if r["score"] >= threshold:
            s["flagged"] += 1
            if len(s["examples"]) < 10:
                s["examples"].append({"id": r["id"], "signals": r["signals"], "text": r["text"][:200]})
        s.setdefault("any_signal", 0)
        if r["signals"]:
            s["any_signal"] += 1
    for s in by_source.values():
        s["false_positive_rate"] = round(s["flagged"] / s["passages"], 5)
        s["any_signal_rate"] = round(s["any_signal"] / s["passages"], 5)
    out["benign_documentation"] = by_source
    if a.timing and os.path.exists(a.timing):
        out["timing"] = open(a.timing).read().strip()
    if a.commit:
        out["commit"] = a.commit
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")
    t = out["test"]
    print(f"test  P {t['precision']:.3f}  R {t['recall']:.3f}  F1 {t['f1']:.3f}  FPR {t['fpr']:.3f}  AP {t['average_precision']:.3f}")
    for k, m in out["peers"].items():
        print(f"peer {k}: P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  FPR {m['fpr']:.3f}  benign docs {m['benign_passages_flag_rate']:.4f}")
    for k, s in by_source.items():
        print(f"benign {k}: {s['flagged']}/{s['passages']} flagged (FPR {s['false_positive_rate']:.4f}); any signal {s['any_signal']}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "passages" and len(rest) in (3, 4):
        passages(rest)
    elif command == "fit" and len(rest) == 1:
        fit(rest)
    elif command == "report":
        p = argparse.ArgumentParser(prog="evaluate.py report")
        p.add_argument("--train", required=True)
        p.add_argument("--test", required=True)
        p.add_argument("--benign", required=True)
        p.add_argument("--threshold", type=float, required=True)
        p.add_argument("--timing")
        p.add_argument("--commit")
        p.add_argument("--out", required=True)
        report(p.parse_args(rest))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
