"""The MQTT client against misbehaving brokers (small fake servers on loopback; no mosquitto).

A broker that accepts and never answers, one that stalls after CONNACK, one that swallows
the first PUBLISH (no PUBACK), one that drips garbage, one that sends oversized or malformed
packets: every call returns or raises Retry within its bound, an unacknowledged publish is
republished on a new connection, and while the client waits the loop keeps running.
"""
import asyncio
import socket
import struct
import threading
import time

import pytest

from wildcam.core.errors import Retry
from wildcam.net.mqtt import MQTT, azure_sas_token
from wildcam.net.stream import open_stream

from .cloudutil import run


class FakeBroker:
    """Accepts connections on a free port; `behave(conn_no, sock, broker)` handles each one in
    its own thread."""

    def __init__(self, behave):
        self.behave = behave
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.conns = []
        self.published = []  # (conn_no, topic, payload)
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.conns.append(c)
            n = len(self.conns)
            threading.Thread(target=self._serve, args=(n, c), daemon=True).start()

    def _serve(self, n, c):
        try:
            self.behave(n, c, self)
        except OSError:
            pass

    def close(self):
        self._stop = True
        self.srv.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def read_packet(c):
    """(type byte, body) of one MQTT packet, or None at EOF."""
    h = c.recv(1)
    if not h:
        return None
    n = sh = 0
    while True:
        b = c.recv(1)[0]
        n |= (b & 0x7F) << sh
        if not b & 0x80:
            break
        sh += 7
    body = b""
    while len(body) < n:
        part = c.recv(n - len(body))
        if not part:
            return None
        body += part
    return h[0], body


def serve(n, c, broker, ack_publish=lambda n, topic: True):
    """A minimal broker session: CONNACK, PUBACK (when ack_publish says so), PINGRESP."""
    while True:
        p = read_packet(c)
        if p is None:
            return
        t, body = p
        if t >> 4 == 1:
            c.sendall(b"\x20\x02\x00\x00")
        elif t >> 4 == 3:
            tl = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + tl].decode()
            pid = body[2 + tl:4 + tl]
            broker.published.append((n, topic, body[4 + tl:]))
            if (t >> 1) & 3 == 1:
                if not ack_publish(n, topic):
                    time.sleep(5)  # swallow it: no PUBACK
                    return
                c.sendall(b"\x40\x02" + pid)
        elif t >> 4 == 12:
            c.sendall(b"\xd0\x00")
        elif t >> 4 == 14:
            return


@pytest.fixture
def fake():
    made = []

    def make(behave):
        b = FakeBroker(behave)
        made.append(b)
        return b

    yield make
    for b in made:
        b.close()


def _mqtt(port, **kw):
    kw.setdefault("timeout_s", 0.5)
    return MQTT("127.0.0.1", port, client_id="wc-f", device="wc-f", **kw)


def test_a_broker_that_never_answers_fails_within_the_timeout(fake):
    b = fake(lambda n, c, br: time.sleep(10))  # accepts, reads nothing, says nothing
    m = _mqtt(b.port)
    t0 = time.monotonic()
    with pytest.raises(Retry) as e:
        run(m.publish(m.topic("event"), b"{}"))
    took = time.monotonic() - t0
    assert took < 1.5, took  # connect + CONNACK under 2 x timeout_s, no immediate retry
    assert "connect" in str(e.value) and not m.connected


def test_a_broker_that_stalls_after_connack_fails_within_the_bound(fake):
    b = fake(lambda n, c, br: serve(n, c, br, ack_publish=lambda n, t: t.endswith("status")))
    m = _mqtt(b.port, attempts=2)
    t0 = time.monotonic()
    with pytest.raises(Retry) as e:
        run(m.publish(m.topic("event"), b'{"key":"a"}'))
    took = time.monotonic() - t0
    assert took < 2 * (0.5 + 0.5) + 0.8, took  # 2 attempts x (PUBACK wait + reconnect)
    assert "after 2 attempts" in str(e.value)
    assert [p for p in b.published if p[1].endswith("event")] == \
        [(1, "wildcam/wc-f/event", b'{"key":"a"}'), (2, "wildcam/wc-f/event", b'{"key":"a"}')]


