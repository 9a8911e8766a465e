"""One outbox lane: a FIFO of records in numbered segment files, plus a state journal.

Files under `<root>/q<prio>-<route>/`: `journal` (`wildcam.queue.journal`: the cursor, i.e.
everything before it is finished, and the newest segment number) and `<seg>.seg` (a
segment header, then format 2 records, `wildcam.queue.records`).

Guarantees:
- Opening reads the journal, the head record and the last record of the newest segment
  (found from the file's end): the same few reads for 1 or 100,000 pending items. Counts
  come from the ordinals at both ends (`count = next ordinal - head ordinal`); a damaged
  record between them is found, quarantined and subtracted when the reader reaches it.
- Finishing frees before it journals: finished segments are removed first, then the cursor
  is rewritten in place in the preallocated journal, so a full disk cannot stop the queue
  from draining. A journal write that fails anyway is counted and retried by the next one
  (the items since the last good write are then delivered once more after a reboot).
- A new segment is journaled before it is created, and opening probes for segments the
  journal missed. A segment whose last write was torn or short is never appended to.
State in RAM is a handful of integers, whatever the queue length.
"""

from wildcam.queue import records
from wildcam.queue.journal import Journal

M32 = 0xFFFFFFFF
_KIND = 0x43  # "C": cursor state: a = offset, b = segment, c = newest segment


