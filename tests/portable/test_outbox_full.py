"""The outbox on a full card and with items finished while their upload runs (portable).

One test per finding of issue 14; each failed on the outbox before format 2.
"""

from fullfs import FullStorage
from portable_support import PrefixStorage, raises, tmpdir

from wildcam.queue.outbox import Outbox, QueueFull

T0 = 1780315200


class Clock:
    def __init__(self):
        self.t = T0

    def __call__(self):
        return self.t


def _box(st, **kw):
    kw.setdefault("root", "/q")
    return Outbox(st, **kw).open()


def _drain(box, limit=5000):
    out = []
    for _ in range(limit):
        item = box.next()
        if item is None:
            break
        out.append(item)
        box.done(item)
    return out


def _fill_with_items(box, kind="detection", limit=2000):
    """Put items until the outbox refuses one; the keys it took."""
    keys = []
    for i in range(limit):
        try:
            keys.append(box.put(kind, data={"i": i, "pad": "p" * 60}, key="k%d" % i).key)
        except (QueueFull, OSError):
            break
    return keys


def test_a_full_card_does_not_wedge_the_queue():
    """Finding 1: the card fills before the lane has journaled anything; every done() must
    still work and free space, and nothing delivered comes back after a reboot."""
    st = FullStorage(tmpdir(), 48 * 512, kind="fat", block=512)
    box = _box(st, seg_bytes=2048)
    keys = _fill_with_items(box)
    assert len(keys) > 20
    st.fill(0)  # and another writer takes the rest
    delivered = [i.key for i in _drain(box)]
    evicted = [d["i"]["k"] for d in box.dead_letters(100)]  # oldest out when space ran low
    assert sorted(delivered + evicted) == sorted(keys) and box.pending() == 0
    again = _box(st, seg_bytes=2048)
    assert again.pending() == 0 and again.next() is None
    assert st.free() > 20 * 512  # the segments are gone


def test_without_an_sd_card_the_flash_budget_evicts_and_alerts_get_in():
    """Finding 1b: on ~1 MB of flash with the default max_bytes (64 MB) the outbox must
    budget from the real free space: time-lapse items evict older ones instead of filling
    the flash, and an alert still gets in."""
    st = FullStorage(tmpdir(), 40 * 4096, kind="lfs", block=4096)
    box = _box(st)
    for i in range(600):
        box.put("timelapse", data={"i": i, "pad": "t" * 150})  # never OSError 28
    assert box.counters["evicted"] > 0
    assert st.free() >= 4 * 4096  # the reserves stay free
    alert = box.put("alert", data={"motion": True})
    assert box.next().key == alert.key
    assert _box(st).pending() == box.pending()


def test_an_item_evicted_during_its_upload_is_not_finished_twice():
    """Finding 2: a put() between next() and done() evicts the item being uploaded; done()
    must not count it again, move the cursor back or bring finished items back."""
    st = PrefixStorage(tmpdir())
    box = _box(st, max_bytes=3000)
    box.put("timelapse", media="/sd/t1.jpg", size=900, key="t1")
    box.put("timelapse", media="/sd/t2.jpg", size=900, key="t2")
    uploading = box.next()
    assert uploading.key == "t1"
    for n in range(3):  # each evicts a time-lapse item: t1 (in flight), then t2
        box.put("detection", media="/sd/d%d.jpg" % n, size=900, key="d%d" % n)
    assert box.counters["evicted"] == 2
    box.done(uploading)  # the upload finished after all
    assert box.depth() == {"alert": 0, "detection": 3, "health": 0, "timelapse": 0}
    assert box.pending() == 3 and box.counters["delivered"] == 0
    again = _box(st, max_bytes=3000)
    assert again.depth()["timelapse"] == 0
    assert [i.key for i in _drain(again)] == ["d0", "d1", "d2"]


def test_an_item_expired_during_its_upload_is_not_finished_twice():
    """Finding 2b: the battery policy's `draining()` calls next(), which expires the head
    that sync is uploading; done() on it must change nothing."""
    clock = Clock()
    st = PrefixStorage(tmpdir())
    box = _box(st, now=clock)
    box.put("health", data={"n": 1}, ttl_s=60, key="h1")
    box.put("health", data={"n": 2}, key="h2")
    uploading = box.next()
    clock.t += 61
    assert box.next().key == "h2"  # h1 expired meanwhile
    box.done(uploading)
    assert box.depth()["health"] == 1 and box.pending() == 1
    assert not uploading.live() and box.counters["stale"] == 1
    assert [i.key for i in _drain(_box(st, now=clock))] == ["h2"]


def test_a_short_journal_write_does_not_misalign_later_records():
    """Finding 3: on a full card a cursor record is written in part (FAT writes what fits,
    then raises ENOSPC); cursor records written after space came back must still count.
    (8-byte clusters stand in for a record that straddles a cluster boundary.)"""
    st = FullStorage(tmpdir(), 64 << 10, kind="fat", block=8)
    box = _box(st)
    keys = [box.put("detection", data={"i": i}, key="k%d" % i).key for i in range(50)]
    for _ in range(5):
        box.done(box.next())
    st.fill(8)  # one free cluster: half a cursor record fits
    try:
        box.done(box.next())
    except OSError:
        pass  # (the old outbox raised here)
    st.unfill()
    for _ in range(40):
        box.done(box.next())
    again = _box(st)
    assert again.pending() in (4, 5), again.pending()  # at most the one cut short again
    assert [i.key for i in _drain(again)][-4:] == keys[-4:]


