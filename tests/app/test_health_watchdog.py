"""Heartbeat contents and the watchdog on a simulated board."""
import json
from pathlib import Path

import pytest

from host_sim import Board, Simulation, WifiModel, scenes
from host_sim.demo import log_tail, provision
from host_sim.storage import Filesystem


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


def test_heartbeat_reports_what_a_fleet_owner_needs(sim, tmp_path):
    cloud = Filesystem("cloud", str(tmp_path / "cloud"), 1 << 30)
    b = Board("cam-01", tmp_path, sim=sim, scene=scenes.animal(seed=1, start=100),
              mounts={"cloud": cloud}, wifi=WifiModel("sim-forest", "sim-password"))
    provision(b, burst=2)
    b.power_on()
    sim.run_for(1000)  # boot heartbeat + one after 900 s
    docs = [json.loads(p.read_text()) for p in (tmp_path / "cloud" / "cam-01").glob("*.json")]
    health = [d["d"] for d in docs if d["n"] == "health"]
    assert len(health) == 2
    h = max(health, key=lambda d: d["sys"]["up_s"])  # the later one (glob order is arbitrary)
    assert h["sys"]["fw"] == "0.1.0" and h["sys"]["reset"] == "pwron" and h["sys"]["up_s"] >= 900
    assert h["sys"]["heap_free"] > 0 and h["sys"]["boot"] == 1
    assert h["net"]["up"] is True and h["net"]["rssi"] == -62
    assert h["power"]["temp_c"] is not None and "battery_v" in h["power"]
    assert h["queue"]["depth"]["detection"] == 0 and h["queue"]["enqueued"] >= 3
    assert h["sync"]["delivered"] >= 3 and h["sync"]["success_rate"] == 1.0
    assert h["capture"]["images"] == 2 and h["capture"]["camera_errors"] == 0
    assert h["storage"]["sd"]["free_kb"] > 0 and h["tasks"]["restarts"] == 0
    assert "I health: health: up " in "\n".join(log_tail(b, 100))


def test_a_hung_task_ends_in_a_watchdog_reset(sim, tmp_path, monkeypatch):
    import asyncio

    from wildcam.queue.sync import SyncEngine

    async def hang(self):
        await asyncio.Event().wait()  # stuck forever, but the loop keeps running

    monkeypatch.setattr(SyncEngine, "step", hang)
    b = Board("cam-01", tmp_path, sim=sim, wifi=WifiModel("sim-forest", "sim-password"))
    provision(b, burst=2)
    b.power_on()
    sim.run_for(200)
    log = "\n".join(log_tail(b, 200))
    assert "no progress from sync: letting the watchdog reset" in log
    assert "reset cause wdt" in log
    assert b.generation >= 2
