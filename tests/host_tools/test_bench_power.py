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
    run["events"] = {"boot": 40, "camera_init": 40, "tls": 2}
    run.update(items_sent_per_day=60, bytes_sent_per_day=900_000)
    f = power.figures(run, "ai-thinker-mod")
    parts = f["mah_per_day_by_part"]
    for k in ("awake", "awake_wifi", "flash_led", "event_boot", "event_camera_init",
              "event_tls", "net_upload", "net_tls_handshakes", "deep_sleep"):
        assert parts[k] > 0, k
    assert f["battery_days_low"] < f["battery_days_central"] < f["battery_days_high"]
    assert f["battery_days_central"] < quiet["battery_days_central"]
    assert 0 < f["awake_share"] < 1
    # the camera left powered in sleep costs what dimhoff measured: 20+ mA
    cam_on = power.figures(_run(deep_sleep=0.0, deep_sleep_cam_on=86400.0), "ai-thinker-mod")
    assert cam_on["sleep_ma"] >= 20.0
