"""Room on the filesystem holding the outbox: its free space, measured and estimated, and the
reserves a put must leave.

Guarantees:
- `room(prio, need)` says whether writing `need` bytes leaves the reserve for priority
  `prio` free. Far from a limit it trusts a running estimate (the last `statvfs` less what
  the outbox wrote since); within `SLACK_BLOCKS` of one, and after any new file or removal,
  it asks the filesystem, so a decision that can evict is never taken on a stale figure.
- Reserves, in the filesystem's own blocks (FAT clusters, LittleFS blocks): `RESERVE_BLOCKS`
  always (journal rewrites, which are copy-on-write on LittleFS, and dead letters), plus
  `ALERT_RESERVE_BLOCKS` that only alerts (priority 0) may use, plus `keep_free` bytes left to
  the rest of the firmware.
- A filesystem that cannot say (statvfs fails) sets no limit: `max_bytes` still does.
"""

RESERVE_BLOCKS = 3
ALERT_RESERVE_BLOCKS = 4
SLACK_BLOCKS = 4


class Space:
    def __init__(self, storage, path, keep_free=0):
        self.st = storage
        self.path = path
        self.keep_free = keep_free
        self._free = None  # bytes (None: measure at the next question)
        self._block = None

    def block(self):
        if self._block is None:
            try:
                self._block = self.st.block_size(self.path) or 4096
            except (OSError, AttributeError):
                self._block = 4096
        return self._block

    def free(self):
        """Free bytes (the estimate), or None when the filesystem cannot say."""
        if self._free is None:
            try:
                self._free = self.st.statvfs(self.path)[1]
            except OSError:
                return None
        return self._free

    def measure(self):
        self._free = None
        return self.free()

    def reserve(self, prio):
        return self.keep_free + self.block() * (
            RESERVE_BLOCKS + (ALERT_RESERVE_BLOCKS if prio else 0))

    def room(self, prio, need):
        reserve = self.reserve(prio)
        free = self.free()
        if free is None or free - need >= reserve + SLACK_BLOCKS * self.block():
            return True
        free = self.measure()  # close to a limit: ask the filesystem
        return free is None or free - need >= reserve

    def could_fit(self, prio, need, freeable):
        """Whether `need` bytes would fit once `freeable` more bytes were freed."""
        free = self.free()
        return free is None or free + freeable - need >= self.reserve(prio)

    def wrote(self, n, new_file=False):
        """`n` bytes were written (to a new file: up to a block more is in use: measure)."""
        if new_file:
            self._free = None
        elif self._free is not None:
            self._free -= n

    def freed(self):
        self._free = None
