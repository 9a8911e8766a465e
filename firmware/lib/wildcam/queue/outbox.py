"""The durable outbox: what the camera still has to deliver, kept safe across power cuts and
full cards.

Layout under `root` (one folder per lane; a lane is a priority plus a route name):

    <root>/q<prio>-<route>/<seg>.seg   append-only records (`wildcam.queue.records`)
    <root>/q<prio>-<route>/journal     cursor and newest segment (`wildcam.queue.lane`)
    <root>/boot, <root>/sent           boot counter for keys, media delivered (`...journal`)
    <root>/dead/<seg>.seg              dead letters, kept while their media is on the card
    <root>/quarantine/<n>.bin          raw bytes of damaged records, a bounded ring
    <root>/<prio>-<route>/             format 1 lanes of older firmware, drained (`...legacy`)

Guarantees:
- `put()` returns only after its record is flushed; a record is whole (CRC good) or
  ignored, so a power cut at any byte or a short write on a full card never yields half an
  item, and bytes left over from another file (a reused FAT cluster) never pass as one.
- At-least-once: an item leaves the queue only through `done()` (after the destination
  acknowledged it), `dead()` (the dead-letter record is flushed first), expiry or eviction
  (both dead-lettered with their reason first; without room for the dead letter the item
  stays). A cut between delivery and `done()` means one more delivery, which destinations
  drop by the item's idempotency key; auto keys carry a boot number persisted in `boot`.
- An `Item` is a handle: once finished (say evicted during its upload), `done()`/`dead()` on
  it change nothing and count it as `stale`. Counts never go negative.
- Room: the budget is `max_bytes` (records + media) AND the free space of the filesystem
  the outbox lives on, less reserves (journal and dead letters always; alerts may use a
  further reserve the others may not). An item that cannot fit even after evicting all
  lower-or-equal priority items is refused (`QueueFull`) before anything is evicted.
- A full filesystem never wedges the queue: finishing frees before it journals and the
  journals never grow. `open()` never raises for a storage problem; a lane it cannot read
  is reported (`stats()["broken"]`) and left on disk untouched.
- `open()` costs the same few reads per lane for 1 or 100,000 pending items (no record
  between head and tail is read); RAM does not grow with queue length.
- Damaged records are skipped by resynchronising on the next valid record; their bytes are
  copied to quarantine and counted (`corrupt`, or `torn` for a record cut at a file's end).
"""

import time
from binascii import crc32

from wildcam.core.storage import is_safe_name
from wildcam.queue import journal as _journal
from wildcam.queue import records
from wildcam.queue.deadletters import DeadLetters
from wildcam.queue.item import Item
from wildcam.queue.journal import Journal
from wildcam.queue.lane import Lane
from wildcam.queue.space import Space

PRIORITIES = ("alert", "detection", "health", "timelapse")  # index = priority, 0 highest
SEG_BYTES = 16384
NO_SPACE = (28, 13)  # ENOSPC; FAT refuses a new directory cluster with EACCES
_BOOT = 0x42  # "B"
_SENT = 0x44  # "D": media items delivered, a total that only grows


class QueueFull(Exception):
    """No room for the item, even after evicting everything of equal or lower priority."""


def priority_of(kind):
    """Priority index of an item kind; unknown kinds rank with detections."""
    for i, name in enumerate(PRIORITIES):
        if name == kind:
            return i
    return 1


def _no_space(e):
    return isinstance(e, OSError) and e.args and e.args[0] in NO_SPACE


