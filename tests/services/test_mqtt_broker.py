"""The MQTT destination against a real broker (Debian mosquitto, started by conftest.py).

Select with `pytest -m services`. Covers: qos1 delivery, refused credentials, TLS with CA
verification (and a wrong CA), mutual TLS (and a missing client certificate), the retained
online/offline status and last will, keepalive, command subscriptions, deflated batches,
and the sync engine over a real outbox delivering everything across a broker kill/restart.
"""
import asyncio
import json
import os
import threading
import time
import zlib

import pytest

from wildcam.dest.mqtt import MqttDest
from wildcam.core.errors import Retry
from wildcam.net.mqtt import MQTT
from wildcam.queue.outbox import Outbox
from wildcam.core.retry import Breaker
from wildcam.core.storage import Storage
from wildcam.net.stream import tls_context
from wildcam.queue.sync import Route, SyncEngine

from .cloudutil import run

pytestmark = pytest.mark.services

_n = [0]


def dev_id():
    _n[0] += 1
    return "wc-t%d-%d" % (os.getpid() % 1000, _n[0])


def plain(broker, device=None, **kw):
    device = device or dev_id()
    kw.setdefault("timeout_s", 2)
    return MQTT("127.0.0.1", broker.port, client_id=device, user=broker.user,
                password=broker.password, device=device, **kw)


class DirStorage(Storage):
    """Board paths under a host folder."""

    def __init__(self, root):
        self.root = str(root)

    def real(self, path):
        return self.root + path


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(m % a if a else m)

    warning = error = debug = info


class Link:
    def __init__(self, slow=False):
        self.is_up = True
        self._slow = slow

    def up(self):
        return self.is_up

    def poor(self):
        return False

    def slow(self):
        return self._slow

    def note(self, n, ms):
        pass


def test_qos1_publish_is_acknowledged_and_received(subscriber, live_broker):
    m = plain(live_broker)
    sub = subscriber("wildcam/%s/#" % m.device)
    assert run(m.publish(m.topic("event"), b'{"key":"k1"}')) == 12
    assert sub.wait_for(lambda ms: any(t.endswith("/event") for t, _, _ in ms))
    got = dict((t, p) for t, p, _ in sub.msgs)
    assert got[m.topic("event")] == b'{"key":"k1"}'
    assert got[m.topic("status")] == b"online"
    assert m.stats()["publishes"] == 1 and m.connected
    run(m.disconnect())


def test_wrong_password_is_a_retry_that_says_why(live_broker):
    m = MQTT("127.0.0.1", live_broker.port, client_id=dev_id(), user=live_broker.user, password="wrong",
             timeout_s=2)
    with pytest.raises(Retry) as e:
        run(m.publish("wildcam/x/event", b"{}"))
    assert "refused" in str(e.value) and ("not authorised" in str(e.value) or
                                          "bad user name" in str(e.value))
    assert e.value.after_ms >= 10000  # a wrong secret does not hammer the broker
    assert not m.connected


def test_tls_with_ca_verification(subscriber, live_broker):
    dev = dev_id()
    sub = subscriber("wildcam/%s/event" % dev)
    m = MQTT("127.0.0.1", live_broker.tls_port, client_id=dev, user=live_broker.user, password=live_broker.password,
             tls=tls_context(live_broker.pki["ca.crt"]), timeout_s=3)
    run(m.publish(m.topic("event"), b"over tls"))
    assert sub.wait_for(lambda ms: ms)
    assert sub.msgs[0][1] == b"over tls"
    run(m.disconnect())


def test_tls_with_the_wrong_ca_is_refused(live_broker):
    m = MQTT("127.0.0.1", live_broker.tls_port, client_id=dev_id(),
             user=live_broker.user, password=live_broker.password, tls=tls_context(live_broker.pki["otherca.crt"]), timeout_s=3)
    with pytest.raises(Retry) as e:
        run(m.publish("wildcam/x/event", b"{}"))
    assert "certificate" in str(e.value).lower()
    assert not m.connected


def test_tls_refuses_a_host_name_the_certificate_does_not_name(live_broker):
    """The server certificate names 127.0.0.1 and localhost. Connect to the same listener
    as `wrong.example`: the chain is fine, the name is not, so the handshake fails."""
    import wildcam.net.stream as stream_mod

    s = stream_mod.Stream(3, tls_context(live_broker.pki["ca.crt"]))
    with pytest.raises(OSError) as e:
        run(s.connect("wrong.example", live_broker.tls_port, addr="127.0.0.1"))
    assert "hostname" in str(e.value).lower() or "match" in str(e.value).lower()
    assert s.closed


def test_mutual_tls_with_a_client_certificate(subscriber, live_broker):
    dev = dev_id()
    sub = subscriber("wildcam/%s/event" % dev)
    p = live_broker.pki
    m = MQTT("127.0.0.1", live_broker.mtls_port, client_id=dev,
             tls=tls_context(p["ca.crt"], p["client.crt"], p["client.key"]), timeout_s=3)
    run(m.publish(m.topic("event"), b"mtls"))
    assert sub.wait_for(lambda ms: ms) and sub.msgs[0][1] == b"mtls"
    run(m.disconnect())


def test_mutual_tls_without_a_client_certificate_is_refused(live_broker):
    m = MQTT("127.0.0.1", live_broker.mtls_port, client_id=dev_id(),
             tls=tls_context(live_broker.pki["ca.crt"]), timeout_s=3)
    with pytest.raises(Retry):
        run(m.publish("wildcam/x/event", b"{}"))
    assert not m.connected


