"""A broker user without keys against a running simulated camera, on a real mosquitto
(issue 17; docs/SECURITY.md): a retained message nested 700 deep, a 10 MB payload, and a
flood of 1,000 hostile messages on the command topic. Afterwards the camera has not reset,
answers a signed `status` quickly (virtual time), has delivered every image it took, and
its status report counts the refusals.
"""
import hashlib
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host_sim import Board, Simulation, WifiModel, scenes
from host_sim.demo import log_tail, provision
from host_sim.storage import Filesystem
from tools.wildcmd import sign_command, verify_reply

from .conftest import PASSWORD, USER, Subscriber

KEY = "cam-key-hostile"
pytestmark = pytest.mark.services
BATCH = 25
# The finding was a retained message nested 700 deep (46 is enough under MicroPython's
# stack); the simulator runs the firmware on CPython's deeper one, so this copy nests 900
# deep inside the args of a command whose other fields are all present and well typed:
# without the bounds it reaches the parser and canonicalisation, as on the board.
DEEP = (b'{"cmd":"capture","args":{"x":' + b"[" * 900 + b"]" * 900 +
        b'},"device":"cam-rt","seq":3,"ts":1780315200,"nonce":"x","sig":"' + b"0" * 64 + b'"}')


def _board(sim, tmp_path, broker, name, scene=None):
    cloud = Filesystem("cloud", str(tmp_path / "cloud"), 1 << 30)
    b = Board(name, tmp_path, sim=sim, scene=scene or scenes.empty(),
              mounts={"cloud": cloud}, wifi=WifiModel("sim-forest", "sim-password"))
    provision(b, burst=2, extra={"mqtt.host": "127.0.0.1", "mqtt.port": broker.port,
                                 "mqtt.user": USER},
              secrets={"mqtt.password": PASSWORD, "cmd.hmac_key": KEY})
    apps = []

    def entry(storage):
        from wildcam.app import App

        apps.append(App(storage))
        return apps[-1].run()

    return b, apps, entry


def _wait(sim, pred, real_s=20, step=0.5, why=None, pause=0.005):
    """Advance virtual time in small steps while real messages travel through mosquitto
    (`step` virtual s per `pause` real s: a flood needs virtual time to pass no faster than
    real time, or the real broker looks slow to the camera)."""
    end = time.monotonic() + real_s
    while not pred():
        assert time.monotonic() < end, "timed out: %r" % (why() if why else None,)
        sim.run_for(step)
        time.sleep(pause)


def _online(sim, b, entry, sub, n=1):
    b.power_on(entry)
    _wait(sim, lambda: sum(t.endswith("/status") and p == b"online"
                           for t, p, _ in sub.msgs) >= n)
    _wait(sim, lambda: any("clock set" in line for line in log_tail(b, 80)))


def _ask_status(sim, b, sub):
    """Send a signed `status`; its verified reply and how long (virtual s) it took."""
    msg = sign_command("status", None, b.name, KEY, ts=int(b.wall()))
    t0 = sim.now
    sub.c.publish("wildcam/%s/cmd" % b.name, json.dumps(msg), qos=1).wait_for_publish(5)

    def reply():
        for t, p, _ in sub.msgs:
            if t.endswith("/cmd/result"):
                r = json.loads(p)
                if r.get("id") == msg["nonce"] and verify_reply(r, KEY, msg):
                    return r
        return None

    _wait(sim, lambda: reply() is not None, step=0.1)
    print("signed status answered after %.2f s (virtual)" % (sim.now - t0))
    return reply(), sim.now - t0


def _retained_on(broker, topic):
    """What the broker still keeps retained on `topic` (a fresh subscriber's view)."""
    s = Subscriber(broker, [topic])
    try:
        s.wait_for(lambda m: m, timeout=1.0)
        return [p for t, p, r in s.msgs if r and p]
    finally:
        s.close()


def test_a_retained_deep_message_is_refused_once_cleared_and_never_seen_again(
        tmp_path, subscriber, live_broker):
    """The HIGH finding: one retained message nested 700 deep crashed the commands task at
    every boot (19 boots, then safe mode). Now it is refused once (a reason, a counter), the
    camera clears it from the broker, and the next boot does not meet it at all."""
    sub = subscriber("wildcam/cam-rt/#")
    topic = "wildcam/cam-rt/cmd"
    sub.c.publish(topic, DEEP, qos=1, retain=True).wait_for_publish(5)
    assert _retained_on(live_broker, topic) == [DEEP]
    sim = Simulation(io_grace=0.02)
    try:
        b, apps, entry = _board(sim, tmp_path, live_broker, "cam-rt")
        _online(sim, b, entry, sub)
        _wait(sim, lambda: any(t == topic and p == b"" for t, p, _ in sub.msgs))  # the clear
        assert _retained_on(live_broker, topic) == []
        r, took = _ask_status(sim, b, sub)
        assert r["ok"] and took < 5.0, (r, took)
        cmd = r["result"]["cmd"]
        assert cmd["refused"] == 1 and cmd["refusals"] == {"not JSON": 1}, cmd
        assert cmd["retained"] == {"handled": 1, "ignored": 0, "cleared": 1}, cmd
        assert r["result"]["tasks"]["restarts"] == 0 and b.generation == 1
        assert any("command refused: not JSON" in line for line in log_tail(b, 200))
        # the next boot: nothing retained comes back, nothing is refused
        b.power_off()
        sim.run_for(5)
        _online(sim, b, entry, sub, n=2)
        r, _ = _ask_status(sim, b, sub)
        assert r["result"]["cmd"]["refused"] == 0 and b.generation == 2
        assert r["result"]["cmd"]["retained"]["handled"] == 0
    finally:
        sim.close()


