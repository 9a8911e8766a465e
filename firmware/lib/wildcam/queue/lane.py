"""One outbox lane: a FIFO of records in numbered segment files, plus a cursor journal.

Everything before the cursor is finished (delivered, dead-lettered, expired or evicted).
The cursor journal is a file of 16-byte records `magic pad(3) seg(4) off(4) crc(4)`; the
last valid one wins, and the file is rewritten atomically when it grows past
`CURSOR_COMPACT`. State in RAM is a handful of integers, whatever the queue length.
"""

import struct
from binascii import crc32

from wildcam.queue import records

_CUR = 0x43
_CUR_REC = 16
CURSOR_COMPACT = 1024


def _cursor_record(seg, off):
    body = struct.pack("<BxxxII", _CUR, seg, off)
    return body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)


class Lane:
    def __init__(self, box, name, prio):
        self.box = box
        self.st = box.st
        self.name = name
        self.prio = prio
        self.dir = box.root + "/" + name
        self.last = -1  # highest segment number that may exist
        self.tail = -1  # segment appended to this boot (-1: none yet)
        self.tail_size = 0
        self.cur_seg = 0
        self.cur_off = 0
        self.cursor_size = 0
        self.count = 0
        self.bytes = 0
        self.head = None  # cached head Item
        self.damage_mark = (-1, -1)  # last damaged stretch reported
        self.boot_seg = 0  # first segment number this boot may use (for unique keys)
        self.appends = 0

    def seg_path(self, n):
        return "%s/%08d.seg" % (self.dir, n)

    # --- recovery -------------------------------------------------------------------------
    def recover(self, on_item):
        """Find the cursor and the segments, then count pending items by calling
        `on_item(dict, length)` for each (one record in RAM at a time; it returns None)."""
        st = self.st
        st.makedirs(self.dir)
        first = None
        for name in st.iter_names(self.dir):
            if name.endswith(".seg"):
                try:
                    n = int(name[:-4])
                except ValueError:
                    continue
                first = n if first is None or n < first else first
                self.last = n if n > self.last else self.last
            elif name.endswith(".tmp"):
                st.remove_quiet(self.dir + "/" + name)
        self._read_cursor()
        if first is not None and (self.cur_seg, self.cur_off) < (first, 0):
            self.cur_seg, self.cur_off = first, 0
        self.last = max(self.last, self.cur_seg)
        for seg in range(first if first is not None else self.cur_seg, self.cur_seg):
            st.remove_quiet(self.seg_path(seg))  # finished, removal was cut short
        self.walk(lambda d, seg, pos, end: on_item(d, end - pos))
        if self.cur_off and self.cur_off >= self._size(self.cur_seg):
            self._advance(self.cur_seg + 1, 0)  # its segment is used up
            self.last = max(self.last, self.cur_seg)
        self.tail = -1  # never append to a segment from an earlier boot
        self.boot_seg = self.last + 1

    def _read_cursor(self):
        path = self.dir + "/cursor"
        self.box.st.recover(path)
        try:
            size = self.st.size(path)
        except OSError:
            return
        best = None
        with self.st.open(path, "rb") as f:
            while True:
                rec = f.read(_CUR_REC)
                if len(rec) < _CUR_REC:
                    break
                if rec[0] == _CUR and crc32(rec[:12]) & 0xFFFFFFFF == struct.unpack("<I", rec[12:])[0]:
                    best = struct.unpack("<xxxxII", rec[:12])
        if best:
            self.cur_seg, self.cur_off = best
        self.cursor_size = size
        if size % _CUR_REC or size > CURSOR_COMPACT:
            self._compact_cursor()

    def _compact_cursor(self):
        self.st.write_atomic(self.dir + "/cursor", _cursor_record(self.cur_seg, self.cur_off))
        self.cursor_size = _CUR_REC
        self.box.bytes_written += _CUR_REC

    # --- reading --------------------------------------------------------------------------
    def walk(self, fn, seg=None, off=None):
        """Call `fn(d, seg, pos, end)` for each valid record from (seg, off) (default: the
        cursor) on, until `fn` returns True. Damaged stretches are quarantined and skipped.
        One record in RAM at a time; no file stays open after return."""
        seg = self.cur_seg if seg is None else seg
        off = self.cur_off if off is None else off
        while seg <= self.last:
            path = self.seg_path(seg)
            try:
                fsize = self.st.size(path)
            except OSError:
                seg, off = seg + 1, 0
                continue
            with self.st.open(path, "rb") as f:
                while off < fsize:
                    d, n = records.read_at(f, off, fsize)
                    if d is None:
                        nxt = records.resync(f, off, fsize)
                        if (seg, off) > self.damage_mark:  # report each stretch once
                            self.damage_mark = (seg, off)
                            self.box.quarantine(f, off, nxt, self.name, seg, nxt == fsize)
                        off = nxt
                        continue
                    if fn(d, seg, off, off + n):
                        return True
                    off += n
            seg, off = seg + 1, 0
        return False

    def peek(self):
        """The head item (cached), or None when the lane is empty."""
        if self.head is None:
            found = []

            def first(d, seg, pos, end):
                found.append(self.box.make_item(self, seg, pos, end, d))
                return True

            self.walk(first)
            if found:
                self.head = found[0]
                if (self.head.seg, self.head.pos) != (self.cur_seg, self.cur_off):
                    self._advance(self.head.seg, self.head.pos)  # skipped damage or a gap
        return self.head

    def run(self, limit):
        """Up to `limit` items from the head on, in order (for batching); bounded RAM."""
        out = []

        def take(d, seg, pos, end):
            out.append(self.box.make_item(self, seg, pos, end, d))
            return len(out) >= limit

        self.walk(take)
        return out

    # --- writing --------------------------------------------------------------------------
    def append(self, rec):
        if self.tail < 0 or self.tail_size + len(rec) > self.box.seg_bytes:
            self.last += 1
            self.tail = self.last
            self.tail_size = 0
        seg, off = self.tail, self.tail_size
        with self.st.open(self.seg_path(seg), "ab") as f:
            f.write(rec)
            f.flush()
        self.tail_size += len(rec)
        self.box.bytes_written += len(rec)
        return seg, off, off + len(rec)

    def _advance(self, seg, off):
        """Move the cursor to (seg, off), durably, and drop finished segments."""
        old = self.cur_seg
        self.cur_seg, self.cur_off = seg, off
        if self.cursor_size + _CUR_REC > CURSOR_COMPACT:
            self._compact_cursor()
        else:
            with self.st.open(self.dir + "/cursor", "ab") as f:
                f.write(_cursor_record(seg, off))
                f.flush()
            self.cursor_size += _CUR_REC
            self.box.bytes_written += _CUR_REC
        for n in range(old, seg):
            self.st.remove_quiet(self.seg_path(n))

    def finish(self, item):
        """Everything up to and including `item` is finished."""
        self.head = None
        seg, end = item.seg, item.end
        if seg != self.tail and end >= self._size(seg):
            seg, end = seg + 1, 0  # a sealed segment is used up: delete it
        self._advance(seg, end)

    def _size(self, seg):
        try:
            return self.st.size(self.seg_path(seg))
        except OSError:
            return 0
