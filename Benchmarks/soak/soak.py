#!/usr/bin/env python3
"""Load phases of the soak benchmark (Benchmarks/soak/run.sh), against a running `quarry serve`.

  soak.py latency BASE QUERIES SECONDS OUT        /query on one connection, idle
  soak.py during-ingest BASE QUERIES PATH COLL OUT /query on one connection while POST /ingest runs
  soak.py mixed BASE QUERIES PID SECONDS CONNS INGEST_PATH OUT
                                                   mixed traffic; resident memory and open files of PID

Only the standard library: each connection is a thread with its own keep-alive HTTP connection.
Every response other than the expected status counts as an error and is kept (first 20).
"""
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(latencies):
    return {
        "count": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else None,
    }


class Client:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.connection = None

    def request(self, method, path, body=None, stream=False):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.connection.close()
                    self.connection = None
                return response.status, payload
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed while idle: retry once on a new one.
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")


def load_queries(path):
    with open(path) as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def timed_query(client, query, errors):
    start = time.perf_counter()
    status, payload = client.request("POST", "/query", {"query": query, "top_k": 5})
    elapsed = (time.perf_counter() - start) * 1000
    if status != 200:
        errors.append({"route": "/query", "status": status, "body": payload[:200].decode(errors="replace")})
    return elapsed


def latency(base, queries, seconds, out):
    client, errors, latencies = Client(base), [], []
    deadline = time.monotonic() + seconds
    index = 0
    while time.monotonic() < deadline:
        latencies.append(timed_query(client, queries[index % len(queries)], errors))
        index += 1
    result = {"phase": "idle", "seconds": seconds, "query": summary(latencies), "errors": len(errors), "error_samples": errors[:20]}
    json.dump(result, open(out, "w"), indent=2)
    print(f"soak: idle /query          p50 {result['query']['p50_ms']:7.1f} ms  p99 {result['query']['p99_ms']:7.1f} ms  ({len(latencies)} queries, {len(errors)} errors)")


def during_ingest(base, queries, path, collection, out):
    client, errors, latencies = Client(base), [], []
    control = Client(base)
    status, payload = control.request("POST", "/ingest", {"path": path, "collection": collection})
    if status != 202:
        sys.exit(f"soak: POST /ingest answered {status}: {payload[:300]!r}")
    job = json.loads(payload)["job_id"]
    started = time.monotonic()
    index, state, last_poll = 0, "queued", 0.0
    while state in ("queued", "running"):
        latencies.append(timed_query(client, queries[index % len(queries)], errors))
        index += 1
        if time.monotonic() - last_poll > 1:
            last_poll = time.monotonic()
            _, body = control.request("GET", f"/jobs/{job}")
            status_body = json.loads(body)
            state = status_body["state"]
    duration = time.monotonic() - started
    result = {
        "phase": "during_ingest", "job": status_body, "job_seconds": duration,
        "query": summary(latencies), "errors": len(errors), "error_samples": errors[:20],
    }
    json.dump(result, open(out, "w"), indent=2)
    print(f"soak: /query during ingest p50 {result['query']['p50_ms']:7.1f} ms  p99 {result['query']['p99_ms']:7.1f} ms  ({len(latencies)} queries, {len(errors)} errors; job {state} in {duration:.0f} s, {status_body.get('chunks_written')} chunks)")


