"""bench power's pricing: a day spent only asleep at the floor is the floor; every awake
part and per-event cost adds charge; low <= central <= high days."""
import pytest

from bench import power
from host_sim.energy import floor_ma


def _run(**seconds):
    base = {"deep_sleep": 86400.0}
    base.update(seconds)
    return {"seconds": base, "events": {"boot": 0, "camera_init": 0, "tls": 0},
            "items_sent_per_day": 0, "bytes_sent_per_day": 0}


def test_a_day_only_asleep_is_the_floor():
    f = power.figures(_run(), "ai-thinker-mod")
    assert f["sleep_ma"] == pytest.approx(floor_ma("ai-thinker-mod"), abs=1e-3)
    # one kept-alive TLS handshake for the window is charged even on an empty day
    assert f["awake_share"] < 0.01
    assert f["battery_days_central"] == pytest.approx(f["battery_days_floor"], rel=0.01)


def test_every_cost_is_charged_and_the_cases_are_ordered():
    quiet = power.figures(_run(), "ai-thinker-mod")
    run = _run(deep_sleep=86000.0, awake=300.0, awake_wifi=60.0, flash_led=40.0)
    run["events"] = {"boot": 10, "boot_pir": 30, "camera_init": 40, "tls": 2}
    run.update(items_sent_per_day=60, bytes_sent_per_day=900_000)
    f = power.figures(run, "ai-thinker-mod")
    parts = f["mah_per_day_by_part"]
    for k in ("awake", "awake_wifi", "flash_led", "event_boot", "event_boot_pir",
              "event_camera_init",
              "event_tls", "net_upload", "net_tls_handshakes", "deep_sleep"):
        assert parts[k] > 0, k
    assert f["battery_days_low"] < f["battery_days_central"] < f["battery_days_high"]
    assert f["battery_days_central"] < quiet["battery_days_central"]
    assert 0 < f["awake_share"] < 1
    # the camera left powered in sleep costs what dimhoff measured: 20+ mA
    cam_on = power.figures(_run(deep_sleep=0.0, deep_sleep_cam_on=86400.0), "ai-thinker-mod")
    assert cam_on["sleep_ma"] >= 20.0


def test_the_per_wake_split_attributes_every_awake_charge_to_its_wake():
    from host_sim import constants as C

    class B:
        events = [(10.0, "boot", {"wake": C.EXT0_WAKE}), (15.0, "deepsleep", {}),
                  (100.0, "boot", {"wake": C.EXT0_WAKE}), (104.0, "deepsleep", {}),
                  (134.0, "boot", {"wake": C.TIMER_WAKE}), (135.0, "deepsleep", {})]

    ledger = [(10.0, "state", "deep_sleep", 10.0),       # the sleep before the first wake
              (15.0, "state", "awake", 5.0),              # day 1: not measured
              (100.0, "state", "deep_sleep", 85.0),
              (100.5, "event", "boot_pir", 1), (100.5, "state", "awake", 0.5),
              (102.0, "state", "awake", 1.5), (102.0, "state", "flash_led", 1.5),
              (104.0, "state", "awake", 2.0),
              (134.0, "state", "deep_sleep", 30.0),
              (135.0, "state", "awake_wifi", 1.0)]
    out = power._awake_by_wake(B(), ledger, first_day_end=50.0, days=1)
    assert set(out) == {"pir", "timer"}
    pir, timer = out["pir"], out["timer"]
    assert pir["wakes_per_day"] == 1 and pir["mean_s"] == 4.0 and pir["led_s_per_wake"] == 1.5
    assert pir["mah_per_day"]["awake"] == pytest.approx(4.0 * 85 / 3600, abs=1e-3)
    assert pir["mah_per_day"]["flash_led"] == pytest.approx(1.5 * 250 / 3600, abs=1e-3)
    assert pir["mah_per_day"]["event_boot_pir"] == pytest.approx(3.8 * 85 / 3600, abs=1e-3)
    assert timer["mah_per_day"] == {"awake_wifi": pytest.approx(190 / 3600, abs=1e-3)}
