"""Framed, checksummed records for append-only files (the outbox's segments).

A record is `magic(1) version(1) length(2, LE) crc32(4, LE) body(length)`, with the CRC
over the first four header bytes and the body; the body is sorted compact JSON.
`read_at` tells a whole valid record from a bad one, and `resync` finds the next valid
record after damage, so one flipped bit costs one record, not the rest of the file.
"""

import json
import struct
from binascii import crc32

from wildcam.core import jsonutil

MAGIC = 0x57  # "W"
HDR = 8
MAX_BODY = 2048
_SCAN = 256


def encode(d):
    """Bytes of one record holding dict `d`."""
    body = jsonutil.dumps(d).encode()
    if len(body) > MAX_BODY:
        raise ValueError("record too large (%d bytes)" % len(body))
    head = struct.pack("<BBH", MAGIC, 1, len(body))
    return head + struct.pack("<I", crc32(body, crc32(head)) & 0xFFFFFFFF) + body


def read_at(f, off, fsize):
    """(dict, record length) for a valid record at `off` of open file `f` (size `fsize`),
    else (None, 0)."""
    if fsize - off < HDR:
        return None, 0
    f.seek(off)
    head = f.read(HDR)
    if len(head) < HDR or head[0] != MAGIC:
        return None, 0
    n = head[2] | (head[3] << 8)
    if n > MAX_BODY or off + HDR + n > fsize:
        return None, 0
    body = f.read(n)
    if len(body) != n or crc32(body, crc32(head[:4])) & 0xFFFFFFFF != \
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
    """Offset of the first valid record after `off`, or `fsize` when there is none."""
    pos = off + 1
    while pos < fsize:
        f.seek(pos)
        chunk = f.read(min(_SCAN, fsize - pos))
        if not chunk:
            break
        i = chunk.find(bytes((MAGIC,)))
        while i >= 0:
            if read_at(f, pos + i, fsize)[0] is not None:
                return pos + i
            i = chunk.find(bytes((MAGIC,)), i + 1)
        pos += len(chunk)
    return fsize
