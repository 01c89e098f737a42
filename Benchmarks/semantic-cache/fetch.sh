#!/usr/bin/env bash
# Gets PAWS-Wiki Labeled (Final) dev + test (8,000 + 8,000 human-labelled sentence pairs with hard
# negatives) and writes them, one pair a line, to .bench/semantic-cache/pairs.jsonl:
#
#   Benchmarks/semantic-cache/fetch.sh            # or: PAWS_DIR=/path/to/final Benchmarks/semantic-cache/fetch.sh
#
#   {"a": "...", "b": "...", "paraphrase": false, "source": "paws-wiki-dev", "id": 1}
#
# Also writes .bench/semantic-cache/pairs-sample.jsonl: the 2,000 dev pairs whose id is a multiple
# of 4 (both labels, 44% paraphrases like the whole set), for quick runs.
#
# Idempotent: when pairs.jsonl already holds the expected bytes it does nothing. The source TSVs
# are checked row by row (8,000 rows each, ids 1..8000, labels 0/1) and against a checksum of their
# rows, so a copy with or without the header line, with LF or CRLF endings, is accepted, and any
# other difference is refused. See README.md beside this file for the source and the licence.
#
# Where the TSVs come from, first that has both dev.tsv and test.tsv:
#   1. $PAWS_DIR: the `final/` folder of Google's paws_wiki_labeled_final.tar.gz, or any copy of it;
#   2. ../shared/datasets/paws-wiki/ (the project's shared datasets), if it has been put there;
#   3. a snapshot (bare git directory) of the public GitHub repository hoangdzung/simmat at
#      /work/.mirror/hoangdzung+simmat/repo or $PAWS_MIRROR (data/final/{dev,test}.tsv, read by git
#      blob id). It exists only on a machine where a session fetched it: not on a fresh machine.
# No PyPI or Debian package ships PAWS, so there is no registry route; nothing here uses the network.
set -euo pipefail
if [ -n "${PAWS_DIR:-}" ]; then PAWS_DIR=$(cd "$PAWS_DIR" && pwd); fi
cd "$(dirname "$0")/../.."

OUT_DIR=.bench/semantic-cache
OUT=$OUT_DIR/pairs.jsonl
SAMPLE=$OUT_DIR/pairs-sample.jsonl
# sha256 of the pairs.jsonl this script writes (16,000 lines).
OUT_SHA=0034b9af66ff66c7e859b227420933759a4238be99a1c70a16438b1d0c6342d8
# sha256 of each split's rows as "id\tsentence1\tsentence2\tlabel\n", no header, LF endings.
DEV_ROWS_SHA=ba427c0ef561712f30ef22dd8000502d3013190e1502e5f4f3813726785ea05c
TEST_ROWS_SHA=009d7242cbb0ce37cdf8354c949f18553575f30c02a945fbd3bc0a9438b436cd
MIRROR=${PAWS_MIRROR:-/work/.mirror/hoangdzung+simmat/repo}
# git blob ids of data/final/dev.tsv and data/final/test.tsv in hoangdzung/simmat
# (added in commit d123872409487f63212fca459de70ac4294d8b4e, unchanged since).
DEV_BLOB=5fcd8f9c42c932e3c645b157aad741598dafc571
TEST_BLOB=c92db3e389e10d8428a4b38aa27bc184b4449d92

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$OUT" ] && [ "$(sha "$OUT")" = "$OUT_SHA" ] && [ -f "$SAMPLE" ]; then
    echo "semantic-cache: $OUT is up to date ($(wc -l <"$OUT") pairs)"
    exit 0
fi

