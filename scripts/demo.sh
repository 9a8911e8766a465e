#!/usr/bin/env bash
# Installs what is missing, then runs the main job: simulated WildCAM boards doing real work.
# Extra arguments go to `python -m host_sim` (see `scripts/demo.sh --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m host_sim "$@"
