"""Dead letters of images are kept while the image is on the card, whatever their number,
and survive power cuts during compaction and requeue (portable).

Issue 18: the ring used to keep about 80 records and drop the oldest, so after a day of
`403 SignatureDoesNotMatch` most dead letters were gone and `requeue` could not find them.
"""

import os
import sys

from cutting import CuttingStorage, PowerCut
from fullfs import FullStorage
from portable_support import PrefixStorage, tmpdir
from portable_support import drain_keys as _drain

from wildcam.queue import deadletters
from wildcam.queue.deadletters import requeue
from wildcam.queue.outbox import Outbox

T0 = 1780315200
STRIDE = 1 if sys.implementation.name == "cpython" else 11


class Clock:
    def __init__(self):
        self.t = T0

    def __call__(self):
        self.t += 1
        return self.t


def _box(st, clock):
    return Outbox(st, root="/sd/q", now=clock).open()


def _dead_images(box, st, first, n, reason="403 SignatureDoesNotMatch"):
    """Dead-letter `n` images /sd/DCIM/img<i>.jpg (on the card) with `reason`."""
    st.makedirs("/sd/DCIM")
    for i in range(first, first + n):
        path = "/sd/DCIM/img%04d.jpg" % i
        st.write_atomic(path, b"jpeg%d" % i)
        box.put("detection", route="media", media=path, size=8, key="k%04d" % i,
                data={"file": path})
        assert box.dead(box.next(), reason)


def _dead_events(box, n):
    for i in range(n):
        box.put("event", route="events", data={"i": i}, key="e%04d" % i)
        assert box.dead(box.next(), "400 bad event")


def _keys(box):
    return set(d["i"]["k"] for d in box.dead_letters(100000))


def test_two_hundred_dead_letters_with_media_are_all_kept_and_requeued():
    st, clock = PrefixStorage(tmpdir()), Clock()
    box = _box(st, clock)
    _dead_images(box, st, 0, 200)
    _dead_events(box, 150)  # records without media push older files out of the window
    want = set("k%04d" % i for i in range(200))
    assert want <= _keys(box)
    assert len(box.ring.numbers()) > deadletters.SEGMENTS
    assert box.stats()["dead_dropped"] > 0  # records without media did go
    again = _box(st, clock)  # after a reboot too
    assert want <= _keys(again)
    r = requeue(again, 400)
    assert r["requeued"] >= 200 and r["gone"] == 0, r
    got = set(k for k in _drain(again) if k.startswith("k"))
    assert got == want
    assert not (want & _keys(again))  # put back: no longer dead letters
    assert requeue(_box(st, clock), 400)["requeued"] == 0


def test_a_record_goes_once_its_image_has_left_the_card():
    st, clock = PrefixStorage(tmpdir()), Clock()
    box = _box(st, clock)
    _dead_images(box, st, 0, 120)
    for i in range(0, 60):
        st.remove("/sd/DCIM/img%04d.jpg" % i)  # the card made room
    _dead_events(box, 400)  # many new files: each checks one older kept file again
    keys = _keys(box)
    assert set("k%04d" % i for i in range(60, 120)) <= keys
    assert not (set("k%04d" % i for i in range(60)) & keys)
    assert box.stats()["dead_dropped"] >= 60


def test_requeue_with_a_limit_leaves_the_rest_for_the_next():
    st, clock = PrefixStorage(tmpdir()), Clock()
    box = _box(st, clock)
    _dead_images(box, st, 0, 150)
    assert requeue(box, 100)["requeued"] == 100
    assert requeue(box, 100)["requeued"] == 50
    assert sorted(_drain(box)) == ["k%04d" % i for i in range(150)]


def _copy_tree(src, dst):
    try:
        os.mkdir(dst)
    except OSError:
        pass
    for name in os.listdir(src):
        s, d = src + "/" + name, dst + "/" + name
        if os.stat(s)[0] & 0x4000:
            _copy_tree(s, d)
        else:
            with open(s, "rb") as f, open(d, "wb") as g:
                g.write(f.read())


LIVE = set("k%04d" % i for i in range(1, 25, 2))


def _prepared():
    """25 dead images in 1 KB files (5 records each), every other image gone from the card;
    the head file is full, so the next dead letter starts a file and compacts."""
    st, clock = PrefixStorage(tmpdir()), Clock()
    box = _box(st, clock)
    _dead_images(box, st, 0, 25)
    for i in range(0, 25, 2):
        st.remove("/sd/DCIM/img%04d.jpg" % i)
    return st.root, clock.t


