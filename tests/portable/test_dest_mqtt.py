"""MQTT destination payloads, topics, batches and helpers (portable: CPython and MicroPython).

No sockets here: the destination is given a fake MQTT object; the wrapper's network
behaviour is tested against real and fake brokers in tests/services.
"""

import io
import json

import deflate

from wildcam.core import jsonutil
from wildcam.dest.mqtt import MqttDest, encode_batch, payload_of, topic_of
from wildcam.core.errors import Permanent
from wildcam.net.mqtt import _hmac_sha256, azure_sas_token, topic_matches


class It:
    def __init__(self, key, kind, data=None, media=None, size=0, sha256=None, created=1780000000):
        self.key = key
        self.kind = kind
        self.data = data
        self.media = media
        self.size = size
        self.sha256 = sha256
        self.created = created


class FakeMQTT:
    def __init__(self):
        self.sent = []

    def topic(self, sub):
        return "wildcam/wc-1/" + sub

    async def publish(self, topic, msg, retain=False, qos=1):
        self.sent.append((topic, bytes(msg), retain, qos))
        return len(msg)


def _result(coro):
    """Run a coroutine that never suspends (no event loop needed)."""
    try:
        coro.send(None)
    except StopIteration as e:
        return e.args[0] if e.args else None
    raise AssertionError("coroutine suspended")


def _inflate(z):
    return deflate.DeflateIO(io.BytesIO(z), deflate.ZLIB).read()


def test_topics_by_kind_and_media():
    assert topic_of(It("a", "alert")) == "event"
    assert topic_of(It("d", "detection")) == "event"
    assert topic_of(It("t", "timelapse")) == "event"
    assert topic_of(It("h", "health")) == "health"
    assert topic_of(It("x", "whatever")) == "event"
    assert topic_of(It("m", "detection", media="/sd/DCIM/1/a.jpg")) == "media"


def test_payload_is_sorted_json_with_the_key_and_media_metadata():
    item = It("wc-1-B1-0007", "detection", data={"score": 0.9, "box": [1, 2, 3, 4]},
              media="/sd/DCIM/B1/0007.jpg", size=5120, sha256="ab" * 32)
    text = jsonutil.dumps(payload_of(item))
    assert text == ('{"created":1780000000,"data":{"box":[1,2,3,4],"score":0.9},'
                    '"key":"wc-1-B1-0007","kind":"detection","media":{"path":'
                    '"/sd/DCIM/B1/0007.jpg","sha256":"' + "ab" * 32 + '","size":5120}}')
    bare = payload_of(It("h1", "health", created=0))
    assert bare == {"key": "h1", "kind": "health", "created": None}


def test_send_publishes_qos1_on_the_kind_topic():
    mq = FakeMQTT()
    dest = MqttDest(mq)
    n = _result(dest.send(It("h1", "health", data={"bat": 3.9}), None))
    topic, body, retain, qos = mq.sent[0]
    assert topic == "wildcam/wc-1/health" and qos == 1 and not retain
    assert n == len(body) and json.loads(body)["data"] == {"bat": 3.9}


def test_batch_is_a_zlib_json_array_or_plain_json():
    items = [It("e%d" % i, "detection", data={"i": i, "note": "deer at the pond"})
             for i in range(12)]
    z = encode_batch(items)
    assert z[:1] != b"[" and z[0] & 0x0F == 8  # zlib header
    got = json.loads(_inflate(z))
    assert [d["key"] for d in got] == ["e%d" % i for i in range(12)]
    raw = encode_batch(items, allow_compress=False)
    assert raw[:1] == b"[" and json.loads(raw) == got
    assert len(z) < len(raw) // 3
    mq = FakeMQTT()
    n = _result(MqttDest(mq).send_batch(items, None))
    assert mq.sent[0][0] == "wildcam/wc-1/batch" and n == len(z)


def test_a_tiny_batch_that_does_not_shrink_goes_as_plain_json():
    body = encode_batch([It("a", "health")])
    assert body[:1] == b"["


def test_an_oversized_payload_is_permanent():
    dest = MqttDest(FakeMQTT(), max_payload=100)
    try:
        _result(dest.send(It("big", "detection", data={"x": "y" * 200}), None))
    except Permanent as e:
        assert "100" in str(e)
    else:
        raise AssertionError("no Permanent")


def test_topic_filters():
    assert topic_matches("wildcam/+/cmd", "wildcam/wc-1/cmd")
    assert topic_matches("wildcam/#", "wildcam/wc-1/cmd/x")
    assert not topic_matches("wildcam/+/cmd", "wildcam/wc-1/cmd/x")
    assert not topic_matches("wildcam/wc-1/cmd", "wildcam/wc-2/cmd")


def test_hmac_sha256_rfc4231_case_2():
    from binascii import hexlify

    mac = _hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert hexlify(mac) == b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_azure_sas_token_shape():
    tok = azure_sas_token("hub.azure-devices.net/devices/wc-1", "MDEyMzQ1Njc4OWFiY2RlZg==",
                          1780000000, policy="device")
    assert tok.startswith("SharedAccessSignature sr=hub.azure-devices.net%2Fdevices%2Fwc-1&sig=")
    assert tok.endswith("&se=1780000000&skn=device")
    assert "+" not in tok and "=" not in tok.split("sig=")[1].split("&")[0]
