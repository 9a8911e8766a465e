"""The durable outbox: what the camera still has to deliver, kept safe across power cuts.

Layout under `root` (one folder per lane; a lane is a priority plus a route name):

    <root>/<prio>-<route>/<seg>.seg   append-only records (`wildcam.queue.records`)
    <root>/<prio>-<route>/cursor      "finished up to here" journal (`wildcam.queue.lane`)
    <root>/dead/<seg>.seg             dead-letter records (item + reason), a bounded ring
    <root>/quarantine/<n>.bin         raw bytes of damaged records, a bounded ring

Guarantees:
- `put()` returns only after its record is flushed; a record is whole (CRC good) or
  ignored, so a power cut at any byte never yields half an item. Each boot appends to a new
  segment, so a torn tail is never extended.
- At-least-once: an item leaves the queue only through `done()` (cursor flushed after the
  destination acknowledged), `dead()` (the dead-letter record is flushed first), expiry or
  eviction (both dead-lettered with their reason). A cut between delivery and `done()` means
  one more delivery, which destinations drop by the item's idempotency key.
- RAM does not grow with queue length: per lane a cursor, a tail and counters. Recovery
  reads each pending record once, one at a time, to count them.
- Damaged records are skipped by resynchronising on the next valid record; their bytes are
  copied to quarantine and counted (`corrupt`, or `torn` for a record cut at a file's end).
"""

from wildcam.queue import records
from wildcam.queue.lane import Lane
from wildcam.core.storage import is_safe_name

PRIORITIES = ("alert", "detection", "health", "timelapse")  # index = priority, 0 highest
SEG_BYTES = 16384
DEAD_SEGMENTS = 4
DEAD_SEG_BYTES = 4096  # the dead-letter ring keeps the last ~16 KB of records (about 80)
QUARANTINE_FILES = 8
QUARANTINE_MAX = 2048


class QueueFull(Exception):
    """No room for the item, even after evicting everything of equal or lower priority."""


class Item:
    """One queued item: where its record is, and its fields."""

    def __init__(self, lane, seg, pos, end, d):
        self.lane = lane
        self.seg = seg
        self.pos = pos
        self.end = end
        self.key = d.get("k")
        self.kind = d.get("n")
        self.created = d.get("c", 0)  # Unix seconds, 0 when the clock was unset
        self.expires = d.get("e", 0)
        self.media = d.get("m")  # path on the SD card, or None
        self.size = d.get("s", 0)
        self.sha256 = d.get("h")
        self.data = d.get("d")  # small inline payload (dict), or None

    @property
    def cost(self):
        """Bytes this item holds against the queue budget (record + media)."""
        return self.end - self.pos + (self.size or 0)

    def as_dict(self):
        d = {"k": self.key, "n": self.kind, "c": self.created}
        for name, value in (("e", self.expires), ("m", self.media), ("s", self.size),
                            ("h", self.sha256), ("d", self.data)):
            if value:
                d[name] = value
        return d

    def __repr__(self):
        return "<Item %s %s %s>" % (self.lane.name, self.kind, self.key)


def priority_of(kind):
    """Priority index of an item kind; unknown kinds rank with detections."""
    for i, name in enumerate(PRIORITIES):
        if name == kind:
            return i
    return 1


