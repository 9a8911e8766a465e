"""The outbox's on-disk format 1 (firmware before format 2), written by hand for tests of
the drain path (portable)."""

import struct
from binascii import crc32

from wildcam.queue import records


def cursor_record(seg, off):
    body = struct.pack("<BxxxII", 0x43, seg, off)
    return body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)


def write_format1(st, lane="1-default", n=5, delivered=0, torn_cursor=False, root="/q"):
    """A lane as firmware before format 2 left it: records in 00000000.seg, a `cursor`
    file of 16-byte records (the last valid one after `delivered` items)."""
    d = root + "/" + lane
    st.makedirs(d)
    ends = []
    with st.open(d + "/00000000.seg", "wb") as f:
        off = 0
        for i in range(n):
            rec = records.encode({"n": "detection", "c": 1780315200 + i, "k": "old-%d" % i,
                                  "d": {"i": i}})
            f.write(rec)
            off += len(rec)
            ends.append(off)
    with st.open(d + "/cursor", "wb") as f:
        for i in range(delivered):
            f.write(cursor_record(0, ends[i]))
        if torn_cursor:
            f.write(cursor_record(0, ends[-1])[:5])  # a power cut 5 bytes into a cursor record
    return ends
