"""Battery operation on a simulated board: deep sleep between events, PIR wakes, uploads
only in the sync window, heartbeats on a timer, RTC state kept across sleeps."""
import json
from pathlib import Path

import pytest

from host_sim import Simulation
from host_sim.demo import log_tail
from host_sim.fleet import battery_board
from host_sim.scenes.elements import Animal


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


def _battery_board(sim, tmp_path, scene, extra=None):
    return battery_board(sim, tmp_path, scene, extra=extra)


def test_a_battery_day_sleeps_wakes_on_pir_and_uploads_in_the_window(sim, tmp_path):
    visits = [Animal(t, size=0.3, speed=0.1) for t in (2 * 3600, 9 * 3600, 15 * 3600)]
    from host_sim.scenes.base import Scene
    b = _battery_board(sim, tmp_path, Scene(7, visits))
    b.power_on()
    sim.run_for(24 * 3600)
    log = "\n".join(log_tail(b, 2000))
    sides = [json.loads(p.read_text()) for p in Path(b.sd.root, "DCIM").rglob("*.json")]
    assert len(sides) == 9 and {s["trigger"] for s in sides} == {"pir-wake"}
    assert "deep sleep" in log and "SAFE MODE" not in log
    cloud = tmp_path / "cloud" / "cam-b"
    # everything captured before 06:30 went out in the window; later images wait for tomorrow
    uploaded = sorted(p.name for p in cloud.glob("*.jpg")) if cloud.exists() else []
    assert len(uploaded) == 3
    rep = b.report()["energy"]
    assert rep["by_state"]["deep_sleep"]["share"] > 0.5  # sleeping dominates a quiet day
    assert b.energy.seconds["awake_wifi"] < 3600  # the radio stayed off most of the day
    state = json.loads(Path(b.flash.root, "state", "boot.json").read_text())
    assert state["unstable"] <= 1  # sleeping is not crashing


def test_low_battery_shortens_bursts(sim, tmp_path):
    from host_sim import Battery
    visits = [Animal(300, size=0.3, speed=0.1)]
    from host_sim.scenes.base import Scene
    b = _battery_board(sim, tmp_path, Scene(8, visits))
    b.battery = Battery(soc=0.5)  # 3.7 V on the simulated cell: about 25 %, below low_pct
    b.power_on()
    sim.run_for(1200)
    sides = [json.loads(p.read_text()) for p in Path(b.sd.root, "DCIM").rglob("*.json")]
    assert len(sides) == 1 and sides[0]["of"] == 1
    assert "battery mode: tier low" in "\n".join(log_tail(b, 200))


def test_critical_battery_sleeps_without_pir_or_radio(sim, tmp_path):
    from host_sim import Battery
    from host_sim.scenes.base import Scene
    b = _battery_board(sim, tmp_path, Scene(9, [Animal(300, size=0.3, speed=0.1)]))
    b.battery = Battery(soc=0.1)  # 3.3 V: about 0 %
    b.power_on()
    sim.run_for(3600)
    log = "\n".join(log_tail(b, 200))
    assert "battery mode: tier critical, uploads none" in log
    assert "deep sleep 21600 s (timer wake; battery tier critical)" in log
    assert not list(Path(b.sd.root).rglob("*.jpg"))  # the animal did not wake it
    assert b.energy.seconds.get("awake_wifi", 0) == 0


def test_rtc_state_survives_sleep_and_corruption_is_reported(sim, tmp_path):
    from host_sim.scenes.base import Scene
    b = _battery_board(sim, tmp_path, Scene(10, []))
    b.power_on()
    sim.run_for(3 * 3600)
    log = "\n".join(log_tail(b, 400))
    assert log.count("deep sleep") >= 2
    with b.active():
        import machine
        raw = bytearray(machine.RTC().memory())
        assert raw[:2] == b"WC"
        raw[12] ^= 0xFF
        machine.RTC().memory(bytes(raw))
    sim.run_for(6 * 3600)
    assert "RTC memory corrupted (CRC); starting fresh" in "\n".join(log_tail(b, 400))


@pytest.mark.parametrize("critical", [False, True])
def test_the_sleep_record_counts_time_asleep_with_and_without_the_pir(sim, tmp_path, critical):
    """Effort for the export: sleep with the PIR armed counts, timer-only sleep does not."""
    from host_sim import Battery
    from host_sim.scenes.base import Scene
    b = _battery_board(sim, tmp_path, Scene(12, []))
    b.battery = Battery(soc=0.1 if critical else 0.95)
    b.power_on()
    sim.run_for(13 * 3600)
    with b.active():
        from wildcam.core.rtcstate import RtcState

        rtc = RtcState().load()
    assert rtc.problem is None and rtc.get("sleeps") >= 2
    armed, blind = rtc.get("armed_s"), rtc.get("blind_s")
    if critical:  # PIR off: the camera could not detect anything while asleep
        assert armed == 0 and blind >= 6 * 3600
    else:
        assert blind == 0 and armed >= 10 * 3600


