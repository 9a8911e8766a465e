#!/usr/bin/env bash
# Installs what is missing, then runs every test (CPython, real MicroPython, mpy-cross).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m micropython`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
