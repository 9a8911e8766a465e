"""Cut power after every byte and every file operation of an outbox workload; after each
cut, reboot, drain, and check that nothing acknowledged was lost or damaged (portable).

Under CPython every unit of the budget is cut; under MicroPython (slower) every 3rd.
"""

import sys

from cutting import CuttingStorage, PowerCut
from portable_support import PrefixStorage, tmpdir

from wildcam.queue.outbox import Outbox, QueueFull

STRIDE = 1 if sys.implementation.name == "cpython" else 3
T0 = 1780315200
MAX_BYTES = 300  # small enough that the workload evicts

# (op, kind, n, ttl): put item n; "d" deliver one; "b" deliver a batch; "x" dead-letter the
# head; "t" advance the clock 100 s
WORKLOAD = (
    ("p", "detection", 0, 0), ("p", "health", 1, 50), ("d",), ("p", "alert", 2, 0),
    ("p", "timelapse", 3, 0), ("p", "timelapse", 4, 0), ("d",), ("t",),
    ("p", "detection", 5, 0), ("x",), ("p", "health", 6, 0), ("p", "health", 7, 0),
    ("b",), ("p", "detection", 8, 0), ("p", "detection", 9, 0), ("d",), ("d",),
)


def _data(n):
    return {"n": n, "text": "payload-%d" % n}


class World:
    """What outlives the board: the destination's objects and what put() acknowledged."""

    def __init__(self):
        self.dest = {}
        self.acked = set()
        self.t = T0
        self.rejected = 0

    def now(self):
        return self.t

    def deliver(self, item):
        assert item.data == _data(int(item.key[1:])), (item.key, item.data)
        self.dest[item.key] = self.dest.get(item.key, 0) + 1


def _open(st, world):
    return Outbox(st, root="/q", max_bytes=MAX_BYTES, seg_bytes=300, now=world.now).open()


def _run(st, world):
    box = _open(st, world)
    for step in WORKLOAD:
        op = step[0]
        if op == "p":
            try:
                box.put(step[1], data=_data(step[2]), key="k%d" % step[2], ttl_s=step[3])
                world.acked.add("k%d" % step[2])
            except QueueFull:
                world.rejected += 1
        elif op == "d":
            item = box.next()
            if item is not None:
                world.deliver(item)
                box.done(item)
        elif op == "b":
            item = box.next()
            if item is not None:
                run = box.batch(item.lane, 3)
                for i in run:
                    world.deliver(i)
                box.done(*run)
        elif op == "x":
            item = box.next()
            if item is not None:
                box.dead(item, "permanent failure")
        elif op == "t":
            world.t += 100
    return box


def _finish(root, world):
    box = _open(PrefixStorage(root), world)
    while True:
        item = box.next()
        if item is None:
            break
        world.deliver(item)
        box.done(item)
    dead = set(d["i"]["k"] for d in box.dead_letters(100))
    return box, dead


def test_no_acknowledged_item_is_lost_at_any_cut():
    probe = CuttingStorage(tmpdir())
    ref = World()
    probe_box = _run(probe, ref)
    total = probe.used
    _, ref_dead = _finish(probe.root, ref)
    assert ref.acked == set(ref.dest) | ref_dead  # the uncut run accounts for everything
    # the workload exercises every way out of the queue
    assert probe_box.counters["expired"] and probe_box.counters["dead"]
    assert probe_box.counters["evicted"] and len(ref.dest) >= 5
    cuts = 0
    for budget in range(0, total, STRIDE):
        st = CuttingStorage(tmpdir(), budget=budget)
        world = World()
        try:
            _run(st, world)
        except PowerCut:
            cuts += 1
        box, dead = _finish(st.root, world)
        missing = world.acked - set(world.dest) - dead
        assert not missing, "budget %d: lost %s" % (budget, sorted(missing))
        assert set(world.dest) <= set("k%d" % n for n in range(10))
        assert box.pending() == 0
    assert cuts == len(range(0, total, STRIDE))
