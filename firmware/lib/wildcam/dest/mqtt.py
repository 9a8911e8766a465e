"""MQTT destination for the sync engine: events, health and media metadata as JSON messages.

One item = one qos1 message (topics in docs/MQTT.md):

    <prefix>/<device>/event    alert, detection and time-lapse items without media
    <prefix>/<device>/health   health items
    <prefix>/<device>/media    metadata of an image (path, size, sha256): the bytes go to a
                               storage destination, never over MQTT
    <prefix>/<device>/batch    several small items in one message (`send_batch`)

Payload (sorted keys, `wildcam.core.jsonutil`): {"created", "data", "key", "kind", "media"}; `key`
is the outbox idempotency key, so a receiver drops repeats (delivery is at-least-once).

Batch payload: a JSON array of the same objects, deflate-compressed in zlib format
(`deflate.DeflateIO(stream, deflate.ZLIB, 10)`: a 1 KB window, so the first byte is 0x28;
any zlib stream's first byte has low nibble 8). When the board's build has no deflate
compression, or compression does not make it smaller, the array is sent as plain JSON: a
receiver tells the two apart by the first byte (`[` = JSON, else zlib.decompress).

`send`/`send_batch` await `wildcam.net.mqtt.MQTT.publish` (qos1, the PUBACK awaited; the loop
runs meanwhile); it raises `errors.Retry` on trouble. A payload over `max_payload` bytes
raises `errors.Permanent`.
"""

from wildcam.core import jsonutil
from wildcam.core.errors import Permanent

TOPICS = {"alert": "event", "detection": "event", "timelapse": "event", "health": "health"}
MAX_PAYLOAD = 65536


def topic_of(item):
    """Subtopic of an item: media metadata, else by kind (unknown kinds are events)."""
    if item.media:
        return "media"
    return TOPICS.get(item.kind, "event")


def payload_of(item):
    """The message object of one item (a dict; see the module notes)."""
    d = {"key": item.key, "kind": item.kind, "created": item.created or None}
    if item.data is not None:
        d["data"] = item.data
    if item.media:
        d["media"] = {"path": item.media, "size": item.size or 0, "sha256": item.sha256}
    return d


def compress(data, wbits=10):
    """zlib-format deflate of `data`, or None when this build cannot compress."""
    try:
        import deflate
        import io
    except ImportError:
        return None
    buf = io.BytesIO()
    try:
        d = deflate.DeflateIO(buf, deflate.ZLIB, wbits)
        try:
            d.write(data)  # pyright: ignore[reportAttributeAccessIssue]  # stub gap: deflate.DeflateIO.write
        finally:
            d.close()
    except (AttributeError, OSError, ValueError):  # no compressor in this build
        return None
    return buf.getvalue()  # pyright: ignore[reportAttributeAccessIssue]  # stub gap: io.BytesIO.getvalue


def encode_batch(items, allow_compress=True):
    """Batch payload bytes: zlib-compressed JSON array, or the plain array when smaller or
    when compression is unavailable."""
    raw = ("[" + ",".join(jsonutil.dumps(payload_of(i)) for i in items) + "]").encode()
    z = compress(raw) if allow_compress else None
    if z is None or len(z) >= len(raw):
        return raw
    return z


class MqttDest:
    def __init__(self, mqtt, name="mqtt", compress=True, max_payload=MAX_PAYLOAD):
        self.mqtt = mqtt  # a wildcam.net.mqtt.MQTT (or anything with topic() and publish())
        self.name = name
        self.compress = compress
        self.max_payload = max_payload

    async def _publish(self, sub, body):
        if len(body) > self.max_payload:
            raise Permanent("mqtt payload %d bytes > %d" % (len(body), self.max_payload))
        await self.mqtt.publish(self.mqtt.topic(sub), body, False, 1)
        return len(body)

    async def send(self, item, storage):
        return await self._publish(topic_of(item), jsonutil.dumps(payload_of(item)).encode())

    async def send_batch(self, items, storage):
        return await self._publish("batch", encode_batch(items, self.compress))
