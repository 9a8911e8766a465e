"""MQTT 3.1.1 packets: the bytes the camera sends and the reading of what it receives.

Pure functions (portable tests; tests/services compares the encodings with micropython-lib's
umqtt.simple, the protocol reference). Sent packets are built whole except a PUBLISH
payload, which goes out as it is after `publish_head()` (no copy of the message).

Receiving (wildcam.net.mqtt reads, this module parses): the fixed header first — one type
byte and the remaining length (at most 4 bytes of 7 bits) — so the reader knows a packet's
size before it reads any of its body and can refuse or drain one that does not fit its
buffer.
"""

from micropython import const

CONNECT = const(0x10)
CONNACK = const(0x20)
PUBLISH = const(0x30)
PUBACK = const(0x40)
SUBSCRIBE = const(0x82)
SUBACK = const(0x90)
PINGREQ = b"\xc0\x00"
PINGRESP = const(0xD0)
DISCONNECT = b"\xe0\x00"
MAX_LEN = const(268435455)  # the largest remaining length 4 bytes can say

REFUSED = ("", "unacceptable protocol version", "client id rejected", "server unavailable",
           "bad user name or password", "not authorised")


def _b(s):
    return s.encode() if isinstance(s, str) else s


def encode_len(n):
    """The remaining-length bytes of `n` (1..4 bytes, 7 bits each, low first)."""
    if n < 0 or n > MAX_LEN:
        raise ValueError("MQTT packet too long: %d" % n)
    out = bytearray()
    while True:
        d = n & 0x7F
        n >>= 7
        if n:
            out.append(d | 0x80)
        else:
            out.append(d)
            return bytes(out)


def _field(s):
    s = _b(s)
    return bytes((len(s) >> 8, len(s) & 0xFF)) + s


def connect(client_id, user=None, password=None, keepalive_s=0, will_topic=None,
            will_msg=b"", will_retain=False, will_qos=0, clean_session=True):
    """A CONNECT packet (protocol level 4). The password goes only with a user name, as
    MQTT 3.1.1 requires."""
    if not 0 <= keepalive_s < 65536:
        raise ValueError("keepalive out of range")
    flags = 0x02 if clean_session else 0
    payload = _field(client_id)
    if will_topic:
        flags |= 0x04 | (will_qos & 3) << 3 | (0x20 if will_retain else 0)
        payload += _field(will_topic) + _field(will_msg)
    if user is not None:
        flags |= 0x80
        payload += _field(user)
        if password is not None:
            flags |= 0x40
            payload += _field(password)
    var = b"\x00\x04MQTT\x04" + bytes((flags, keepalive_s >> 8, keepalive_s & 0xFF))
    body = var + payload
    return bytes((CONNECT,)) + encode_len(len(body)) + body


def connack_code(b0, b1, b2, b3):
    """The return code of a CONNACK (0 = accepted); ValueError when it is not one."""
    if b0 != CONNACK or b1 != 2:
        raise ValueError("not a CONNACK: %02x %02x" % (b0, b1))
    return b3


def refused_reason(code):
    return REFUSED[code] if 0 < code < len(REFUSED) else "code %s" % code


def publish_head(topic, msg_len, qos=0, retain=False, pid=0, dup=False):
    """A PUBLISH packet up to its payload; the `msg_len` payload bytes follow as they are."""
    topic = _b(topic)
    n = 2 + len(topic) + msg_len + (2 if qos else 0)
    first = PUBLISH | (qos & 3) << 1 | (1 if retain else 0) | (0x08 if dup and qos else 0)
    head = bytes((first,)) + encode_len(n) + _field(topic)
    if qos:
        head += bytes((pid >> 8, pid & 0xFF))
    return head


def puback(pid):
    return bytes((PUBACK, 2, pid >> 8, pid & 0xFF))


def subscribe(pid, topic, qos=1):
    body = bytes((pid >> 8, pid & 0xFF)) + _field(topic) + bytes((qos,))
    return bytes((SUBSCRIBE,)) + encode_len(len(body)) + body


def parse_publish(first, body, n):
    """(topic bytes, pid or 0, payload start) of a PUBLISH whose body[:n] was read;
    ValueError when the topic does not fit the packet."""
    if n < 2:
        raise ValueError("PUBLISH too short")
    tl = body[0] << 8 | body[1]
    pos = 2 + tl
    pid = 0
    if (first >> 1) & 3:
        if pos + 2 > n:
            raise ValueError("PUBLISH topic longer than the packet")
        pid = body[pos] << 8 | body[pos + 1]
        pos += 2
    if pos > n:
        raise ValueError("PUBLISH topic longer than the packet")
    return bytes(body[2:2 + tl]), pid, pos


def topic_matches(pattern, topic):
    """MQTT filter match: `+` one level, `#` the rest."""
    p = pattern.split("/")
    t = topic.split("/")
    for i, part in enumerate(p):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(p) == len(t)
