"""Test set-up shared by every test: board module names and the firmware package importable."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, "tests", "portable")):
    if p not in sys.path:
        sys.path.insert(0, p)

import host_sim  # noqa: E402

host_sim.install()

# Real-MicroPython gate: tests/portable/test_*.py also run under the wasm interpreter
# (items marked `micropython`; see tests/mpy_plugin.py and docs/MICROPYTHON_GATE.md).
from mpy_plugin import *  # noqa: E402,F401,F403
