"""The durable outbox: order, priorities, expiry, dead letters, eviction, damage (portable)."""

from portable_support import PrefixStorage, raises, tmpdir

from wildcam.queue.outbox import Outbox, QueueFull


class Clock:
    def __init__(self, t=1780315200):
        self.t = t

    def __call__(self):
        return self.t


def _box(st=None, **kw):
    st = st or PrefixStorage(tmpdir())
    kw.setdefault("root", "/q")
    return Outbox(st, **kw).open()


def _drain(box, limit=1000):
    out = []
    for _ in range(limit):
        item = box.next()
        if item is None:
            break
        out.append(item)
        box.done(item)
    return out


def test_fifo_within_priority_and_priority_order():
    box = _box()
    box.put("timelapse", data={"n": 1})
    box.put("detection", route="media", media="/sd/a.jpg", size=1000)
    box.put("health", data={"v": 3})
    box.put("alert", data={"a": 1})
    box.put("detection", route="media", media="/sd/b.jpg", size=2000)
    kinds = [(i.kind, i.media or i.data) for i in _drain(box)]
    assert kinds == [("alert", {"a": 1}), ("detection", "/sd/a.jpg"),
                     ("detection", "/sd/b.jpg"), ("health", {"v": 3}),
                     ("timelapse", {"n": 1})]
    assert box.pending() == 0 and box.pending_bytes() == 0


def test_pending_items_survive_a_reboot_and_finished_ones_do_not_return():
    st = PrefixStorage(tmpdir())
    box = _box(st)
    for i in range(5):
        box.put("detection", data={"i": i})
    box.done(box.next())
    box.done(box.next())
    again = _box(st)
    assert again.pending() == 3
    assert [i.data["i"] for i in _drain(again)] == [2, 3, 4]
    assert _box(st).pending() == 0


def test_idempotency_keys_are_unique_across_reboots():
    st = PrefixStorage(tmpdir())
    keys = set()
    for boot in range(4):
        box = _box(st, key_prefix="wc-1-")
        for i in range(3):
            keys.add(box.put("health", data={"b": boot}).key)
        box.done(box.next())
    assert len(keys) == 12
    assert all(k.startswith("wc-1-2-default-") for k in keys)
    explicit = _box(st).put("detection", key="IMG_0001", data={})
    assert explicit.key == "IMG_0001"


def test_expired_items_are_dead_lettered_with_the_reason():
    clock = Clock()
    box = _box(now=clock)
    box.put("health", data={"old": 1}, ttl_s=60)
    box.put("health", data={"new": 1})
    clock.t += 61
    item = box.next()
    assert item.data == {"new": 1}
    assert box.counters["expired"] == 1
    dead = box.dead_letters()
    assert dead[0]["r"] == "expired" and dead[0]["i"]["d"] == {"old": 1}


def test_dead_keeps_the_reason_and_moves_on():
    box = _box()
    box.put("detection", route="media", media="/sd/gone.jpg", size=10)
    box.put("detection", route="media", media="/sd/ok.jpg", size=10)
    box.dead(box.next(), "403 SignatureDoesNotMatch")
    assert box.next().media == "/sd/ok.jpg"
    d = box.dead_letters()[0]
    assert d["r"] == "403 SignatureDoesNotMatch" and d["l"] == "1-media"
    assert box.stats()["dead"] == 1 and box.pending() == 1


def test_bounded_size_evicts_lowest_priority_oldest_first():
    box = _box(max_bytes=3000)
    box.put("timelapse", media="/sd/t1.jpg", size=900)
    box.put("timelapse", media="/sd/t2.jpg", size=900)
    box.put("detection", media="/sd/d1.jpg", size=900)
    box.put("detection", media="/sd/d2.jpg", size=900)  # evicts t1
    assert box.counters["evicted"] == 1
    assert [i.media for i in _drain(box)] == ["/sd/d1.jpg", "/sd/d2.jpg", "/sd/t2.jpg"]
    assert box.dead_letters()[0]["r"] == "evicted"


def test_queue_full_when_only_higher_priority_items_remain():
    box = _box(max_bytes=2000)
    box.put("alert", media="/sd/a1.jpg", size=900)
    box.put("alert", media="/sd/a2.jpg", size=900)
    e = raises(QueueFull, lambda: box.put("timelapse", media="/sd/t.jpg", size=900))
    assert "outbox full" in str(e)
    assert box.counters["rejected"] == 1 and box.pending() == 2


def _flip_byte(st, path, offset):
    raw = bytearray(st.read(path))
    raw[offset] ^= 0x20
    with st.open(path, "wb") as f:
        f.write(raw)