def _compacting(box):
    box.put("event", route="events", data={"i": 0}, key="e0")
    box.dead(box.next(), "400 bad event")


def _requeueing(box):
    requeue(box, 400)


def test_power_cut_at_any_byte_of_compaction_or_requeue_keeps_every_image_record():
    old = deadletters.SEG_BYTES
    deadletters.SEG_BYTES = 1024
    try:
        root, t = _prepared()
        for action, stride in ((_compacting, STRIDE), (_requeueing, STRIDE * 3)):
            probe = CuttingStorage(tmpdir())
            _copy_tree(root, probe.root)
            clock = Clock()
            clock.t = t
            box = _box(probe, clock)
            start = probe.used
            action(box)
            total = probe.used - start
            if action is _compacting:
                assert box.stats()["dead_dropped"] > 0  # it did compact
            cuts = 0
            for budget in range(0, total, stride):
                st = CuttingStorage(tmpdir())
                _copy_tree(root, st.root)
                clock.t = t
                box = _box(st, clock)
                st.budget = budget
                try:
                    action(box)
                except PowerCut:
                    cuts += 1
                box = _box(PrefixStorage(st.root), clock)
                queued = set(_drain(box))
                dead = _keys(box)
                assert LIVE <= dead | queued, (budget, sorted(LIVE - dead - queued))
                requeue(box, 400)
                assert LIVE <= queued | set(_drain(box)), budget
            assert cuts == len(range(0, total, stride))
    finally:
        deadletters.SEG_BYTES = old


def test_a_full_card_during_compaction_loses_no_record():
    """ENOSPC (a short write on FAT) while a file is rewritten leaves it whole; the
    compaction happens at a later step once there is room."""
    st, clock = FullStorage(tmpdir(), 4096 * 1024, kind="fat", block=512), Clock()
    box = _box(st, clock)
    _dead_images(box, st, 0, 90)
    for i in range(0, 90, 2):
        st.remove("/sd/DCIM/img%04d.jpg" % i)
    live = set("k%04d" % i for i in range(1, 90, 2))
    for i in range(30):
        box.put("event", route="events", data={"i": i}, key="e%04d" % i)
    st.fill(700)  # room for a new file, not for a rewrite beside it
    failed = 0
    for i in range(30):
        failed += not box.dead(box.next(), "400 bad event")  # full: the item stays queued
    assert failed
    assert live <= _keys(box) and live <= _keys(_box(st, clock))
    st.unfill()
    box = _box(st, clock)
    _dead_events(box, 120)
    assert live <= _keys(box)
    assert not (set("k%04d" % i for i in range(0, 90, 2)) & _keys(box))


def test_stats_say_delivered_queued_oldest_and_dead_with_causes():
    """What `wildcam status` shows: media delivered (a total kept across reboots), pending
    with the oldest item's time, dead letters on file with their causes."""
    from wildcam.queue.deadletters import cause

    assert cause("s3: s3 PUT cam/a.jpg: HTTP 400 InvalidArgument: bad") == \
        "s3: HTTP 400 InvalidArgument"
    assert cause("evicted") == "evicted"
    st, clock = PrefixStorage(tmpdir()), Clock()
    box = _box(st, clock)
    _dead_images(box, st, 0, 5, reason="s3: s3 PUT cam/x.jpg: HTTP 400 InvalidArgument: no")
    _dead_events(box, 2)
    for i in range(3):
        box.put("detection", route="media", media="/sd/DCIM/img%04d.jpg" % i, size=8,
                key="s%d" % i)
    first = clock.t - 2
    box.done(box.next())
    s = box.stats()
    assert s["delivered_total"] == 1 and s["pending"] == 2
    assert s["oldest_s"] == first + 1, (s["oldest_s"], first)
    assert s["dead_letters"] == {"count": 7, "reasons": {
        "s3: HTTP 400 InvalidArgument": 5, "400 bad event": 2}}, s["dead_letters"]
    again = _box(st, clock)
    again.done(again.next())
    assert again.stats()["delivered_total"] == 2  # kept across a reboot
    assert _box(st, clock).stats()["delivered_total"] == 2
    requeue(again, 400)
    assert again.stats()["dead_letters"]["count"] == 0  # put back: the summary follows