def _publish_big(port, topic, size, retain):
    """Publish `size` bytes from another process (this one's heap measures the camera)."""
    code = ("import sys, paho.mqtt.client as p\n"
            "c = p.Client(p.CallbackAPIVersion.VERSION2, client_id='big')\n"
            "c.username_pw_set(%r, %r)\n"
            "c.connect('127.0.0.1', %d)\nc.loop_start()\n"
            "c.publish(%r, b'{' + b'x' * %d, qos=1, retain=%r).wait_for_publish(20)\n"
            "c.disconnect()\nc.loop_stop()\n" % (USER, PASSWORD, port, topic, size - 1, retain))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_10_mb_payload_is_never_read_into_ram(tmp_path, subscriber, live_broker):
    """The MED finding: umqtt read a 10 MB message whole before its size was checked. The
    firmware reads the remaining length, the topic and the packet id, acknowledges, drops
    the connection (past DRAIN_MAX), waits, and clears the retained copy before it
    subscribes again. tracemalloc's peak (this process runs the simulated camera, another
    one publishes) stays far below the payload's size."""
    import tracemalloc

    sub = subscriber("wildcam/cam-big/status", "wildcam/cam-big/cmd/result")  # not cmd
    topic = "wildcam/cam-big/cmd"
    sim = Simulation(io_grace=0.02)
    try:
        b, apps, entry = _board(sim, tmp_path, live_broker, "cam-big")
        _online(sim, b, entry, sub)
        m = apps[0].mqtt
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            _publish_big(live_broker.port, topic, 10 << 20, True)
            _wait(sim, lambda: m.counters["oversized"] >= 1 and m.counters["cleared"] >= 1
                  and m.connected, real_s=40)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20, peak  # well under the 10 MB payload
        print("tracemalloc peak while a 10 MB message arrived: %d bytes" % peak)
        assert any("10485760 bytes: not draining that" in line for line in log_tail(b, 200))
        assert _retained_on(live_broker, topic) == []
        r, took = _ask_status(sim, b, sub)
        assert r["ok"] and took < 5.0, took
        # met at least twice: live (a broker sets RETAIN only on what a new subscription
        # gets, MQTT 3.1.1 section 3.3.1.3), then retained at the reconnect, where it is
        # cleared. A broker busy sending the rest may not read the acknowledgement before
        # the drop and redeliver it (DUP) to the persistent session: the camera then starts
        # one clean session (net/mqttrx), so it is met a bounded number of times
        mq = r["result"]["cmd"]["mqtt"]
        print("10 MB message met %d times, cleared %d" % (mq["oversized"], mq["cleared"]))
        assert 2 <= mq["oversized"] <= 8 and mq["cleared"] >= 1, r["result"]["cmd"]
        assert b.generation == 1
    finally:
        sim.close()


def _hostile(rng, device, wall):
    """1,000 messages a broker user without the key can send (deterministic per seed)."""
    ok = sign_command("status", None, device, KEY, ts=wall)
    out = [(json.dumps(ok).encode(), False)]  # one good one, replayed below
    kinds = ["deep", "big", "binary", "badsig", "replay", "device", "numbers", "dupkeys",
             "types", "truncated"]
    for i in range(999):
        k = kinds[i % len(kinds)]
        if k == "deep":
            d = rng.randint(9, 1100)  # up to 2.2 KB: within the MQTT buffer
            p = b'{"sig":"00","x":' + b"[" * d + b"]" * d + b"}"
        elif k == "big":
            n = rng.randint(20000, 60000) if i % 100 == 1 else rng.randint(2049, 3000)
            p = b'{"cmd":"' + b"A" * n + b'"}'
        elif k == "binary":
            p = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 600)))
        elif k == "badsig":
            p = json.dumps(sign_command("reboot", None, device, "not-the-key", ts=wall)).encode()
        elif k == "replay":
            p = out[0][0]
        elif k == "device":
            m = sign_command("reboot", None, "other-cam", KEY, ts=wall)
            p = json.dumps(m).encode()
        elif k == "numbers":
            m = sign_command("reboot", None, device, "x", ts=wall)
            m["seq"] = rng.choice([2 ** 64, -1, 0, 1e400, 10 ** 400, 2 ** 53 + 1])
            p = json.dumps(m).encode().replace(b"Infinity", b"1e400")
        elif k == "dupkeys":
            p = b'{"cmd":"reboot","cmd":"status","sig":"%s","seq":1,"seq":2}' % (b"0" * 64)
        elif k == "types":
            p = rng.choice([b"[]", b"null", b"1", b'"s"', b'{"cmd":1,"args":[],"seq":"1"}',
                            b'{"cmd":"status","args":{},"device":["x"],"seq":true,"ts":{},'
                            b'"nonce":null,"sig":7}'])
        else:
            p = json.dumps(ok).encode()[:rng.randint(1, 40)]
        out.append((p, i % 97 == 0))  # some retained (each replaces the last)
    return out


