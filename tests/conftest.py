"""Test set-up shared by every test: board module names and the firmware package importable."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, "tests", "portable")):
    if p not in sys.path:
        sys.path.insert(0, p)

import asyncio  # noqa: E402

import pytest  # noqa: E402

import host_sim  # noqa: E402
from host_sim import stepwatch  # noqa: E402

host_sim.install()

# Every event loop a test makes (asyncio.run, new_event_loop) has its steps watched, as the
# simulator's VirtualLoop has: a firmware step that makes a blocking socket call, or holds
# the loop past stepwatch.WALL_LIMIT_MS, fails the test that ran it (host_sim/stepwatch.py).
asyncio.set_event_loop_policy(stepwatch.WatchedPolicy())


@pytest.fixture(autouse=True)
def _loop_steps():
    stepwatch.reset()
    yield
    bad = stepwatch.violations()
    stats = os.environ.get("WILDCAM_STEP_STATS")
    if stats:
        with open(stats, "a") as f:
            for w in stepwatch.watches():
                if w.steps and w.slow:
                    f.write("%.1f %.1f %s\n" % (w.max_wall_ms, w.max_virt_ms, w.slow[0]))
    if bad:
        pytest.fail("a firmware step held the asyncio loop or blocked on a socket:\n  " +
                    "\n  ".join(str(b) for b in bad) + "\n" + stepwatch.report(),
                    pytrace=False)

# Real-MicroPython gate: tests/portable/test_*.py also run under the wasm interpreter
# (items marked `micropython`; see tests/mpy_plugin.py and docs/MICROPYTHON_GATE.md).
from mpy_plugin import *  # noqa: E402,F401,F403
