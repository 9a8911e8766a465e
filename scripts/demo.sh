#!/usr/bin/env bash
# Installs what is missing, then runs the main job: simulated WildCAM boards doing real work.
# Extra arguments go to `python -m host_sim` (see `scripts/demo.sh --help`). The default run
# needs no server (a local folder is the cloud); `scripts/demo.sh --real` starts mosquitto,
# s3rver and Azurite on free loopback ports, runs the fleet against them, counts at the
# servers and stops them (add --chaos to kill -9 and restart each one mid-run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m host_sim "$@"