def test_a_thousand_hostile_messages_do_not_stop_the_camera(tmp_path, subscriber, live_broker):
    """The end-to-end check of issue 17: a retained 700-deep message waits at boot, then
    1,000 hostile messages arrive while an animal walks past. The board does not reset, no
    task restarts, every image reaches the destination (listed and hash-checked), a signed
    `status` is answered within 5 s of virtual time, and the report counts the refusals."""
    sub = subscriber("wildcam/cam-fl/status", "wildcam/cam-fl/cmd/result")
    topic = "wildcam/cam-fl/cmd"
    sub.c.publish(topic, DEEP, qos=1, retain=True).wait_for_publish(5)
    sim = Simulation(io_grace=0.1)  # a busy host: hold virtual time longer for the broker
    try:
        b, apps, entry = _board(sim, tmp_path, live_broker, "cam-fl",
                                scene=scenes.animal(seed=21, start=20))
        _online(sim, b, entry, sub)
        app = apps[0]
        flood = _hostile(random.Random(17), b.name, int(b.wall()))
        before = app.mqtt.counters["received"] + app.mqtt.counters["oversized"]
        got = lambda: app.mqtt.counters["received"] + app.mqtt.counters["oversized"]  # noqa
        t0 = time.monotonic()
        # in batches: mosquitto queues a flood without limit, and one sent at once would
        # queue the camera's own PUBACKs behind ~1 MB at the board's 76 kB/s (its publish
        # times out, it reconnects and the clean session drops the rest: also fine, but
        # then not every hostile message is met)
        for i in range(0, len(flood), BATCH):
            batch = flood[i:i + BATCH]
            for info in [sub.c.publish(topic, p, qos=1, retain=r) for p, r in batch]:
                info.wait_for_publish(10)
            _wait(sim, lambda: got() - before >= i + len(batch), step=0.05,
                  why=lambda: (got() - before, app.mqtt.counters, log_tail(b, 10)))
        print("1,000 hostile messages met in %.1f s" % (time.monotonic() - t0))
        assert got() - before == len(flood) and app.mqtt.counters["connects"] == 1
        sim.run_for(300)  # the animal's event, its upload
        r, took = _ask_status(sim, b, sub)
        last = [p for p, retained in flood if retained][-1]
        assert _retained_on(live_broker, topic) == [last]  # met live: not known retained
        # the next boot meets it retained: refused once and cleared, nothing else
        b.power_off()
        sim.run_for(5)
        _online(sim, b, entry, sub, n=2)
        _wait(sim, lambda: apps[-1].manage.retained["cleared"] == 1)
        after = apps[-1].manage.stats()
        left = _retained_on(live_broker, topic)
    finally:
        sim.close()
    assert r["ok"] and took < 5.0, took
    res = r["result"]
    cmd = res["cmd"]
    print("status after the flood:", json.dumps(cmd, sort_keys=True))
    assert b.generation == 2 and res["tasks"]["restarts"] == 0, res["tasks"]  # 2: our reboot
    assert res["sys"]["boot"] == 1 and res["sys"]["reset"] == "pwron"
    # every one of the 1,000 hostile messages is accounted for: refused (with a reason),
    # drained as oversized, or (a signed replay) dropped while the inbox was full; the good
    # one ran once (our status is counted after its own snapshot)
    assert cmd["accepted"] == 1, cmd
    met = cmd["refused"] + cmd["dropped"] + cmd["mqtt"]["oversized"]
    assert met == (len(flood) - 1) + 1, cmd  # the 999 hostile ones and the retained deep one
    assert sum(cmd["refusals"].values()) == cmd["refused"]
    for reason in ("not JSON", "bad signature", "replayed", "for another device",
                   "too large", "seq must be an integer 1..2**53", "not a JSON object"):
        assert cmd["refusals"].get(reason), (reason, cmd["refusals"])
    assert cmd["retained"] == {"handled": 1, "ignored": 0, "cleared": 1}  # the deep one
    assert cmd["muted"] > 900  # replies to junk are rate-limited
    replies = [p for t, p, _ in sub.msgs if t.endswith("/cmd/result")]
    assert len(replies) < 40, len(replies)
    assert after["refused"] == 1 and after["retained"]["handled"] == 1, after
    assert left == []
    # every image taken (during the flood) is at the destination, byte for byte
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    sd = {sha(p) for p in Path(b.sd.root).rglob("*.jpg")}
    cloud = {sha(p) for p in (tmp_path / "cloud" / "cam-fl").glob("*.jpg")}
    assert len(sd) == 2 and cloud == sd, (sd, cloud)
