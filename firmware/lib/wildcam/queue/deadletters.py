"""The outbox's dead letters (`<root>/dead/<n>.seg`, format 1 records of item + reason) and
quarantined bytes of damaged records (`<root>/quarantine/<n>.bin`, a bounded ring).

Guarantees:
- `write()` returns only after the dead letter is flushed, else raises OSError; a record cut
  short by a full card is never appended to, and a failed write compacts nothing.
- The dead letter of an item whose media file is still on the card is never dropped: the
  newest `SEGMENTS` files (`SEG_BYTES` each, about 80 records) keep every record; a file
  leaving that window is compacted, keeping exactly the records whose media is still on the
  card (it is rewritten only when something goes, atomically: a power cut at any byte or a
  full card leaves the old file or the new one, never a mixture, never fewer records with
  media). At each such step one older kept file is checked again, so records go once their
  image has left the card. What is kept is bounded by the card: one small record per image.
  Records that go are counted (`dropped`). RAM: one record at a time, plus the list of file
  numbers while one is chosen.
- `requeue()` finds every dead letter whose media is on the card and removes the records it
  put back (a power cut in between puts one back twice: the same key, which destinations
  drop as a duplicate).
- Quarantine files: `FILES` of at most `MAX` bytes. Folders are created when first needed,
  so opening an outbox writes nothing.
"""

from wildcam.queue import records

SEGMENTS = 4
SEG_BYTES = 4096
FILES = 8
MAX = 2048
_PASSED = ("evicted", "expired")  # finished by the queue itself: never requeued
REASONS = 6


def cause(reason):
    """A dead letter's reason without the item's own words: "s3: s3 PUT <key>: HTTP 403 X:
    text" -> "s3: HTTP 403 X"; other reasons cut at 40 characters."""
    i = reason.find("HTTP ")
    if i < 0:
        return reason[:40]
    dest = reason.split(":", 1)[0] if ":" in reason[:i] else ""
    words = reason[i:].replace(":", " ").split()
    return ("%s: " % dest if dest else "") + " ".join(words[:3])