class Outbox:
    def __init__(self, storage, root="/sd/outbox", max_bytes=64 * 1024 * 1024,
                 seg_bytes=SEG_BYTES, now=None, key_prefix=""):
        self.st = storage
        self.root = root
        self.max_bytes = max_bytes
        self.seg_bytes = seg_bytes
        self._now = now  # () -> Unix seconds or None
        self.key_prefix = key_prefix  # e.g. the device id, so keys are unique fleet-wide
        self.lanes = {}
        self.bytes_written = 0
        self.counters = {"enqueued": 0, "delivered": 0, "dead": 0, "expired": 0,
                         "evicted": 0, "corrupt": 0, "torn": 0, "rejected": 0}
        self._dead_seg = -1
        self._dead_size = 0
        self._quarantine_n = 0

    # --- opening --------------------------------------------------------------------------
    def open(self):
        """Recover every lane from disk. Call once at boot, before anything else."""
        self.st.makedirs(self.root)
        for name in sorted(self.st.iter_names(self.root)):
            if name in ("dead", "quarantine") or name[:1] not in "0123" or name[1:2] != "-":
                continue
            lane = Lane(self, name, int(name[0]))
            self.lanes[name] = lane
            lane.recover(lambda d, n, lane=lane: self._count(lane, d, n))
        self._dead_seg, self._dead_size = self._ring_end("dead", ".seg")
        self._quarantine_n = self._ring_end("quarantine", ".bin")[0] + 1
        return self

    def _count(self, lane, d, n):
        lane.count += 1
        lane.bytes += n + (d.get("s") or 0)

    def _ring_end(self, folder, ext):
        """(highest number, its size) among `<root>/<folder>/<n><ext>`, or (-1, 0)."""
        path = self.root + "/" + folder
        self.st.makedirs(path)
        top = -1
        for name in self.st.iter_names(path):
            if name.endswith(ext):
                try:
                    top = max(top, int(name[:-len(ext)]))
                except ValueError:
                    pass
        size = self.st.size("%s/%08d%s" % (path, top, ext)) if top >= 0 else 0
        return top, size

    def lane(self, prio, route):
        name = "%d-%s" % (prio, route)
        lane = self.lanes.get(name)
        if lane is None:
            if not 0 <= prio < len(PRIORITIES) or not is_safe_name(route):
                raise ValueError("bad lane %r" % name)
            lane = Lane(self, name, prio)
            self.st.makedirs(lane.dir)
            self.lanes[name] = lane
        return lane

    # --- adding ---------------------------------------------------------------------------
    def put(self, kind, route="default", data=None, media=None, size=0, sha256=None,
            key=None, ttl_s=0, prio=None):
        """Queue one item durably and return it. Raises QueueFull when there is no room."""
        lane = self.lane(priority_of(kind) if prio is None else prio, route)
        now = self._now() if self._now else None
        d = {"n": kind, "c": now or 0}
        if ttl_s and now:
            d["e"] = now + ttl_s
        if media:
            d["m"], d["s"] = media, size
            if sha256:
                d["h"] = sha256
        if data is not None:
            d["d"] = data
        if key is None:
            # unique forever: boot_seg is above every segment number an earlier boot used
            lane.appends += 1
            key = "%s%s-%d-%d" % (self.key_prefix, lane.name, lane.boot_seg, lane.appends)
        d["k"] = key
        rec = records.encode(d)
        self._make_room(lane.prio, len(rec) + size)
        seg, pos, end = lane.append(rec)
        lane.count += 1
        lane.bytes += len(rec) + size
        self.counters["enqueued"] += 1
        return Item(lane, seg, pos, end, d)

    def _make_room(self, prio, need):
        while self.pending_bytes() + need > self.max_bytes:
            victim = None
            for lane in self.lanes.values():  # lowest priority first, then the fullest
                if lane.count and lane.prio >= prio and (
                        victim is None or (lane.prio, lane.bytes) > (victim.prio, victim.bytes)):
                    victim = lane
            item = victim.peek() if victim else None
            if item is None:
                self.counters["rejected"] += 1
                raise QueueFull("outbox full (%d of %d bytes)" % (self.pending_bytes(),
                                                                   self.max_bytes))
            self._finish(item, "evicted")

    # --- taking ---------------------------------------------------------------------------
    def next(self, ready=None):
        """The next item to deliver: highest priority first, then the oldest, among lanes
        for which `ready(lane)` is true (all when None). Expired heads are dead-lettered."""
        best = None
        for name in sorted(self.lanes):
            lane = self.lanes[name]
            if not lane.count or (best is not None and lane.prio > best.lane.prio):
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
            self._finish(item, "expired")

    def batch(self, lane, limit):
        """Up to `limit` consecutive items from `lane`'s head (for one combined upload)."""
        return lane.run(limit)

    def done(self, *items):
        """The destination(s) acknowledged these items (a run from one lane's head)."""
        lane = items[-1].lane
        for item in items:
            lane.count -= 1
            lane.bytes -= item.cost
        self.counters["delivered"] += len(items)
        lane.finish(items[-1])

    def dead(self, item, reason):
        """Move the head item `item` to the dead-letter ring with `reason`."""
        self._finish(item, "dead", reason)

    def _finish(self, item, how, reason=None):
        self._write_dead(item, reason or how)
        item.lane.count -= 1
        item.lane.bytes -= item.cost
        self.counters[how] += 1
        item.lane.finish(item)

    def _write_dead(self, item, reason):
        rec = records.encode({"i": item.as_dict(), "l": item.lane.name, "r": str(reason)[:200],
                              "t": (self._now() if self._now else None) or 0})
        if self._dead_seg < 0 or self._dead_size + len(rec) > DEAD_SEG_BYTES:
            self._dead_seg += 1
            self._dead_size = 0
            self.st.remove_quiet("%s/dead/%08d.seg" % (self.root, self._dead_seg - DEAD_SEGMENTS))
        with self.st.open("%s/dead/%08d.seg" % (self.root, self._dead_seg), "ab") as f:
            f.write(rec)
            f.flush()
        self._dead_size += len(rec)
        self.bytes_written += len(rec)

    def quarantine(self, f, start, end, lane_name, seg, torn):
        """Keep the damaged bytes [start, end) of a segment for inspection (bounded)."""
        self.counters["torn" if torn else "corrupt"] += 1
        n = min(end - start, QUARANTINE_MAX)
        f.seek(start)
        raw = f.read(n)
        path = "%s/quarantine/%08d.bin" % (self.root, self._quarantine_n)
        self.st.remove_quiet("%s/quarantine/%08d.bin" % (self.root,
                                                          self._quarantine_n - QUARANTINE_FILES))
        self._quarantine_n += 1
        try:
            with self.st.open(path, "wb") as q:
                q.write(("%s %d %d %s\n" % (lane_name, seg, start, "torn" if torn else
                                            "corrupt")).encode())
                q.write(raw)
        except OSError:
            pass  # the count still says it happened

    def make_item(self, lane, seg, pos, end, d):
        return Item(lane, seg, pos, end, d)

    # --- reporting ------------------------------------------------------------------------
    def pending(self):
        return sum(lane.count for lane in self.lanes.values())

    def pending_bytes(self):
        return sum(lane.bytes for lane in self.lanes.values())

    def depth(self):
        """Pending items per priority name, e.g. {"alert": 0, "detection": 12, ...}."""
        out = {}
        for name in PRIORITIES:
            out[name] = 0
        for lane in self.lanes.values():
            out[PRIORITIES[lane.prio]] += lane.count
        return out

    def stats(self):
        d = {}  # the counters and mixed-type figures (not a dict of ints)
        d.update(self.counters)
        d["pending"] = self.pending()
        d["pending_bytes"] = self.pending_bytes()
        d["flash_bytes_written"] = self.bytes_written
        d["depth"] = self.depth()
        return d

    def dead_letters(self, limit=20):
        """The newest dead-letter records (dicts with i=item, r=reason), newest first."""
        out = []
        for seg in range(self._dead_seg, max(-1, self._dead_seg - DEAD_SEGMENTS), -1):
            path = "%s/dead/%08d.seg" % (self.root, seg)
            try:
                fsize = self.st.size(path)
            except OSError:
                continue
            found = []
            with self.st.open(path, "rb") as f:
                off = 0
                while off < fsize:
                    d, n = records.read_at(f, off, fsize)
                    if d is None:
                        off = records.resync(f, off, fsize)
                        continue
                    found.append(d)
                    if len(found) > limit:
                        found.pop(0)
                    off += n
            found.reverse()
            out.extend(found[:limit - len(out)])
            if len(out) >= limit:
                break
        return out