class Lane:
    def __init__(self, box, name, prio):
        self.box = box
        self.st = box.st
        self.name = name
        self.prio = prio
        self.dir = box.root + "/q" + name
        self.journal = Journal(self.st, self.dir + "/journal", _KIND)
        self.salt = None  # None: no journal on disk yet (created by the first append)
        self.cur_seg, self.cur_off = 1, 0
        self.tail = 0  # newest segment number (0: none yet)
        self.tail_size = 0
        self.tail_open = False  # may append to segment `tail`
        self.next_ord = self.next_cum = 0  # ordinal and cumulative cost of the next append
        self.head_ord = self.head_cum = 0  # the same for the head (first unfinished) item
        self.head = None  # cached head Item
        self.damage_mark = (-1, -1)  # last damaged stretch reported
        self.scanned = (-1, 0)  # (segment, size) whose damage opening reported already
        self.appends = 0
        self.broken = None  # why this lane cannot be used this boot (e.g. unreadable)

    def seg_path(self, n):
        return "%s/%08d.seg" % (self.dir, n)

    @property
    def count(self):
        return max(0, self.next_ord - self.head_ord)

    @property
    def bytes(self):
        return (self.next_cum - self.head_cum) & M32 if self.count else 0

    def is_live(self, item):
        """False once `item` was finished (delivered, dead-lettered, expired, evicted)."""
        return item.lane is self and (item.seg, item.pos) >= (self.cur_seg, self.cur_off)

    # --- recovery -------------------------------------------------------------------------
    def recover(self):
        """Find the cursor, the newest segment and the counts (a few reads; see above)."""
        state = self.journal.load()
        if state is None:
            return self._recover_slowly()
        self.salt = self.journal.salt
        self.cur_off, self.cur_seg, self.tail = state
        while self.st.exists(self.seg_path(self.tail + 1)):
            self.tail += 1  # created after the last journal write that got through
        self._find_end()
        self._find_head()

    def _recover_slowly(self):
        """No usable journal: list the folder (rare: the journal was never written whole,
        or was lost). Items from the oldest segment on are pending again."""
        first = last = None
        for name in self.st.iter_names(self.dir):
            if name.endswith(".seg"):
                try:
                    n = int(name[:-4])
                except ValueError:
                    continue
                first = n if first is None or n < first else first
                last = n if last is None or n > last else last
        if first is None or last is None:
            self.st.remove_quiet(self.journal.path)  # a torn creation: start again
            return
        self.salt = self.journal.salt
        for n in range(first, last + 1):
            if self.salt is not None:
                break
            try:
                with self.st.open(self.seg_path(n), "rb") as f:
                    got = records.read_seg_header(f.read(records.SEG_HDR), n)
                self.salt = got[0] if got else None
            except OSError:
                pass
        if self.salt is None:
            self.broken = "no journal and no readable segment header"
            return
        self.cur_seg, self.cur_off, self.tail = first, 0, last
        self._find_end()
        self._find_head()
        self.box.counters["recovered"] += 1
        try:  # a journal for this state again (best effort)
            if self.journal.salt is None:
                self.box.wrote(self.journal.create(self.salt, self.cur_off, self.cur_seg,
                                                   self.tail))
            else:
                self._save()
        except OSError:
            self.box.counters["journal_errors"] += 1

    def _find_end(self):
        """Ordinal and cost after the last valid record, from the newest segment back."""
        for seg in range(self.tail, self.cur_seg - 1, -1):
            got = self._segment_end(seg)
            if got is not None:
                self.next_ord, self.next_cum, size, clean = got
                if seg == self.tail:
                    self.tail_size, self.tail_open = size, clean
                return

    def _segment_end(self, seg):
        """(next ordinal, next cum, file size, ends cleanly) for segment `seg`, or None when
        it has no valid header and no valid record."""
        path = self.seg_path(seg)
        try:
            fsize = self.st.size(path)
        except OSError:
            return None
        sd = records.seed(self.salt, seg)
        with self.st.open(path, "rb") as f:
            hdr = records.read_seg_header(f.read(records.SEG_HDR), seg)
            if hdr is not None and hdr[0] != self.salt:
                hdr = None
            last = records.last2(f, fsize, records.SEG_HDR, sd)
        if last is not None:
            off, d, n, ordinal, cum = last
            return ordinal + 1, (cum + self.box.cost(d, n)) & M32, fsize, hdr is not None
        # the end is torn or short: find the last valid record the slow way (reporting the
        # damage now, so the reader does not count it again when it gets there)
        found = []

        def keep(d, s, pos, end, ordinal, cum):
            if s != seg:
                return True
            found[:] = [ordinal + 1, (cum + self.box.cost(d, end - pos)) & M32]
            return False

        mark = self.damage_mark
        self.walk(keep, seg, 0)
        self.damage_mark, self.scanned = mark, (seg, fsize)
        if found:
            return found[0], found[1], fsize, False
        if hdr is not None:
            return hdr[1], hdr[2], fsize, False
        return None

    def _find_head(self):
        self.head_ord, self.head_cum = self.next_ord, self.next_cum
        self.peek()  # sets head_ord/head_cum from the head record itself
        if self.next_ord < self.head_ord:
            self.next_ord, self.next_cum = self.head_ord, self.head_cum

    # --- reading --------------------------------------------------------------------------
    def walk(self, fn, seg=None, off=None):
        """Call `fn(d, seg, pos, end, ordinal, cum)` for each valid record from (seg, off)
        (default: the cursor) on, until `fn` returns True. Damaged stretches are quarantined
        and skipped; a record whose ordinal is not above its predecessor's is stale and
        skipped too. One record in RAM at a time; no file stays open after return."""
        seg = self.cur_seg if seg is None else seg
        off = self.cur_off if off is None else off
        prev = None
        while seg <= self.tail:
            path = self.seg_path(seg)
            try:
                fsize = self.st.size(path)
            except OSError:
                seg, off = seg + 1, 0
                continue
            sd = records.seed(self.salt, seg)
            with self.st.open(path, "rb") as f:
                if off < records.SEG_HDR:
                    hdr = records.read_seg_header(f.read(records.SEG_HDR), seg)
                    off = records.SEG_HDR if hdr is not None and hdr[0] == self.salt else 0
                while off < fsize:
                    got = records.read2(f, off, fsize, sd)
                    if got is None or (prev is not None and got[2] <= prev):
                        nxt = records.resync2(f, off, fsize, sd)
                        if (seg, off) > self.damage_mark and not (
                                seg == self.scanned[0] and off < self.scanned[1]):
                            self.damage_mark = (seg, off)  # report each stretch once
                            self.box.quarantine(f, off, nxt, self.name, seg, nxt == fsize)
                        off = nxt
                        continue
                    d, n, ordinal, cum = got
                    prev = ordinal
                    if fn(d, seg, off, off + n, ordinal, cum):
                        return True
                    off += n
            seg, off = seg + 1, 0
        return False

    def peek(self):
        """The head item (cached), or None when the lane is empty."""
        if self.head is None and self.salt is not None:
            found = []

            def first(d, seg, pos, end, ordinal, cum):
                found.append(self.box.make_item(self, seg, pos, end, d, ordinal, cum))
                return True

            self.walk(first)
            if found:
                self.head = h = found[0]
                self.head_ord, self.head_cum = h.ord, h.cum
                if self.next_ord <= h.ord:  # records the open did not see (damage)
                    self.next_ord, self.next_cum = h.ord + 1, (h.cum + h.cost) & M32
                if (h.seg, h.pos) > (self.cur_seg, max(self.cur_off, records.SEG_HDR)):
                    self._advance(h.seg, h.pos)  # skipped damage, a gap or a used-up segment
            else:
                self.head_ord, self.head_cum = self.next_ord, self.next_cum  # verified empty
        return self.head

    def run(self, limit):
        """Up to `limit` items from the head on, in order (for batching); bounded RAM."""
        out = []

        def take(d, seg, pos, end, ordinal, cum):
            out.append(self.box.make_item(self, seg, pos, end, d, ordinal, cum))
            return len(out) >= limit

        if self.salt is not None:
            self.walk(take)
        return out

    # --- writing --------------------------------------------------------------------------
    def append(self, body, cost):
        """Write one record of `body`; returns (seg, pos, end, ordinal, cum). Raises OSError
        (nothing counted then; a short write leaves a fragment that readers skip)."""
        n = len(body) + records.OVERHEAD
        if self.salt is None:
            self._create()
        if not self.tail_open or self.tail_size + n > self.box.seg_bytes:
            self._new_segment()
        seg, pos = self.tail, self.tail_size
        rec = records.frame(body, records.seed(self.salt, seg), self.next_ord, self.next_cum)
        if pos == 0:
            rec = records.seg_header(self.salt, seg, self.next_ord, self.next_cum) + rec
            pos = records.SEG_HDR
        try:
            with self.st.open(self.seg_path(seg), "ab") as f:
                f.write(rec)
                f.flush()
        except OSError:
            self.tail_open = False  # never append after a fragment
            raise
        finally:
            self.box.wrote(len(rec), pos == records.SEG_HDR)
        self.tail_size = pos + n
        ordinal, cum = self.next_ord, self.next_cum
        self.next_ord += 1
        self.next_cum = (self.next_cum + cost) & M32
        return seg, pos, pos + n, ordinal, cum

    def _create(self):
        """The lane's folder and journal (its space reserved for good). Raises OSError.
        A folder already there (open() could not list it) is recovered, never overwritten."""
        if self.st.is_dir(self.dir):
            self.recover()
            if self.salt is not None:
                return
            if self.broken:
                raise OSError(5, self.broken)
        self.st.makedirs(self.dir)
        salt = self.box.new_salt(self.name)
        self.box.wrote(self.journal.create(salt, self.cur_off, self.cur_seg, self.tail), True)
        self.salt = salt

    def _new_segment(self):
        self.tail += 1
        self.tail_size = 0
        self.tail_open = True
        self._save()  # before the file exists: a later open finds it even if this failed

    def _save(self):
        """Journal the cursor and the newest segment; False (counted) when it failed."""
        try:
            self.box.wrote(self.journal.write(self.cur_off, self.cur_seg, self.tail))
            return True
        except OSError:
            self.box.counters["journal_errors"] += 1
            return False

    def _advance(self, seg, off):
        """Move the cursor forward to (seg, off): remove finished segments, then journal."""
        if (seg, off) <= (self.cur_seg, self.cur_off):
            return
        old = self.cur_seg
        self.cur_seg, self.cur_off = seg, off
        for n in range(old, min(seg, self.tail + 1)):
            if self.st.remove_quiet(self.seg_path(n)):
                self.box.freed()
        self._save()

    def finish(self, item, run=()):
        """Everything up to and including `item` is finished (`run`: the live items before
        it, for lanes that count them one by one); False (nothing done) when it already
        was."""
        if not self.is_live(item):
            return False
        self.head = None
        self.head_ord, self.head_cum = item.ord + 1, (item.cum + item.cost) & M32
        seg, end = item.seg, item.end
        if seg != self.tail and end >= self._size(seg):
            seg, end = seg + 1, 0  # a sealed segment is used up: delete it
        self._advance(seg, end)
        return True

    def drop_tail(self):
        """The lane is empty: remove its newest segment too (eviction makes room)."""
        if self.count == 0 and self.tail and self.cur_seg <= self.tail:
            self.tail_open = False
            self._advance(self.tail + 1, 0)

    def footprint(self, blk):
        """Bytes its segment files hold in `blk`-byte blocks (a stat per segment: asked
        only when space is short)."""
        total = 0
        for n in range(self.cur_seg, self.tail + 1):
            total += -(-self._size(n) // blk) * blk
        return total

    def _size(self, seg):
        try:
            return self.st.size(self.seg_path(seg))
        except OSError:
            return 0
