"""Randomized soak of the outbox on filesystems that fill up and lose power, with items
finished while their upload is in flight.

Each trial plays a random workload on a small simulated filesystem (host_sim's model: FAT
with short writes on the SD card, LittleFS copy-on-write on flash) while another writer
fills and frees the disk, evictions and expiry hit items being uploaded, and the power is
cut at a random byte or operation. Then the space is freed, the board reboots and drains.
Checked: nothing acknowledged is lost (delivered, or in the dead-letter ring), nothing
delivered was never put or has the wrong content (phantom), nothing durably finished comes
back (resurrection), no count goes negative, the count after a reboot matches what drains,
and the queue drains completely.

The default run does WILDCAM_SOAK_CUTS trials (500); the full soak is
`WILDCAM_SOAK_CUTS=10000 .venv/bin/pytest -m slow tests/soak`.
"""
import os
import random
import shutil

import pytest

from host_sim import PowerCut, SimStorage
from host_sim.storage import Filesystem
from wildcam.queue.outbox import PRIORITIES, Outbox, QueueFull

TRIALS = int(os.environ.get("WILDCAM_SOAK_CUTS", "500"))
T0 = 1780315200


class World:
    """What outlives the board: the destination, what put() acknowledged, what was
    finished durably, and what went wrong."""

    def __init__(self):
        self.t = T0
        self.attempted = set()
        self.acked = set()
        self.dest = {}
        self.finished = set()  # finished with the journal write through: must never return
        self.resurrected = []
        self.negative = []
        self.boxes = []

    def counter(self, name):
        return sum(box.counters[name] for box in self.boxes)

    def now(self):
        return self.t

    def deliver(self, item, started_before=False):
        n = int(item.key[1:])
        assert item.key in self.attempted and item.data == {"n": n}, ("phantom", item.key)
        if item.key in self.finished and not started_before:
            self.resurrected.append(item.key)
        self.dest[item.key] = self.dest.get(item.key, 0) + 1

    def check_counts(self, box):
        depth = box.depth()
        if box.pending() < 0 or box.pending_bytes() < 0 or min(depth.values()) < 0:
            self.negative.append((box.pending(), box.pending_bytes(), depth))


class Observed(Outbox):
    """The outbox, telling the world which finishes reached the journal."""

    world = None

    def _durable(self, before, keys):
        if self.counters["journal_errors"] == before:
            self.world.finished.update(keys)

    def done(self, *items):
        before = self.counters["journal_errors"]
        live = [i.key for i in items if i.live()]
        n = Outbox.done(self, *items)
        self._durable(before, live)
        return n

    def _finish(self, item, how, reason=None):
        before = self.counters["journal_errors"]
        live = item.live()
        ok = Outbox._finish(self, item, how, reason)
        if ok and live and not item.live():
            self._durable(before, [item.key])
        return ok


def workload(rng, n_ops=40):
    ops, n = [], 0
    for _ in range(n_ops):
        r = rng.random()
        if r < 0.40:
            ops.append(("put", rng.choice(PRIORITIES), n, rng.choice((0, 0, 0, 50)),
                        rng.choice((0, 0, 3000, 8000)), rng.choice(("media", "events")),
                        rng.randint(0, 300)))
            n += 1
        elif r < 0.56:
            ops.append(("deliver",))
        elif r < 0.61:
            ops.append(("batch", rng.randint(2, 4)))
        elif r < 0.71:
            ops.append(("inflight", rng.randint(1, 3), rng.random() < 0.5))
        elif r < 0.75:
            ops.append(("dead",))
        elif r < 0.79:
            ops.append(("tick", rng.choice((30, 100))))
        elif r < 0.83:
            ops.append(("fill", rng.choice((0, 100, 300, 700, 2000))))
        elif r < 0.90:  # the disk fills just before the outbox's next write
            ops.append(("race", rng.choice((0, 0, 100, 300))))
        elif r < 0.95:
            ops.append(("unfill",))
        else:
            ops.append(("reboot",))
    return ops


class Disk:
    """One trial's filesystem (SD/FAT or flash/LittleFS), its folders, a filler writer."""

    def __init__(self, base, rng):
        self.kind = rng.choice(("fat", "lfs"))
        self.block = 512 if self.kind == "fat" else 1024
        self.capacity = self.block * rng.randint(40, 90)
        self.base = base
        self.root = "/sd/q" if self.kind == "fat" else "/q"
        self.seg_bytes = rng.choice((600, 2000, 16384))
        self.max_bytes = rng.choice((12000, 40000, 1 << 30))

    def filesystems(self):
        fs = Filesystem(self.kind, os.path.join(self.base, self.kind), self.capacity,
                        kind=self.kind, block_size=self.block)
        other = "flash" if self.kind == "fat" else "sd"
        spare = Filesystem(other, os.path.join(self.base, other), 1 << 30,
                           kind="lfs" if other == "flash" else "fat")
        return (spare, fs) if self.kind == "fat" else (fs, spare)

    def fs(self, st):
        return st.sd if self.kind == "fat" else st.flash

    def fill(self, st, leave):
        fs = self.fs(st)
        self.unfill(st)
        n = max(0, fs.free() - leave)
        n -= n % self.block
        with open(os.path.join(fs.root, "filler"), "wb") as f:
            f.write(bytes(n))
        fs.used += n

    def unfill(self, st):
        fs = self.fs(st)
        path = os.path.join(fs.root, "filler")
        if os.path.exists(path):
            fs.used -= fs.blocks(os.path.getsize(path))
            os.remove(path)


class RacyStorage(SimStorage):
    """SimStorage whose disk another writer can fill right before the next write."""

    race = None  # (disk, bytes to leave)

    def _write(self, f, data, pos):
        if self.race is not None:
            disk, leave = self.race
            self.race = None
            disk.fill(self, leave)
        return SimStorage._write(self, f, data, pos)


