"""MQTT over micropython-lib's `umqtt.simple`, wrapped so that no call blocks the loop forever.

umqtt.simple (a micropython-lib dependency, installed next to the firmware, never copied
into it) is a small blocking client: no socket timeouts, and a qos1 publish waits for its
PUBACK forever. This wrapper hands it our `wildcam.net.stream.Stream` instead of a raw socket
(through its module-global `socket` name, only for the duration of `connect()`), so that
connect, the TLS handshake, CONNACK, every read and every write run under `timeout_s`, and
each exchange (connect, publish + PUBACK, subscribe + SUBACK, poll) under a total deadline.
umqtt's own `ssl` flag stays False: the Stream does TLS (certificate verification, mutual
TLS).

Guarantees:
- `publish()` returns only after the broker's PUBACK (qos1), or raises `errors.Retry` after
  at most `attempts` tries: a failure on an established connection (timeout, reset, garbage)
  closes it, reconnects and republishes (at-least-once; receivers drop duplicates by the
  payload's idempotency key). A failed connect is not retried at once. Worst case blocking:
  attempts x (2 x timeout_s connect + timeout_s online status + timeout_s publish).
- Every connection carries a last will `<prefix>/<device>/status` = `offline` (retained,
  qos1) and publishes `online` (retained) right after CONNACK; `disconnect()` publishes
  `offline` itself, since a clean DISCONNECT discards the will.
- A refused CONNECT (bad user name or password, not authorised, ...) raises `Retry` with the
  broker's reason in words and `after_ms` of REFUSED_BACKOFF_MS: a wrong secret does not
  hammer the broker.
- `poll()` (call it every second or so, e.g. from `run()`) dispatches incoming messages to
  `subscribe()` callbacks, sends PINGREQ when half the keepalive passed without traffic, and
  drops a connection that has been silent for 1.5 keepalives. It never raises.

Authentication: `user`/`password` (Azure IoT Hub: user `<hub>.azure-devices.net/<device>/
?api-version=2021-04-12`, password a SAS token from `azure_sas_token()`), and/or a client
certificate in the TLS context (AWS IoT Core, mosquitto `require_certificate true`).
"""

import time

from micropython import const

from wildcam.core.errors import Retry
from wildcam.core.hmac256 import hmac_sha256 as _hmac_sha256  # shared: the board has no hmac

REFUSED_BACKOFF_MS = const(60000)
_REFUSED = ("", "unacceptable protocol version", "client id rejected", "server unavailable",
            "bad user name or password", "not authorised")


class _Sockets:
    """What umqtt.simple sees as its `socket` module while it connects."""

    def __init__(self, timeout_s, tls, deadline_ms):
        self.timeout_s = timeout_s
        self.tls = tls
        self.deadline_ms = deadline_ms
        self.stream = None

    def socket(self, *args):
        from wildcam.net.stream import Stream  # imported late: pure helpers here need no socket

        s = Stream(self.timeout_s, self.tls)
        s.deadline(self.deadline_ms)
        self.stream = s
        return s

    def getaddrinfo(self, host, port, *args):
        # resolution happens in Stream.connect, which also needs the name for TLS
        return [(2, 1, 0, "", (host, port))]


def _b(s):
    return s.encode() if isinstance(s, str) else s


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


