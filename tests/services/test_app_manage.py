"""Remote management of a simulated board through a real mosquitto: signed commands,
refusals, remote config with automatic revert, Home Assistant discovery."""
import json
from pathlib import Path

import pytest

from host_sim import Board, Simulation, WifiModel, scenes
from host_sim.demo import log_tail, provision
from tools.wildcmd import sign_command, verify_reply

from .conftest import PASSWORD, USER

KEY = "cam-key-123"
pytestmark = pytest.mark.services


def _board(sim, tmp_path, broker, name="cam-m", extra=None):
    b = Board(name, tmp_path, sim=sim, scene=scenes.empty(),
              wifi=WifiModel("sim-forest", "sim-password"))
    provision(b, burst=1)
    cp = Path(b.flash.root, "config.json")
    cfg = json.loads(cp.read_text())
    cfg["mqtt"] = {"host": "127.0.0.1", "port": broker.port, "user": USER}
    cfg["cmd"] = {"revert_s": 60}
    for k, v in (extra or {}).items():
        sec, leaf = k.split(".")
        cfg.setdefault(sec, {})[leaf] = v
    cp.write_text(json.dumps(cfg))
    sp = Path(b.flash.root, "secrets.json")
    sec = json.loads(sp.read_text())
    sec["mqtt"] = {"password": PASSWORD}
    sec["cmd"] = {"hmac_key": KEY}
    sp.write_text(json.dumps(sec))
    return b


def _send(pub, device, cmd, args=None, key=KEY, **kw):
    msg = sign_command(cmd, args, device, key, ts=kw.pop("ts", None), **kw)
    pub.c.publish("wildcam/%s/cmd" % device, json.dumps(msg), qos=1).wait_for_publish(5)
    return msg


def _wait(sim, pred, real_s=15):
    """Advance virtual time in small steps while real messages travel through mosquitto."""
    import time

    end = time.monotonic() + real_s
    while not pred():
        assert time.monotonic() < end, "timed out"
        sim.run_for(0.5)
        time.sleep(0.005)


def _online(sim, board, sub):
    """Power the board on and wait until its retained `online` status reaches the broker
    and its clock is set (NTP): until then it runs only read-only commands."""
    board.power_on()
    _wait(sim, lambda: any(t.endswith("/status") and p == b"online" for t, p, _ in sub.msgs))
    _wait(sim, lambda: any("clock set" in line for line in log_tail(board, 50)))


def _replies(sub, key=KEY):
    """Replies on the result topic, each checked for the device's signature, then shown
    without it (and without the device and seq fields the signature covers)."""
    out = []
    for t, p, _ in sub.msgs:
        if t.endswith("/cmd/result"):
            r = json.loads(p)
            assert verify_reply(r, key), r
            out.append(dict((k, v) for k, v in r.items() if k not in ("sig", "device", "seq")))
    return out


def test_signed_commands_run_and_bad_ones_are_refused(tmp_path, subscriber, live_broker):
    sub = subscriber("wildcam/cam-m/#")
    sim = Simulation(io_grace=0.02, start=None)
    try:
        b = _board(sim, tmp_path, live_broker)
        _online(sim, b, sub)
        # the board's clock comes from NTP: the simulated wall time
        ts = int(b.wall())
        ok = _send(sub, "cam-m", "capture", ts=ts)
        bad_key = _send(sub, "cam-m", "capture", key="wrong", ts=ts)
        _send(sub, "cam-m", "logs", {"per_page": 5}, ts=ts)
        _wait(sim, lambda: len(_replies(sub)) >= 3)
        replies = _replies(sub)
        assert {"id": ok["nonce"], "cmd": "capture", "ok": True, "result": "queued"} in replies
        assert {"ok": False, "error": "bad signature"} in replies
        logs = [r for r in replies if r.get("cmd") == "logs"][0]
        assert logs["ok"] and 3 <= len(logs["result"]) <= 5  # newest first, paged
        # the replayed message is refused
        sub.c.publish("wildcam/cam-m/cmd", json.dumps(ok), qos=1).wait_for_publish(5)
        _wait(sim, lambda: len(_replies(sub)) >= 4)
        assert any("replayed" in r.get("error", "") for r in _replies(sub)), _replies(sub)
        assert list(Path(b.sd.root, "DCIM").rglob("*.jpg"))  # the remote capture happened
    finally:
        sim.close()