def process_sample(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return {"rss_bytes": rss, "open_files": len(os.listdir(f"/proc/{pid}/fd")), "threads": len(os.listdir(f"/proc/{pid}/task"))}


def mixed(base, queries, pid, seconds, connections, ingest_path, out):
    """`connections` workers, each picking a route at random by weight, for `seconds`."""
    lock = threading.Lock()
    latencies, errors, counts = {}, [], {}
    stop = time.monotonic() + seconds
    texts = queries

    def record(route, elapsed, status, expected, payload):
        with lock:
            latencies.setdefault(route, []).append(elapsed)
            counts[route] = counts.get(route, 0) + 1
            if status not in expected:
                errors.append({"route": route, "status": status, "body": payload[:300].decode(errors="replace")})

    def worker(number):
        client = Client(base)
        rng = random.Random(number)
        while time.monotonic() < stop:
            roll = rng.random()
            query = rng.choice(texts)
            start = time.perf_counter()
            if roll < 0.40:
                route, (status, payload) = "/query", client.request("POST", "/query", {"query": query, "top_k": 5})
                expected = (200,)
            elif roll < 0.70:
                route, (status, payload) = "/search", client.request("POST", "/search", {"query": query, "top_k": 10})
                expected = (200,)
            elif roll < 0.80:
                route, (status, payload) = "/query stream", client.request("POST", "/query", {"query": query, "top_k": 3, "stream": True})
                expected = (200,)
                if status == 200 and b"event: done" not in payload:
                    status = -1
            elif roll < 0.90:
                batch = [rng.choice(texts) for _ in range(rng.choice([1, 4, 64]))]
                route, (status, payload) = "/v1/embeddings", client.request("POST", "/v1/embeddings", {"input": batch})
                expected = (200,)
            elif roll < 0.97:
                route, (status, payload) = "GET /collections", client.request("GET", "/collections")
                expected = (200,)
            elif roll < 0.99:
                route, (status, payload) = "POST /ingest", client.request("POST", "/ingest", {"path": ingest_path, "collection": "churn"})
                expected = (202, 429)  # 429: the job queue is full, which is the bound working
            else:
                # Delete a document of the churned collection (404 once it is gone or not yet there).
                document = rng.choice(["faq.md", "backup.md", "datatype3.md", "eqp.md"])
                route, (status, payload) = "DELETE /documents", client.request(
                    "DELETE", f"/documents/{document}?collection=churn")
                expected = (200, 204, 404)
            record(route, (time.perf_counter() - start) * 1000, status, expected, payload)

    samples = []
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        sample = process_sample(pid)
        sample["t"] = round(time.monotonic() - began, 1)
        samples.append(sample)
        time.sleep(5)
    for thread in threads:
        thread.join()
    total = sum(counts.values())
    # Flat: the last third of the run does not grow past the first third's peak by more than 10 %.
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    growth = {
        key: (max(s[key] for s in last) / max(1, max(s[key] for s in first)))
        for key in ("rss_bytes", "open_files", "threads")
    }
    result = {
        "phase": "mixed", "seconds": seconds, "connections": connections, "requests": total,
        "requests_per_second": total / seconds, "errors": len(errors), "error_samples": errors[:20],
        "routes": {route: dict(summary(values), count=counts[route]) for route, values in sorted(latencies.items())},
        "process": samples, "growth_last_third_over_first": growth,
    }
    json.dump(result, open(out, "w"), indent=2)
    print(f"soak: mixed {connections} connections, {seconds} s: {total} requests ({total / seconds:.1f}/s), {len(errors)} errors")
    for route, values in sorted(latencies.items()):
        s = summary(values)
        print(f"soak:   {route:<20} {s['count']:7d}  p50 {s['p50_ms']:8.1f} ms  p99 {s['p99_ms']:8.1f} ms")
    print(f"soak: resident memory {samples[0]['rss_bytes'] / 2**20:.0f} → {samples[-1]['rss_bytes'] / 2**20:.0f} MiB, "
          f"open files {samples[0]['open_files']} → {samples[-1]['open_files']}; last third / first third peak: "
          + ", ".join(f"{k} {v:.2f}" for k, v in growth.items()))
    for sample in errors[:5]:
        print(f"soak:   error {sample}")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "latency":
        latency(sys.argv[2], load_queries(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    elif command == "during-ingest":
        during_ingest(sys.argv[2], load_queries(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
    elif command == "mixed":
        mixed(sys.argv[2], load_queries(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7], sys.argv[8])
    else:
        sys.exit(__doc__)
