#!/usr/bin/env bash
# Installs everything the crawler and its tests need (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

"$PYTHON" -m pip install --quiet --upgrade pip
"$PYTHON" -m pip install --quiet -e '.[test]'

# pywb (replay) pins redis 2.x and brotlipy, which clash with Scrapy's brotli: it gets a venv
# of its own under .tools/, and the crawler runs its commands from there.
if [ ! -x .tools/pywb/bin/wayback ]; then
    "$PYTHON" -m venv .tools/pywb
    .tools/pywb/bin/pip install --quiet --upgrade pip
    .tools/pywb/bin/pip install --quiet 'pywb>=2.8'
fi