class DeadLetters:
    def __init__(self, box):
        self.box = box
        self.st = box.st
        self.root = box.root
        self._seg = -1
        self._size = 0
        self._quarantine_n = 0
        self._sweep = -1  # the older kept file checked last
        self.dropped = 0  # records that went (no media, or it left the card)
        self.hold = False  # True while requeue() reads the files: no compaction then
        self._summary = None  # cached summary(), dropped when the files change

    def open(self):
        self._recover()
        self._seg, self._size = self._ring_end("dead", ".seg")
        self._quarantine_n = self._ring_end("quarantine", ".bin")[0] + 1

    def _recover(self):
        """Finish or undo a compaction a power cut interrupted (see Storage.write_atomic)."""
        try:
            left = [n for n in self.st.iter_names(self.root + "/dead")
                    if n.endswith(".tmp") or n.endswith(".new")]
        except OSError:
            return
        for name in left:
            try:
                self.st.recover("%s/dead/%s" % (self.root, name[:-4]))
            except OSError:
                pass

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

    def numbers(self):
        """The dead-letter files' numbers, oldest first."""
        out = []
        try:
            for name in self.st.iter_names(self.root + "/dead"):
                if name.endswith(".seg"):
                    try:
                        out.append(int(name[:-4]))
                    except ValueError:
                        pass
        except OSError:
            pass
        out.sort()
        return out

    def write(self, item, reason, t):
        rec = records.encode({"i": item.as_dict(), "l": item.lane.name, "r": str(reason)[:200],
                              "t": t or 0})
        if self._seg < 0 or self._size + len(rec) > SEG_BYTES:
            self._seg += 1
            self._size = 0
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
        started = self._size == 0
        self._size += len(rec)
        self._summary = None
        if started and not self.hold:
            self._retire()

    def _retire(self):
        """A new file was started: compact the one leaving the window and one older kept
        file. Never raises for a storage problem (then the files stay as they are)."""
        edge = self._seg - SEGMENTS
        older = [n for n in self.numbers() if n <= edge]
        if not older:
            return
        todo = [edge] if older[-1] == edge else []
        later = [n for n in older if self._sweep < n < edge] or [n for n in older if n < edge]
        if later:
            self._sweep = later[0]
            todo.append(later[0])
        for seg in todo:
            try:
                self.compact(seg, self._media_kept)
            except OSError:
                pass

    def _media_kept(self, off, d):
        m = (d.get("i") or {}).get("m")
        return bool(m) and self.st.exists(m)

    def _scan(self, f, fsize):
        """(offset, record) of each valid record of open file `f`, in order."""
        off = 0
        while off < fsize:
            d, n = records.read_at(f, off, fsize)
            if d is None:
                off = records.resync(f, off, fsize)
                continue
            yield off, d
            off += n

    def compact(self, seg, keep):
        """Keep only the records `keep(offset, record)` says to in file `seg`. Returns how many
        went (damaged bytes go too). Raises OSError, leaving the file whole."""
        path = self._path(seg)
        try:
            fsize = self.st.size(path)
        except OSError:
            return 0
        kept = total = size = 0
        with self.st.open(path, "rb") as f:
            for off, d in self._scan(f, fsize):
                total += 1
                if keep(off, d):
                    kept += 1
                    size += len(records.encode(d))
        gone = total - kept
        if size == fsize:
            return 0
        if not kept:
            self.st.remove(path)
            self.box.freed()
            self._summary = None
        else:
            try:
                with self.st.open(path, "rb") as f:
                    with self.st.open_atomic(path) as out:
                        for off, d in self._scan(f, fsize):
                            if keep(off, d):
                                out.write(records.encode(d))
                        out.flush()
                self.st.commit_atomic(path)
            except OSError:
                self.st.remove_quiet(path + ".tmp")
                raise
            finally:
                self.box.wrote(size, True)
        if seg == self._seg:
            self._size = size
        self.dropped += gone
        self._summary = None
        return gone

    def read(self, limit):
        """The newest dead-letter records, newest first."""
        out = []
        for seg in reversed(self.numbers()):
            try:
                fsize = self.st.size(self._path(seg))
            except OSError:
                continue
            found = []
            with self.st.open(self._path(seg), "rb") as f:
                for _, d in self._scan(f, fsize):
                    found.append(d)
                    if len(found) > limit:
                        found.pop(0)
            found.reverse()
            out.extend(found[:limit - len(out)])
            if len(out) >= limit:
                break
        return out

    def summary(self):
        """{"count": dead letters on file (evicted and expired ones too), "reasons": {cause:
        n}}, the causes shortened to what a person acts on ("s3: HTTP 400 InvalidArgument"),
        at most REASONS of them (the rest under "other"). One pass over the files, then
        kept until they change."""
        if self._summary is None:
            count, reasons = 0, {}
            for seg in self.numbers():
                try:
                    fsize = self.st.size(self._path(seg))
                    with self.st.open(self._path(seg), "rb") as f:
                        for _, d in self._scan(f, fsize):
                            count += 1
                            why = cause(d.get("r") or "")
                            if why not in reasons and len(reasons) >= REASONS:
                                why = "other"
                            reasons[why] = reasons.get(why, 0) + 1
                except OSError:
                    continue
            self._summary = {"count": count, "reasons": reasons}
        return self._summary

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
    fixed): each item dead-lettered (not evicted, not expired) whose media is still on the
    card (or that had none), newest files first, at most `limit`; with its key (the
    destinations drop duplicates by it), kind, lane, media and payload. The records put
    back, and those whose media has left the card, are removed. Returns the counts
    {"requeued", "gone" (media no longer on the card), "skipped"}; raises QueueFull as
    `put()` does (what was requeued so far stays, and its records are removed)."""
    ring, st = box.ring, box.st
    out = {"requeued": 0, "gone": 0, "skipped": 0}
    seen = {}  # keys put back by this call (at most `limit`)
    for seg in reversed(ring.numbers()):
        if out["requeued"] >= limit:
            break
        done = {}  # offsets of this file's records to remove
        ring.hold = True  # a put may evict (a dead letter): leave the files alone meanwhile
        try:
            _requeue_file(box, ring, seg, limit, out, seen, done)
        finally:
            ring.hold = False
            if done:
                try:
                    ring.compact(seg, lambda off, d: off not in done)
                except OSError:
                    pass  # they stay: a later requeue puts them back once more (same keys)
    return out


def _requeue_file(box, ring, seg, limit, out, seen, done):
    st = box.st
    path = ring._path(seg)
    try:
        fsize = st.size(path)
    except OSError:
        return
    with st.open(path, "rb") as f:
        for off, rec in ring._scan(f, fsize):
            d = rec.get("i") or {}
            key = d.get("k")
            if rec.get("r") in _PASSED:
                out["skipped"] += 1
                continue
            if key in seen:
                out["skipped"] += 1
                done[off] = 1
                continue
            if out["requeued"] >= limit:
                break
            m = d.get("m")
            if m and not st.exists(m):
                out["gone"] += 1
                done[off] = 1
                continue
            prio, _, route = (rec.get("l") or "").partition("-")
            box.put(d.get("n"), route or "default", d.get("d"), m, d.get("s", 0), d.get("h"),
                    key=key, ttl_s=0, prio=int(prio) if prio.isdigit() else None)
            seen[key] = 1
            done[off] = 1
            out["requeued"] += 1
