"""A battery camera whose access point is gone gives the radio up after one failed connect
and holds it off (wildcam.net.radiohold): it does not keep the radio on for
power.max_awake_s at every wake, and its queue goes out once the network is back."""
import json
from pathlib import Path

import pytest

from host_sim import Simulation
from host_sim.fleet import PASSWORD, SSID, battery_board
from host_sim.hw.wifi import WifiModel
from host_sim.scenes.base import Scene
from host_sim.scenes.elements import Animal

DOWN_H = 30


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


def test_no_access_point_costs_one_connect_per_hold_not_the_radio_all_day(sim, tmp_path):
    visits = [Animal(h * 3600 + 600, size=0.3, speed=0.1) for h in range(1, 28, 3)]
    wifi = WifiModel(SSID, PASSWORD, outages=[(0, DOWN_H * 3600)])
    b = battery_board(sim, tmp_path, Scene(5, visits), wifi=wifi)
    b.power_on()
    sim.run_for(DOWN_H * 3600)
    tries = b.counters["wifi_connects"]
    radio_s = b.energy.seconds["awake_wifi"]
    pir_wakes = len([e for e in b.events_of("boot") if e[2]["wake"] == 2])
    assert pir_wakes >= 8
    # no clock ever (no NTP): a hold of wildcam.net.radiohold.RETRY_MIN (6 h) after each
    # failed connect: the first boot's and one every 6 h, not one (and 120 s) a wake
    assert tries <= DOWN_H // 6 + 2, tries
    assert radio_s < tries * 30, (radio_s, tries)
    log = "\n".join(json.dumps(e[2]) for e in b.events)
    assert "wdt_expired" not in log
    # the network is back: the next try sets the clock, the next window sends the queue
    sim.run_for(30 * 3600)
    jpgs = list(Path(b.sd.root, "DCIM").rglob("*.jpg"))
    rejected = [p for p in Path(b.sd.root, "DCIM").rglob("*.json")
                if json.loads(p.read_text()).get("verdict") == "rejected"]  # never sent
    cloud = tmp_path / "cloud" / "cam-b"
    sent = list(cloud.rglob("*.jpg")) if cloud.exists() else []
    assert len(jpgs) >= 20 and len(sent) == len(jpgs) - len(rejected), (
        len(sent), len(jpgs), len(rejected))
    assert b.counters["wifi_connects"] > tries