def test_a_corrupt_record_is_skipped_quarantined_and_reported():
    st = PrefixStorage(tmpdir())
    box = _box(st)
    items = [box.put("detection", data={"i": i, "pad": "x" * 20}) for i in range(5)]
    seg = items[2].lane.seg_path(items[2].seg)
    _flip_byte(st, seg, items[2].pos + 20)
    again = _box(st)
    assert again.pending() == 5  # opening reads no record between head and tail
    assert [i.data["i"] for i in _drain(again)] == [0, 1, 3, 4]
    assert again.counters["corrupt"] == 1 and again.pending() == 0  # found when reached
    assert len(st.listdir("/q/quarantine")) == 1


def test_a_torn_last_record_is_ignored_and_never_extended():
    st = PrefixStorage(tmpdir())
    box = _box(st)
    for i in range(3):
        last = box.put("detection", data={"i": i})
    seg = last.lane.seg_path(last.seg)
    raw = st.read(seg)
    with st.open(seg, "wb") as f:
        f.write(raw[:last.pos + 5])  # power lost mid-record
    again = _box(st)
    assert again.counters["torn"] == 1 and again.pending() == 2
    added = again.put("detection", data={"i": 9})
    assert added.seg != last.seg  # a new boot appends to a new segment
    assert [i.data["i"] for i in _drain(again)] == [0, 1, 9]


def test_segments_roll_over_and_finished_ones_are_deleted():
    st = PrefixStorage(tmpdir())
    box = _box(st, seg_bytes=512)
    for i in range(40):
        lane = box.put("detection", data={"i": i, "pad": "y" * 40}).lane
    segs = [n for n in st.listdir(lane.dir) if n.endswith(".seg")]
    assert len(segs) > 5
    assert [i.data["i"] for i in _drain(box)] == list(range(40))
    left = [n for n in st.listdir(lane.dir) if n.endswith(".seg")]
    assert len(left) <= 1
    assert sorted(n for n in st.listdir(lane.dir) if not n.endswith(".seg")) == ["journal"]
    assert st.size(lane.dir + "/journal") == 544  # preallocated, rewritten in place


def test_batches_are_consecutive_and_acknowledged_together():
    st = PrefixStorage(tmpdir())
    box = _box(st)
    for i in range(7):
        box.put("health", data={"i": i})
    lane = box.next().lane
    run = box.batch(lane, 5)
    assert [i.data["i"] for i in run] == [0, 1, 2, 3, 4]
    written = box.bytes_written
    box.done(*run)
    assert box.bytes_written - written == 16  # one cursor record for the whole batch
    assert [i.data["i"] for i in _drain(_box(st))] == [5, 6]


def test_flash_bytes_per_item_are_small():
    box = _box()
    for i in range(50):
        box.put("detection", route="media", media="/sd/DCIM/20260601/120000_B00001_%04d.jpg" % i,
                size=60000, sha256="ab" * 32)
    _drain(box)
    per_item = box.bytes_written / 50
    assert per_item < 260, per_item  # record (~220 B) + cursor (16 B)


def test_requeue_puts_dead_letters_whose_media_is_on_the_card_back_once():
    from wildcam.queue.deadletters import requeue

    st = PrefixStorage(tmpdir())
    clock = Clock()
    box = _box(st, now=clock)
    st.makedirs("/sd")
    for name in ("a", "b", "c"):
        st.write_atomic("/sd/%s.jpg" % name, b"jpeg")
        box.put("detection", route="media", media="/sd/%s.jpg" % name, size=4, key="k-" + name)
    box.put("detection", route="media", media="/sd/gone.jpg", size=4, key="k-gone")
    for _ in range(4):
        clock.t += 1
        box.dead(box.next(), "403 SignatureDoesNotMatch")
    assert box.pending() == 0
    r = requeue(box)
    assert r == {"requeued": 3, "gone": 1, "skipped": 0}, r
    items = _drain(box)
    assert sorted(i.key for i in items) == ["k-a", "k-b", "k-c"]  # same keys: no duplicates
    assert all(i.lane.name == "1-media" and i.size == 4 for i in items)
    # a second requeue finds nothing new; one dead-lettered again later is requeued again
    assert requeue(box)["requeued"] == 0
    box.put("detection", route="media", media="/sd/a.jpg", size=4, key="k-a")
    clock.t += 10
    box.dead(box.next(), "404 NoSuchBucket")
    assert requeue(box)["requeued"] == 1 and [i.key for i in _drain(box)] == ["k-a"]
    # reopened (after a reboot) it still knows what it requeued
    assert requeue(_box(st, now=clock))["requeued"] == 0
