#!/usr/bin/env python3
"""Tries candidate evidence features offline on the TUNE side only (never the held-out side).

  prototype.py TUNE_OUT_JSONL

TUNE_OUT_JSONL is `calibrate.py collect`'s output for tune.jsonl (it keeps the citations' texts
and the answer). Each feature is a Python twin of what AnswerEvidence.swift computes (or might);
every feature set is fitted as calibrate.py fits, its threshold chosen by the same rule, and
scored in-sample and by repeated 5-fold cross-validation within the tune side.
"""
import json, math, random, re, sys, unicodedata

sys.path.insert(0, __import__("os").path.dirname(__file__))
import calibrate  # noqa: E402

ENGLISH = set("""a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having he her
here hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or
other our ours out over own same she should so some such than that the their theirs them then there these they
this those through to too under until up very was we were what when where which while who whom why will with
would you your yours also may might must shall""".split())
QUESTION = ENGLISH | {"use", "used", "using", "one"}
NEGATIONS = {"not", "no", "never", "none", "nor", "neither", "nothing", "nobody", "unless"}


def words(text):
    out, cur = [], []
    for ch in unicodedata.normalize("NFD", text.lower()):
        if unicodedata.category(ch) == "Mn":
            continue
        if ch.isalpha() or "0" <= ch <= "9":
            cur.append(ch)
        elif cur:
            out.append("".join(cur)); cur = []
    if cur:
        out.append("".join(cur))
    return out


def fold(w):
    if len(w) <= 4:
        return w
    for s in ("ing", "ies", "ed", "es", "s"):
        if w.endswith(s):
            if s == "s" and w.endswith("ss"):
                return w
            return w[: -len(s)]
    return w


def content(text):
    return [fold(w) for w in words(text) if w not in QUESTION]


def sentences(text):
    out = []
    for para in text.split("\n\n"):
        out += [s for s in re.split(r"(?<=[.!?])\s+", para) if len(s.split()) >= 4]
    return out


def answer_sentences(answer):
    return [s.strip() for s in re.split(r"\s\[\d+\]", answer or "") if s.strip()]


def names(question):
    """Capitalised words not opening the question, numbers: the words a swapped entity shows in."""
    toks = re.findall(r"[^\W_]+(?:-[^\W_]+)*", question)
    out = []
    for i, t in enumerate(toks):
        if any(c.isdigit() for c in t) or (i > 0 and t[:1].isupper()):
            out += [fold(w) for w in words(t) if w not in QUESTION]
    return set(out)


def features(r):
    q = r["question"]
    terms = set(content(q))
    cits = r["citations"]
    ev = r["evidence"]
    passages = [set(content(c["text"])) for c in cits]
    sents = [set(content(s)) for c in cits for s in sentences(c["text"])]
    n = max(1, len(sents))
    df = {t: sum(1 for s in sents if t in s) for t in terms}
    idf = {t: math.log(1 + n / (df[t] + 0.5)) for t in terms}
    if PRIOR:
        from wordfreq import zipf_frequency
        original = {}
        for w in words(q):
            if w not in QUESTION:
                original.setdefault(fold(w), w)
        idf = {t: v + PRIOR * max(0.0, 7 - zipf_frequency(original.get(t, t), "en")) for t, v in idf.items()}
    total = sum(idf.values()) or 1
    wshare = lambda found: sum(idf[t] for t in terms & found) / total if terms else 0
    share = lambda found: len(terms & found) / len(terms) if terms else 0
    wcov = max((wshare(p) for p in passages), default=0)
    best = max(range(len(passages)), key=lambda i: (wshare(passages[i]), -i)) if passages else None
    asents = [set(content(s)) for s in answer_sentences(r.get("answer"))]
    aall = set().union(*asents) if asents else set()
    wacov = wshare(aall)
    best_sent_w = max((wshare(s) for s in asents), default=0)
    best_sent = max((share(s) for s in asents), default=0)
    any_sent_w = max((wshare(s) for s in sents), default=0)
    # the rarest missing term of the best passage
    missing = terms - (passages[best] if best is not None else set())
    max_missing = max((idf[t] for t in missing), default=0) / math.log(1 + n / 0.5)
    nm = names(q)
    best_a = max(asents, key=lambda s: wshare(s)) if asents else set()
    name_sent = len(nm & best_a) / len(nm) if nm else 1.0
    name_cov = len(nm & passages[best]) / len(nm) if nm and best is not None else 1.0
    name_max = max((len(nm & p) / len(nm) for p in passages), default=0) if nm else 1.0
    name_acov = len(nm & aall) / len(nm) if nm else 1.0
    # bigrams of the question's content words, adjacent (within 3 content words) in a passage
    qseq = content(q)
    pairs = {(a, b) for a, b in zip(qseq, qseq[1:]) if a != b}
    def pair_share(text):
        seq = content(text)
        pos = {}
        for i, w in enumerate(seq):
            pos.setdefault(w, []).append(i)
        hit = 0
        for a, b in pairs:
            if any(abs(i - j) <= 3 for i in pos.get(a, []) for j in pos.get(b, [])):
                hit += 1
        return hit / len(pairs) if pairs else 1.0
    bigram = max((pair_share(c["text"]) for c in cits), default=0)
    scores = [c["score"] for c in cits]
    margin = (scores[0] - scores[1]) / scores[0] if len(scores) > 1 and scores[0] > 0 else 1.0
    qneg = bool(set(words(q)) & NEGATIONS) or "n't" in q
    return {
        "dense": ev.get("dense_similarity") or 0.0, "coverage": ev["coverage"],
        "answer_coverage": ev["coverage"] if ev.get("answer_coverage") is None else ev["answer_coverage"],
        "agreement": ev["agreement"], "wcov": wcov, "wacov": wacov, "best_sent_w": best_sent_w, "best_sent": best_sent,
        "any_sent_w": any_sent_w, "max_missing": max_missing, "name_cov": name_cov, "name_acov": name_acov, "name_max": name_max, "name_sent": name_sent,
        "bigram": bigram, "margin": margin, "qneg": float(qneg), "terms": min(len(terms), 10) / 10,
    }


