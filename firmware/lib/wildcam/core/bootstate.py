"""Counts boots and notices crash loops.

`/state/boot.json` holds {"boots": n, "unstable": k}: `begin()` increments both at every
boot (one small atomic write), `mark_stable()` sets `unstable` back to 0 once the firmware
has run long enough. A board that keeps resetting before that point reaches
`unstable >= SAFE_AFTER` and boots in safe mode (no camera; log, REPL, network and OTA only),
so a bad build or a bad config cannot lock a camera in a reset loop.
"""

import json

from wildcam.core import jsonutil

PATH = "/state/boot.json"
SAFE_AFTER = 4


class BootState:
    def __init__(self, storage):
        self._st = storage
        self.boots = 0
        self.unstable = 0

    def load(self):
        """Read the counters (a missing or corrupt file counts as a fresh start)."""
        try:
            raw = self._st.read_atomic(PATH)
            d = json.loads(raw) if raw else {}
            self.boots = int(d.get("boots", 0))
            self.unstable = int(d.get("unstable", 0))
        except (OSError, ValueError, TypeError, AttributeError):
            self.boots, self.unstable = 0, 0
        return self

    def begin(self):
        """Count this boot (one small atomic write)."""
        self.load()
        self.boots += 1
        self.unstable += 1
        self._save()
        return self

    @property
    def safe_mode(self):
        return self.unstable > SAFE_AFTER

    def mark_stable(self):
        if self.unstable:
            self.unstable = 0
            self._save()

    def _save(self):
        self._st.makedirs("/state")
        self._st.write_atomic(PATH, jsonutil.dumps({"boots": self.boots,
                                                    "unstable": self.unstable}).encode())
