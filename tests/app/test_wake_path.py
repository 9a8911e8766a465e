"""The PIR-wake path on a simulated battery camera: the wake boot's first stored picture comes
before anything that can wait.

A wake from deep sleep is a reset: every module is imported again. The simulator's boards
share one CPython process, so this test gives each boot a fresh import of the firmware
(`fresh_entry`) and looks, at the moment the wake boot's first JPEG frame leaves the camera
driver, at what the boot has imported and done: no network, queue, OTA, management or cloud
module loaded, the radio still off, nothing written to flash, no look frame taken yet. The
sync window is open all day and items are pending, so the boot does turn the radio on, after
the picture.
"""
import sys

import pytest

import host_sim
from host_sim import Simulation
from host_sim.fleet import battery_board
from host_sim.hw import cnadler86
from host_sim.scenes.creature import Creature, Walk
from host_sim.scenes.texture import Backdrop
from host_sim.scenes.wild import WildScene

WAITING = ("wildcam.net", "wildcam.queue", "wildcam.ota", "wildcam.manage", "wildcam.dest",
           "wildcam.wiring")
# with the first-shot record the last sleep left in RTC memory, not even these come first
AFTER_FIRST_SHOT = ("wildcam.core.config", "wildcam.core.schema", "wildcam.core.log",
                    "wildcam.capture.service", "wildcam.capture.store", "wildcam.power",
                    "wildcam.devices")
CROSSINGS = (1800.0, 3600.0)  # two PIR wakes: the second one has items pending


def _ours(name):
    return name == "wildcam" or name.startswith("wildcam.")


@pytest.fixture
def fresh_modules():
    """Each boot imports the firmware afresh, as a reset does; the test process gets its own
    modules back afterwards."""
    saved = {k: v for k, v in sys.modules.items() if _ours(k)}
    yield
    for k in [k for k in sys.modules if _ours(k)]:
        del sys.modules[k]
    sys.modules.update(saved)


def fresh_entry(storage):
    for k in [k for k in sys.modules if _ours(k)]:
        del sys.modules[k]
    import wildcam.app
    return wildcam.app.App(storage).run()


@pytest.fixture
def trace(monkeypatch):
    """(virtual time, board name, what, detail) for every frame and every radio switch-on."""
    host_sim.install()
    import network  # the board's module (host_sim/mpy), as the firmware imports it

    out = []
    capture, active = cnadler86.Camera.capture, network.WLAN.active

    def traced_capture(self):
        view = capture(self)
        if view is not None:
            fmt = "jpeg" if self.get_pixel_format() == cnadler86.PixelFormat.JPEG else "look"
            mods = sorted(k for k in sys.modules if _ours(k))
            b = self._board
            out.append((b.now, b.name, fmt, mods, _flash(b)))
        return view

    def traced_active(self, *a):
        if a and a[0] and self._if == network.STA_IF:
            b = self._board
            out.append((b.now, b.name, "radio", b.wake_reason))
        return active(self, *a)

    monkeypatch.setattr(cnadler86.Camera, "capture", traced_capture)
    monkeypatch.setattr(network.WLAN, "active", traced_active)
    return out


def _flash(b):
    """(writes, bytes) the firmware has made to the board's flash filesystem so far."""
    c = b.storage.flash.counters
    return c["writes"], c["bytes"]


def _scene():
    walkers = [Creature(20 + i, Walk(-0.2, 0.6, 0.12, t0=t), size=0.3, start=t, end=t + 12,
                        shade=40, tex=8, pir_from=t) for i, t in enumerate(CROSSINGS)]
    return WildScene(Backdrop(3), animals=walkers, seed=3, noise=2.0)


def _wake_boot(trace, at):
    """The trace of the boot woken by the crossing at `at`: from its first frame on."""
    return [e for e in trace if at <= e[0] < at + 120]


def test_a_pir_wake_photographs_before_it_imports_or_switches_on_anything_that_waits(
        fresh_modules, trace, tmp_path):
    sim = Simulation()
    try:
        b = battery_board(sim, tmp_path, _scene(), extra={"sync.windows": "00:00-23:59"})
        log = b.log

        def log_sleep(kind, **detail):  # the flash as the board left it before each sleep
            if kind == "deepsleep":
                trace.append((b.now, b.name, "sleep", None, _flash(b)))
            log(kind, **detail)

        b.log = log_sleep
        b.power_on(fresh_entry)
        sim.run_for(CROSSINGS[1] + 300)
        assert b.events_of("deepsleep"), "the battery camera never slept"
        for at in CROSSINGS:
            boot = _wake_boot(trace, at)
            frames = [e for e in boot if e[2] in ("jpeg", "look")]
            assert frames, "no frame after the PIR at %s" % at
            t, _, kind, mods, flash = frames[0]
            slept = [e for e in trace if e[2] == "sleep" and e[0] < at][-1]
            assert flash == slept[4], "flash written before the first picture: %s -> %s" % (
                slept[4], flash)
            assert kind == "jpeg", "the wake looked before it photographed: %s" % frames[:3]
            loaded = [m for m in mods if m.startswith(WAITING + AFTER_FIRST_SHOT)]
            assert loaded == [], "imported before the first picture: %s" % loaded
            radio = [e for e in boot if e[2] == "radio"]
            assert all(e[0] >= t for e in radio), (radio, t)
        # the second wake had items to send and an open window: it did use the radio, later
        assert [e for e in _wake_boot(trace, CROSSINGS[1]) if e[2] == "radio"]
    finally:
        sim.close()


