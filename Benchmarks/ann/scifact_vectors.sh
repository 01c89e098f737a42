#!/usr/bin/env bash
# MiniLM vectors of SciFact for the ANN benchmark: every passage (title + " " + text, truncated to
# 256 word pieces) and every query, embedded by `quarry embed`, written as .fvecs.
# Usage: Benchmarks/ann/scifact_vectors.sh OUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: scifact_vectors.sh OUT_DIR}
mkdir -p "$out"
cd "$root"
[ -x .build/release/quarry ] || make build
python3 - corpus/scifact/corpus.jsonl <<'PY' | .build/release/quarry embed > "$out/passages.jsonl"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(line)
    print(json.dumps({"text": " ".join(p for p in (d.get("title"), d.get("text")) if p)}))
PY
python3 - corpus/scifact/queries.jsonl <<'PY' | .build/release/quarry embed > "$out/queries.jsonl"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.dumps({"text": json.loads(line)["text"]}))
PY
python3 - "$out" <<'PY'
import json, struct, sys
out = sys.argv[1]
for name in ("passages", "queries"):
    with open(f"{out}/{name}.jsonl") as f, open(f"{out}/{'base' if name == 'passages' else 'query'}.fvecs", "wb") as w:
        for line in f:
            v = json.loads(line)["embedding"]
            w.write(struct.pack("<i", len(v)) + struct.pack(f"<{len(v)}f", *v))
PY
ls -la "$out"