def open_box(st, w, disk):
    box = Observed(st, root=disk.root, max_bytes=disk.max_bytes, seg_bytes=disk.seg_bytes,
                   now=w.now, key_prefix="")
    box.world = w
    w.boxes.append(box)
    box.open()
    w.check_counts(box)
    return box


def _put(box, w, op):
    _, prio, n, ttl, size, route, pad = op
    key = "k%d" % n
    w.attempted.add(key)
    try:
        box.put(prio, route=route, data={"n": n}, key=key, ttl_s=ttl,
                media="/sd/x%d.jpg" % n if size or pad else None, size=size,
                sha256=("ab" * (pad // 2)) if pad else None)
        w.acked.add(key)
    except QueueFull:
        pass


def play(st, w, ops, disk):
    box = open_box(st, w, disk)
    for op in ops:
        kind = op[0]
        if kind == "put":
            _put(box, w, op)
        elif kind == "deliver":
            item = box.next()
            if item:
                w.deliver(item)
                box.done(item)
        elif kind == "batch":
            item = box.next()
            if item:
                run = box.batch(item.lane, op[1])
                for i in run:
                    w.deliver(i)
                box.done(*run)
        elif kind == "inflight":
            item = box.next()  # the upload starts ...
            if item:
                for j in range(op[1]):  # ... captures go on meanwhile (may evict it) ...
                    n = 100000 + len(w.attempted)
                    _put(box, w, ("put", "alert" if j % 2 else "detection", n, 0, 8000,
                                  "media", 0))
                if op[2]:  # ... and the battery policy looks at the queue (may expire it)
                    w.t += 100
                    box.next()
                w.deliver(item, True)  # the destination has it now (taken before it ended)
                box.done(item)
        elif kind == "dead":
            item = box.next()
            if item:
                box.dead(item, "refused")
        elif kind == "tick":
            w.t += op[1]
        elif kind == "fill":
            disk.fill(st, op[1])
        elif kind == "race":
            st.race = (disk, op[1])
        elif kind == "unfill":
            st.race = None
            disk.unfill(st)
        elif kind == "reboot":
            box = open_box(st, w, disk)
        w.check_counts(box)


def finish(disk, w):
    """Power back, the space freed: reboot, drain, check everything came out."""
    flash, sd = disk.filesystems()
    st = SimStorage(flash, sd)
    disk.unfill(st)
    box = open_box(st, w, disk)
    counted = box.pending()
    expired0 = box.counters["expired"]
    got = 0
    while True:
        item = box.next()
        if item is None:
            break
        w.deliver(item)
        box.done(item)
        got += 1
        w.check_counts(box)
    drained = got + box.counters["expired"] - expired0
    gone = set(d["i"]["k"] for d in box.dead_letters(10000))
    again = open_box(SimStorage(flash, sd), w, disk)
    return counted, drained, box.pending(), again.pending(), again.next() is None, gone


def trial(base, rng, ops, disk, cut):
    os.makedirs(base)
    disk.base = base
    flash, sd = disk.filesystems()
    st = RacyStorage(flash, sd, **cut)
    w = World()
    try:
        play(st, w, ops, disk)
    except PowerCut:
        pass
    counted, drained, left, left_after, empty, gone = finish(disk, w)
    lost = w.acked - set(w.dest) - gone
    return w, lost, counted, drained, left, left_after, empty


@pytest.mark.slow
def test_full_disks_power_cuts_and_in_flight_finishes_lose_nothing(tmp_path):
    rng = random.Random(20261414)
    done = 0
    totals = {"cut": 0, "enospc": 0, "short": 0, "stale": 0, "evicted": 0, "expired": 0,
              "journal_errors": 0, "dead_letter_errors": 0}
    while done < TRIALS:
        ops = workload(rng)
        disk = Disk(None, rng)
        probe_dir = str(tmp_path / ("p%d" % done))
        os.makedirs(probe_dir)
        disk.base = probe_dir
        flash, sd = disk.filesystems()
        probe = RacyStorage(flash, sd)
        pw = World()
        play(probe, pw, ops, disk)
        totals["enospc"] += disk.fs(probe).counters["enospc"]
        totals["short"] += probe.short_writes
        for name in ("stale", "evicted", "expired", "journal_errors", "dead_letter_errors"):
            totals[name] += pw.counter(name)
        shutil.rmtree(probe_dir)
        for _ in range(3):  # three cuts per workload
            if rng.random() < 0.5:
                cut = {"cut_after_bytes": rng.randrange(max(1, probe.bytes_written))}
            else:
                cut = {"cut_after_ops": rng.randrange(max(1, probe.ops))}
            base = str(tmp_path / ("c%d" % done))
            w, lost, counted, drained, left, left_after, empty = trial(base, rng, ops, disk, cut)
            where = "trial %d (%s %s, %s)" % (done, disk.kind, cut, ops)
            assert not lost, "%s: lost %s" % (where, sorted(lost))
            assert not w.resurrected, "%s: resurrected %s" % (where, w.resurrected)
            assert not w.negative, "%s: negative counts %s" % (where, w.negative[:3])
            assert counted == drained, "%s: counted %d, drained %d" % (where, counted, drained)
            assert left == 0 and left_after == 0 and empty, where
            totals["cut"] += 1
            shutil.rmtree(base)
            done += 1
    print("soak:", totals)
    # the mix really happened: full disks (FAT short writes among them), finishes of
    # in-flight items, evictions, expiry
    assert totals["cut"] >= TRIALS and totals["enospc"] > TRIALS // 10, totals
    assert totals["short"] and totals["stale"] > TRIALS // 20 and totals["evicted"], totals