class MQTT:
    def __init__(self, host, port=None, client_id="wildcam", user=None, password=None,
                 keepalive_s=60, tls=None, timeout_s=5, attempts=2, prefix="wildcam",
                 device=None, clean_session=True, log=None):
        self.host = host
        self.port = port or (8883 if tls is not None else 1883)
        self.client_id = client_id
        self.user = user
        self.password = password
        self.keepalive_s = keepalive_s
        self.tls = tls
        self.timeout_s = timeout_s
        self.attempts = max(1, attempts)
        self.prefix = prefix
        self.device = device or client_id
        self.clean_session = clean_session
        self.log = log
        self.status_topic = self.topic("status")
        self.client = None  # umqtt.simple.MQTTClient while connected
        self.stream = None
        self._subs = []  # [(filter, callback)]
        self.counters = {"connects": 0, "publishes": 0, "republishes": 0, "failures": 0,
                         "pings": 0, "received": 0}
        self.last_error = None
        self.on_connect = None  # called after each successful connect (e.g. HA discovery)

    def topic(self, sub):
        return "%s/%s/%s" % (self.prefix, self.device, sub)

    @property
    def connected(self):
        return self.client is not None

    def _note(self, msg):
        self.last_error = msg
        if self.log is not None:
            self.log.info("mqtt: %s", msg)

    # --- connection -----------------------------------------------------------------------
    def connect(self):
        """(Re)connect now: CONNECT with the last will, CONNACK, re-subscribe, `online`.
        Raises Retry (with the broker's reason when it refused)."""
        self.close()
        from umqtt import simple

        c = simple.MQTTClient(_b(self.client_id), self.host, self.port, _b(self.user),
                              _b(self.password), self.keepalive_s)
        c.set_last_will(_b(self.status_topic), b"offline", True, 1)
        c.set_callback(self._on_msg)
        socks = _Sockets(self.timeout_s, self.tls, self.timeout_s * 2000)
        saved = simple.socket  # pyright: ignore[reportAttributeAccessIssue]  # stub gap: umqtt.simple imports socket at module level
        simple.socket = socks  # pyright: ignore[reportAttributeAccessIssue]  # stub gap: as above
        try:
            c.connect(self.clean_session)
        except simple.MQTTException as e:
            self._drop(socks.stream)
            code = e.args[0] if e.args else -1
            why = _REFUSED[code] if 0 < code < len(_REFUSED) else "code %s" % code
            msg = "%s:%d refused the connection: %s (%s)" % (self.host, self.port, why, code)
            self._note(msg)
            raise Retry(msg, REFUSED_BACKOFF_MS)
        except Exception as e:  # noqa: BLE001 - OSError, timeouts, TLS errors, bad replies
            self._drop(socks.stream)
            msg = "connect to %s:%d failed: %s %s" % (self.host, self.port, type(e).__name__, e)
            self._note(msg)
            raise Retry(msg)
        finally:
            simple.socket = saved  # pyright: ignore[reportAttributeAccessIssue]  # stub gap: as above
        self.client = c
        self.stream = socks.stream
        try:
            for pattern, _ in self._subs:
                self._exchange(c.subscribe, _b(pattern), 1)
            self._exchange(c.publish, _b(self.status_topic), b"online", True, 1)
        except Exception as e:  # noqa: BLE001
            self.close()
            msg = "after connect to %s:%d: %s %s" % (self.host, self.port, type(e).__name__, e)
            self._note(msg)
            raise Retry(msg)
        self.counters["connects"] += 1
        if self.on_connect is not None:
            try:
                self.on_connect()
            except Exception as e:  # noqa: BLE001 - e.g. discovery: never fatal to the link
                self._note("on_connect: %s %s" % (type(e).__name__, e))
        return self

    def _drop(self, stream):
        if stream is not None:
            stream.close()

    def close(self):
        """Drop the connection without DISCONNECT (the broker publishes the last will)."""
        s = self.stream
        self.client = None
        self.stream = None
        if s is not None:
            s.close()

    def disconnect(self):
        """Publish `offline` (retained), send DISCONNECT, close. Never raises."""
        if self.client is None:
            return
        try:
            self._exchange(self.client.publish, _b(self.status_topic), b"offline", True, 1)
            self.client.disconnect()
        except Exception:  # noqa: BLE001
            pass
        self.close()

    def _exchange(self, fn, *args):
        """One umqtt call under a total deadline of timeout_s."""
        self.stream.deadline(self.timeout_s * 1000)
        try:
            return fn(*args)
        finally:
            if self.stream is not None:
                self.stream.deadline(None)

    # --- publishing -----------------------------------------------------------------------
    def publish(self, topic, msg, retain=False, qos=1):
        """Publish and (qos1) wait for the PUBACK; see the module notes. Returns len(msg)."""
        topic = _b(topic)
        msg = _b(msg)
        last = None
        for attempt in range(self.attempts):
            if self.client is None:
                self.connect()  # raises Retry: no immediate second connect
            try:
                self._exchange(self.client.publish, topic, msg, retain, qos)
            except Exception as e:  # noqa: BLE001 - timeout, reset, garbage: reconnect
                self.close()
                last = "%s %s" % (type(e).__name__, e)
                self._note("publish to %s failed (attempt %d): %s" % (
                    topic.decode(), attempt + 1, last))
                continue
            self.counters["publishes"] += 1
            if attempt:
                self.counters["republishes"] += 1
            return len(msg)
        self.counters["failures"] += 1
        raise Retry("mqtt publish to %s failed after %d attempts: %s" % (
            topic.decode(), self.attempts, last))

    # --- receiving and keepalive ----------------------------------------------------------
    def subscribe(self, pattern, cb):
        """Call `cb(topic_str, msg_bytes)` for messages matching `pattern` (qos1). Kept
        across reconnects. Raises Retry when the connection fails while subscribing."""
        self._subs.append((pattern, cb))
        if self.client is not None:
            try:
                self._exchange(self.client.subscribe, _b(pattern), 1)
            except Exception as e:  # noqa: BLE001
                self.close()
                raise Retry("subscribe %s: %s %s" % (pattern, type(e).__name__, e))

    def _on_msg(self, topic, msg):
        self.counters["received"] += 1
        t = topic.decode() if isinstance(topic, (bytes, bytearray)) else topic
        for pattern, cb in self._subs:
            if topic_matches(pattern, t):
                try:
                    cb(t, msg)
                except Exception as e:  # noqa: BLE001 - a bad handler must not kill MQTT
                    self._note("handler for %s failed: %s %s" % (t, type(e).__name__, e))

    def ping(self):
        self.stream.write(b"\xc0\0")
        self.counters["pings"] += 1

    def poll(self, max_msgs=8):
        """Handle what the broker sent and keep the connection alive. False when not
        connected (or the connection was just dropped). Never raises."""
        c, s = self.client, self.stream
        if c is None:
            return False
        try:
            s.deadline(self.timeout_s * 1000)
            for _ in range(max_msgs):
                before = s.rx
                op = c.check_msg()
                if op is not None:  # a packet umqtt does not handle here: skip its body
                    n = c._recv_len()
                    if n:
                        s.read(n)
                elif s.rx == before:
                    break
            now = time.ticks_ms()
            ka = self.keepalive_s * 1000
            if ka and time.ticks_diff(now, s.last_rx) > ka + ka // 2:
                raise OSError(110)  # no PINGRESP nor anything else: the link is dead
            if ka and time.ticks_diff(now, s.last_tx) >= ka // 2:
                self.ping()
        except Exception as e:  # noqa: BLE001
            self._note("connection lost: %s %s" % (type(e).__name__, e))
            self.close()
            return False
        finally:
            if self.stream is not None:
                self.stream.deadline(None)
        return True

    async def run(self, poll_ms=1000):
        """Service task: poll while connected; with subscriptions, stay connected
        (reconnect with full-jitter backoff)."""
        import asyncio

        from wildcam.core.retry import full_jitter

        failures = 0
        while True:
            wait = poll_ms
            if self.client is not None:
                self.poll()
            elif self._subs:
                try:
                    self.connect()
                    failures = 0
                except Retry as e:
                    failures += 1
                    wait = max(poll_ms, e.after_ms, full_jitter(failures, 2000, 300000))
            await asyncio.sleep_ms(wait)

    def stats(self):
        out = {}
        out.update(self.counters)
        out["connected"] = self.connected
        out["last_error"] = self.last_error
        return out


