#!/usr/bin/env bash
# Embedding throughput, Quarry against sentence-transformers (PyTorch CPU), in the same run:
# same model folder, same SciFact passages, same batch sizes, same BLAS/torch threads.
# Usage: Benchmarks/embedding/compare.sh [LIMIT] [BATCH_SIZES]
# Writes Benchmarks/results/embedding.json and prints the ratios.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

limit=${1:-512}
batches=${2:-1,8,32}
threads=${THREADS:-2}
model=${QUARRY_MODEL:-$root/models/all-MiniLM-L6-v2}
passages=${PASSAGES:-$root/corpus/scifact/corpus.jsonl}
venv=${VENV:-$root/.venv-bench}
out=$root/Benchmarks/results
mkdir -p "$out"

if [ ! -x "$venv/bin/python" ]; then
  echo "bench: creating $venv with sentence-transformers and the CPU build of torch"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet torch sentence-transformers
fi
[ -x .build/release/quarry ] || make build

# Both sides assume the cores are theirs: PyTorch's OpenMP threads in particular slow down
# several-fold when another process holds a core, so a busy machine gives meaningless ratios.
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" -v t="$threads" 'BEGIN { exit !(l > t / 4) }'; then
  echo "bench: warning: load average is $load; other work on the cores will distort both sides" >&2
fi

echo "== quarry (Swift, BLAS) =="
.build/release/quarry bench embed --model "$model" --passages "$passages" --limit "$limit" \
  --batch-sizes "$batches" --threads "$threads" --json "$out/embedding-quarry.json"
echo "== sentence-transformers (PyTorch CPU) =="
OMP_NUM_THREADS=$threads "$venv/bin/python" Benchmarks/embedding/peer.py --model "$model" --passages "$passages" \
  --limit "$limit" --batch-sizes "$batches" --threads "$threads" > "$out/embedding-peer.json"

python3 - "$out/embedding-quarry.json" "$out/embedding-peer.json" "$out/embedding.json" "$load" <<'PY'
import json, sys
ours, peer = (json.load(open(p)) for p in sys.argv[1:3])
load_before = float(sys.argv[4])
peer_rows = {r["batch_size"]: r for r in peer["rows"]}
print("batch  quarry pieces/s  peer pieces/s  ratio  quarry passages/s  peer passages/s")
rows = []
for r in ours["rows"]:
    p = peer_rows[r["batch_size"]]
    ratio = r["word_pieces_per_s"] / p["word_pieces_per_s"]
    rows.append({"batch_size": r["batch_size"], "quarry": r, "peer": p, "ratio": ratio})
    print(f'{r["batch_size"]:5d}  {r["word_pieces_per_s"]:15.0f}  {p["word_pieces_per_s"]:13.0f}  {ratio:5.2f}'
          f'  {r["passages_per_s"]:17.1f}  {p["passages_per_s"]:15.1f}')
print(f'sgemm 2048x384x1536: {ours["sgemm_2048x384x1536_gflops"]:.1f} GFLOP/s; torch {peer["torch"]}')
json.dump({"quarry": ours, "peer": peer, "rows": rows, "load_average_before": load_before}, open(sys.argv[3], "w"), indent=2)
PY
