"""Test set-up shared by every test: board module names and the firmware package importable."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, "tests", "portable")):
    if p not in sys.path:
        sys.path.insert(0, p)

import host_sim  # noqa: E402

host_sim.install()