def test_last_will_offline_is_retained_after_an_unclean_drop(subscriber, live_broker):
    m = plain(live_broker)
    run(m.connect())
    m.close()  # socket gone without DISCONNECT: the broker publishes the will
    run(asyncio.sleep(0.05))  # (CPython closes a transport on the loop's next turn)
    late = subscriber(m.status_topic)  # subscribes afterwards: sees the retained value
    assert late.wait_for(lambda ms: ms)
    assert late.msgs[-1] == (m.status_topic, b"offline", True)


def test_clean_disconnect_also_leaves_offline_retained(subscriber, live_broker):
    m = plain(live_broker)
    run(m.connect())
    on = subscriber(m.status_topic)
    assert on.wait_for(lambda ms: ms) and on.msgs[-1][1] == b"online"
    run(m.disconnect())
    assert on.wait_for(lambda ms: ms[-1][1] == b"offline")


def test_keepalive_pings_keep_an_idle_connection(live_broker):
    m = plain(live_broker, keepalive_s=1)

    async def main():
        await m.connect()
        end = time.monotonic() + 2.6  # > 1.5 keepalives: the broker would have dropped us
        while time.monotonic() < end:
            assert await m.poll()
            await asyncio.sleep(0.1)
        assert m.counters["pings"] >= 2 and m.connected
        await m.publish(m.topic("event"), b"still here")
        await m.disconnect()

    run(main())


def test_commands_reach_a_subscription_callback(live_broker):
    import paho.mqtt.publish as pub

    m = plain(live_broker)
    got = []

    async def main():
        await m.subscribe(m.topic("cmd"), lambda t, msg, retained: got.append((t, msg)))
        await m.connect()
        await asyncio.get_running_loop().run_in_executor(None, lambda: pub.single(
            m.topic("cmd"), b'{"op":"capture"}', qos=1, hostname="127.0.0.1",
            port=live_broker.port,
            auth={"username": live_broker.user, "password": live_broker.password}))
        end = time.monotonic() + 5
        while not got and time.monotonic() < end:
            await asyncio.sleep(0.02)  # the reader task delivers it: no polling needed
        await m.disconnect()

    run(main())
    assert got == [(m.topic("cmd"), b'{"op":"capture"}')]


def _engine(tmp_path, mqtt, link=None):
    st = DirStorage(tmp_path)
    box = Outbox(st, root="/q", now=lambda: 1780000000).open()
    dest = MqttDest(mqtt)
    eng = SyncEngine(box, [Route("default", ["mqtt"])],
                     [SyncEngine.wrap(dest, breaker=Breaker(threshold=1, base_ms=50,
                                                            cap_ms=300))],
                     Log(), link=link)
    return box, eng


def test_batch_is_one_zlib_message_of_the_items(tmp_path, subscriber, live_broker):
    m = plain(live_broker)
    sub = subscriber(m.topic("batch"))
    box, eng = _engine(tmp_path, m, link=Link(slow=True))
    for i in range(10):
        box.put("health", data={"n": i, "note": "battery ok " * 3}, key="h%d" % i)
    assert run(eng.drain()) == 1  # one batch
    assert box.pending() == 0 and eng.stats()["batches"] == 1
    assert sub.wait_for(lambda ms: ms)
    body = sub.msgs[0][1]
    assert body[0] & 0x0F == 8 and body[:1] != b"["  # a zlib header (CM=8), not JSON
    items = json.loads(zlib.decompress(body))
    assert [i["key"] for i in items] == ["h%d" % i for i in range(10)]
    assert items[3]["data"]["n"] == 3 and items[3]["kind"] == "health"
    run(m.disconnect())


def test_broker_killed_and_restarted_mid_run_loses_nothing(tmp_path, subscriber, live_broker):
    """A camera produces 60 items while its broker dies (SIGKILL) and comes back on the same
    port. Every item reaches a subscriber; repeats (at-least-once) are dropped by key."""
    m = plain(live_broker, timeout_s=1)
    sub = subscriber("wildcam/%s/event" % m.device, "wildcam/%s/health" % m.device)
    link = Link()
    box, eng = _engine(tmp_path, m, link=link)
    keys = ["e%03d" % i for i in range(60)]

    def received():
        return set(json.loads(p)["key"] for _, p, _ in sub.msgs)

    async def produce():
        for i, k in enumerate(keys):
            box.put("health" if i % 3 == 0 else "detection", data={"i": i}, key=k)
            eng.kick()
            await asyncio.sleep(0.02)

    async def main():
        runner = asyncio.ensure_future(eng.run())
        producer = asyncio.ensure_future(produce())
        while len(received()) < 15:
            await asyncio.sleep(0.01)
        sub.subscribed.clear()
        live_broker.kill()  # mid-run: items keep coming, publishes fail
        await asyncio.sleep(0.5)
        link.is_up = False  # the consumer must be back before the camera is (see below)
        await asyncio.sleep(0.05)
        live_broker.start()
        await asyncio.get_running_loop().run_in_executor(None, sub.subscribed.wait, 5)
        link.is_up = True
        eng.kick()
        await producer
        end = time.monotonic() + 15
        while (box.pending() or len(received()) < len(keys)) and time.monotonic() < end:
            await asyncio.sleep(0.02)
        runner.cancel()

    run(main())
    # A subscriber without a persistent session cannot see what is published while it is
    # away, so the camera's link is held down until it has re-subscribed; the camera itself
    # meets the dead broker (failed publishes on a dead connection, refused reconnects).
    assert box.pending() == 0
    assert received() == set(keys), sorted(set(keys) - received())
    s = eng.stats()
    assert s["delivered"] == 60 and s["retried"] >= 1 and s["dead"] == 0
    assert m.counters["connects"] >= 2
    run(m.disconnect())
