"""Signed over-the-air updates: manifest verification, slot staging, boot selection, health
gate (module map in wildcam.ota.updater). Only `OtaError` lives here: boot.py imports
wildcam.ota.boot through this package, so it stays as small as a package can be."""

MAX_MANIFEST = 16384  # bytes: the manifest and its signature are read into RAM whole


class OtaError(Exception):
    """An update refused or aborted (nothing of the running version was touched). `keep`:
    what was staged so far stays (marked, never booted) for the next attempt to resume."""

    def __init__(self, msg, keep=False):
        super().__init__(msg)
        self.keep = keep
