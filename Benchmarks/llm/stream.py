#!/usr/bin/env python3
"""Streams questions through Quarry's POST /query with `answer: "llm"` and measures each answer.

    stream.py URL QUESTIONS.jsonl OUT.json [--collection default] [--limit N] [--max-tokens N]

QUESTIONS holds JSON lines with "id" and "question" (eval/corpus-qa.jsonl's form; optional
"relevant_doc_ids" for context recall). One request at a time, `"stream": true`, `"abstain"` as
--abstain says (default never, so that every question reaches the model). Per question:

- ttft_ms: request sent -> first `delta` event (retrieval, prompt reading and the first token);
- retrieval_ms: request sent -> the `retrieval` event;
- decode tokens/s: (deltas - 1) / (last delta - first delta), the generation rate as the client
  sees it (a delta per token); end-to-end tokens/s: deltas / (done - request sent);
- what the server's checks said: answerer, grounded, check (sentences, invalid_citations,
  uncited_sentences, fully_cited), abstention (grounded false, no check), truncated, usage.

Only the Python standard library.
"""
import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ask(host, port, body, timeout):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    start = time.perf_counter()
    conn.request("POST", "/query", body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    if response.status != 200:
        text = response.read().decode("utf-8", "replace")
        conn.close()
        return {"status": response.status, "error": text[:500]}
    events, event, data = [], None, []
    for raw in response:  # http.client reads the chunked body line by line as it arrives
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data:
                events.append((time.perf_counter() - start, event, json.loads("\n".join(data))))
            event, data = None, []
            if events and events[-1][1] in ("done", "error"):
                break
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    conn.close()
    return {"status": 200, "events": events, "elapsed": time.perf_counter() - start}


def measure(item, result):
    row = {"id": item["id"], "question": item["question"], "status": result["status"]}
    if result["status"] != 200:
        row["error"] = result["error"]
        return row
    events = result["events"]
    names = [name for _, name, _ in events]
    deltas = [(t, d) for t, name, d in events if name == "delta"]
    retrieval = next(((t, d) for t, name, d in events if name == "retrieval"), None)
    done = next((d for _, name, d in events if name == "done"), None)
    error = next((d for _, name, d in events if name == "error"), None)
    row["events"] = {name: names.count(name) for name in sorted(set(names))}
    row["answer"] = "".join(d.get("text", "") for _, d in deltas)
    row["elapsed_ms"] = result["elapsed"] * 1000
    if retrieval:
        row["retrieval_ms"] = retrieval[0] * 1000
        citations = retrieval[1].get("citations", [])
        row["sources"] = len(citations)
        relevant = set(item.get("relevant_doc_ids") or [])
        if relevant:
            documents = {c.get("document", "") for c in citations}
            # "scifact/corpus.jsonl#4983" or just "4983", as the QA file may name it
            found = {r for r in relevant if any(doc == r or ("#" in doc and doc.split("#", 1)[1] == r) for doc in documents)}
            row["context_recall"] = len(found) / len(relevant)
    if error:
        row["stream_error"] = error
    if deltas:
        row["ttft_ms"] = deltas[0][0] * 1000
    if done:
        usage = done.get("usage") or {}
        check = done.get("check")
        llm = done.get("llm") or {}
        row.update({
            "answerer": done.get("answerer"),
            "grounded": done.get("grounded"),
            "check": check,
            "abstained": done.get("abstained", done.get("answerer") == "llm" and check is None and not done.get("grounded")),
            "abstention_reason": done.get("abstention_reason"),
            "guardrails": done.get("guardrails", []),
            "usage": usage,
            "llm": llm,
            "timings_ms": done.get("timings_ms"),
        })
        # Streamed usage is Quarry's estimate when the server reports none (llama-cpp-python's
        # does not in a stream), counted in MiniLM word pieces: the model's tokens are counted
        # here as the deltas, one per token as llama.cpp sends them (Quarry forwards each piece,
        # except that the first few may be merged while they could still be NOT_IN_SOURCES).
        tokens = len(deltas)
        row["deltas"] = tokens
        row["completion_tokens"] = usage.get("completion_tokens")
        row["prompt_tokens"] = usage.get("prompt_tokens")
        if tokens >= 2 and deltas[-1][0] > deltas[0][0]:
            row["decode_tokens_per_s"] = (tokens - 1) / (deltas[-1][0] - deltas[0][0])
        if tokens and result["elapsed"] > 0:
            row["e2e_tokens_per_s"] = tokens / result["elapsed"]
    return row


def summarize(rows):
    ok = [r for r in rows if r["status"] == 200 and "answerer" in r]
    llm = [r for r in ok if r["answerer"] == "llm"]
    answered = [r for r in llm if not r["abstained"]]
    checked = [r for r in answered if r.get("check")]
    def values(key, source=ok):
        return [r[key] for r in source if r.get(key) is not None]
    summary = {
        "questions": len(rows),
        "http_errors": len(rows) - len([r for r in rows if r["status"] == 200]),
        "stream_errors": len([r for r in rows if r.get("stream_error")]),
        "answered_by_llm": len(llm),
        "fell_back_to_extractive": len([r for r in ok if r["answerer"] != "llm"]),
        "abstained": len([r for r in llm if r["abstained"]]),
        "answered": len(answered),
        "grounded": len([r for r in answered if r.get("grounded")]),
        "fully_cited": len([r for r in checked if r["check"].get("fully_cited")]),
        "with_invalid_citations": len([r for r in checked if r["check"].get("invalid_citations")]),
        "with_uncited_sentences": len([r for r in checked if r["check"].get("uncited_sentences")]),
        "without_any_citation": len([r for r in checked if not r["check"].get("cited_sources")]),
        "truncated": len([r for r in llm if (r.get("llm") or {}).get("truncated")]),
        "usage_estimated": len([r for r in llm if (r.get("usage") or {}).get("estimated")]),
    }
    for key in ("ttft_ms", "retrieval_ms", "elapsed_ms", "decode_tokens_per_s", "e2e_tokens_per_s", "deltas", "completion_tokens", "prompt_tokens"):
        vals = values(key, llm)
        if vals:
            summary[key] = {"p50": percentile(vals, 0.5), "p90": percentile(vals, 0.9), "min": min(vals), "max": max(vals),
                            "mean": statistics.fmean(vals), "n": len(vals)}
    recall = values("context_recall")
    if recall:
        summary["context_recall"] = statistics.fmean(recall)
    return summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("questions")
    parser.add_argument("out")
    parser.add_argument("--collection", default="default")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--abstain", default="never", help="the request's abstain policy (never: every question reaches the model)")
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.url)
    items = [json.loads(line) for line in open(args.questions) if line.strip()]
    if args.limit:
        items = items[: args.limit]
    rows = []
    for n, item in enumerate(items, 1):
        body = {"query": item["question"], "collection": args.collection, "answer": "llm", "stream": True, "abstain": args.abstain}
        if args.max_tokens:
            body["max_tokens"] = args.max_tokens
        try:
            result = ask(url.hostname, url.port, body, args.timeout)
        except Exception as error:  # a broken connection is a result too
            result = {"status": 0, "error": repr(error)}
        row = measure(item, result)
        rows.append(row)
        check = row.get("check") or {}
        print(f"  {n:3}/{len(items)} {item['id'][:28]:<28} ttft {row.get('ttft_ms', float('nan')):7.0f} ms  "
              f"{row.get('decode_tokens_per_s', float('nan')):5.1f} tok/s  {row.get('deltas', 0):3} deltas  "
              f"{'abstained' if row.get('abstained') else ('grounded' if row.get('grounded') else 'not grounded')}"
              f"{' invalid ' + str(check.get('invalid_citations')) if check.get('invalid_citations') else ''}"
              f"{'' if row['status'] == 200 else ' HTTP ' + str(row['status'])}", file=sys.stderr, flush=True)
    summary = summarize(rows)
    json.dump({"summary": summary, "questions": rows}, open(args.out, "w"), indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
