"""Framed, checksummed records for the outbox's files.

Item records (format 2, the outbox's segments):

    magic(1) ver=2(1) n(2) crc32(4) ordinal(4) cum(4) body(n) n(2)

`crc32` covers bytes 0-3, 8-15 and the body and is seeded with the segment's seed
(`seed(salt, seg)`: the lane's random salt and the segment number), so a record can only
be valid in the one file it was written to: old bytes that reappear in another file (a
reused FAT cluster, a recreated lane) fail the check. `ordinal` numbers a lane's items,
`cum` is the lane's cumulative cost (record + media bytes, mod 2**32) before this item; the
trailing copy of `n` lets a reader find a file's last record from its end. The body is
sorted compact JSON.

Segment header (the first 24 bytes of every segment, seed 0):

    magic 'S'(1) ver=2(1) pad(2) salt(4) seg(4) ordinal(4) cum(4) crc32(4)

Format 1 records (`encode`, `read_at`, `resync`: the dead-letter ring, and lanes written by
earlier firmware): `magic(1) ver=1(1) n(2) crc32(4) body(n)`, CRC over bytes 0-3 and the
body, seed 0.

`read2`/`read_at` tell a whole valid record from a bad one and `resync2`/`resync` find the
next valid record after damage, so one flipped bit or a short write costs one record, not
the rest of the file. One record in RAM at a time.
"""

import json
import struct
from binascii import crc32

from wildcam.core import jsonutil

MAGIC = 0x57  # "W"
HDR = 8  # format 1 header
HDR2 = 16  # format 2 header
TRAILER = 2
OVERHEAD = HDR2 + TRAILER
SEG_MAGIC = 0x53  # "S"
SEG_HDR = 24
MAX_BODY = 2048
M32 = 0xFFFFFFFF
_SCAN = 256
_MAGIC_B = b"\x57"


def body_of(d):
    """The body bytes of dict `d` (raises ValueError when too large for one record)."""
    body = jsonutil.dumps(d).encode()
    if len(body) > MAX_BODY:
        raise ValueError("record too large (%d bytes)" % len(body))
    return body


def seed(salt, seg):
    """CRC seed of segment `seg` of the lane with `salt`."""
    return crc32(struct.pack("<II", salt & M32, seg & M32)) & M32


def frame(body, sd, ordinal, cum):
    """Bytes of one format 2 record of `body` for the segment with seed `sd`."""
    n = len(body)
    head = struct.pack("<BBH", MAGIC, 2, n)
    mid = struct.pack("<II", ordinal & M32, cum & M32)
    crc = crc32(body, crc32(mid, crc32(head, sd))) & M32
    return head + struct.pack("<I", crc) + mid + body + struct.pack("<H", n)


def seg_header(salt, seg, ordinal, cum):
    body = struct.pack("<BBxxIIII", SEG_MAGIC, 2, salt & M32, seg & M32, ordinal & M32, cum & M32)
    return body + struct.pack("<I", crc32(body) & M32)


def read_seg_header(raw, seg):
    """(salt, ordinal, cum) from the 24 bytes `raw` when they are segment `seg`'s header."""
    if len(raw) < SEG_HDR or raw[0] != SEG_MAGIC or raw[1] != 2:
        return None
    if crc32(raw[:20]) & M32 != struct.unpack("<I", raw[20:24])[0]:
        return None
    salt, n, ordinal, cum = struct.unpack("<IIII", raw[4:20])
    if n != seg:
        return None
    return salt, ordinal, cum


def peek2(f, off, fsize):
    """(n, ordinal, cum) from the header at `off` when it looks like a format 2 record that
    fits the file; not verified (the CRC is checked by `read2`)."""
    if fsize - off < OVERHEAD:
        return None
    f.seek(off)
    head = f.read(HDR2)
    if len(head) < HDR2 or head[0] != MAGIC or head[1] != 2:
        return None
    n = head[2] | (head[3] << 8)
    if n > MAX_BODY or off + OVERHEAD + n > fsize:
        return None
    ordinal, cum = struct.unpack("<II", head[8:16])
    return n, ordinal, cum


