"""A small state journal that never grows: a preallocated file of 16-byte slots rewritten in
place (a lane's cursor, the outbox's boot counter).

File (544 bytes, written whole once by `create`): two halves 512 bytes apart, each a header
slot (`H`: format, salt) and a state slot. Successive writes alternate between the halves
(ping-pong), so a write torn anywhere (even one that spoils a whole 512-byte sector) leaves
the previous state whole in the other half, and reading costs two slots whatever the
history.

Slot: `magic 'J'(1) kind(1) a(2) b(4) c(4) crc32(4)`, the CRC over the first 12 bytes
seeded with the salt (header slots: seed 0). A reader keeps the valid state slot with the
highest `(b, a, c)`: every state written here only ever grows in that order (a cursor moves
forward, a tail and a boot counter only count up), so the newest state wins and a stale
one can never.

Why not an append-only file: appending needs free space at the moment of writing, and on
FAT a full card writes part of a record and then raises ENOSPC (a short write). Rewriting
bytes the file already owns needs no new cluster on FAT; on LittleFS (copy-on-write) it
needs one free block, which the outbox keeps in reserve.
"""

import struct
from binascii import crc32

SLOT = 16
HALF = 512
SLOTS = 2  # one state slot per half
SIZE = HALF + 2 * SLOT
_MAGIC = 0x4A  # "J"
_HEAD = 0x48  # "H"
VERSION = 2


def _slot(kind, a, b, c, sd):
    body = struct.pack("<BBHII", _MAGIC, kind, a, b, c)
    return body + struct.pack("<I", crc32(body, sd) & 0xFFFFFFFF)


def _parse(raw, sd):
    if raw[0] != _MAGIC or crc32(raw[:12], sd) & 0xFFFFFFFF != struct.unpack("<I", raw[12:16])[0]:
        return None
    return struct.unpack("<BBHII", raw[:12])[1:]


def _offset(p):
    return (p % 2) * HALF + (1 + p // 2) * SLOT


class Journal:
    """The journal at `path` holding states of `kind` (one byte)."""

    def __init__(self, storage, path, kind):
        self.st = storage
        self.path = path
        self.kind = kind
        self.salt = None
        self.next_p = 0  # slot the next write goes to
        self.writes = 0

    def create(self, salt, a, b, c):
        """Write a fresh journal holding one state. Raises OSError (e.g. ENOSPC); a partly
        written file is removed again."""
        head = _slot(_HEAD, VERSION, salt, 0, 0)
        raw = bytearray(SIZE)
        raw[0:SLOT] = raw[HALF:HALF + SLOT] = head
        raw[SLOT:2 * SLOT] = _slot(self.kind, a, b, c, salt)
        try:
            with self.st.open(self.path, "wb") as f:
                f.write(raw)
                f.flush()
        except OSError:
            self.st.remove_quiet(self.path)
            raise
        self.salt = salt
        self.next_p = 1
        self.writes += 1
        return SIZE

    def load(self):
        """(a, b, c) of the newest valid state, or None when the file is missing, short or
        has no valid header (the salt is then unknown too)."""
        try:
            with self.st.open(self.path, "rb") as f:
                raw = f.read(SIZE)
        except OSError:
            return None
        if len(raw) != SIZE:
            return None
        salt = None
        for h in (0, HALF):
            got = _parse(raw[h:h + SLOT], 0)
            if got is not None and got[0] == _HEAD and got[1] == VERSION:
                salt = got[2]
                break
        if salt is None:
            return None
        self.salt = salt
        best, best_p = None, -1
        for p in range(SLOTS):
            o = _offset(p)
            got = _parse(raw[o:o + SLOT], salt)
            if got is not None and got[0] == self.kind:
                key = (got[2], got[1], got[3])
                if best is None or key >= best:
                    best, best_p = key, p
        self.next_p = (best_p + 1) % SLOTS
        if best is None:
            return None
        return best[1], best[0], best[2]

    def write(self, a, b, c):
        """Record a state (rewrites one slot in place). Raises OSError."""
        with self.st.open(self.path, "r+b") as f:
            f.seek(_offset(self.next_p))
            f.write(_slot(self.kind, a, b, c, self.salt))
            f.flush()
        self.next_p = (self.next_p + 1) % SLOTS
        self.writes += 1
        return SLOT