class Outbox:
    def __init__(self, storage, root="/sd/outbox", max_bytes=64 * 1024 * 1024,
                 seg_bytes=SEG_BYTES, now=None, key_prefix="", boot=0, keep_free=0):
        if not 64 <= seg_bytes <= 65535:
            raise ValueError("seg_bytes must be 64..65535")
        self.st = storage
        self.root = root
        self.max_bytes = max_bytes
        self.seg_bytes = seg_bytes
        self._now = now  # () -> Unix seconds or None
        self.key_prefix = key_prefix  # e.g. the device id, so keys are unique fleet-wide
        self.boot_hint = boot  # a boot counter kept elsewhere (the App's): keys go above it
        self.space = Space(storage, root, keep_free)  # keep_free: bytes left to others
        self.ring = DeadLetters(self)
        self.lanes = {}
        self.old = []  # format 1 lanes being drained
        self.bytes_written = 0
        self.counters = {"enqueued": 0, "delivered": 0, "dead": 0, "expired": 0,
                         "evicted": 0, "corrupt": 0, "torn": 0, "rejected": 0, "stale": 0,
                         "journal_errors": 0, "dead_letter_errors": 0, "recovered": 0,
                         "open_errors": 0}
        self.problems = []  # what open() could not do (short strings)
        self._boot = None  # this boot's number, persisted at the first auto key
        self._sent = None  # journal of the media-delivered total (read on first use)
        self._sent_n = 0

    # --- opening --------------------------------------------------------------------------
    def open(self):
        """Recover every lane from disk. Call once at boot, before anything else. Writes
        nothing unless it finds damage, and never raises for a storage problem."""
        try:
            names = sorted(self.st.iter_names(self.root))
        except OSError as e:
            names = []
            if self.st.exists(self.root):
                self._problem("root", e)
        for name in names:
            if len(name) > 3 and name[0] == "q" and name[1] in "0123" and name[2] == "-":
                lane = Lane(self, name[1:], int(name[1]))
                self.lanes[lane.name] = lane
            elif len(name) > 2 and name[0] in "0123" and name[1] == "-":
                from wildcam.queue.legacy import LegacyLane  # only after an upgrade

                lane = LegacyLane(self, name, int(name[0]))
                self.old.append(lane)
            else:
                continue
            try:
                lane.recover()
            except OSError as e:
                lane.broken = str(e)
                self._problem(name, e)
        self.ring.open()
        return self

    def _problem(self, where, e):
        self.counters["open_errors"] += 1
        if len(self.problems) < 8:
            self.problems.append("%s: %s" % (where, e))

    def lane(self, prio, route):
        name = "%d-%s" % (prio, route)
        lane = self.lanes.get(name)
        if lane is None:
            if not 0 <= prio < len(PRIORITIES) or not is_safe_name(route):
                raise ValueError("bad lane %r" % name)
            lane = Lane(self, name, prio)
            self.lanes[name] = lane
        return lane

    def _all(self):
        for lane in self.old:
            yield lane
        for lane in self.lanes.values():
            yield lane

    # --- adding ---------------------------------------------------------------------------
    def put(self, kind, route="default", data=None, media=None, size=0, sha256=None,
            key=None, ttl_s=0, prio=None):
        """Queue one item durably and return it. Raises QueueFull when there is no room
        (the filesystem included), ValueError for a record that is too large."""
        lane = self.lane(priority_of(kind) if prio is None else prio, route)
        if lane.broken:
            self.counters["rejected"] += 1
            raise QueueFull("lane %s unusable: %s" % (lane.name, lane.broken))
        now = self._now() if self._now else None
        d = {"n": kind, "c": now or 0}
        if ttl_s and now:
            d["e"] = now + ttl_s
        if media:
            d["m"] = media
            if size:
                d["s"] = size
            if sha256:
                d["h"] = sha256
        if data is not None:
            d["d"] = data
        d["k"] = self._auto_key(lane) if key is None else key
        body = records.body_of(d)
        n = len(body) + records.OVERHEAD
        cost = self.cost(d, n)
        fs_need = n + records.SEG_HDR + (0 if lane.salt is not None else _journal.SIZE)
        got = None
        for attempt in (0, 1):
            self._make_room(lane.prio, cost, fs_need)
            try:
                got = lane.append(body, cost)
                break
            except OSError as e:
                if not _no_space(e):
                    raise
                self.space.freed()  # fuller than we knew (another writer): measure again
                if attempt:
                    self.counters["rejected"] += 1
                    raise QueueFull("no space on the filesystem (%s)" % e)
        self.counters["enqueued"] += 1
        seg, pos, end, ordinal, cum = got  # pyright: ignore[reportGeneralTypeIssues]  # not None
        return Item(lane, seg, pos, end, d, ordinal, cum)

    @staticmethod
    def cost(d, n):
        """Budget cost of the item `d` whose record is `n` bytes long."""
        return n + (d.get("s") or 0) if d.get("m") else n

    def _auto_key(self, lane):
        """A key unique forever: this boot's persisted number and a count per lane."""
        if self._boot is None:
            self._boot = self._next_boot()
        lane.appends += 1
        return "%s%s-%d-%d" % (self.key_prefix, lane.name, self._boot, lane.appends)

    def _next_boot(self):
        j = Journal(self.st, self.root + "/boot", _BOOT)
        state = j.load()
        n = max((state[1] if state else 0) + 1, self.boot_hint)
        try:
            if j.salt is None:
                self.st.makedirs(self.root)
                self.wrote(j.create(self.new_salt("boot"), 0, n, 0), True)
            else:
                self.wrote(j.write(0, n, 0))
        except OSError as e:
            self.counters["rejected"] += 1
            raise QueueFull("boot number not saved (%s): no unique key" % e)
        return n

    def new_salt(self, name):
        """A random 32-bit salt for a new lane (or the boot journal)."""
        try:
            import random
            r = random.getrandbits(32)
        except (ImportError, AttributeError):
            r = 0
        seed = "%s %d %d %d" % (name, self.boot_hint, time.ticks_us(), r)
        return crc32(seed.encode()) & 0xFFFFFFFF

    def _make_room(self, prio, cost, fs_need):
        if self._fits(prio, cost, fs_need):
            return
        if not self._could_fit(prio, cost, fs_need):
            self.counters["rejected"] += 1
            raise QueueFull("outbox full: %d bytes pending of %d, %s bytes free"
                            % (self.pending_bytes(), self.max_bytes, self.space.free()))
        while not self._fits(prio, cost, fs_need):
            victim = None
            for lane in self._all():  # lowest priority first, then the fullest
                if lane.count and lane.prio >= prio and (
                        victim is None or (lane.prio, lane.bytes) > (victim.prio, victim.bytes)):
                    victim = lane
            item = victim.peek() if victim else None
            if item is None or not self._finish(item, "evicted"):
                self.counters["rejected"] += 1
                raise QueueFull("outbox full: nothing more can be evicted")
            if not victim.count:
                victim.drop_tail()  # emptied: its newest segment can go too

    def _fits(self, prio, cost, fs_need):
        return self.pending_bytes() + cost <= self.max_bytes and self.space.room(prio, fs_need)

    def _could_fit(self, prio, cost, fs_need):
        """Whether evicting every item of priority `prio` or lower would make room."""
        evictable = [lane for lane in self._all() if lane.prio >= prio and lane.count]
        held = self.pending_bytes() - sum(lane.bytes for lane in evictable)
        if held + cost > self.max_bytes:
            return False
        if self.space.room(prio, fs_need):
            return True
        blk = self.space.block()
        return self.space.could_fit(prio, fs_need, sum(lane.footprint(blk) for lane in evictable))

    def wrote(self, n, new_file=False):
        """`n` bytes were written to the outbox's filesystem."""
        self.bytes_written += n
        self.space.wrote(n, new_file)

    def freed(self):
        """A file was removed: measure the free space again when it matters."""
        self.space.freed()

    # --- taking ---------------------------------------------------------------------------
    def next(self, ready=None):
        """The next item to deliver: highest priority first, then the oldest, among lanes
        for which `ready(lane)` is true (all when None). Expired heads are dead-lettered."""
        best = None
        for lane in self._all():
            if not lane.count or lane.broken or (best is not None and lane.prio > best.lane.prio):
                continue
            if ready is not None and not ready(lane):
                continue
            item = self._head(lane)
            # same priority: the older item first, so one busy lane cannot starve another
            if item is not None and (best is None or lane.prio < best.lane.prio or
                                     item.created < best.created):
                best = item
        return best

    def _head(self, lane):
        now = self._now() if self._now else None
        while True:
            item = lane.peek()
            if item is None or not (item.expires and now and now > item.expires):
                return item
            if not self._finish(item, "expired"):
                return item  # no room for its dead letter: deliver it late rather than lose it

    def batch(self, lane, limit):
        """Up to `limit` consecutive items from `lane`'s head (for one combined upload)."""
        return lane.run(limit)

    def done(self, *items):
        """The destination(s) acknowledged these items (a run from one lane's head).
        Items finished meanwhile (evicted, expired) are skipped and counted as `stale`.
        Returns how many were finished now."""
        if not items:
            return 0
        lane = items[-1].lane
        live = [i for i in items if lane.is_live(i)]
        self.counters["stale"] += len(items) - len(live)
        if not live:
            return 0
        lane.finish(live[-1], live)
        self.counters["delivered"] += len(live)
        media = sum(1 for i in live if i.media)
        if media:
            self._count_sent(media)
        return len(live)

    def sent_total(self):
        """Media items delivered since this outbox was created (`<root>/sent`; a power cut
        right after a delivery may leave that one uncounted)."""
        if self._sent is None:
            self._sent = j = Journal(self.st, self.root + "/sent", _SENT)
            self._sent_n = (j.load() or (0, 0, 0))[1]
        return self._sent_n

    def _count_sent(self, n):
        total, j = self.sent_total() + n, self._sent
        new = j.salt is None
        try:
            self.wrote(j.create(self.new_salt("sent"), 0, total, 0) if new else
                       j.write(0, total, 0), new)
            self._sent_n = total
        except OSError:
            self.counters["journal_errors"] += 1

    def dead(self, item, reason):
        """Move the head item `item` to the dead-letter ring with `reason`. False when the
        dead letter could not be written (the item then stays queued)."""
        return self._finish(item, "dead", reason)

    def _finish(self, item, how, reason=None):
        if not item.lane.is_live(item):
            self.counters["stale"] += 1
            return True
        try:
            self.ring.write(item, reason or how, self._now() if self._now else None)
        except OSError:
            self.counters["dead_letter_errors"] += 1
            return False
        item.lane.finish(item, (item,))
        self.counters[how] += 1
        return True

    def quarantine(self, f, start, end, lane_name, seg, torn):
        """Count and keep the damaged bytes [start, end) of a segment (bounded)."""
        self.counters["torn" if torn else "corrupt"] += 1
        self.ring.quarantine(f, start, end, "%s %d %d %s\n" % (
            lane_name, seg, start, "torn" if torn else "corrupt"))

    def make_item(self, lane, seg, pos, end, d, ordinal=0, cum=0):
        return Item(lane, seg, pos, end, d, ordinal, cum)

    # --- reporting ------------------------------------------------------------------------
    def pending(self):
        return sum(lane.count for lane in self._all())

    def pending_bytes(self):
        return sum(lane.bytes for lane in self._all())

    def depth(self):
        """Pending items per priority name, e.g. {"alert": 0, "detection": 12, ...}."""
        out = {}
        for name in PRIORITIES:
            out[name] = 0
        for lane in self._all():
            out[PRIORITIES[lane.prio]] += lane.count
        return out

    def stats(self):
        d = {}  # the counters and mixed-type figures (not a dict of ints)
        d.update(self.counters)
        d["pending"] = self.pending()
        d["pending_bytes"] = self.pending_bytes()
        d["flash_bytes_written"] = self.bytes_written
        d["dead_dropped"] = self.ring.dropped  # dead letters gone (media left the card)
        d["dead_letters"] = self.ring.summary()
        d["delivered_total"] = self.sent_total()
        times = [h.created for h in (lane.peek() for lane in self._all() if lane.count)
                 if h is not None and h.created]
        d["oldest_s"] = min(times) if times else None  # oldest pending item (Unix s)
        d["depth"] = self.depth()
        d["broken"] = [lane.name for lane in self._all() if lane.broken]
        return d

    def dead_letters(self, limit=20):
        """The newest dead-letter records (dicts with i=item, r=reason), newest first."""
        return self.ring.read(limit)