def test_a_short_segment_write_is_skipped_and_never_appended_to():
    """A record cut short by a full card is refused (QueueFull), skipped when read and
    never appended to; the items around it are whole."""
    st = FullStorage(tmpdir(), 64 * 512, kind="fat", block=512)
    box = _box(st)
    first = box.put("detection", data={"i": 0, "pad": "x" * 100}, key="a")
    box.put("detection", data={"i": 1}, key="b")
    st.fill(0)  # another writer takes the card after the outbox last looked
    raises(QueueFull, lambda: box.put("detection", data={"i": 2, "pad": "y" * 500}, key="c"))
    size = st.size(first.lane.seg_path(first.seg))
    assert size % 512 == 0 and size > first.end + 20  # part of "c" landed
    st.unfill()
    last = box.put("detection", data={"i": 3}, key="d")
    assert last.seg != first.seg
    again = _box(st)
    assert again.pending() == 3
    assert [i.key for i in _drain(again)] == ["a", "b", "d"]
    assert again.counters["torn"] == 1


def test_fit_is_checked_before_anything_is_evicted():
    """Finding 5a: an item that can never fit used to evict everything first."""
    box = _box(PrefixStorage(tmpdir()), max_bytes=3000)
    box.put("timelapse", media="/sd/t1.jpg", size=900)
    box.put("timelapse", media="/sd/t2.jpg", size=900)
    raises(QueueFull, lambda: box.put("detection", media="/sd/big.jpg", size=5000))
    assert box.pending() == 2 and box.counters["evicted"] == 0


def test_a_size_without_media_is_not_charged():
    """Finding 5b: put(size=N) without media charged a budget that was never returned."""
    box = _box(PrefixStorage(tmpdir()), max_bytes=3000)
    for i in range(10):
        box.put("health", data={"i": i}, size=900)
        box.done(box.next())
    assert box.pending() == 0 and box.pending_bytes() == 0


def _lose_lane_journals(st, root="/q"):
    for lane in st.listdir(root):
        if lane in ("dead", "quarantine") or not st.is_dir(root + "/" + lane):
            continue
        for name in st.listdir(root + "/" + lane):
            if not name.endswith(".seg"):
                with st.open(root + "/" + lane + "/" + name, "wb") as f:
                    f.write(b"")


def test_auto_keys_stay_unique_when_a_lane_journal_is_lost():
    """Finding 5c: keys came from segment numbers, which restart when the cursor journal
    loses records; a destination then dropped a new health report as a duplicate."""
    st = PrefixStorage(tmpdir())
    keys = set()
    for boot in range(4):
        box = _box(st, key_prefix="wc-1-")
        keys.add(box.put("health", data={"b": boot}).key)
        _drain(box)
        _box(st, key_prefix="wc-1-")  # a reboot: the used-up segment is dropped
        _lose_lane_journals(st)
    assert len(keys) == 4, sorted(keys)


def test_old_records_in_a_reused_cluster_are_rejected():
    """Finding 5d: bytes of a finished record that reappear in another segment file (FAT
    reusing a cluster) must not bring the item back."""
    st = PrefixStorage(tmpdir())
    box = _box(st, seg_bytes=64)  # one record per segment
    a = box.put("detection", data={"who": "a"}, key="a")
    path_a = a.lane.seg_path(a.seg)
    old = st.read(path_a)[a.pos:a.end]
    box.put("detection", data={"who": "b"}, key="b")
    c = box.put("detection", data={"who": "c"}, key="c")
    box.done(box.next())  # a delivered: its segment is removed
    assert not st.exists(path_a)
    with st.open(c.lane.seg_path(c.seg), "ab") as f:
        f.write(old)  # the old bytes show up in the newest segment
    again = _box(st, seg_bytes=64)
    assert again.pending() == 2
    assert [i.key for i in _drain(again)] == ["b", "c"]


class CountingStorage(PrefixStorage):
    """Counts read() calls and bytes read (to show what opening costs)."""

    def __init__(self, root):
        PrefixStorage.__init__(self, root)
        self.reads = self.read_bytes = 0

    def open(self, path, mode="rb"):
        f = PrefixStorage.open(self, path, mode)
        if "r" not in mode or "+" in mode:
            return f
        owner = self

        class Counted:
            def read(self, n=-1):
                data = f.read(n)
                owner.reads += 1
                owner.read_bytes += len(data)
                return data

            def __getattr__(self, name):
                return getattr(f, name)

            def __enter__(self):
                return self

            def __exit__(self, *a):
                f.close()

        return Counted()


def _open_cost(n):
    st = CountingStorage(tmpdir())
    box = _box(st)
    for i in range(n):
        box.put("detection", route="media", media="/sd/DCIM/%04d.jpg" % i, size=60000,
                sha256="ab" * 32, data={"seq": i})
    st.reads = st.read_bytes = 0
    again = _box(st)
    assert again.pending() == n
    return st.reads, st.read_bytes


def test_opening_does_not_read_every_pending_record():
    """Finding 6: open() read each pending record (2.7 / 36 / 364 ms at 10 / 1,000 / 10,000
    on CPython) on the PIR-wake path. Now it reads the same few records for any length."""
    small = _open_cost(10)
    large = _open_cost(1000)
    assert large[0] <= small[0] + 2 and large[1] <= small[1] + 600, (small, large)
