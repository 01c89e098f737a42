#!/usr/bin/env bash
# Ingest throughput, end to end, against the embedder alone on the same chunks, in one process:
# `quarry bench ingest` ingests the folder into a fresh store (read, hash, parse, chunk, embed,
# write, index), then embeds the chunks it stored again, alone, in batches of 64.
# Usage: Benchmarks/ingest/run.sh [FOLDER] [quarry bench ingest options...]
# Default: corpus/scifact without its queries (5,183 BEIR abstracts). Writes Benchmarks/results/ingest.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
folder=${1:-corpus/scifact}
shift || true
[ -x .build/release/quarry ] || make build
args=("$@")
[ ${#args[@]} -eq 0 ] && [ "$folder" = corpus/scifact ] && args=(--exclude queries.jsonl)
.build/release/quarry bench ingest "$folder" "${args[@]}" --json Benchmarks/results/ingest.json
