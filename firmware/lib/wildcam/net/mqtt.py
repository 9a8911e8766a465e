"""A small asyncio MQTT 3.1.1 client: nothing it does holds the loop.

Written here (docs/MQTT.md says why not micropython-lib's blocking `umqtt.simple`, which
stays the protocol reference of the tests): every network step is awaited on a
wildcam.net.stream Stream, one reader task per connection receives everything, and callers
await their acknowledgements.

Guarantees:
- `await publish()` returns only after the broker's PUBACK (qos1), or raises `errors.Retry`
  after at most `attempts` tries: a failure on an established connection (timeout, reset,
  garbage) closes it, reconnects and republishes (at-least-once; receivers drop duplicates by
  the payload's idempotency key). A failed connect is not retried at once. Each exchange
  (connect: 2 x timeout_s; publish + PUBACK, subscribe + SUBACK: timeout_s) has a total
  deadline, and while it waits the loop runs everything else.
- Every connection carries a last will `<prefix>/<device>/status` = `offline` (retained,
  qos1) and publishes `online` (retained) right after CONNACK; `disconnect()` publishes
  `offline` (or `asleep`) itself, since a clean DISCONNECT discards the will. Never raises.
- A refused CONNECT (bad user name or password, not authorised, ...) raises `Retry` with the
  broker's reason in words and `after_ms` of REFUSED_BACKOFF_MS: a wrong secret does not
  hammer the broker.
- Receiving: the reader task reads each packet's fixed header and remaining length first,
  then decides: a packet that fits `max_in` (2.5 KB, allocated once) is read and handled —
  PUBLISH to the `subscribe()` callbacks (then PUBACK), PUBACK/SUBACK to the waiting caller,
  anything else ignored; a longer one is drained without being stored (counted `oversized`),
  and one past DRAIN_MAX drops the connection (then: mqttrx). No message can crash the
  reader: a bad packet or a failing callback is counted and the link goes on (or is re-made).
- `poll()` (the `run()` task calls it every second) sends PINGREQ when half the keepalive
  passed without sending and drops a connection silent for 1.5 keepalives. It never raises.
- Packets on the wire never interleave (one writer at a time), and a write cut short (a
  cancelled task, a timeout) closes the connection rather than leave half a packet.
- With `clean_session=False` (the App's) the broker keeps our subscriptions and their qos1
  messages while we sleep; `listen()` (wildcam.net.mqttrx) makes sure none is dropped.

Authentication: `user`/`password` (Azure IoT Hub: user `<hub>.azure-devices.net/<device>/
?api-version=2021-04-12`, password a SAS token from `azure_sas_token()`), and/or a client
certificate in the TLS context (AWS IoT Core, mosquitto `require_certificate true`).
"""

import asyncio
import time

from micropython import const

from wildcam.core.errors import Retry
from wildcam.core.hmac256 import hmac_sha256 as _hmac_sha256  # shared: the board has no hmac
from wildcam.net import mqttpkt as pkt
from wildcam.net.mqttpkt import topic_matches  # noqa: F401 - part of this module's API
from wildcam.net.mqttrx import Receiver

REFUSED_BACKOFF_MS = const(60000)
MAX_IN = const(2560)  # largest packet body kept (a command is at most 2 KB)
ETIMEDOUT = const(110)
ECONNRESET = const(104)
_LOST = "lost"


def _b(s):
    return s.encode() if isinstance(s, str) else s


def _err(e):
    return "%s %s" % (type(e).__name__, e)


