"""Keeping room on the SD card.

`storage.full_policy`:
- "delete_uploaded": when free space falls below `storage.min_free_mb`, delete the oldest
  images that a destination has already acknowledged (and their sidecars), never one that
  is still waiting to be uploaded;
- "stop": keep everything, refuse new captures until someone makes room.

Which images are safe to delete is a journal on the card (`/sd/DCIM/uploaded.txt`), one
path per line in upload order (oldest first), appended when the sync engine finishes a
media item, and when the detector rejects a burst that `detect.rejected: keep` keeps on the
card for review (never uploaded, deletable like an uploaded image). Cleaning streams it
(never read whole) and rewrites the rest atomically.
"""

JOURNAL = "/sd/DCIM/uploaded.txt"
_CHUNK = 1024


class SdSpace:
    def __init__(self, storage, min_free_bytes, policy, log):
        self.st = storage
        self.min_free = min_free_bytes
        self.policy = policy
        self.log = log
        self.deleted = 0
        self.refused = 0
        try:
            self.st.recover(JOURNAL)
        except OSError:
            pass

    def note_uploaded(self, path):
        """Remember that `path` may be deleted when room is needed: uploaded (called after the
        outbox acknowledged) or a rejected burst's image kept for review."""
        try:
            self.st.makedirs("/sd/DCIM")
            with self.st.open(JOURNAL, "ab") as f:
                f.write(path.encode() + b"\n")
        except OSError as e:
            self.log.warning("cannot note %s as uploaded: %s", path, e)

    def free(self):
        try:
            return self.st.free_bytes("/sd")
        except OSError:
            return 0

    def ensure(self, need):
        """True when `need` more bytes fit above the reserve (deleting uploaded images first
        when the policy allows). False means: do not write."""
        if self.free() - need >= self.min_free:
            return True
        if self.policy == "delete_uploaded":
            self._clean(need)
            if self.free() - need >= self.min_free:
                return True
        self.refused += 1
        self.log.warning("SD card full (%d KB free, reserve %d KB): not capturing",
                         self.free() // 1024, self.min_free // 1024)
        return False

    def _clean(self, need):
        """Delete uploaded images oldest first until `need` fits; keep the journal's rest."""
        if not self.st.exists(JOURNAL):
            return
        kept_from = None
        with self.st.open(JOURNAL, "rb") as f:
            while True:
                line = f.readline()
                if not line:
                    break
                path = line.decode().strip()
                if path.startswith("/sd/DCIM/") and ".." not in path:
                    for p in (path, path[:path.rfind(".")] + ".json"):
                        if self.st.remove_quiet(p) and p == path:
                            self.deleted += 1
                if self.free() - need >= self.min_free:
                    kept_from = f.tell()
                    break
            self._copy_rest(f, kept_from)
        self.st.commit_atomic(JOURNAL)  # the journal is closed before it is replaced
        self.log.info("SD card: deleted %d uploaded images to make room", self.deleted)

    def _copy_rest(self, f, offset):
        """Write the journal's lines after `offset` (none when None) to its temp file."""
        with self.st.open_atomic(JOURNAL) as out:
            if offset is not None:
                f.seek(offset)
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
