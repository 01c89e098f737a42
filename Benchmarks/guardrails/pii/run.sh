#!/usr/bin/env bash
# Precision/recall/F1 of `quarry guard pii` per entity on two labelled sets, and its speed.
#
#   Benchmarks/guardrails/pii/run.sh [SYNTH_JSON]
#
# SYNTH_JSON: presidio-research's data/synth_dataset_v2.json (MIT licence,
# github.com/microsoft/presidio-research); downloaded to $TMPDIR when not given (~1 MB, not
# committed). The hand-labelled set is handlabelled.jsonl beside this script.
# Environment: QUARRY (binary; default the newer of .build/release/quarry and .build/debug/quarry),
# PRESIDIO_PYTHON (a python with presidio-analyzer installed: also scores Presidio's recognisers),
# OUT (default Benchmarks/results/pii-2026-12-02.json).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tmp="${TMPDIR:-/tmp}"
synth="${1:-}"
commit=7622dec1e5f7d25dc60b57c28c39f4c4af197018
if [[ -z "$synth" ]]; then
  synth="$tmp/presidio_synth_dataset_v2.json"
  [[ -s "$synth" ]] || curl -fsSL -o "$synth" \
    "https://raw.githubusercontent.com/microsoft/presidio-research/$commit/data/synth_dataset_v2.json"
fi
quarry="${QUARRY:-}"
if [[ -z "$quarry" ]]; then
  quarry="$root/.build/debug/quarry"
  [[ "$root/.build/release/quarry" -nt "$quarry" ]] && quarry="$root/.build/release/quarry"
fi
[[ -x "$quarry" ]] || { echo "no quarry binary at $quarry: swift build first" >&2; exit 1; }
python="${PRESIDIO_PYTHON:-python3}"
peer=(); [[ -n "${PRESIDIO_PYTHON:-}" ]] && peer=(--presidio)
"$here/speed.sh" | tee "$tmp/pii-speed.log"
"$python" "$here/evaluate.py" --quarry "$quarry" --synth "$synth" --handlabelled "$here/handlabelled.jsonl" \
  --speed-log "$tmp/pii-speed.log" --out "${OUT:-$root/Benchmarks/results/pii-2026-12-02.json}" "${peer[@]}"