def test_a_lost_puback_means_reconnect_and_republish(fake):
    b = fake(lambda n, c, br: serve(
        n, c, br, ack_publish=lambda n, t: n > 1 or t.endswith("status")))
    m = _mqtt(b.port)
    assert run(m.publish(m.topic("event"), b'{"key":"k"}')) == 11
    events = [p for p in b.published if p[1].endswith("/event")]
    assert [e[0] for e in events] == [1, 2]  # same message on two connections
    assert m.counters["republishes"] == 1 and m.counters["connects"] == 2
    # the second connection announced itself online again
    assert [p[0] for p in b.published if p[1].endswith("/status")] == [1, 2]


def test_a_dripping_broker_cannot_hold_a_publish_past_its_deadline(fake):
    def drip(n, c, br):
        read_packet(c)
        c.sendall(b"\x20\x02\x00\x00")
        read_packet(c)  # status
        c.sendall(b"\x40\x02\x00\x01")
        read_packet(c)  # the event: answer with PINGRESPs, one every 0.2 s, forever
        for _ in range(50):
            c.sendall(b"\xd0\x00")
            time.sleep(0.2)

    b = fake(drip)
    m = _mqtt(b.port, attempts=1, timeout_s=0.5)
    t0 = time.monotonic()
    with pytest.raises(Retry):
        run(m.publish(m.topic("event"), b"{}"))
    assert time.monotonic() - t0 < 1.2  # the total deadline, though each read succeeded


def test_garbage_instead_of_connack_is_a_retry(fake):
    def garbage(n, c, br):
        read_packet(c)
        c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        time.sleep(1)

    b = fake(garbage)
    m = _mqtt(b.port)
    with pytest.raises(Retry):
        run(m.publish(m.topic("event"), b"{}"))
    assert not m.connected


def test_connection_refused_is_a_quick_retry():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m = _mqtt(port)
    t0 = time.monotonic()
    with pytest.raises(Retry):
        run(m.publish("wildcam/x/event", b"{}"))
    assert time.monotonic() - t0 < 0.5


def test_poll_skips_a_late_puback_and_answers_nothing_else(fake):
    """A PUBACK that arrives after we gave up (its publish timed out) must not desync the
    stream for the next packet."""
    def late(n, c, br):
        read_packet(c)
        c.sendall(b"\x20\x02\x00\x00")
        read_packet(c)
        c.sendall(b"\x40\x02\x00\x01")  # status ack
        c.sendall(b"\x40\x02\x00\x63")  # a stray late PUBACK
        serve(n, c, br)

    b = fake(late)
    m = _mqtt(b.port)
    run(m.connect())
    run(asyncio.sleep(0.1))  # the reader task takes the stray PUBACK meanwhile
    assert run(m.poll()) and m.connected
    assert run(m.publish(m.topic("event"), b"{}")) == 2
    assert m.counters["republishes"] == 0


def _publish_pkt(topic, payload, qos=1, pid=7):
    t = topic.encode()
    var = struct.pack("!H", len(t)) + t + (struct.pack("!H", pid) if qos else b"")
    body = var + payload
    n, rl = len(body), b""
    while True:
        d, n = n & 0x7F, n >> 7
        rl += bytes([d | (0x80 if n else 0)])
        if not n:
            break
    return bytes([0x30 | qos << 1]) + rl + body


def _handshake_then(send_after, after=8):
    """A broker session: CONNACK, then SUBACK / PUBACK as a broker would, calling
    `send_after(c)` once right after answering the first packet of type `after` (8:
    SUBSCRIBE, 3: PUBLISH); records the PUBACKs it gets from the client."""
    def behave(n, c, br):
        read_packet(c)
        c.sendall(b"\x20\x02\x00\x00")
        sent = False
        while True:
            p = read_packet(c)
            if p is None:
                return
            t, body = p
            if t >> 4 == 3:
                tl = struct.unpack("!H", body[:2])[0]
                qos = (t >> 1) & 3
                br.published.append((n, "PUBLISH", (body[2:2 + tl].decode(), t & 1,
                                                    body[2 + tl + (2 if qos else 0):])))
                if qos:
                    c.sendall(b"\x40\x02" + body[2 + tl:4 + tl])
            elif t >> 4 == 8:
                br.published.append((n, "SUBSCRIBE", body))
                c.sendall(b"\x90\x03" + body[:2] + b"\x01")
            if t >> 4 == after and not sent:
                sent = True
                send_after(c)
            elif t >> 4 == 4:
                br.published.append((n, "PUBACK", body))
            elif t >> 4 == 12:
                c.sendall(b"\xd0\x00")
    return behave