def test_a_burst_cut_off_before_its_verdict_is_handed_over_at_the_next_boot(
        fresh_modules, trace, tmp_path, monkeypatch):
    """Power fails while the wake judges its burst: the pictures are on the card and in the
    pending marker; the next boot hands them over unjudged, and the next PIR wake's own
    marker does not make it forget them."""
    import json
    from pathlib import Path

    sim = Simulation()
    try:
        b = battery_board(sim, tmp_path, _scene(), extra={"sync.windows": "00:00-23:59"})
        capture = cnadler86.Camera.capture
        cut = []

        def cut_after_burst(self):
            view = capture(self)
            boot = [e[2] for e in trace if e[0] >= CROSSINGS[0]]
            if not cut and boot.count("jpeg") >= 3 and boot[-1] == "look":
                cut.append(self._board.now)
                self._board.cut_power(restore_after=30)  # during the verdict window
            return view

        monkeypatch.setattr(cnadler86.Camera, "capture", cut_after_burst)
        b.power_on(fresh_entry)
        sim.run_for(CROSSINGS[1] + 300)
        assert cut
        sides = {p.name: json.loads(p.read_text())
                 for p in Path(b.sd.root, "DCIM").rglob("*.json") if p.name != "pending.json"}
        first = sorted(n for n, s in sides.items() if s["boot"] == min(
            s["boot"] for s in sides.values() if s["trigger"] == "pir-wake"))
        assert len(first) == 3 and all(sides[n]["verdict"] == "unchecked" for n in first)
        later = [s for s in sides.values() if s["verdict"] == "motion"]
        assert later, "the second crossing was not judged"
        cloud = {p.name for p in Path(tmp_path, "cloud").rglob("*.jpg")}
        for n in first:
            assert any(c.endswith(n[:-5] + ".jpg") or n[:-5] in c for c in cloud), (n, cloud)
        assert not Path(b.sd.root, "DCIM", "pending.json").exists()
    finally:
        sim.close()


def test_a_wake_without_a_first_shot_record_still_photographs_first(
        fresh_modules, trace, tmp_path):
    """RTC memory from other firmware (or none): the ordinary path reads the config, and
    still nothing that can wait comes before the picture."""
    sim = Simulation()
    try:
        b = battery_board(sim, tmp_path, _scene(), extra={"sync.windows": "00:00-23:59"})
        log = b.log

        def forget_record(kind, **detail):
            if kind == "deepsleep":
                b.rtc.set_memory(b"")  # as after other firmware: no record to trust
            log(kind, **detail)

        b.log = forget_record
        b.power_on(fresh_entry)
        sim.run_for(CROSSINGS[0] + 300)
        boot = _wake_boot(trace, CROSSINGS[0])
        frames = [e for e in boot if e[2] in ("jpeg", "look")]
        assert frames and frames[0][2] == "jpeg"
        mods = frames[0][3]
        assert "wildcam.core.config" in mods  # the ordinary path: settings from the config
        assert [m for m in mods if m.startswith(WAITING)] == []
    finally:
        sim.close()


def test_the_first_shot_keeps_the_burst_whole_and_its_flash_decision(fresh_modules, tmp_path):
    """The frame taken from the record is the burst's first image: three images per wake,
    numbered 1..3, with the flash the record decided (night: no light level yet -> lit)."""
    import json
    from pathlib import Path

    sim = Simulation()
    try:
        b = battery_board(sim, tmp_path, _scene(), extra={"sync.windows": "00:00-23:59"})
        b.power_on(fresh_entry)
        sim.run_for(CROSSINGS[1] + 300)
        sides = [json.loads(p.read_text()) for p in Path(b.sd.root, "DCIM").rglob("*.json")
                 if p.name != "pending.json"]
        by_event = {}
        for s in sides:
            by_event.setdefault(s["event"], []).append(s)
        assert len(by_event) == 2
        for shots in by_event.values():
            assert sorted(s["seq"] for s in shots) == [1, 2, 3]
            assert len({s["flash"] for s in shots}) == 1
    finally:
        sim.close()


def test_a_burst_cut_off_after_its_first_image_loses_none_of_it(
        fresh_modules, trace, tmp_path, monkeypatch):
    """Power fails between the burst's first and second image: the first is in the pending
    marker already; the next boot hands it over unjudged and it reaches the destination."""
    import json
    from pathlib import Path

    sim = Simulation()
    try:
        b = battery_board(sim, tmp_path, _scene(), extra={"sync.windows": "00:00-23:59"})
        capture = cnadler86.Camera.capture
        cut = []

        def cut_after_first_image(self):
            view = capture(self)
            board = self._board
            saved = list(Path(board.sd.root, "DCIM").rglob("*_0001.json"))
            if not cut and board.now >= CROSSINGS[0] and saved:
                cut.append(board.now)
                board.cut_power(restore_after=30)
            return view

        monkeypatch.setattr(cnadler86.Camera, "capture", cut_after_first_image)
        b.power_on(fresh_entry)
        sim.run_for(CROSSINGS[1] + 300)
        assert cut
        first = min(Path(b.sd.root, "DCIM").rglob("*_0001.json"))
        side = json.loads(first.read_text())
        assert side["verdict"] == "unchecked", side  # handed over, not left "pending"
        cloud = {p.name for p in Path(tmp_path, "cloud").rglob("*.jpg")}
        assert any(first.name[:-5] in c for c in cloud), (first.name, cloud)
    finally:
        sim.close()
