"""Randomized power-cut soak of the outbox: random workloads, a random cut in each, reboot,
drain, and check that nothing acknowledged was lost, damaged or invented.

The default run does WILDCAM_SOAK_CUTS cuts (500); the full soak is
`WILDCAM_SOAK_CUTS=10000 .venv/bin/pytest -m slow tests/soak`.
"""
import os
import random

import pytest
from cutting import CuttingStorage, PowerCut
from portable_support import PrefixStorage

from wildcam.queue.outbox import PRIORITIES, Outbox, QueueFull

CUTS = int(os.environ.get("WILDCAM_SOAK_CUTS", "500"))


def workload(rng, n_ops=60):
    ops, n = [], 0
    for _ in range(n_ops):
        r = rng.random()
        if r < 0.45:
            ops.append(("put", rng.choice(PRIORITIES), n, rng.choice((0, 0, 0, 120)),
                        rng.choice((0, 0, 5000, 60000)), rng.choice(("media", "events"))))
            n += 1
        elif r < 0.75:
            ops.append(("deliver",))
        elif r < 0.82:
            ops.append(("batch", rng.randint(2, 5)))
        elif r < 0.88:
            ops.append(("dead",))
        elif r < 0.94:
            ops.append(("tick", rng.choice((30, 100, 400))))
        else:
            ops.append(("reboot",))
    return ops


class World:
    def __init__(self):
        self.t = 1780315200
        self.acked = {}
        self.dest = {}

    def now(self):
        return self.t

    def deliver(self, item):
        n = int(item.key.split("-")[1])
        assert item.data == {"n": n}, item.key
        self.dest[item.key] = self.dest.get(item.key, 0) + 1


def open_box(st, w, seg_bytes):
    return Outbox(st, root="/q", max_bytes=150000, seg_bytes=seg_bytes, now=w.now).open()


def play(st, w, ops, seg_bytes):
    box = open_box(st, w, seg_bytes)
    for op in ops:
        kind = op[0]
        if kind == "put":
            _, prio_name, n, ttl, size, route = op
            key = "k-%d" % n
            try:
                box.put(prio_name, route=route, data={"n": n}, key=key, ttl_s=ttl,
                        media="/sd/x%d.jpg" % n if size else None, size=size)
                w.acked[key] = True
            except QueueFull:
                pass
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
        elif kind == "dead":
            item = box.next()
            if item:
                box.dead(item, "refused")
        elif kind == "tick":
            w.t += op[1]
        elif kind == "reboot":
            box = open_box(st, w, seg_bytes)


def finish(root, w, seg_bytes):
    box = open_box(PrefixStorage(root), w, seg_bytes)
    while True:
        item = box.next()
        if item is None:
            break
        w.deliver(item)
        box.done(item)
    gone = set(d["i"]["k"] for d in box.dead_letters(10000))
    return box, gone


@pytest.mark.slow
def test_random_power_cuts_lose_nothing(tmp_path):
    rng = random.Random(20261124)
    done = 0
    while done < CUTS:
        ops = workload(rng)
        seg_bytes = rng.choice((300, 2000, 16384))
        os.makedirs(str(tmp_path / ("p%d" % done)))
        probe = CuttingStorage(str(tmp_path / ("p%d" % done)))
        play(probe, World(), ops, seg_bytes)
        for _ in range(5):  # five cuts per workload
            budget = rng.randrange(max(1, probe.used))
            os.makedirs(str(tmp_path / ("c%d" % done)))
            st = CuttingStorage(str(tmp_path / ("c%d" % done)), budget=budget)
            w = World()
            try:
                play(st, w, ops, seg_bytes)
            except PowerCut:
                pass
            box, gone = finish(st.root, w, seg_bytes)
            lost = set(w.acked) - set(w.dest) - gone
            assert not lost, "cut %d (budget %d): lost %s" % (done, budget, sorted(lost))
            assert box.pending() == 0
            done += 1
