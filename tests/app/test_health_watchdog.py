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
    from host_sim.fleet import deployment_record

    dep = deployment_record("cam-01", 0, sim.wall(), 120)
    provision(b, burst=2, extra={"time.tz_offset_min": 120}, deployment=dep)  # flash.py deploy
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
    assert h["deploy"] == dep  # where and how it was set up, in every heartbeat
    sides = [json.loads(p.read_text()) for p in Path(b.sd.root, "DCIM").rglob("*.json")]
    assert sides and {s["deployment"] for s in sides} == {dep["deploymentID"]}
    # the JPEG says its local time AND the offset (EXIF 2.31 OffsetTimeOriginal)
    import datetime as dt

    from tools.camtrap import exifgps

    side = sides[0]
    got = exifgps.read(Path(b.sd.root, "DCIM", side["time_iso"][:10].replace("-", ""),
                            side["file"]).read_bytes())
    local = dt.datetime.fromtimestamp(side["time"], dt.timezone(dt.timedelta(hours=2)))
    assert got["OffsetTimeOriginal"] == "+02:00"
    assert got["DateTimeOriginal"] == local.strftime("%Y:%m:%d %H:%M:%S")


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