def _sleeps(b):
    import re
    return [(int(m.group(1)), m.group(2)) for m in
            re.finditer(r"deep sleep (\d+) s \((PIR or timer|timer) wake", "\n".join(log_tail(b, 400)))]


def test_a_short_pir_pulse_keeps_the_pir_armed_through_the_quiet_period(sim, tmp_path):
    """Issue 21: after an event whose PIR output is low again (a gust, a fast animal), the
    board sleeps with the PIR armed: no extra timer wake to end the quiet period."""
    from host_sim.scenes.base import Scene
    b = _battery_board(sim, tmp_path, Scene(21, [Animal(600, size=0.1, speed=1.0)]))
    b.power_on()
    sim.run_for(900)
    sleeps = _sleeps(b)
    assert len(list(Path(b.sd.root, "DCIM").rglob("*.jpg"))) == 3
    after = sleeps[-1]
    assert after[1] == "PIR or timer" and after[0] > 60, sleeps
    assert not [s for s in sleeps if s[1] == "timer" and s[0] <= 30], sleeps


def test_an_animal_still_in_view_is_waited_out_in_light_sleep_not_a_timer_boot(sim, tmp_path):
    """The PIR is level-triggered: while its output is high, arming it would wake the board
    at once. Issue 21: instead of a timer wake at the quiet period's end (a whole boot only to
    re-arm), the board waits in light sleep (quiesced, pins held) for the output to fall,
    ext0 on level low, then deep-sleeps with ext0 armed on high: no timer re-arm boot."""
    from host_sim import constants as C
    from host_sim.scenes.base import Scene
    scene = Scene(22, [Animal(600, size=0.3, speed=0.05), Animal(1500, size=0.1, speed=1.0)])
    b = _battery_board(sim, tmp_path, scene)
    b.power_on()
    sim.run_for(1499)
    (start, fall), (later, _) = scene._pir
    event = [t for t, k, d in b.events if k == "boot" and d["wake"] == C.EXT0_WAKE]
    assert event == [start], b.events  # one PIR wake, nothing boots after it
    after = [(t, k, d) for t, k, d in b.events if t > start and k in (
        "boot", "deepsleep", "lightsleep", "lightsleep_wake")]
    (t0, k0, light), (t1, k1, woke), (t2, k2, deep) = after
    assert k0 == "lightsleep" and light["ext0"] == (b.pir_pin, False)  # wait for LOW
    assert not light["camera_powered"] and fall - 30 < t0 < fall  # the event was done
    assert k1 == "lightsleep_wake" and woke["reason"] == C.EXT0_WAKE and t1 == fall
    assert k2 == "deepsleep" and deep["ext0"] == (b.pir_pin, True) and t2 == fall
    assert deep["ms"] > 3600_000 and not deep["camera_powered"]
    assert not [s for s in _sleeps(b) if s[1] == "timer"], _sleeps(b)
    assert abs(b.energy.seconds["light_sleep"] - (fall - t0)) < 1e-6
    with b.active():
        from wildcam.core.rtcstate import RtcState
        before = RtcState().load()
    sim.run_for(100)  # the next visit's wake accounts the sleep: light sleep is blind time
    with b.active():
        now = RtcState().load()
    blind = now.get("blind_s") - before.get("blind_s")
    armed = now.get("armed_s") - before.get("armed_s")
    assert 29 <= blind <= 31 and abs(armed + blind - (later - t0)) <= 2, (blind, armed)


def test_a_pir_wake_in_the_quiet_period_takes_no_picture(sim, tmp_path, monkeypatch):
    """A second PIR edge before `quiet_until` (RTC memory) wakes the board, which drops it
    before any frame (counted as suppressed) and sleeps again."""
    from host_sim.hw import cnadler86
    from host_sim.scenes.base import Scene
    visits = [Animal(600, size=0.1, speed=1.0), Animal(615, size=0.1, speed=1.0)]
    b = _battery_board(sim, tmp_path, Scene(23, visits))
    starts = []
    init = cnadler86.Camera.init

    def counted_init(self, *a, **k):
        starts.append(self._board.now)
        return init(self, *a, **k)

    monkeypatch.setattr(cnadler86.Camera, "init", counted_init)
    b.power_on()
    sim.run_for(900)
    log = "\n".join(log_tail(b, 400))
    assert "PIR wake in the quiet period: ignored" in log
    assert len(list(Path(b.sd.root, "DCIM").rglob("*.jpg"))) == 3  # the first visit only
    assert b.camera.captures < 40 and "SAFE MODE" not in log
    # not even the first shot (wildcam.capture.first) started the camera or lit the LED
    wake = [t for t, k, _ in b.events if k == "boot" and 612 < t < 640]
    assert wake, b.events
    assert not [t for t in starts if wake[0] <= t < wake[0] + 10], (wake, starts)
    assert not [t for t, lvl in b.led_log if lvl and wake[0] <= t < wake[0] + 10], b.led_log