class MQTT(Receiver):
    def __init__(self, host, port=None, client_id="wildcam", user=None, password=None,
                 keepalive_s=60, tls=None, timeout_s=5, attempts=2, prefix="wildcam",
                 device=None, clean_session=True, log=None, max_in=MAX_IN, connect=None):
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
        self.max_in = max_in
        self._open = connect  # async (host, port, timeout_s, tls) -> Stream (tests)
        self.status_topic = self.topic("status")
        self.stream = None  # the Stream while connected
        self._reader = None
        self._in = None  # max_in bytes, allocated at the first connect
        self._subs = []  # [(filter, callback)]
        self._pid = 0
        self._wlock = asyncio.Lock()  # one packet on the wire at a time
        self._xlock = asyncio.Lock()  # one acknowledged exchange at a time
        self._clock = asyncio.Lock()  # one connect at a time
        self._acked = asyncio.Event()
        self._want = None  # (packet type, pid) the current exchange waits for
        self._got = None
        self._failed = None  # (ticks, Retry) of the last failed connect
        self.counters = {"connects": 0, "publishes": 0, "republishes": 0, "failures": 0,
                         "pings": 0, "received": 0, "oversized": 0, "bad": 0}
        self._rx_init()
        self.last_error = None
        self.on_connect = None  # called (awaited if async) after each connect (HA discovery)

    def topic(self, sub):
        return "%s/%s/%s" % (self.prefix, self.device, sub)

    @property
    def connected(self):
        return self.stream is not None

    def _note(self, msg):
        self.last_error = msg
        if self.log is not None:
            self.log.info("mqtt: %s", msg)

    # --- connection -----------------------------------------------------------------------
    async def connect(self):
        """(Re)connect now: CONNECT with the last will, CONNACK, re-subscribe, `online`.
        Raises Retry (with the broker's reason when it refused)."""
        async with self._clock:
            await self._connect()
        return self

    async def _ensure(self):
        if self.stream is not None:
            return
        async with self._clock:
            if self.stream is not None:
                return
            f = self._failed
            if f is not None and time.ticks_diff(time.ticks_ms(), f[0]) < 1000:
                raise f[1]  # another task's connect just failed: do not hammer the broker
            self._held()  # raises Retry for a while after drops for oversized packets
            await self._connect()

    async def _connect(self):
        self.close()
        self._failed = None
        try:
            s = await self._handshake()
        except Retry as e:
            self._failed = (time.ticks_ms(), e)
            raise
        self.stream = s
        if self._in is None:
            self._in = bytearray(self.max_in)
        self._reader = asyncio.create_task(self._read_loop(s))
        try:
            await self._clear_first()  # oversized retained messages, before subscribing
            for pattern, _ in self._subs:
                await self._subscribe(pattern)
            await self._publish(self.status_topic, b"online", True, 1)
        except Exception as e:  # noqa: BLE001
            self.close()
            msg = "after connect to %s:%d: %s" % (self.host, self.port, _err(e))
            self._note(msg)
            raise Retry(msg)
        self.counters["connects"] += 1
        if self.on_connect is not None:
            try:
                r = self.on_connect()
                if r is not None and hasattr(r, "send"):
                    await r  # pyright: ignore[reportGeneralTypeIssues]  # the App sets the hook
            except Exception as e:  # noqa: BLE001 - e.g. discovery: never fatal to the link
                self._note("on_connect: %s" % _err(e))

    async def _handshake(self):
        """TCP (+TLS), CONNECT, CONNACK under 2 x timeout_s; the connected Stream."""
        s = None
        code = 0
        try:
            if self._open is not None:
                s = await self._open(self.host, self.port, self.timeout_s, self.tls)
            else:
                from wildcam.net.stream import Stream  # late: the pure parts need no socket

                s = Stream(self.timeout_s, self.tls)
                s.deadline(self.timeout_s * 2000)
                await s.connect(self.host, self.port)
            s.deadline(self.timeout_s * 2000)
            await s.write(pkt.connect(
                _b(self.client_id), _b(self.user), _b(self.password), self.keepalive_s,
                _b(self.status_topic), b"offline", True, 1, self.clean_session or self._shed))
            ack = await s.read(4)
            if len(ack) != 4:
                raise OSError(ECONNRESET, "closed before CONNACK")
            code = pkt.connack_code(ack[0], ack[1], ack[2], ack[3])
        except Exception as e:  # noqa: BLE001 - OSError, timeouts, TLS errors, bad replies
            if s is not None:
                s.close()
            msg = "connect to %s:%d failed: %s" % (self.host, self.port, _err(e))
            self._note(msg)
            raise Retry(msg)
        if code:
            s.close()
            msg = "%s:%d refused the connection: %s (%s)" % (
                self.host, self.port, pkt.refused_reason(code), code)
            self._note(msg)
            raise Retry(msg, REFUSED_BACKOFF_MS)
        s.deadline(None)
        return s

    def close(self):
        """Drop the connection without DISCONNECT (the broker publishes the last will)."""
        s, r = self.stream, self._reader
        self.stream = None
        self._reader = None
        if s is not None:
            s.close()
        if r is not None and r is not _current():
            r.cancel()
        self._got = _LOST
        self._acked.set()  # wake a waiting exchange: its answer will not come

    async def disconnect(self, status=b"offline"):
        """Publish `status` (retained; b"asleep" before a deep sleep), DISCONNECT, close."""
        if self.stream is None:
            return
        try:
            await self._publish(self.status_topic, status, True, 1)
            await self._send(pkt.DISCONNECT)
        except Exception:  # noqa: BLE001
            pass
        self.close()

    # --- sending --------------------------------------------------------------------------
    async def _send(self, *parts):
        s = self.stream
        if s is None:
            raise OSError(ECONNRESET, "not connected")
        async with self._wlock:
            try:
                for p in parts:
                    await s.write(p)
            except BaseException:
                if s is self.stream:
                    self.close()  # half a packet went out: this connection is done
                raise

    def _next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    async def _exchange(self, want, pid, *parts):
        """Send `parts`, then wait for the acknowledgement `want` (a packet type) carrying
        `pid`, all within timeout_s. Returns the acknowledgement's body."""
        async with self._xlock:
            end = time.ticks_add(time.ticks_ms(), int(self.timeout_s * 1000))
            self._want = (want, pid)
            self._got = None
            self._acked.clear()
            await asyncio.wait_for_ms(self._send(*parts), self.timeout_s * 1000)
            left = time.ticks_diff(end, time.ticks_ms())
            try:
                if left <= 0:
                    raise asyncio.TimeoutError()
                await asyncio.wait_for_ms(self._acked.wait(), left)
            except asyncio.TimeoutError:
                raise OSError(ETIMEDOUT, "no acknowledgement within %s s" % self.timeout_s)
            finally:
                self._want = None
            got = self._got
            if got is _LOST or got is None:
                raise OSError(ECONNRESET, "connection lost while waiting")
            return got

    async def _publish(self, topic, msg, retain, qos):
        topic, msg = _b(topic), _b(msg)
        if not qos:
            await asyncio.wait_for_ms(self._send(pkt.publish_head(topic, len(msg), 0, retain),
                                                 msg), self.timeout_s * 1000)
            return
        pid = self._next_pid()
        await self._exchange(pkt.PUBACK, pid,
                             pkt.publish_head(topic, len(msg), 1, retain, pid), msg)

    async def publish(self, topic, msg, retain=False, qos=1):
        """Publish and (qos1) wait for the PUBACK; see the module notes. Returns len(msg)."""
        topic, msg, last = _b(topic), _b(msg), None
        for attempt in range(self.attempts):
            await self._ensure()  # raises Retry: no immediate second connect
            try:
                await self._publish(topic, msg, retain, qos)
            except Exception as e:  # noqa: BLE001 - timeout, reset, garbage: reconnect
                self.close()
                last = _err(e)
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

    # --- subscriptions --------------------------------------------------------------------
    async def _subscribe(self, pattern):
        pid = self._next_pid()
        body = await self._exchange(pkt.SUBACK, pid, pkt.subscribe(pid, _b(pattern), 1))
        if len(body) < 3 or body[2] == 0x80:
            raise OSError(13, "subscription to %s refused" % pattern)

    async def subscribe(self, pattern, cb):
        """Call `cb(topic_str, msg_bytes, retained)` for messages matching `pattern` (qos1),
        kept across reconnects (a pattern `listen` registered: as it is). Raises Retry when
        the connection fails while subscribing."""
        if not self.listen(pattern, cb):
            return
        if self.stream is not None:
            try:
                await self._subscribe(pattern)
            except Exception as e:  # noqa: BLE001
                self.close()
                raise Retry("subscribe %s: %s" % (pattern, _err(e)))

    # --- keepalive ------------------------------------------------------------------------
    async def ping(self):
        await asyncio.wait_for_ms(self._send(pkt.PINGREQ), self.timeout_s * 1000)
        self.counters["pings"] += 1

    async def poll(self):
        """Keep the connection alive: PINGREQ when due, drop it when the broker has been
        silent too long. False when not connected. Never raises."""
        s = self.stream
        if s is None:
            return False
        try:
            now = time.ticks_ms()
            ka = self.keepalive_s * 1000
            if ka and time.ticks_diff(now, s.last_rx) > ka + ka // 2:
                raise OSError(ETIMEDOUT, "the broker has been silent")
            if ka and time.ticks_diff(now, s.last_tx) >= ka // 2:
                await self.ping()
        except Exception as e:  # noqa: BLE001
            self._note("connection lost: %s" % _err(e))
            self.close()
            return False
        return self.stream is not None

    async def run(self, poll_ms=1000):
        """Service task: keep the connection alive while connected; with subscriptions,
        stay connected (reconnect with full-jitter backoff)."""
        from wildcam.core.retry import full_jitter

        failures = 0
        while True:
            wait = poll_ms
            if self.stream is not None:
                await self.poll()
            elif self._subs:
                try:
                    await self._ensure()
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


def _current():
    try:
        return asyncio.current_task()
    except (AttributeError, RuntimeError):
        return None


# --- Azure IoT Hub SAS tokens (a user name / password variant) ------------------------------
def _quote(s):
    out = []
    for ch in s:
        ok = ch.isalpha() and ord(ch) < 128 or ch.isdigit() or ch in "-_.~"
        out.append(ch if ok else "".join("%%%02X" % b for b in ch.encode()))
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
