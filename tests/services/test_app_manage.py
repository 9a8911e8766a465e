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


def _board(sim, tmp_path, broker, name="cam-m", extra=None, mounts=None, scene=None):
    b = Board(name, tmp_path, sim=sim, scene=scene or scenes.empty(),
              wifi=WifiModel("sim-forest", "sim-password"), mounts=mounts)
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
        _wait(sim, lambda: sum(t.startswith("homeassistant/") for t, _, _ in sub.msgs) >= 5)
        _wait(sim, lambda: any(t.endswith("/thumb") for t, _, _ in sub.msgs), real_s=30)
    finally:
        sim.close()
    docs = {t: json.loads(p) for t, p, r in sub.msgs if t.startswith("homeassistant/")}
    # a mains board (no battery reading): no battery entities at all, rather than "None"
    assert not [t for t in docs if "battery" in t], sorted(docs)
    tmp = docs["homeassistant/sensor/cam-h_temperature/config"]
    assert tmp["state_topic"] == "wildcam/cam-h/state"
    assert tmp["value_template"] == "{{ value_json.power.temp_c }}"
    assert tmp["device_class"] == "temperature" and tmp["unit_of_measurement"] == "°C"
    # availability from the status topic; `asleep` (a battery camera's sleep by design) is
    # mapped to available by the template, online/offline as published
    (av,) = tmp["availability"]
    assert av["topic"] == "wildcam/cam-h/status" and "availability_topic" not in tmp
    assert (av["payload_available"], av["payload_not_available"]) == ("online", "offline")
    assert av["value_template"] == "{{ 'online' if value == 'asleep' else value }}"
    # a mains board never sleeps: no state / next wake entities
    assert not [t for t in docs if "next_wake" in t or "_state/" in t], sorted(docs)
    assert tmp["device"]["identifiers"] == ["cam-h"] and tmp["unique_id"] == "cam-h_temperature"
    # HA 2026: default_entity_id (domain.slug), never the removed object_id
    for t, d in docs.items():
        assert "object_id" not in d, t
    assert tmp["default_entity_id"] == "sensor.cam_h_temperature"
    last = docs["homeassistant/sensor/cam-h_last_detection/config"]
    assert last["device_class"] == "timestamp" and "timestamp_custom(" in \
        last["value_template"] and "+00:00" in last["value_template"], last
    cam = docs["homeassistant/camera/cam-h/config"]
    assert cam["topic"] == "wildcam/cam-h/thumb"
    thumbs = [p for t, p, r in sub.msgs if t == "wildcam/cam-h/thumb"]
    assert thumbs and thumbs[-1][:2] == b"\xff\xd8" and len(thumbs[-1]) < 20000  # a small JPEG
    retained = [r for t, p, r in sub.msgs if t.startswith("homeassistant/")]
    assert retained  # published retained (a late subscriber gets them)


def test_a_command_sent_while_the_camera_is_away_runs_when_it_is_back(tmp_path, subscriber,
                                                                     live_broker):
    """The mailbox (issue 18): the camera's persistent session (clean_session False, qos1
    subscription) makes mosquitto keep a command published while the camera is off the
    air; the camera runs it when it reconnects and its signed reply reaches the sender. The
    command waited 10 min: a signed `ttl` lets it past the 5-minute skew rule; the same
    command without one is refused as stale."""
    sub = subscriber("wildcam/cam-m/#")
    sim = Simulation(io_grace=0.02, start=None)
    try:
        b = _board(sim, tmp_path, live_broker)
        _online(sim, b, sub)
        b.power_off()  # (a deep-sleeping camera drops its connection the same way)
        sim.run_for(600)
        # (mosquitto may not have noticed yet: a message it sends to the dead connection is
        # unacknowledged, and a persistent session redelivers it at the next connect)
        ts = int(b.wall()) - 600  # signed when it was sent, 10 min before the camera is back
        stale = _send(sub, "cam-m", "capture", ts=ts)
        kept = _send(sub, "cam-m", "capture", ts=ts, seq=int(ts * 1000) + 5, ttl=3600)
        sub.msgs.clear()
        _online(sim, b, sub)
        _wait(sim, lambda: len(_replies(sub)) >= 2)
        replies = _replies(sub)
        assert {"id": kept["nonce"], "cmd": "capture", "ok": True, "result": "queued"} \
            in replies, replies
        assert any(r.get("id") == stale["nonce"] or "stale" in r.get("error", "")
                   for r in replies if not r.get("ok")), replies
        _wait(sim, lambda: list(Path(b.sd.root, "DCIM").rglob("*.jpg")))  # it happened
        # power came back before NTP: the kept command waited for the clock, not refused
        assert not any("clock unset" in r.get("error", "") for r in replies), replies
    finally:
        sim.close()


