#!/usr/bin/env python3
"""Where one request's time goes: the server's `timings_ms` of N SciFact queries sent one at a
time to a running `quarry serve`, with the client's wall time, as p50 and p99 per stage.

    Benchmarks/load/stages.py [URL] [N]      (default http://127.0.0.1:8080, 300)

Warm the server first (its first dense query builds or loads the HNSW index)."""
import json, sys, time, urllib.request

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
queries = [json.loads(line)["text"] for line in open("corpus/scifact/queries.jsonl") if line.strip()][:count]

def post(route, body):
    request = urllib.request.Request(f"{url}/{route}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        answer = json.load(response)
    return answer, (time.perf_counter() - start) * 1000

def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]

for route, k in (("search", 10), ("query", 5)):
    stages = {}
    for query in queries:
        answer, wall = post(route, {"query": query, "top_k": k})
        for name, ms in answer["timings_ms"].items():
            stages.setdefault(name, []).append(ms)
        stages.setdefault("wall (client)", []).append(wall)
    print(f"/{route}, {len(queries)} queries one at a time:")
    for name, values in stages.items():
        if max(values) > 0:
            print(f"  {name:<16} p50 {percentile(values, 50):7.2f} ms  p99 {percentile(values, 99):7.2f} ms")