def test_remote_config_that_cuts_the_board_off_is_reverted(tmp_path, subscriber, live_broker):
    sub = subscriber("wildcam/cam-r/#")
    sim = Simulation(io_grace=0.02)
    try:
        b = _board(sim, tmp_path, live_broker, name="cam-r")
        _online(sim, b, sub)
        _send(sub, "cam-r", "config_set", {"changes": {"mqtt.port": 1}}, ts=int(b.wall()))
        _wait(sim, lambda: _replies(sub))
        reply = _replies(sub)[0]
        assert reply["ok"] and reply["result"]["saved"] == ["mqtt.port"]
        sim.run_for(400)  # restart on probation, no broker on port 1, revert, restart
        log = "\n".join(log_tail(b, 300))
        assert "remote config reverted: no broker round trip within 60 s" in log
        cfg = json.loads(Path(b.flash.root, "config.json").read_text())
        assert cfg["mqtt"]["port"] == live_broker.port
        assert not Path(b.flash.root, "state", "probation.json").exists()
    finally:
        sim.close()


def test_invalid_remote_config_is_refused_with_the_reason(tmp_path, subscriber, live_broker):
    sub = subscriber("wildcam/cam-v/#")
    sim = Simulation(io_grace=0.02)
    try:
        b = _board(sim, tmp_path, live_broker, name="cam-v")
        _online(sim, b, sub)
        _send(sub, "cam-v", "config_set", {"changes": {"capture.burst_count": 99}},
              ts=int(b.wall()))
        _wait(sim, lambda: _replies(sub))
        r = _replies(sub)[0]
        assert r["ok"] is False and "capture.burst_count: must be 1..10, got 99" in r["error"]
        assert b.generation == 1  # nothing restarted
    finally:
        sim.close()


def test_home_assistant_discovery_documents(tmp_path, subscriber, live_broker):
    sub = subscriber("homeassistant/#", "wildcam/cam-h/#")
    sim = Simulation(io_grace=0.02)
    try:
        b = _board(sim, tmp_path, live_broker, name="cam-h", extra={"hass.discovery": True})
        b.scene = scenes.animal(seed=2, start=60)
        b.power_on()
        _wait(sim, lambda: sum(t.startswith("homeassistant/") for t, _, _ in sub.msgs) >= 7)
        _wait(sim, lambda: any(t.endswith("/thumb") for t, _, _ in sub.msgs), real_s=30)
    finally:
        sim.close()
    docs = {t: json.loads(p) for t, p, r in sub.msgs if t.startswith("homeassistant/")}
    bat = docs["homeassistant/sensor/cam-h_battery/config"]
    assert bat["state_topic"] == "wildcam/cam-h/state"
    assert bat["value_template"] == "{{ value_json.power.battery_v }}"
    assert bat["device_class"] == "voltage" and bat["unit_of_measurement"] == "V"
    assert bat["availability_topic"] == "wildcam/cam-h/status"
    assert bat["device"]["identifiers"] == ["cam-h"] and bat["unique_id"] == "cam-h_battery"
    cam = docs["homeassistant/camera/cam-h/config"]
    assert cam["topic"] == "wildcam/cam-h/thumb"
    thumbs = [p for t, p, r in sub.msgs if t == "wildcam/cam-h/thumb"]
    assert thumbs and thumbs[-1][:2] == b"\xff\xd8" and len(thumbs[-1]) < 20000  # a small JPEG
    retained = [r for t, p, r in sub.msgs if t.startswith("homeassistant/")]
    assert retained  # published retained (a late subscriber gets them)
