#!/usr/bin/env bash
# Compiles QuarryGuard's PII sources with speed.swift (swiftc -O) and prints µs per 2 KB passage.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="${TMPDIR:-/tmp}/quarry-pii-speed"
swiftc -O -parse-as-library -module-name PIISpeed -o "$out" \
  "$root"/Sources/QuarryGuard/PII/*.swift "$root/Benchmarks/guardrails/pii/speed.swift"
"$out"
