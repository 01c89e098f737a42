#!/usr/bin/env bash
# Installs what Quarry needs, only what is missing: `install-deps.sh run` the Debian packages it
# builds and runs against (what `make run` needs); `install-deps.sh` (or `test`) also what the
# tests use: Chromium and chromedriver, pytrec_eval, schemathesis. Runs as root (apt-get
# directly) or through sudo.
set -euo pipefail

purpose="${1:-test}"
case "$purpose" in run|test) ;; *) echo "usage: install-deps.sh [run|test]" >&2; exit 2 ;; esac

if [ "$purpose" = test ]; then
# Python packages the tests use: pytrec_eval-terrier (trec_eval's own code) checks the metrics of
# `quarry eval`.
if ! python3 -c "import pytrec_eval" 2>/dev/null; then
  echo "deps: installing pytrec_eval-terrier from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "pytrec_eval-terrier==0.5.11"
fi
# schemathesis fuzzes the HTTP API against its own /openapi.json (scripts/schemathesis.sh).
SCHEMATHESIS_VERSION=4.32.5
if [ "$(schemathesis --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "deps: installing schemathesis $SCHEMATHESIS_VERSION from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "schemathesis==$SCHEMATHESIS_VERSION"
fi
fi

packages=(
  libopenblas-dev   # CBLAS (sgemm/sgemv) for the encoder and exact search
  libsqlite3-dev    # the embedded store (with FTS5)
  libpq-dev         # libpq for the PostgreSQL + pgvector backend
  poppler-utils     # pdftotext for the PDF loader
  zlib1g-dev        # inflate for DOCX (ZIP) files, through ZIPFoundation
  python3-venv      # the virtual environments of the local chat model, test PostgreSQL and browser tests
)
if [ "$purpose" = test ]; then
  packages+=(
    chromium          # headless screenshots of the eval report, and the web console's browser tests
    chromium-driver   # chromedriver: the web console's browser tests (scripts/console-tests.sh)
  )
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all Debian packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null; then
  apt=(sudo apt-get)
else
  echo "deps: missing ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
"${apt[@]}" update -qq
DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