def evaluate(rows, names_, ratio, folds=5, repeats=4):
    X = [[r["f"][k] for k in names_] for r in rows]
    ys = [1 if r["answerable"] and r["doc"] in r[LABEL] else 0 for r in rows]

    def choose(train, w):
        base = calibrate_score(train, w, 0.0)["correct"]
        best = None
        for t in [i / 200 for i in range(1, 200)]:
            if calibrate_score(train, w, t)["correct"] >= ratio * max(1e-9, base):
                best = t
        return best or 0.5

    def run(train_idx, test_idx):
        w = calibrate.fit_logistic([X[i] for i in train_idx], [ys[i] for i in train_idx])
        t = choose([(rows[i], X[i]) for i in train_idx], w)
        return [(rows[i], calibrate.confidence(w, X[i]) < t) for i in test_idx], w, t

    everything = list(range(len(rows)))
    insample, w, t = run(everything, everything)
    cv = []
    for rep in range(repeats):
        idx = everything[:]
        random.Random(rep).shuffle(idx)
        for f in range(folds):
            test = idx[f::folds]
            train = [i for i in idx if i not in set(test)]
            cv += run(train, test)[0]
    return summarise(insample), summarise(cv), w, t


def calibrate_score(pairs, w, t):
    ans = [r for r, x in pairs if r["answerable"]]
    ok = sum(1 for r, x in pairs if r["answerable"] and r["doc"] in r["cited"] and calibrate.confidence(w, x) >= t)
    return {"correct": ok / max(1, len(ans))}


def summarise(decisions):
    def rate(kind):
        g = [a for r, a in decisions if r["kind"] == kind]
        return sum(g) / max(1, len(g))
    un = [a for r, a in decisions if not r["answerable"]]
    ans = [(r, a) for r, a in decisions if r["answerable"]]
    correct = sum(1 for r, a in ans if not a and r["doc"] in r["cited"]) / max(1, len(ans))
    return {"recall": sum(un) / len(un), "impossible": rate("impossible"), "ooc": rate("out_of_corpus"),
            "answered": sum(1 for r, a in ans if not a) / len(ans), "correct": correct}


import os
PRIOR = float(os.environ.get("PRIOR", "0"))
LABEL = os.environ.get("LABEL", "retrieved")
SETS = {
    "baseline": ["dense", "coverage", "answer_coverage", "agreement"],
    "+wcov": ["dense", "coverage", "answer_coverage", "agreement", "wcov"],
    "+wacov": ["dense", "coverage", "answer_coverage", "agreement", "wacov"],
    "+best_sent_w": ["dense", "coverage", "answer_coverage", "agreement", "best_sent_w"],
    "+best_sent": ["dense", "coverage", "answer_coverage", "agreement", "best_sent"],
    "+any_sent_w": ["dense", "coverage", "answer_coverage", "agreement", "any_sent_w"],
    "+max_missing": ["dense", "coverage", "answer_coverage", "agreement", "max_missing"],
    "+name_cov": ["dense", "coverage", "answer_coverage", "agreement", "name_cov"],
    "+name_acov": ["dense", "coverage", "answer_coverage", "agreement", "name_acov"],
    "+bigram": ["dense", "coverage", "answer_coverage", "agreement", "bigram"],
    "+margin": ["dense", "coverage", "answer_coverage", "agreement", "margin"],
    "+qneg": ["dense", "coverage", "answer_coverage", "agreement", "qneg"],
    "+terms": ["dense", "coverage", "answer_coverage", "agreement", "terms"],
}

if __name__ == "__main__":
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    assert not any("heldout" in sys.argv[1] for _ in [0]), "tune side only"
    for r in rows:
        r["f"] = features(r)
    ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.97
    sets = SETS
    if len(sys.argv) > 3:
        sets = {s: s.split(",") for s in sys.argv[3:]}
    for name, fs in sets.items():
        ins, cv, w, t = evaluate(rows, fs, ratio)
        fmt = lambda d: " ".join(f"{k} {v:.3f}" for k, v in d.items())
        print(f"{name:14s} in-sample: {fmt(ins)}\n{'':14s} 5-fold cv: {fmt(cv)}  t={t}")
