"""The outbox's two bounded rings: dead letters (`<root>/dead/<n>.seg`, format 1 records of
item + reason) and quarantined bytes of damaged records (`<root>/quarantine/<n>.bin`).

Guarantees:
- `write()` returns only after the dead letter is flushed, else raises OSError; a record cut
  short by a full card is never appended to, and a failed write does not push older dead
  letters out of the ring.
- The rings are bounded: `SEGMENTS` files of `SEG_BYTES` (about 80 dead letters) and `FILES`
  quarantine files of at most `MAX` bytes each. Folders are created when first needed, so
  opening an outbox writes nothing.
"""

from wildcam.queue import records

SEGMENTS = 4
SEG_BYTES = 4096
FILES = 8
MAX = 2048


class DeadLetters:
    def __init__(self, box):
        self.box = box
        self.st = box.st
        self.root = box.root
        self._seg = -1
        self._size = 0
        self._quarantine_n = 0

    def open(self):
        self._seg, self._size = self._ring_end("dead", ".seg")
        self._quarantine_n = self._ring_end("quarantine", ".bin")[0] + 1

    def _ring_end(self, folder, ext):
        """(highest number, its size) among `<root>/<folder>/<n><ext>`, or (-1, 0)."""
        path = self.root + "/" + folder
        top = -1
        try:
            for name in self.st.iter_names(path):
                if name.endswith(ext):
                    try:
                        top = max(top, int(name[:-len(ext)]))
                    except ValueError:
                        pass
            size = self.st.size("%s/%08d%s" % (path, top, ext)) if top >= 0 else 0
        except OSError:
            return top, 0
        return top, size

    def _path(self, seg):
        return "%s/dead/%08d.seg" % (self.root, seg)

    def write(self, item, reason, t):
        rec = records.encode({"i": item.as_dict(), "l": item.lane.name, "r": str(reason)[:200],
                              "t": t or 0})
        if self._seg < 0 or self._size + len(rec) > SEG_BYTES:
            self._seg += 1
            self._size = 0
            if self.st.remove_quiet(self._path(self._seg - SEGMENTS)):
                self.box.freed()
            self.st.makedirs(self.root + "/dead")
        path = self._path(self._seg)
        try:
            with self.st.open(path, "ab") as f:
                f.write(rec)
                f.flush()
        except OSError:
            try:  # a fragment landed (a short write): never append after it
                if self.st.size(path) != self._size:
                    self._size = SEG_BYTES
            except OSError:
                pass
            raise
        finally:
            self.box.wrote(len(rec), self._size == 0)
        self._size += len(rec)

    def read(self, limit):
        """The newest dead-letter records, newest first."""
        out = []
        for seg in range(self._seg, max(-1, self._seg - SEGMENTS), -1):
            try:
                fsize = self.st.size(self._path(seg))
            except OSError:
                continue
            found = []
            with self.st.open(self._path(seg), "rb") as f:
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

    def quarantine(self, f, start, end, header):
        """Keep the damaged bytes [start, end) of open file `f` (bounded; best effort)."""
        f.seek(start)
        raw = f.read(min(end - start, MAX))
        path = "%s/quarantine/%08d.bin" % (self.root, self._quarantine_n)
        self._quarantine_n += 1
        try:
            self.st.remove_quiet("%s/quarantine/%08d.bin" % (
                self.root, self._quarantine_n - 1 - FILES))
            self.st.makedirs(self.root + "/quarantine")
            with self.st.open(path, "wb") as q:
                q.write(header.encode())
                q.write(raw)
            self.box.wrote(len(raw), True)
        except OSError:
            pass  # the count still says it happened


def requeue(box, limit=100):
    """Put dead letters back in the queue (the signed `requeue` command, once the cause is
    fixed): each item dead-lettered (not evicted, not expired) since the last requeue and
    whose media is still on the card, newest first, at most `limit`; with its key (the
    destinations drop duplicates by it), kind, lane, media and payload. Returns the counts
    {"requeued", "gone" (media no longer on the card), "skipped"}; raises QueueFull as
    `put()` does (what was requeued so far stays)."""
    st = box.st
    mark = box.root + "/dead/requeued"  # dead-letter time of the last requeue
    try:
        since = int(st.read_atomic(mark) or b"-1")
    except (OSError, ValueError):
        since = -1
    out = {"requeued": 0, "gone": 0, "skipped": 0}
    seen = {}
    newest = since
    for rec in box.dead_letters(limit=SEGMENTS * 100):
        d, t = rec.get("i") or {}, rec.get("t") or 0
        key = d.get("k")
        if key in seen or t <= since or rec.get("r") in ("evicted", "expired"):
            out["skipped"] += 1
            continue
        seen[key] = 1
        if out["requeued"] >= limit:
            break
        m = d.get("m")
        if m and not st.exists(m):
            out["gone"] += 1
            continue
        prio, _, route = (rec.get("l") or "").partition("-")
        box.put(d.get("n"), route or "default", d.get("d"), m, d.get("s", 0), d.get("h"),
                key=key, ttl_s=0, prio=int(prio) if prio.isdigit() else None)
        out["requeued"] += 1
        newest = max(newest, t)
    if out["requeued"]:
        st.write_atomic(mark, str(newest).encode())
    return out