def test_requeue_sends_dead_lettered_images_again(tmp_path, subscriber, live_broker):
    """End to end: images a destination had refused for good sit in the dead-letter ring
    (their media still on the card); once the cause is fixed, the signed `requeue` command
    through mosquitto puts them back and the sync delivers them."""
    from host_sim.storage import Filesystem, SimStorage
    from wildcam.queue.outbox import Outbox

    sub = subscriber("wildcam/cam-r/#")
    sim = Simulation(io_grace=0.02, start=None)
    try:
        cloud = Filesystem("cloud", str(tmp_path / "cloud"), 1 << 30)
        b = _board(sim, tmp_path, live_broker, name="cam-r", mounts={"cloud": cloud},
                   scene=scenes.animal(seed=3, start=60))
        _online(sim, b, sub)
        sink = Path(cloud.root)
        _wait(sim, lambda: len(list(sink.rglob("*.jpg"))) >= 1, real_s=30)
        sim.run_for(60)  # let the rest of the outbox drain
        b.power_off()
        sim.run_for(5)
        # what a destination that refused them for good (HTTP 400) would have left
        box = Outbox(SimStorage(b.flash, b.sd), "/sd/outbox").open()
        keys = []
        for jpg in sorted(sink.rglob("*.jpg")):
            meta = json.loads(jpg.with_suffix(".json").read_text())
            it = box.put("detection", route="media", media=meta["m"], size=meta["s"],
                         sha256=meta["h"], key=meta["k"])
            assert box.dead(it, "400 InvalidArgument")
            jpg.unlink()
            jpg.with_suffix(".json").unlink()
            keys.append(meta["k"])
        assert len(box.dead_letters()) >= len(keys) >= 1 and box.pending() == 0
        sub.msgs.clear()
        _online(sim, b, sub)
        req = _send(sub, "cam-r", "requeue", ts=int(b.wall()))
        _wait(sim, lambda: any(r.get("id") == req["nonce"] for r in _replies(sub)))
        reply = [r for r in _replies(sub) if r.get("id") == req["nonce"]][0]
        assert reply["ok"] and reply["result"]["requeued"] == len(keys), reply
        _wait(sim, lambda: {p.stem for p in sink.rglob("*.jpg")} >= set(keys), real_s=30)
    finally:
        sim.close()


def test_a_battery_camera_is_shown_asleep_with_its_next_wake(tmp_path, subscriber, live_broker):
    """Home Assistant (issue 18): before a deep sleep by design the battery camera publishes
    its retained state (sleep.state asleep, sleep.wake_at) and status `asleep`, then leaves
    with a clean DISCONNECT, so the broker never sends the last will: nothing says
    `offline` while it sleeps; its discovery has a State (enum) and a Next wake (timestamp)
    sensor, and availability treats `asleep` as available."""
    from host_sim.fleet import battery_board

    sub = subscriber("homeassistant/#", "wildcam/cam-z/#")
    sim = Simulation(io_grace=0.02)
    try:
        b = battery_board(sim, tmp_path, scenes.empty(), name="cam-z",
                          extra={"mqtt.host": "127.0.0.1", "mqtt.port": live_broker.port,
                                 "mqtt.user": USER, "hass.discovery": True,
                                 "sync.windows": ""})
        sp = Path(b.flash.root, "secrets.json")
        sec = json.loads(sp.read_text())
        sec["mqtt"] = {"password": PASSWORD}
        sec["cmd"] = {"hmac_key": KEY}
        sp.write_text(json.dumps(sec))
        b.power_on()
        _wait(sim, lambda: any(t == "wildcam/cam-z/status" and p == b"asleep"
                               for t, p, _ in sub.msgs), real_s=30)
        _wait(sim, lambda: b.state == "sleeping", real_s=10)
        sim.run_for(120)  # asleep for a while: the broker still has no will to send
    finally:
        sim.close()
    status = [p for t, p, _ in sub.msgs if t == "wildcam/cam-z/status"]
    assert status[:1] == [b"online"] and b"asleep" in status and b"offline" not in status, status
    states = [json.loads(p) for t, p, r in sub.msgs if t == "wildcam/cam-z/state"]
    last = states[-1]["sleep"]
    assert last["state"] == "asleep" and last["wake_at"] > states[-1]["sys"]["time"], last
    assert last["radio_at"] >= last["wake_at"], last  # no sync window: its next timer wake
    docs = {t: json.loads(p) for t, p, r in sub.msgs if t.startswith("homeassistant/")}
    st = docs["homeassistant/sensor/cam-z_state/config"]
    assert st["device_class"] == "enum" and st["options"] == ["awake", "asleep"]
    assert st["value_template"] == "{{ value_json.sleep.state }}"
    assert st["default_entity_id"] == "sensor.cam_z_state"
    nw = docs["homeassistant/sensor/cam-z_next_wake/config"]
    assert nw["device_class"] == "timestamp" and "value_json.sleep.radio_at" in \
        nw["value_template"] and "timestamp_custom(" in nw["value_template"], nw
    assert nw["state_topic"] == "wildcam/cam-z/state"
    assert nw["availability"][0]["value_template"].startswith("{{ 'online' if value == 'asleep'")
    # it has a battery reading: the battery entities are announced
    assert "homeassistant/sensor/cam-z_battery/config" in docs
