#!/usr/bin/env python3
"""Score `quarry guard pii` (and optionally Presidio's pattern recognisers) on labelled sets.

Span-level metrics per entity type:
  overlap: a prediction is correct when it overlaps a gold span of the same type; a gold span
           is found when some prediction of its type overlaps it.
  exact:   prediction and gold span have the same type, start and end.
Precision counts predictions, recall counts gold spans. Offsets are Unicode code points.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

ENTITIES = ["email", "phone", "credit_card", "iban", "us_ssn", "ip_address"]
PRESIDIO_LABELS = {
    "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban", "US_SSN": "us_ssn", "IP_ADDRESS": "ip_address",
}


def load_presidio_synth(path):
    """presidio-research's synth_dataset_v2.json: full_text + spans with start/end_position."""
    docs = []
    for index, record in enumerate(json.load(open(path, encoding="utf-8"))):
        spans = [
            (PRESIDIO_LABELS[s["entity_type"]], s["start_position"], s["end_position"])
            for s in record["spans"] if s["entity_type"] in PRESIDIO_LABELS
        ]
        docs.append({"id": index, "text": record["full_text"], "gold": spans})
    return docs


def load_handlabelled(path):
    """One JSON object a line: {"text", "pii": [[entity, value], ...]} with values in text order.

    Each value is located in the text after the previous one, so offsets are never typed by hand.
    """
    docs = []
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        text, cursor, spans = record["text"], 0, []
        for entity, value in record.get("pii", []):
            if entity not in ENTITIES:
                sys.exit(f"{path}:{number}: unknown entity {entity}")
            start = text.find(value, cursor)
            if start < 0:
                sys.exit(f"{path}:{number}: {value!r} not found after offset {cursor}")
            spans.append((entity, start, start + len(value)))
            cursor = start + len(value)
        docs.append({"id": number, "text": text, "gold": spans})
    return docs


def run_quarry(quarry, docs, min_score):
    payload = "".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in docs)
    started = time.perf_counter()
    out = subprocess.run([quarry, "guard", "pii", "--jsonl", "--min-score", str(min_score)],
                         input=payload.encode(), capture_output=True, check=True)
    elapsed = time.perf_counter() - started
    predictions = {}
    for line in out.stdout.decode().splitlines():
        record = json.loads(line)
        predictions[record["id"]] = [(f["entity"], f["start"], f["end"]) for f in record["findings"]]
    return predictions, elapsed


def run_presidio(docs):
    """Presidio's own recognisers for our six types, called directly (no spaCy model, so no
    context-word boost): the pattern, validation and checksum logic Quarry is compared with."""
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer, PhoneRecognizer, UsSsnRecognizer)
    from presidio_analyzer import EntityRecognizer
    recognisers = [EmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer(),
                   UsSsnRecognizer(), IpRecognizer()]
    entities = list(PRESIDIO_LABELS)
    predictions = {}
    started = time.perf_counter()
    for d in docs:
        results = []
        for r in recognisers:
            results += r.analyze(d["text"], entities, None)
        results = EntityRecognizer.remove_duplicates([r for r in results if r.score >= 0.4])
        # Resolve overlaps as Quarry does: higher score, then longer span.
        results.sort(key=lambda r: (-r.score, -(r.end - r.start), r.start))
        kept = []
        for r in results:
            if all(r.end <= k.start or k.end <= r.start for k in kept):
                kept.append(r)
        predictions[d["id"]] = [(PRESIDIO_LABELS[r.entity_type], r.start, r.end) for r in kept]
    return predictions, time.perf_counter() - started


def score(docs, predictions):
    table = {}
    for entity in ENTITIES + ["all"]:
        tp_o = fp_o = found = gold_n = tp_e = pred_n = 0
        for d in docs:
            gold = [g for g in d["gold"] if entity in ("all", g[0])]
            pred = [p for p in predictions.get(d["id"], []) if entity in ("all", p[0])]
            gold_n += len(gold)
            pred_n += len(pred)
            for p in pred:
                if any(g[0] == p[0] and p[1] < g[2] and g[1] < p[2] for g in gold):
                    tp_o += 1
                else:
                    fp_o += 1
                if p in gold:
                    tp_e += 1
            found += sum(1 for g in gold if any(g[0] == p[0] and p[1] < g[2] and g[1] < p[2] for p in pred))

        def prf(tp_pred, tp_gold):
            p = tp_pred / pred_n if pred_n else None
            r = tp_gold / gold_n if gold_n else None
            f = 2 * p * r / (p + r) if p is not None and r is not None and p + r else (0.0 if p is not None and r is not None else None)
            return {"precision": rnd(p), "recall": rnd(r), "f1": rnd(f)}

        table[entity] = {"gold": gold_n, "predicted": pred_n, "false_positives": fp_o,
                         "overlap": prf(tp_o, found), "exact": prf(tp_e, tp_e)}
    return table


