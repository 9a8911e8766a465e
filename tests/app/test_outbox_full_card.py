"""The App on a full card: the outbox opens (no reset loop), drains, and keeps its keys."""
from pathlib import Path

import pytest

from host_sim import Board, SimStorage, Simulation, WifiModel, scenes
from host_sim.demo import log_tail, provision
from host_sim.storage import Filesystem

from format1 import write_format1


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


def _board(sim, tmp_path, extra=None, **kw):
    cloud = Filesystem("cloud", str(tmp_path / "cloud"), 1 << 30)
    kw.setdefault("wifi", WifiModel("sim-forest", "sim-password"))
    b = Board("cam-01", tmp_path, sim=sim, scene=scenes.empty(seed=1), mounts={"cloud": cloud},
              **kw)
    provision(b, burst=2, extra=extra)
    return b


def _fill(fs, leave=0):
    Path(fs.root, "filler.bin").write_bytes(b"\0" * max(0, fs.free() - leave))
    fs.used = fs.scan_used()


def test_a_full_card_with_a_torn_old_cursor_boots_and_drains(sim, tmp_path):
    """Finding 4 on the board: opening used to compact the torn cursor on the full card,
    raise ENOSPC out of App._build_sync and reset the camera again and again."""
    b = _board(sim, tmp_path, sd_capacity=2 << 20, sd_block=4096)
    write_format1(SimStorage(b.flash, b.sd), lane="2-events", n=4, delivered=1,
                  torn_cursor=True, root="/sd/outbox")
    b.sd.used = b.sd.scan_used()
    _fill(b.sd)
    b.power_on()
    sim.run_for(120)
    assert b.counters["crashes"] == 0 and b.counters["boots"] == 1
    delivered = sorted(p.stem for p in (tmp_path / "cloud" / "cam-01").glob("old-*.json"))
    assert delivered == ["old-1", "old-2", "old-3"]
    assert not Path(b.sd.root, "outbox", "2-events").exists()  # drained, removed
    assert "open failed" not in "\n".join(log_tail(b, 50))


def test_without_an_sd_card_the_queue_leaves_flash_for_the_rest(sim, tmp_path):
    """Finding 1b on the board: with no card the outbox is on ~1 MB of flash while
    sync.max_queue_mb says 64 MB; it must budget from the flash's free space (evicting old
    heartbeats) and leave wiring.FLASH_KEEP_FREE to logs, config and OTA staging."""
    from wildcam.wiring import FLASH_KEEP_FREE
    b = _board(sim, tmp_path, extra={"health.interval_s": 60},
               wifi=WifiModel("other-net", "x"))  # never online: everything queues
    b.sd.present = False
    _fill(b.flash, FLASH_KEEP_FREE + 160 * 1024)  # the log ring takes ~70 KB of it
    b.power_on()
    sim.run_for(3 * 3600)  # ~180 heartbeats of ~1 KB: more than the ~90 KB it may use
    assert b.counters["crashes"] == 0 and b.counters["boots"] == 1
    assert Path(b.flash.root, "outbox").is_dir()
    tail = "\n".join(log_tail(b, 400))
    assert "not queued" not in tail and "Errno 28" not in tail
    assert b.flash.free() > FLASH_KEEP_FREE - 32 * 1024  # logs may use some of it
    from wildcam.queue.outbox import Outbox
    box = Outbox(SimStorage(b.flash, b.sd), "/outbox").open()
    evicted = [d for d in box.dead_letters(100) if d["r"] == "evicted"]
    assert box.pending() >= 5 and box.depth()["health"] == box.pending() and evicted
