"""Counts boots and notices crash loops.

`/state/boot.json` holds {"boots": n, "unstable": k}: `begin()` increments both at every
boot (one small atomic write), `mark_stable()` sets `unstable` back to 0 once the firmware
has run long enough. A board that keeps resetting before that point reaches
`unstable >= SAFE_AFTER` and boots in safe mode (no camera; log, REPL, network and OTA only),
so a bad build or a bad config cannot lock a camera in a reset loop.

On a PIR wake the first picture comes before any flash write: `begin(rtc, defer=True)`
counts the boot in RTC memory (which survives resets and deep sleep, not power loss) and
`commit()` writes the file after the burst. A crash before that still counts: the next
boot finds RTC memory ahead of the file and continues from it.
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
        self._rtc = None
        self._dirty = False

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

    def begin(self, rtc=None, defer=False):
        """Count this boot: one small atomic write, or with `defer` only in `rtc` (an
        RtcState) until `commit()`."""
        self.load()
        self._rtc = rtc
        if rtc is not None and rtc.get("boots") > self.boots:  # counted, then a reset
            self.boots, self.unstable = rtc.get("boots"), rtc.get("unstable")
        self.boots += 1
        self.unstable += 1
        self._remember()
        if defer and rtc is not None:
            self._dirty = True
        else:
            self._save()
        return self

    def commit(self):
        """Write a deferred count (after the PIR wake's burst)."""
        if self._dirty:
            self._dirty = False
            self._save()

    def _remember(self):
        if self._rtc is not None:
            self._rtc.set("boots", self.boots)
            self._rtc.set("unstable", self.unstable)
            self._rtc.save()

    @property
    def safe_mode(self):
        return self.unstable > SAFE_AFTER

    def mark_stable(self):
        if self.unstable:
            self.unstable = 0
            self._remember()
            self._save()

    def _save(self):
        self._st.makedirs("/state")
        self._st.write_atomic(PATH, jsonutil.dumps({"boots": self.boots,
                                                    "unstable": self.unstable}).encode())
