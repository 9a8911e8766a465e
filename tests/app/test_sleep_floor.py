"""Deep sleep at the hardware floor: the camera powered down and its PWDN pin held through
deep sleep, the hold released at the next boot before the camera starts; the simulated
sleep current follows the pads, so a firmware that forgets the hold draws 20+ mA asleep."""
import json
from pathlib import Path

import pytest

from host_sim import Simulation
from host_sim.board import Board
from host_sim.demo import log_tail
from host_sim.energy import BOARDS, floor_ma, sleep_ma
from host_sim.fleet import battery_board
from host_sim.scenes.base import Scene
from host_sim.scenes.elements import Animal


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


def _day(sim, tmp_path, hours=3):
    visits = [Animal(t, size=0.3, speed=0.1) for t in (1800, 5400)]
    b = battery_board(sim, tmp_path, Scene(5, visits))
    b.power_on()
    sim.run_for(hours * 3600)
    b.account_energy()
    return b


def _sleeps(b):
    return [e[2] for e in b.events_of("deepsleep")]


def test_deep_sleep_powers_the_camera_down_and_holds_pwdn(sim, tmp_path):
    b = _day(sim, tmp_path)
    sleeps = _sleeps(b)
    assert len(sleeps) >= 3
    assert all(not s["camera_powered"] and not s["led_on"] for s in sleeps), sleeps
    e = b.energy
    assert e.seconds["deep_sleep"] > 3 * 3600 * 0.9 and e.seconds["deep_sleep_cam_on"] == 0
    # the simulated sleep current is the variant's floor (modified board: ~1.47 mA)
    assert e.mah["deep_sleep"] / (e.seconds["deep_sleep"] / 3600) == \
        pytest.approx(floor_ma("ai-thinker-mod"))
    # every wake released the hold before the camera started: both visits were captured
    sides = [json.loads(p.read_text()) for p in Path(b.sd.root, "DCIM").rglob("*.json")]
    assert {s["trigger"] for s in sides} == {"pir-wake"} and len(sides) >= 2
    assert "ESP_ERR_NOT_FOUND" not in "\n".join(log_tail(b, 3000))


def test_a_firmware_that_skips_the_hold_draws_20_ma_asleep(sim, tmp_path, monkeypatch):
    import wildcam.core.board

    monkeypatch.setattr(wildcam.core.board, "hold_pins", lambda pwdn, led: None)  # planted
    b = _day(sim, tmp_path)
    assert all(s["camera_powered"] for s in _sleeps(b))
    e = b.energy
    asleep = e.seconds["deep_sleep"] + e.seconds["deep_sleep_cam_on"]
    avg_ma = (e.mah["deep_sleep"] + e.mah["deep_sleep_cam_on"]) / (asleep / 3600)
    assert avg_ma >= 20.0


def test_a_hold_never_released_keeps_the_camera_off(sim, tmp_path, monkeypatch):
    import wildcam.core.board

    monkeypatch.setattr(wildcam.core.board, "release_holds", lambda pwdn, led: None)  # planted
    b = _day(sim, tmp_path)
    sides = list(Path(b.sd.root, "DCIM").rglob("*.json"))
    assert sides == []  # the sensor stayed powered down at every PIR wake: nothing captured
    assert b.camera.inits > 0


def test_sleep_current_by_variant_sd_card_and_led():
    for v in BOARDS:
        assert sleep_ma(v, True) >= 20.0 > floor_ma(v)
        assert floor_ma(v, sd_card=False) < floor_ma(v)
        assert sleep_ma(v, False, led_on=True) > 200
    assert floor_ma("ai-thinker-mod") < 1.6 < floor_ma("ai-thinker") < 6.0