def _subscribed(port, got):
    async def main():
        m = _mqtt(port, timeout_s=1)
        await m.subscribe(m.topic("cmd"), lambda t, msg, retained: got.append(msg))
        await m.connect()
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.02)
        return m
    return main


def test_an_oversized_message_is_drained_acknowledged_and_the_next_one_arrives(fake):
    big = _publish_pkt("wildcam/wc-f/cmd", b"x" * 10000, pid=41)
    small = _publish_pkt("wildcam/wc-f/cmd", b'{"cmd":"status"}', pid=42)
    b = fake(_handshake_then(lambda c: c.sendall(big + small)))
    got = []
    m = run(_subscribed(b.port, got)())
    assert got == [b'{"cmd":"status"}']
    assert m.counters["oversized"] == 1 and m.connected
    assert "oversized" in m.last_error
    for _ in range(100):  # the fake broker's thread records the PUBACKs a moment later
        acks = [body for _, kind, body in b.published if kind == "PUBACK"]
        if struct.pack("!H", 41) in acks and struct.pack("!H", 42) in acks:
            break
        run(asyncio.sleep(0.02))
    assert struct.pack("!H", 41) in acks and struct.pack("!H", 42) in acks
    run(m.disconnect())


def test_a_packet_past_the_drain_limit_or_malformed_drops_the_connection(fake):
    huge = b"\x30\xff\xff\x7f\x00\x03a/b"  # 2 MB: its topic read, the rest not: dropped
    bad = b"\x30\xff\xff\xff\xff\x01"  # five length bytes: malformed
    for junk, why in ((huge, "not draining"), (bad, "malformed")):
        b = fake(_handshake_then(lambda c, j=junk: c.sendall(j), after=3))
        got = []
        m = _mqtt(b.port, timeout_s=1)
        run(m.connect())
        for _ in range(50):
            if not m.connected:
                break
            run(asyncio.sleep(0.02))
        assert not m.connected and why in m.last_error and got == []


def _retained(pkt):
    return bytes([pkt[0] | 1]) + pkt[1:]


def test_callbacks_are_told_whether_a_message_was_retained(fake):
    kept = _retained(_publish_pkt("wildcam/wc-f/cmd", b"old", pid=5))
    live = _publish_pkt("wildcam/wc-f/cmd", b"new", pid=6)
    b = fake(_handshake_then(lambda c: c.sendall(kept + live)))
    got = []

    async def main():
        m = _mqtt(b.port, timeout_s=1)
        await m.subscribe(m.topic("cmd"), lambda t, msg, retained: got.append((msg, retained)))
        await m.connect()
        for _ in range(100):
            if len(got) == 2:
                break
            await asyncio.sleep(0.02)
        await m.disconnect()

    run(main())
    assert got == [(b"old", True), (b"new", False)]


def test_an_oversized_retained_command_is_drained_acknowledged_and_cleared(fake):
    """A retained message too big to keep would come back at every subscribe: after the
    drain the client clears it (an empty retained message on the same topic)."""
    big = _retained(_publish_pkt("wildcam/wc-f/cmd", b"x" * 10000, pid=41))
    b = fake(_handshake_then(lambda c: c.sendall(big)))
    got = []
    m = run(_subscribed(b.port, got)())
    for _ in range(100):
        if m.counters["cleared"]:
            break
        run(asyncio.sleep(0.02))
    assert got == [] and m.connected and m.counters["oversized"] == 1
    assert m.counters["cleared"] == 1
    for _ in range(100):  # recorded by the fake broker's thread a moment later
        if ("PUBLISH", ("wildcam/wc-f/cmd", 1, b"")) in [(k, x) for _, k, x in b.published]:
            break
        run(asyncio.sleep(0.02))
    pubs = [body for _, kind, body in b.published if kind == "PUBLISH"]
    assert ("wildcam/wc-f/cmd", 1, b"") in pubs  # retain flag, no payload
    assert struct.pack("!H", 41) in [body for _, kind, body in b.published if kind == "PUBACK"]
    run(m.disconnect())