def test_the_board_sleeps_when_its_event_is_done_not_power_awake_s_later(sim, tmp_path):
    """Issue 21: an event's end keeps the board up only while its records want the radio
    (`draining`); outside the sync window it sleeps at once, whatever power.awake_s says."""
    from host_sim.scenes.base import Scene
    b = _battery_board(sim, tmp_path, Scene(24, [Animal(600, size=0.1, speed=1.0)]),
                       extra={"power.awake_s": 120})
    b.power_on()
    sim.run_for(900)
    assert len(list(Path(b.sd.root, "DCIM").rglob("*.jpg"))) == 3
    boots = [t for t, k, _ in b.events if k == "boot" and 590 < t < 700]
    sleeps = [t for t, k, _ in b.events if k == "deepsleep" and t > boots[0]]
    assert sleeps[0] - boots[0] < 20  # burst, look frames, stored: asleep (virtual seconds)


def test_the_quiet_part_of_a_pir_armed_sleep_counts_as_blind(sim, tmp_path):
    """Survey effort stays honest with the PIR armed in the quiet period: triggers there are
    dropped, so that part of the sleep is blind_s, the rest armed_s."""
    from host_sim.scenes.base import Scene
    visits = [Animal(600, size=0.1, speed=1.0), Animal(800, size=0.1, speed=1.0)]
    b = _battery_board(sim, tmp_path, Scene(25, visits))
    b.power_on()
    sim.run_for(700)  # the first visit's wake has accounted the sleep before it
    with b.active():
        from wildcam.core.rtcstate import RtcState
        before = RtcState().load()
    sim.run_for(200)
    with b.active():
        after = RtcState().load()
    assert len(list(Path(b.sd.root, "DCIM").rglob("*.jpg"))) == 6
    blind = after.get("blind_s") - before.get("blind_s")
    armed = after.get("armed_s") - before.get("armed_s")
    assert 20 <= blind <= 30 and 150 <= armed <= 200, (blind, armed)


def test_a_quiet_until_from_a_clock_set_back_does_not_silence_the_pir(sim, tmp_path):
    """`quiet_until` further away than capture.quiet_s (the RTC was set back after it was
    written) is stale: the next PIR wake photographs as usual."""
    from host_sim.scenes.base import Scene
    b = _battery_board(sim, tmp_path, Scene(26, [Animal(600, size=0.1, speed=1.0)]))
    b.power_on()
    sim.run_for(300)
    with b.active():
        from wildcam.core import clock
        from wildcam.core.rtcstate import RtcState
        rtc = RtcState().load()
        rtc.set("quiet_until", clock.rtc_seconds() + 10 * 86400)
        rtc.save()
    sim.run_for(400)
    assert len(list(Path(b.sd.root, "DCIM").rglob("*.jpg"))) == 3
    assert "quiet period: ignored" not in "\n".join(log_tail(b, 400))


def test_a_lowered_jpeg_quality_carries_over_deep_sleep(sim, tmp_path):
    """A noisy scene's JPEG at quality 85 overflows the driver's buffer (capture.cam lowers
    the quality and takes it again); the next wakes, timer wakes between them included, start
    at the lowered quality from the first-shot record instead of failing again."""
    from host_sim.scenes.creature import Creature, Walk
    from host_sim.scenes.texture import Backdrop
    from host_sim.scenes.wild import WildScene
    visits = [Creature(20 + i, Walk(-0.2, 0.6, 0.12, t0=t), size=0.3, start=t, end=t + 12,
                       shade=40, tex=8, pir_from=t) for i, t in enumerate((600, 2400, 4200))]
    # sensor noise enough for an 84 KB JPEG at quality 85 (the VGA buffer holds 61 KB)
    b = _battery_board(sim, tmp_path, WildScene(Backdrop(3), animals=visits, seed=3,
                                                noise=16.0))
    b.power_on()
    sim.run_for(5000)
    log = "\n".join(log_tail(b, 2000))
    sides = [json.loads(p.read_text()) for p in Path(b.sd.root, "DCIM").rglob("*.json")
             if p.name != "pending.json"]
    events = {s["event"] for s in sides if s["trigger"] == "pir-wake"}
    assert len(events) == 3, log
    assert log.count("JPEG quality lowered") == 1, log
    assert "timer wake" in log  # heartbeats woke it between the visits
