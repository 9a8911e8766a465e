"""Lanes written by firmware before format 2 (`<root>/<prio>-<route>/`: format 1 records
in `<seg>.seg`, a `cursor` file of 16-byte records): drained, never appended to.

An outbox that finds such a folder delivers its pending items like any other lane's (same
priority and route, oldest first) and removes the folder once it is empty; new items go to
format 2 lanes. Opening reads each pending format 1 record once to count it (as the old
firmware did), so only the first boots after an upgrade pay for it.

The cursor file is read at every offset, not in 16-byte steps, so a short cursor write of
the old firmware (a fragment that shifted every later record) loses nothing, and the
highest cursor wins (old firmware could move it backwards). Finishing removes finished
segments before it appends a cursor record, and a failed append is only counted.
"""

import struct
from binascii import crc32

from wildcam.queue import records

_CUR = 0x43
_CUR_REC = 16


def _cursor_record(seg, off):
    body = struct.pack("<BxxxII", _CUR, seg, off)
    return body + struct.pack("<I", crc32(body) & 0xFFFFFFFF)


class LegacyLane:
    def __init__(self, box, name, prio):
        self.box = box
        self.st = box.st
        self.name = name
        self.prio = prio
        self.dir = box.root + "/" + name
        self.last = -1
        self.cur_seg = self.cur_off = 0
        self.count = 0
        self.bytes = 0
        self.head = None
        self.damage_mark = (-1, -1)
        self.broken = None  # type: str | None  # why this lane cannot be read this boot
        self.tail_open = False

    def seg_path(self, n):
        return "%s/%08d.seg" % (self.dir, n)

    def is_live(self, item):
        return item.lane is self and (item.seg, item.pos) >= (self.cur_seg, self.cur_off)

    def recover(self):
        st = self.st
        first = None
        for name in st.iter_names(self.dir):
            if name.endswith(".seg"):
                try:
                    n = int(name[:-4])
                except ValueError:
                    continue
                first = n if first is None or n < first else first
                self.last = n if n > self.last else self.last
        self._read_cursor()
        if first is not None and (self.cur_seg, self.cur_off) < (first, 0):
            self.cur_seg, self.cur_off = first, 0
        for seg in range(first if first is not None else self.cur_seg, self.cur_seg):
            st.remove_quiet(self.seg_path(seg))
        self.walk(self._count)
        self._cleanup()

    def _count(self, d, seg, pos, end):
        self.count += 1
        self.bytes += self.box.cost(d, end - pos)

    def _read_cursor(self):
        path = self.dir + "/cursor"
        for suffix in ("", ".new", ".tmp"):  # an old compaction cut short: copies of it
            self._scan_cursor(path + suffix)

    def _scan_cursor(self, path):
        try:
            raw = self.st.read(path)
        except OSError:
            return
        for i in range(len(raw) - _CUR_REC + 1):
            if raw[i] == _CUR and crc32(raw[i:i + 12]) & 0xFFFFFFFF == \
                    struct.unpack("<I", raw[i + 12:i + 16])[0]:
                got = struct.unpack("<II", raw[i + 4:i + 12])
                if got > (self.cur_seg, self.cur_off):
                    self.cur_seg, self.cur_off = got

    def walk(self, fn):
        seg, off = self.cur_seg, self.cur_off
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
                        if (seg, off) > self.damage_mark:
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
        if self.head is None and self.count:
            found = []

            def first(d, seg, pos, end):
                found.append(self.box.make_item(self, seg, pos, end, d))
                return True

            self.walk(first)
            if found:
                self.head = found[0]
            else:
                self.count = self.bytes = 0
        return self.head

    def run(self, limit):
        out = []

        def take(d, seg, pos, end):
            out.append(self.box.make_item(self, seg, pos, end, d))
            return len(out) >= limit

        self.walk(take)
        return out

    def footprint(self, blk):
        total = 0
        for n in range(self.cur_seg, self.last + 1):
            try:
                total += -(-self.st.size(self.seg_path(n)) // blk) * blk
            except OSError:
                pass
        return total

    def drop_tail(self):
        pass

    def append(self, body, cost):
        raise OSError(30, "format 1 lanes are drained, not appended to")

    def finish(self, item, run=()):
        """`item` and the live items `run` before it are finished."""
        if not self.is_live(item):
            return False
        for i in run:
            if i is not item:
                self._uncount(i)
        self._uncount(item)
        self.head = None
        seg, end = item.seg, item.end
        size = 0
        try:
            size = self.st.size(self.seg_path(seg))
        except OSError:
            pass
        if end >= size:
            seg, end = seg + 1, 0
        old = self.cur_seg
        self.cur_seg, self.cur_off = seg, end
        for n in range(old, seg):
            if self.st.remove_quiet(self.seg_path(n)):
                self.box.freed()
        try:
            with self.st.open(self.dir + "/cursor", "ab") as f:
                f.write(_cursor_record(seg, end))
                f.flush()
            self.box.wrote(_CUR_REC)
        except OSError:
            self.box.counters["journal_errors"] += 1
        self._cleanup()
        return True

    def _uncount(self, item):
        self.count = max(0, self.count - 1)
        self.bytes = max(0, self.bytes - item.cost) if self.count else 0

    def _cleanup(self):
        """Remove the folder once nothing is pending in it."""
        if self.count or self.walk(lambda *a: True):
            return
        try:
            for name in list(self.st.iter_names(self.dir)):
                self.st.remove_quiet(self.dir + "/" + name)
            self.st.rmdir(self.dir)
            self.box.freed()
        except OSError:
            pass