@pytest.mark.parametrize("variant,reads", [("ai-thinker-mod", True), ("ai-thinker", False)])
def test_the_battery_is_read_by_default_where_the_preset_has_a_divider(sim, tmp_path, variant,
                                                                       reads):
    from host_sim import Battery
    b = battery_board(sim, tmp_path, Scene(3, []), variant=variant)
    b.battery = Battery(soc=0.5)
    b.power_on()
    sim.run_for(60)
    log = "\n".join(log_tail(b, 200))
    if reads:  # GPIO33 through the 100k/100k divider, read before WiFi starts
        assert "battery 3.7" in log and "battery mode: tier low" in log, log
    else:  # the stock board has no divider: nothing to read, and it says so
        assert "battery None V" in log and "tier normal" in log


def test_preset_battery_pin_and_override():
    from wildcam.core import presets

    class Cfg(dict):
        get = dict.__getitem__

    base = {"camera.board": "ai-thinker-mod", "pins.battery_adc": -2,
            "power.battery_divider": 3.0}
    assert presets.battery_adc(Cfg(base)) == (33, 2.0)
    assert presets.battery_adc(Cfg(base, **{"camera.board": "ai-thinker"})) == (-1, 2.0)
    assert presets.battery_adc(Cfg(base, **{"pins.battery_adc": 14})) == (14, 3.0)
    assert presets.battery_adc(Cfg(base, **{"pins.battery_adc": -1})) == (-1, 3.0)
    for name, row in presets.PRESETS.items():  # the firmware's expectations = the simulator's
        p = row["power"]
        assert p["sleep_ua"] == pytest.approx(floor_ma(name) * 1000, abs=1)
        assert p["sleep_ua_cam_on"] == pytest.approx(sleep_ma(name, True) * 1000, abs=1)
        assert BOARDS[name]["pwdn"] == row["cam"]["pwdn"]


# --- the shims: pad hold as the esp32 port does it -------------------------------------------
@pytest.fixture
def board(sim, tmp_path):
    b = Board("hold", tmp_path, sim=sim)
    with b.active():
        yield b


def test_a_held_pad_ignores_writes_until_released(board):
    from host_sim.mpy import machine

    p = machine.Pin(32, machine.Pin.OUT, value=1, hold=True)
    p.value(0)
    assert board.pins.get(32).level() == 1  # the pad keeps the held level
    p.init(hold=False)  # outstanding changes reach the pad
    assert board.pins.get(32).level() == 0
    p.init(value=1, hold=True)
    assert board.pins.get(32).level() == 1
    machine.Pin(36, machine.Pin.IN, hold=True)  # input-only: no pad hold (machine_pin.c)
    assert board.pins.get(36).held is None


def test_holds_in_deep_sleep_rtc_and_digital_pads(board):
    from host_sim.mpy import esp32, machine

    machine.Pin(32, machine.Pin.OUT, value=1, hold=True)  # RTC GPIO: kept in deep sleep
    machine.Pin(19, machine.Pin.OUT, value=1, hold=True)  # digital: only with the global hold
    machine.Pin(33, machine.Pin.OUT, value=1)  # not held: floats in deep sleep
    st = board.pins.get
    assert st(32).sleep_level(board.deep_sleep_hold) == 1
    assert st(19).sleep_level(board.deep_sleep_hold) is None
    assert st(33).sleep_level(board.deep_sleep_hold) is None
    esp32.gpio_deep_sleep_hold(True)
    assert st(19).sleep_level(board.deep_sleep_hold) == 1
    # a new boot resets the registers but keeps the holds; a power loss clears them
    board.pins.reset()
    assert st(32).level() == 1 and st(32).mode is None
    board.pins.reset(power_loss=True)
    assert st(32).held is None and st(32).level() == 0


def test_before_sleep_the_camera_and_radio_are_off(sim, tmp_path, monkeypatch):
    import wildcam.devices

    seen = []
    real = wildcam.devices._quiesce

    def spy(app):
        real(app)
        seen.append((app.cam._cam is None, app.link is None or not app.link.wlan().active()))

    monkeypatch.setattr(wildcam.devices, "_quiesce", spy)
    b = _day(sim, tmp_path, hours=1)
    assert len(seen) == len(_sleeps(b)) >= 2
    assert all(cam_off and radio_off for cam_off, radio_off in seen), seen