def test_a_retained_packet_past_the_drain_limit_is_acknowledged_then_cleared_first(fake):
    """Past DRAIN_MAX the connection is dropped, but not before the PUBACK (the broker
    forgets the message even for a persistent session); the next connect clears the
    retained message *before* it subscribes, so it is not delivered again, and waits a
    while first (a broker whose ACL forbids the clear cannot make the camera spin)."""
    head = b"\x33\x80\x80\x80\x01"  # PUBLISH qos1 retained, remaining length 2 MB
    var = struct.pack("!H", 16) + b"wildcam/wc-f/cmd" + struct.pack("!H", 99)
    sent = []

    def once(c):  # a real broker would not send it again: the clear came first
        if not sent:
            sent.append(c.sendall(head + var + b"x" * 1000))

    b = fake(_handshake_then(once))
    got = []

    async def main():
        m = _mqtt(b.port, timeout_s=1)
        await m.subscribe(m.topic("cmd"), lambda t, msg, retained: got.append(msg))
        with pytest.raises(Retry):  # it comes right after the SUBACK: this connect fails
            await m.connect()
        assert not m.connected and m.counters["oversized"] == 1
        with pytest.raises(Retry) as held:
            await m.publish(m.topic("event"), b"{}")  # run() and publish() are held off
        assert held.value.after_ms > 4000
        m._hold = None  # (the test does not wait the 5 s)
        await m.connect()
        await m.disconnect()
        return m

    m = run(main())
    assert got == [] and m.counters["cleared"] == 1
    acks = [body for n, kind, body in b.published if kind == "PUBACK" and n == 1]
    assert struct.pack("!H", 99) in acks
    second = [(kind, body) for n, kind, body in b.published if n == 2 and kind != "PUBACK"]
    assert second[0] == ("PUBLISH", ("wildcam/wc-f/cmd", 1, b""))  # the clear, first
    assert second[1][0] == "SUBSCRIBE"


def test_the_loop_runs_while_a_publish_waits_for_its_puback(fake):
    def slow_ack(n, c, br):
        read_packet(c)
        c.sendall(b"\x20\x02\x00\x00")
        while True:
            p = read_packet(c)
            if p is None:
                return
            t, body = p
            if t >> 4 == 3:
                tl = struct.unpack("!H", body[:2])[0]
                time.sleep(0.3)  # the broker is slow to acknowledge
                c.sendall(b"\x40\x02" + body[2 + tl:4 + tl])

    b = fake(slow_ack)
    m = _mqtt(b.port, timeout_s=2)
    ticks = []

    async def ticker():
        while True:
            ticks.append(1)
            await asyncio.sleep(0.01)

    async def main():
        t = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        before = len(ticks)
        await m.publish(m.topic("event"), b"{}")  # connect + online + event: ~0.6 s waiting
        during = len(ticks) - before
        t.cancel()
        await m.disconnect()
        return during

    # structural, not timed: a blocking wait would leave the ticker at 0 or 1 runs
    assert run(main()) >= 10


def test_stream_reads_time_out_and_the_connection_stays_usable(fake):
    def late(n, c, br):
        time.sleep(0.5)
        c.sendall(b"hello")
        time.sleep(2)

    b = fake(late)

    async def main():
        s = await open_stream("127.0.0.1", b.port, timeout_s=0.2)
        t0 = time.monotonic()
        with pytest.raises(OSError) as e:
            await s.read(1)  # nothing within the step timeout
        assert e.value.args[0] == 110 and 0.15 < time.monotonic() - t0 < 0.5
        s.settimeout(None)  # "forever" is refused: the timeout stays
        assert s.timeout_s == 0.2
        s.settimeout(2)
        assert await s.read(5) == b"hello"  # the timed-out read lost nothing
        s.deadline(100)  # a whole exchange: the deadline wins over the step timeout
        t0 = time.monotonic()
        with pytest.raises(OSError):
            await s.read(1)
        assert time.monotonic() - t0 < 0.5
        s.close()

    run(main())


def test_azure_sas_token_matches_a_reference_signature():
    import base64
    import hashlib
    import hmac
    import urllib.parse

    key = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    uri = "myhub.azure-devices.net/devices/wc-1"
    tok = azure_sas_token(uri, key, 1780000000)
    sr = urllib.parse.quote(uri, safe="")
    sig = base64.b64encode(hmac.new(base64.b64decode(key), ("%s\n%d" % (sr, 1780000000))
                                    .encode(), hashlib.sha256).digest()).decode()
    assert tok == "SharedAccessSignature sr=%s&sig=%s&se=1780000000" % (
        sr, urllib.parse.quote(sig, safe=""))
