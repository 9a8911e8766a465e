"""Our MQTT packets byte for byte against micropython-lib's umqtt.simple, the protocol
reference (docs/MQTT.md: the firmware's client is written here and asynchronous; umqtt.simple
is blocking, so it is kept for this comparison, not on the board).

umqtt.simple is driven over a capture socket (no network): what it writes for CONNECT (last
will, user and password, keepalive), PUBLISH (qos 0/1, retain, 1-, 2- and 3-byte remaining
lengths), SUBSCRIBE, PINGREQ and DISCONNECT must equal wildcam.net.mqttpkt's bytes; and a
PUBLISH it parses must give the same topic, payload and packet id as ours.
"""
import struct
import types

import pytest

from wildcam.net import mqttpkt as pkt


class Capture:
    """What umqtt.simple sees as a socket: records writes, replays canned reads."""

    def __init__(self, replies=b""):
        self.out = bytearray()
        self.replies = replies
        self.pos = 0

    def connect(self, addr):
        pass

    def write(self, buf, n=None):
        data = bytes(buf if n is None else buf[:n])
        self.out += data
        return len(data)

    def read(self, n):
        r = self.replies[self.pos:self.pos + n]
        self.pos += n
        return r

    def setblocking(self, flag):
        pass

    def close(self):
        pass


@pytest.fixture
def umqtt(monkeypatch):
    from umqtt import simple

    made = []

    def sock(*a):
        made.append(Capture(made_replies[0]))
        return made[-1]

    made_replies = [b""]
    fake = types.SimpleNamespace(socket=sock, getaddrinfo=lambda h, p, *a: [(2, 1, 0, "", (h, p))])
    monkeypatch.setattr(simple, "socket", fake)

    def client(replies, **kw):
        made_replies[0] = replies
        c = simple.MQTTClient(kw.pop("client_id", b"wc-1"), "broker", 1883, **kw)
        return c, made

    return simple, client


def test_connect_with_will_user_password_keepalive_matches(umqtt):
    simple, client = umqtt
    c, made = client(b"\x20\x02\x00\x00", user=b"cam", password=b"s3cret", keepalive=60)
    c.set_last_will(b"wildcam/wc-1/status", b"offline", True, 1)
    c.connect(True)
    assert bytes(made[-1].out) == pkt.connect(b"wc-1", b"cam", b"s3cret", 60,
                                             b"wildcam/wc-1/status", b"offline", True, 1, True)
    c, made = client(b"\x20\x02\x00\x00", keepalive=0)  # no will, no user, persistent
    c.connect(False)
    assert bytes(made[-1].out) == pkt.connect(b"wc-1", clean_session=False)


@pytest.mark.parametrize("size", [0, 5, 200, 20000])
@pytest.mark.parametrize("qos,retain", [(0, True), (0, False), (1, False), (1, True)])
def test_publish_matches(umqtt, size, qos, retain):
    simple, client = umqtt
    c, made = client(b"\x20\x02\x00\x00" + b"\x40\x02\x00\x01")
    c.connect()
    start = len(made[-1].out)
    msg = bytes(range(256)) * (size // 256) + bytes(size % 256)
    c.publish(b"wildcam/wc-1/event", msg, retain, qos)
    sent = bytes(made[-1].out[start:])
    assert sent == pkt.publish_head(b"wildcam/wc-1/event", len(msg), qos, retain, 1 if qos else 0) \
        + msg


def test_subscribe_ping_disconnect_match(umqtt):
    simple, client = umqtt
    c, made = client(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x01")
    c.connect()
    c.set_callback(lambda t, m: None)
    start = len(made[-1].out)
    c.subscribe(b"wildcam/wc-1/cmd", 1)
    assert bytes(made[-1].out[start:]) == pkt.subscribe(1, b"wildcam/wc-1/cmd", 1)
    start = len(made[-1].out)
    c.ping()
    c.disconnect()
    assert bytes(made[-1].out[start:]) == pkt.PINGREQ + pkt.DISCONNECT


@pytest.mark.parametrize("qos", [0, 1])
def test_an_incoming_publish_parses_the_same(umqtt, qos):
    simple, client = umqtt
    topic, payload, pid = b"wildcam/wc-1/cmd", b'{"cmd":"status","n":1}' * 10, 0x1234
    var = struct.pack("!H", len(topic)) + topic + (struct.pack("!H", pid) if qos else b"")
    body = var + payload
    frame = bytes([0x30 | qos << 1]) + pkt.encode_len(len(body)) + body
    c, made = client(b"\x20\x02\x00\x00" + frame)
    c.connect()
    got = []
    c.set_callback(lambda t, m: got.append((t, m)))
    c.wait_msg()
    t, p, pos = pkt.parse_publish(0x30 | qos << 1, body, len(body))
    assert got == [(t, body[pos:])] and t == topic and body[pos:] == payload
    assert p == (pid if qos else 0)
    if qos:  # umqtt acknowledges; so do we, with the same bytes
        assert bytes(made[-1].out).endswith(pkt.puback(pid))


def test_remaining_length_encoding_edges():
    for n, enc in ((0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16383, b"\xff\x7f"),
                   (16384, b"\x80\x80\x01"), (268435455, b"\xff\xff\xff\x7f")):
        assert pkt.encode_len(n) == enc
    with pytest.raises(ValueError):
        pkt.encode_len(268435456)
