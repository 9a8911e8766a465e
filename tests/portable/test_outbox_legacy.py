"""Queues written by older firmware (format 1) are drained, and `open()` never raises for a
storage problem, a full card included (portable)."""

from cutting import CuttingStorage, PowerCut
from format1 import cursor_record as _cursor
from format1 import write_format1
from fullfs import FullStorage
from portable_support import PrefixStorage, tmpdir
from portable_support import drain_keys as _drain

from wildcam.queue.outbox import Outbox


def _box(st, **kw):
    kw.setdefault("root", "/q")
    return Outbox(st, **kw).open()


def test_a_format1_lane_is_drained_first_then_removed():
    st = PrefixStorage(tmpdir())
    write_format1(st, n=5, delivered=2)
    box = _box(st, now=lambda: 1780316000)
    assert box.pending() == 3
    box.put("detection", data={"i": 9}, key="new-9")
    assert _drain(box) == ["old-2", "old-3", "old-4", "new-9"]
    assert not st.exists("/q/1-default")  # empty: gone
    again = _box(st)
    assert again.pending() == 0 and again.old == []


def test_a_format1_cursor_shifted_by_a_short_write_loses_nothing():
    """Old firmware appended cursor records after a 5-byte fragment: every later one was
    misaligned. They are found at any offset, the highest wins."""
    st = PrefixStorage(tmpdir())
    ends = write_format1(st, n=6, delivered=1)
    with st.open("/q/1-default/cursor", "ab") as f:
        f.write(_cursor(0, ends[3])[:5])
        f.write(_cursor(0, ends[3]))
    assert _drain(_box(st)) == ["old-4", "old-5"]


def test_open_never_raises_on_a_full_card_after_a_torn_cursor_write():
    """Finding 4: opening compacted a torn cursor file on a full card and raised ENOSPC."""
    st = FullStorage(tmpdir(), 64 * 512, kind="fat", block=512)
    write_format1(st, n=4, delivered=1, torn_cursor=True)
    st.fill(0)
    box = _box(st)  # must not raise
    assert box.pending() == 3
    assert _drain(box) == ["old-1", "old-2", "old-3"]


def test_open_never_raises_when_a_lane_journal_is_damaged_on_a_full_card():
    st = FullStorage(tmpdir(), 64 * 512, kind="fat", block=512)
    box = _box(st)
    for i in range(3):
        lane = box.put("detection", data={"i": i}, key="k%d" % i).lane
    with st.open(lane.dir + "/journal", "r+b") as f:
        f.write(b"\0" * 544)  # both halves spoilt
    st.fill(0)
    again = _box(st)  # rebuilt from the segments (FAT frees the old journal's cluster first)
    assert again.counters["recovered"] == 1
    assert _drain(again) == ["k0", "k1", "k2"]


def test_open_never_raises_when_the_queue_folder_cannot_be_read():
    class Broken(PrefixStorage):
        def iter_names(self, path):
            raise OSError(5)

        def exists(self, path):
            return True

    box = _box(Broken(tmpdir()))
    assert box.pending() == 0 and box.counters["open_errors"] == 1


def _drain_with_cut(st):
    got = []
    try:
        box = _box(st)
        while True:
            item = box.next()
            if item is None:
                break
            got.append(item.key)
            box.done(item)
    except PowerCut:
        pass
    return got


def test_draining_a_format1_lane_survives_a_cut_at_every_step():
    probe = CuttingStorage(tmpdir())
    write_format1(probe, n=4, delivered=1)
    probe.used = 0
    _drain_with_cut(probe)
    assert probe.used > 40
    for budget in range(0, probe.used + 2, 2):
        st = CuttingStorage(tmpdir())
        write_format1(st, n=4, delivered=1)
        st.budget = budget
        first = _drain_with_cut(st)
        rest = _drain(_box(PrefixStorage(st.root)))
        assert set(first) | set(rest) == set(["old-1", "old-2", "old-3"]), (budget, first, rest)
        assert len(rest) == len(set(rest)) and all(k not in first[:-1] for k in rest), \
            (budget, first, rest)


def test_a_lane_open_could_not_list_is_recovered_not_overwritten():
    st = PrefixStorage(tmpdir())
    box = _box(st)
    for i in range(3):
        box.put("detection", data={"i": i}, key="k%d" % i)
    late = Outbox(st, root="/q")  # open() never ran (or could not list the folder)
    late.put("detection", data={"i": 3}, key="k3")
    assert _drain(_box(st)) == ["k0", "k1", "k2", "k3"]
