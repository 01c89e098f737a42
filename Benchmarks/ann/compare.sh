#!/usr/bin/env bash
# HNSW, Quarry against hnswlib in the same run: same vectors, queries, M, efConstruction and ef;
# builds on THREADS threads, queries one at a time on one thread.
# Usage: Benchmarks/ann/compare.sh NAME BASE.fvecs QUERY.fvecs [GT.ivecs|-] [l2|cosine|ip]
# Env: M (16), EF_CONSTRUCTION (200), EFS (16,32,64,128,256), THREADS (2),
#      QUARRY (.build/release/quarry: any binary that takes `bench ann` with the same flags).
# Writes Benchmarks/results/ann-NAME.json and prints both curves and the ratios.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
name=$1 base=$2 query=$3 gt=${4:--} metric=${5:-l2}
m=${M:-16} efc=${EF_CONSTRUCTION:-200} efs=${EFS:-16,32,64,128,256} threads=${THREADS:-2}
venv=${VENV:-$root/.venv-bench}
out=$root/Benchmarks/results
mkdir -p "$out"
if ! "$venv/bin/python" -c "import hnswlib, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet hnswlib numpy
fi
quarry=${QUARRY:-.build/release/quarry}
[ -x "$quarry" ] || make build
gtargs=()
[ "$gt" != "-" ] && gtargs=(--gt "$gt")

"$quarry" bench ann --base "$base" --query "$query" "${gtargs[@]}" --metric "$metric" --m "$m" \
  --ef-construction "$efc" --ef "$efs" --threads "$threads" --json "$out/ann-$name-quarry.json" > /dev/null
"$venv/bin/python" Benchmarks/ann/hnswlib_peer.py --base "$base" --query "$query" "${gtargs[@]}" --metric "$metric" \
  --m "$m" --ef-construction "$efc" --ef "$efs" --threads "$threads" > "$out/ann-$name-hnswlib.json"

python3 - "$name" "$out/ann-$name-quarry.json" "$out/ann-$name-hnswlib.json" "$out/ann-$name.json" <<'PY'
import json, sys
name, ours, peer = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))

def qps_at(rows, target):
    """Queries/s at the first ef whose recall@10 reaches target, interpolated in log-QPS."""
    prev = None
    for r in rows:
        if r["recall_at_10"] >= target:
            if prev is None or prev["recall_at_10"] >= target:
                return r["queries_per_s"]
            t = (target - prev["recall_at_10"]) / (r["recall_at_10"] - prev["recall_at_10"])
            return prev["queries_per_s"] ** (1 - t) * r["queries_per_s"] ** t
        prev = r
    return None

print(f"{name}: {ours['count']} x {ours['dimension']} {ours['metric']}, M {ours['m']}, efC {ours['ef_construction']}, "
      f"{ours['queries']} queries")
print("   ef | quarry recall  qps     | hnswlib recall  qps     | qps ratio")
for a, b in zip(ours["rows"], peer["rows"]):
    print(f"{a['ef']:5d} | {a['recall_at_10']:.4f} {a['queries_per_s']:9.0f} | {b['recall_at_10']:.4f} "
          f"{b['queries_per_s']:9.0f} | {a['queries_per_s'] / b['queries_per_s']:.2f}")
summary = {"name": name, "quarry": ours, "hnswlib": peer}
for target in (0.95, 0.99):
    a, b = qps_at(ours["rows"], target), qps_at(peer["rows"], target)
    ratio = a / b if a and b else None
    summary[f"qps_ratio_at_{target}"] = ratio
    print(f"qps at recall@10 >= {target}: quarry {a and round(a)}, hnswlib {b and round(b)}, "
          f"ratio {ratio and round(ratio, 2)}")
summary["build_ratio"] = ours["build_seconds"] / peer["build_seconds"]
summary["memory_ratio"] = ours["index_bytes"] / peer["index_bytes"]
print(f"build: quarry {ours['build_seconds']:.2f} s, hnswlib {peer['build_seconds']:.2f} s, "
      f"ratio {summary['build_ratio']:.2f} ({ours['build_threads']} threads)")
print(f"memory: quarry {ours['index_bytes'] / 1e6:.1f} MB, hnswlib {peer['index_bytes'] / 1e6:.1f} MB (saved index), "
      f"ratio {summary['memory_ratio']:.2f}")
json.dump(summary, open(sys.argv[4], "w"), indent=2)
PY
