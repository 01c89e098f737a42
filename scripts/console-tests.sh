#!/usr/bin/env bash
# The web console's tests in a real browser (Tests/console/): headless Chromium (Debian's
# chromium + chromium-driver) driven by Selenium, against a real `quarry serve` (the release
# binary, or $QUARRY_BIN) that the tests start over fixture documents, two `quarry eval --html`
# reports, an ingest root and an admin key. Screenshots of every view go to $SCREENSHOTS
# (default .build/console-screenshots/).
#
#   scripts/console-tests.sh                       run the tests (`make test`, `make console-test`)
#   scripts/console-tests.sh --update-screenshots  and, when they pass, copy the screenshots they
#                                                  wrote into docs/images/ (`make console-screenshots`)
#
# Selenium and pytest come from PyPI into .venv-console/ (pinned in Tests/console/requirements.txt);
# nothing else is downloaded. When Chromium cannot start on this machine the tests are skipped
# with the reason (exit 0); any other failure fails.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export QUARRY_BIN=${QUARRY_BIN:-$ROOT/.build/release/quarry}
export QUARRY_MODEL=${QUARRY_MODEL:-$ROOT/models/all-MiniLM-L6-v2}
export SCREENSHOTS=${SCREENSHOTS:-$ROOT/.build/console-screenshots}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
VENV=$ROOT/.venv-console
UPDATE=no
for argument in "$@"; do
  case $argument in
    --update-screenshots) UPDATE=yes ;;
    *) echo "console-tests: unknown argument $argument" >&2; exit 2 ;;
  esac
done

[ -x "$QUARRY_BIN" ] || { echo "console-tests: no $QUARRY_BIN; run make build" >&2; exit 1; }
[ -x "$CHROMEDRIVER" ] || { echo "console-tests: no $CHROMEDRIVER; run scripts/install-deps.sh (Debian package chromium-driver)" >&2; exit 1; }

# The one reason to skip: a browser that cannot start here (no chromium, or one that dies at once).
skip() { echo "console-tests: SKIPPED, Chromium cannot start: $1"; exit 0; }
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is missing (scripts/install-deps.sh installs the Debian package chromium)"
PROBE=$(mktemp -d /tmp/quarry-chromium-probe.XXXXXX)
trap 'rm -rf "$PROBE"' EXIT
probe=0
timeout 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --user-data-dir="$PROBE/profile" --dump-dom 'data:text/html,<p id=probe>ok</p>' >"$PROBE/dom" 2>"$PROBE/err" || probe=$?
if [ "$probe" -ne 0 ] || ! grep -q 'id="probe"' "$PROBE/dom"; then
  skip "$CHROMIUM --headless exited with status $probe without drawing a test page; $(tail -n 3 "$PROBE/err" | tr '\n' ' ')"
fi

# The virtual environment, rebuilt when the pinned requirements change.
if ! cmp -s Tests/console/requirements.txt "$VENV/requirements.txt" 2>/dev/null; then
  echo "console-tests: installing $(grep -v '^#' Tests/console/requirements.txt | tr '\n' ' ')into $VENV" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r Tests/console/requirements.txt
  cp Tests/console/requirements.txt "$VENV/requirements.txt"
fi

mkdir -p "$SCREENSHOTS"
rm -f "$SCREENSHOTS"/console-*.png
SECONDS=0
status=0
SE_OFFLINE=true "$VENV/bin/python" -m pytest Tests/console --rootdir Tests/console -p no:cacheprovider \
  -v -s --durations=0 --durations-min=1 || status=$?
echo "console-tests: ${SECONDS}s, exit status $status, screenshots in $SCREENSHOTS" >&2
[ "$status" -eq 0 ] || exit "$status"

if [ "$UPDATE" = yes ]; then
  rm -f docs/images/console-*.png
  mkdir -p docs/images
  cp "$SCREENSHOTS"/console-*.png docs/images/
  echo "console-tests: copied $(ls "$SCREENSHOTS"/console-*.png | wc -l) screenshots into docs/images/" >&2
fi