# --- Azure IoT Hub SAS tokens (a user name / password variant) ------------------------------
def _quote(s):
    out = []
    for ch in s:
        if ch.isalpha() and ord(ch) < 128 or ch.isdigit() or ch in "-_.~":
            out.append(ch)
        else:
            for b in ch.encode():
                out.append("%%%02X" % b)
    return "".join(out)


def azure_sas_token(resource_uri, key_b64, expiry, policy=None):
    """`SharedAccessSignature sr=...&sig=...&se=...` for Azure IoT Hub: the MQTT password,
    with user `<hub>.azure-devices.net/<device>/?api-version=2021-04-12`. `resource_uri` is
    `<hub>.azure-devices.net/devices/<device>`, `key_b64` the device key, `expiry` Unix
    seconds (the board clock must be set)."""
    import binascii

    sr = _quote(resource_uri)
    if isinstance(key_b64, str):
        key_b64 = key_b64.encode()
    sig = _hmac_sha256(binascii.a2b_base64(key_b64), ("%s\n%d" % (sr, expiry)).encode())
    tok = "SharedAccessSignature sr=%s&sig=%s&se=%d" % (
        sr, _quote(binascii.b2a_base64(sig).decode().strip()), expiry)
    if policy:
        tok += "&skn=" + policy
    return tok