def read2(f, off, fsize, sd):
    """(dict, record length, ordinal, cum) for a valid format 2 record at `off` of open file
    `f` (size `fsize`) written with seed `sd`, else None."""
    if fsize - off < OVERHEAD:
        return None
    f.seek(off)
    head = f.read(HDR2)
    if len(head) < HDR2 or head[0] != MAGIC or head[1] != 2:
        return None
    n = head[2] | (head[3] << 8)
    if n > MAX_BODY or off + OVERHEAD + n > fsize:
        return None
    rest = f.read(n + TRAILER)
    if len(rest) != n + TRAILER or rest[n] | (rest[n + 1] << 8) != n:
        return None
    crc = crc32(head[8:16], crc32(head[:4], sd))
    if crc32(memoryview(rest)[:n], crc) & M32 != struct.unpack("<I", head[4:8])[0]:
        return None
    try:
        d = json.loads(rest[:n])
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    ordinal, cum = struct.unpack("<II", head[8:16])
    return d, OVERHEAD + n, ordinal, cum


def last2(f, fsize, start, sd):
    """(offset, dict, length, ordinal, cum) of the record that ends exactly at `fsize`, found
    from the file's end through the trailer; None when the file does not end with a whole
    valid record (a torn or short last write)."""
    if fsize - start < OVERHEAD:
        return None
    f.seek(fsize - TRAILER)
    t = f.read(TRAILER)
    if len(t) < TRAILER:
        return None
    off = fsize - OVERHEAD - (t[0] | (t[1] << 8))
    if off < start:
        return None
    got = read2(f, off, fsize, sd)
    if got is None or off + got[1] != fsize:
        return None
    return (off,) + got


def resync2(f, off, fsize, sd):
    """Offset of the first valid format 2 record after `off`, or `fsize` when there is none."""
    return _resync(f, off, fsize, lambda p: read2(f, p, fsize, sd) is not None)


# --- format 1 ------------------------------------------------------------------------------
def encode(d):
    """Bytes of one format 1 record holding dict `d` (the dead-letter ring)."""
    body = body_of(d)
    head = struct.pack("<BBH", MAGIC, 1, len(body))
    return head + struct.pack("<I", crc32(body, crc32(head)) & M32) + body


def read_at(f, off, fsize):
    """(dict, record length) for a valid format 1 record at `off` of open file `f` (size
    `fsize`), else (None, 0)."""
    if fsize - off < HDR:
        return None, 0
    f.seek(off)
    head = f.read(HDR)
    if len(head) < HDR or head[0] != MAGIC or head[1] != 1:
        return None, 0
    n = head[2] | (head[3] << 8)
    if n > MAX_BODY or off + HDR + n > fsize:
        return None, 0
    body = f.read(n)
    if len(body) != n or crc32(body, crc32(head[:4])) & M32 != \
            struct.unpack("<I", head[4:8])[0]:
        return None, 0
    try:
        d = json.loads(body)
    except ValueError:
        return None, 0
    if not isinstance(d, dict):
        return None, 0
    return d, HDR + n


def resync(f, off, fsize):
    """Offset of the first valid format 1 record after `off`, or `fsize` when there is none."""
    return _resync(f, off, fsize, lambda p: read_at(f, p, fsize)[0] is not None)


def _resync(f, off, fsize, valid):
    pos = off + 1
    while pos < fsize:
        f.seek(pos)
        chunk = f.read(min(_SCAN, fsize - pos))
        if not chunk:
            break
        i = chunk.find(_MAGIC_B)
        while i >= 0:
            if valid(pos + i):
                return pos + i
            i = chunk.find(_MAGIC_B, i + 1)
        pos += len(chunk)
    return fsize
