#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine (idempotent, quick when done):
# a Python venv with the host tools and test deps, and the npm packages (real MicroPython).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,board]"
  rm -f .venv/.installed-* && touch "$stamp"
fi

if [ -f package.json ]; then
  lockstamp=node_modules/.installed-$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -c1-16)
  if [ ! -f "$lockstamp" ]; then
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
    rm -f node_modules/.installed-* && touch "$lockstamp"
  fi
fi

# The official MicroPython stubs (pinned in pyproject.toml, extra "typecheck-stubs") into
# .cache/typings for the board contract test and the pyright gate (not into the venv).
stubs=$(.venv/bin/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["typecheck-stubs"]))')
stubstamp=.cache/typings/.installed-$(echo "$stubs" | sha256sum | cut -c1-16)
if [ ! -f "$stubstamp" ]; then
  rm -rf .cache/typings
  .venv/bin/python -m pip install -q --target .cache/typings $stubs
  touch "$stubstamp"
fi

# micropython-lib dependencies (umqtt.simple ...) from PyPI into .cache/mpylib (not in the repo),
# and the benchmark baselines (urequests, never deployed) into .cache/mpylib/baselines
.venv/bin/python tools/mpylib.py fetch --baselines

# A real MQTT broker for tests/services (Debian's mosquitto); skipped when present.
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null
  else
    echo "setup: mosquitto missing (apt-get install mosquitto); tests/services MQTT tests will skip" >&2
  fi
fi

# libfaketime (Debian's faketime) puts the servers of `python -m host_sim --real` on the
# simulation's clock; skipped when present.
if ! [ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] && ! command -v faketime >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null
  else
    echo "setup: faketime missing (apt-get install faketime); host_sim --real and its tests will skip" >&2
  fi
fi

# A real InfluxDB 1.x for tests/services/test_cloud_influx.py (Debian's influxdb; the test
# starts its own influxd on free loopback ports, the packaged service is never used).
if ! command -v influxd >/dev/null 2>&1 && [ ! -x /usr/bin/influxd ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq influxdb >/dev/null
  else
    echo "setup: influxd missing (apt-get install influxdb); InfluxDB tests will skip" >&2
  fi
fi

# Headless Chromium for tests/test_report.py (renders report.html); skipped when present.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium missing (apt-get install chromium); tests/test_report.py will skip" >&2
  fi
fi