def rnd(x):
    return None if x is None else round(x, 3)


def errors(docs, predictions, limit=40):
    """Missed gold spans and false positives, for reading (sensitive only in the sense that the
    data sets are synthetic or written for this benchmark)."""
    out = []
    for d in docs:
        pred = predictions.get(d["id"], [])
        for g in d["gold"]:
            if not any(g[0] == p[0] and p[1] < g[2] and g[1] < p[2] for p in pred):
                out.append({"kind": "missed", "entity": g[0], "text": d["text"][g[1]:g[2]]})
        for p in pred:
            if not any(g[0] == p[0] and p[1] < g[2] and g[1] < p[2] for g in d["gold"]):
                out.append({"kind": "false_positive", "entity": p[0], "text": d["text"][p[1]:p[2]],
                            "context": d["text"][max(0, p[1] - 30):p[2] + 10]})
    return out[:limit]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quarry", required=True)
    ap.add_argument("--synth", help="presidio-research data/synth_dataset_v2.json")
    ap.add_argument("--handlabelled", required=True)
    ap.add_argument("--min-score", type=float, default=0.5)
    ap.add_argument("--presidio", action="store_true", help="also score Presidio's recognisers (pip presidio-analyzer)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--show-errors", action="store_true")
    ap.add_argument("--speed-log", help="output of speed.sh, stored in the report")
    args = ap.parse_args()

    sets = {"handlabelled": load_handlabelled(args.handlabelled)}
    if args.synth:
        sets["presidio_synth_v2"] = load_presidio_synth(args.synth)
    report = {
        "benchmark": "pii",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "min_score": args.min_score,
        "metric": "span-level per entity; overlap = same type and overlapping span, exact = same type and span",
        "datasets": {
            "handlabelled": {"source": "Benchmarks/guardrails/pii/handlabelled.jsonl, written for Quarry",
                             "documents": len(sets["handlabelled"])},
        },
        "systems": {},
    }
    if args.synth:
        report["datasets"]["presidio_synth_v2"] = {
            "source": "github.com/microsoft/presidio-research data/synth_dataset_v2.json (MIT licence)",
            "documents": len(sets["presidio_synth_v2"]),
            "labels": PRESIDIO_LABELS}
    for name, docs in sets.items():
        predictions, elapsed = run_quarry(args.quarry, docs, args.min_score)
        entry = report["systems"].setdefault("quarry", {})
        entry[name] = {"metrics": score(docs, predictions), "seconds_whole_process": round(elapsed, 3)}
        if args.show_errors:
            for e in errors(docs, predictions, 400):
                print(name, json.dumps(e, ensure_ascii=False))
        if args.presidio:
            predictions, elapsed = run_presidio(docs)
            report["systems"].setdefault("presidio_recognisers", {})[name] = {
                "metrics": score(docs, predictions), "seconds": round(elapsed, 3)}
    if args.presidio:
        import importlib.metadata
        report["systems"]["presidio_recognisers"]["note"] = (
            f"presidio-analyzer {importlib.metadata.version('presidio-analyzer')}: the six predefined recognisers "
            "called directly without an NLP engine (so no context-word boost); results scoring >= 0.4 kept, "
            "overlaps resolved as for Quarry")
    if args.speed_log:
        report["speed"] = {"method": "speed.sh: PIIDetector().findings(in:) on 300 passages of 2 KB, 20 rounds, "
                                     "swiftc -O, one core",
                           "results": [l.strip() for l in open(args.speed_log) if "µs" in l]}
    json.dump(report, open(args.out, "w"), indent=1, ensure_ascii=False)
    for system, per_set in report["systems"].items():
        for name, result in per_set.items():
            if not isinstance(result, dict):
                continue
            print(f"{system} / {name}")
            for entity, m in result["metrics"].items():
                o, e = m["overlap"], m["exact"]
                print(f"  {entity:12} gold {m['gold']:4} pred {m['predicted']:4}  P {o['precision']}  R {o['recall']}"
                      f"  F1 {o['f1']}   exact F1 {e['f1']}")


if __name__ == "__main__":
    main()