WORK=$(mktemp -d /tmp/quarry-semantic-cache.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

FROM=""
for dir in "${PAWS_DIR:-}" ../shared/datasets/paws-wiki; do
    if [ -n "$dir" ] && [ -f "$dir/dev.tsv" ] && [ -f "$dir/test.tsv" ]; then
        cp "$dir/dev.tsv" "$WORK/dev.tsv"
        cp "$dir/test.tsv" "$WORK/test.tsv"
        FROM=$dir
        break
    fi
done
if [ -z "$FROM" ] && git --git-dir="$MIRROR" cat-file -e "$DEV_BLOB" 2>/dev/null \
        && git --git-dir="$MIRROR" cat-file -e "$TEST_BLOB" 2>/dev/null; then
    git --git-dir="$MIRROR" cat-file blob "$DEV_BLOB" >"$WORK/dev.tsv"
    git --git-dir="$MIRROR" cat-file blob "$TEST_BLOB" >"$WORK/test.tsv"
    FROM="$MIRROR (hoangdzung/simmat data/final)"
fi
if [ -z "$FROM" ]; then
    cat >&2 <<EOF
semantic-cache: no copy of PAWS-Wiki Labeled (Final) dev.tsv + test.tsv found. Looked in:
  \$PAWS_DIR (${PAWS_DIR:-unset})
  ../shared/datasets/paws-wiki/
  $MIRROR (git blobs $DEV_BLOB, $TEST_BLOB)
Get paws_wiki_labeled_final.tar.gz from https://github.com/google-research-datasets/paws
on a machine that can, unpack it, and run again with PAWS_DIR=.../final.
EOF
    exit 1
fi
echo "semantic-cache: reading PAWS-Wiki dev/test from $FROM"

mkdir -p "$OUT_DIR"
python3 - "$WORK" "$DEV_ROWS_SHA" "$TEST_ROWS_SHA" "$WORK/pairs.jsonl" "$WORK/pairs-sample.jsonl" <<'PY'
import hashlib, json, sys

work, dev_sha, test_sha, out_path, sample_path = sys.argv[1:6]

def read_split(name, expected_sha):
    with open(f"{work}/{name}.tsv", encoding="utf-8", newline="") as f:
        lines = [line.rstrip("\r\n") for line in f]
    if lines and lines[0] == "id\tsentence1\tsentence2\tlabel":
        lines = lines[1:]
    rows = [line.split("\t") for line in lines if line]
    problems = [i for i, r in enumerate(rows, 1) if len(r) != 4 or r[0] != str(i) or r[3] not in ("0", "1")]
    if len(rows) != 8000 or problems:
        sys.exit(f"semantic-cache: {name}.tsv: {len(rows)} rows, {len(problems)} malformed (first: {problems[:5]}); expected 8000 rows id 1..8000")
    digest = hashlib.sha256("".join("\t".join(r) + "\n" for r in rows).encode("utf-8")).hexdigest()
    if digest != expected_sha:
        sys.exit(f"semantic-cache: {name}.tsv rows hash to {digest}, expected {expected_sha}: not PAWS-Wiki Labeled (Final) {name}")
    return rows

with open(out_path, "w", encoding="utf-8") as out, open(sample_path, "w", encoding="utf-8") as sample:
    for split, expected in (("dev", dev_sha), ("test", test_sha)):
        for pid, a, b, label in read_split(split, expected):
            line = json.dumps({"a": a, "b": b, "paraphrase": label == "1",
                               "source": f"paws-wiki-{split}", "id": int(pid)}, ensure_ascii=False) + "\n"
            out.write(line)
            if split == "dev" and int(pid) % 4 == 0:
                sample.write(line)
PY

got=$(sha "$WORK/pairs.jsonl")
if [ "$got" != "$OUT_SHA" ]; then
    echo "semantic-cache: pairs.jsonl hashes to $got, expected $OUT_SHA" >&2
    exit 1
fi
mv "$WORK/pairs.jsonl" "$OUT"
mv "$WORK/pairs-sample.jsonl" "$SAMPLE"

python3 - "$OUT" "$SAMPLE" <<'PY'
import collections, json, sys
for path in sys.argv[1:]:
    counts = collections.Counter()
    for line in open(path, encoding="utf-8"):
        p = json.loads(line)
        counts[(p["source"], p["paraphrase"])] += 1
    print(path)
    for source in sorted({s for s, _ in counts}):
        yes, no = counts[(source, True)], counts[(source, False)]
        print(f"  {source}: {yes + no} pairs, {yes} paraphrase, {no} not ({100 * yes / (yes + no):.1f}% paraphrase)")
PY
