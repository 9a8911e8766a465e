"""The real App on a simulated board, delivering its events to a real mosquitto."""
import json
from pathlib import Path

import pytest

from host_sim import Board, Simulation, WifiModel, scenes
from host_sim.demo import provision

from .conftest import PASSWORD, USER


@pytest.mark.services
def test_capture_events_reach_the_broker_and_images_the_sink(tmp_path, subscriber, live_broker):
    from host_sim.storage import Filesystem

    sub = subscriber("wildcam/cam-mq/#")
    sim = Simulation(io_grace=0.02)
    try:
        cloud = Filesystem("cloud", str(tmp_path / "cloud"), 1 << 30)
        b = Board("cam-mq", tmp_path, sim=sim, scene=scenes.animal(seed=9, start=120),
                  mounts={"cloud": cloud}, wifi=WifiModel("sim-forest", "sim-password"))
        provision(b, burst=2)
        cfg_path = Path(b.flash.root, "config.json")
        cfg = json.loads(cfg_path.read_text())
        cfg["mqtt"] = {"host": "127.0.0.1", "port": live_broker.port, "user": USER}
        cfg_path.write_text(json.dumps(cfg))
        sec_path = Path(b.flash.root, "secrets.json")
        sec = json.loads(sec_path.read_text())
        sec["mqtt"] = {"password": PASSWORD}
        sec_path.write_text(json.dumps(sec))
        b.power_on()
        sim.run_for(400)
        assert sub.wait_for(lambda m: any(t.endswith("/event") for t, _, _ in m), timeout=10)
    finally:
        sim.close()
    events = [json.loads(p) for t, p, _ in sub.msgs if t == "wildcam/cam-mq/event"]
    assert len(events) == 1
    ev = events[0]
    assert ev["key"].endswith("-ev") and ev["data"]["images"] == 2
    assert ("wildcam/cam-mq/status", b"online", True) in sub.msgs or any(
        t.endswith("/status") and p == b"online" for t, p, _ in sub.msgs)
    assert len(list((tmp_path / "cloud" / "cam-mq").glob("*.jpg"))) == 2
