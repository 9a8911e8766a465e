#!/usr/bin/env bash
# Installs what is missing, then runs every test (CPython, real MicroPython, mpy-cross), the
# board contract test (tests/test_board_contract.py: firmware and shims vs the official stubs)
# and the pyright gate (tests/test_typecheck.py: the firmware type-checked against them).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m micropython`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
