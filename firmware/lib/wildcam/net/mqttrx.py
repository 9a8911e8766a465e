"""The receiving half of wildcam.net.mqtt.MQTT: one reader task per connection.

Each packet's fixed header (type byte, remaining length) is read before any of its body, so
the size is known before a byte of it is stored: a packet that fits the client's `max_in`
buffer is read into it and handled; a longer one is drained in the stream's own buffer
(nothing allocated, counted `oversized`); past DRAIN_MAX the connection is dropped. A
malformed packet ends the connection (the stream may be out of step), never the task's
caller; a failing `subscribe()` callback is counted and ignored. Callbacks get
`(topic, msg, retained)`: the RETAIN flag says the broker kept the message and sends it at
every subscribe.

An oversized PUBLISH is never handed to a callback, and it cannot be allowed to come back
for ever: a qos1 one is acknowledged (before the connection is dropped, too: the broker
forgets it even for a persistent session), and a retained one on one of this device's own
topics is cleared (an empty retained message, sent on this connection after a drain, or
before the subscriptions of the next one after a drop) — unless the broker's ACL forbids
that, which it does silently; then each connection meets it again and the next connect waits
HOLD_MS, doubling, up to HOLD_MAX_MS (docs/SECURITY.md). The acknowledgement before a drop may not reach a broker
busy sending the rest: a persistent session then redelivers the packet (DUP set) at every
connect, so a redelivered one makes the next connect start a clean session once (the broker
forgets what it kept for us; a command the owner sent meanwhile must be sent again).
"""
# pyright: reportAttributeAccessIssue=false
# (mixed into net/mqtt.MQTT: the stream, buffers and counters it reads are made in
# MQTT.__init__, which pyright does not follow into a base class; mqtt.py is fully checked)


import asyncio
import time

from micropython import const

from wildcam.core.errors import Retry
from wildcam.net import mqttpkt as pkt
from wildcam.net.mqttpkt import topic_matches

DRAIN_MAX = const(65536)  # longer packets drop the connection instead of being drained
HOLD_MS = const(5000)  # after a drop for an oversized packet: wait before reconnecting...
HOLD_MAX_MS = const(300000)  # ...doubling up to this while it keeps happening
ECONNRESET = const(104)


def _err(e):
    return "%s %s" % (type(e).__name__, e)


class Receiver:
    """Mixed into MQTT: uses its stream, _in buffer, _subs, _want/_got/_acked, counters."""

    def _rx_init(self):
        self.counters["cleared"] = 0
        self._own = self.topic("").encode()  # this device's topics
        self._clear_next = []  # retained topics to clear before subscribing again
        self._drops = 0  # connections dropped in a row for an oversized packet
        self._hold = None  # (ticks, ms): no connect before then
        self._since = time.ticks_ms()  # the last connect
        self._shed = False  # the next connect starts a clean session (see the module notes)

    def _held(self):
        """Raise Retry while the hold after an oversized drop lasts."""
        h = self._hold
        if h is not None:
            left = time.ticks_diff(h[0], time.ticks_ms())
            if 0 < left <= h[1]:
                raise Retry("mqtt: holding off %d s after an oversized packet" %
                            (left // 1000 + 1), left)
            self._hold = None

    async def _clear_first(self):
        """At connect, before the subscriptions: clear the oversized retained messages that
        dropped the last connection."""
        self._since = time.ticks_ms()
        if self._shed:  # this connect was a clean session: back to a persistent one
            self._shed = False
            self._note("clean session once: the broker kept resending an oversized packet")
        while self._clear_next:
            await self._send(pkt.publish_head(self._clear_next.pop(0), 0, 0, True))
            self.counters["cleared"] += 1

    def listen(self, pattern, cb):
        """Register `cb` for `pattern` without network (connects subscribe it, qos1); False
        when the pattern has one already. With a persistent session the broker hands over
        what it kept right after CONNACK, before any SUBSCRIBE: register before connecting."""
        for p, _ in self._subs:
            if p == pattern:
                return False
        self._subs.append((pattern, cb))
        return True

    async def _read_loop(self, s):
        buf = self._in
        mv = memoryview(buf)
        one = bytearray(1)
        try:
            while s is self.stream:
                ka = self.keepalive_s * 1500
                await s.fill(ka if ka else 3600000)  # silent for 1.5 keepalives: dead
                await s.readinto(one)
                first = one[0]
                n = await self._length(s, one)
                if n > len(buf):
                    await self._drain(s, first, n)
                    continue
                if n and await s.readinto(mv, n) != n:
                    raise OSError(ECONNRESET, "closed mid-packet")
                await self._handle(first, mv, n)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever it was, this connection is over
            if s is self.stream:
                self._note("connection lost: %s" % _err(e))
                self.close()

    async def _length(self, s, one):
        """The remaining length: 1..4 bytes of 7 bits, low first."""
        n = 0
        shift = 0
        for _ in range(4):
            if await s.readinto(one) != 1:
                raise OSError(ECONNRESET, "closed mid-packet")
            b = one[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
        raise OSError(71, "malformed remaining length")

    async def _drain(self, s, first, n):
        """Skip a packet too long for the buffer; see the module notes for what follows a
        PUBLISH (its topic and packet id are read first: they come before the payload)."""
        self.counters["oversized"] += 1
        self._note("dropped an oversized packet (%d bytes > %d)" % (n, len(self._in)))
        pid = 0
        own = None
        if first & 0xF0 == pkt.PUBLISH:
            qos = (first >> 1) & 3
            mv = memoryview(self._in)
            if await s.readinto(mv, 2) != 2:
                raise OSError(ECONNRESET, "closed mid-packet")
            k = (mv[0] << 8 | mv[1]) + (2 if qos else 0)  # the topic, then the packet id
            if k > len(mv) or k + 2 > n:
                raise OSError(71, "PUBLISH topic longer than the packet")
            if await s.readinto(mv, k) != k:
                raise OSError(ECONNRESET, "closed mid-packet")
            if qos == 1:
                pid = mv[k - 2] << 8 | mv[k - 1]
            topic = bytes(mv[:k - 2] if qos else mv[:k])
            if first & 1 and topic.startswith(self._own):
                own = topic
            n -= 2 + k
        if n > DRAIN_MAX:
            if pid:
                await self._send(pkt.puback(pid))  # taken (and thrown away): not resent
                if first & 0x08 and not self.clean_session:  # DUP: that ack never arrived
                    self._shed = True
            if own is not None and own not in self._clear_next:
                self._clear_next.append(own)
            lived = time.ticks_diff(time.ticks_ms(), self._since)
            self._drops = 1 if lived > 60000 else self._drops + 1
            hold = min(HOLD_MAX_MS, HOLD_MS << min(6, self._drops - 1))
            self._hold = (time.ticks_add(time.ticks_ms(), hold), hold)
            raise OSError(90, "packet of %d bytes: not draining that (next connect in %d s)"
                          % (n, hold // 1000))
        while n > 0:
            got = await s.fill()
            if not got:
                raise OSError(ECONNRESET, "closed mid-packet")
            n -= s.skip(n)
        if pid:
            await self._send(pkt.puback(pid))
        if own is not None:
            await self._send(pkt.publish_head(own, 0, 0, True))  # clear it (qos0: no wait)
            self.counters["cleared"] += 1

    async def _handle(self, first, body, n):
        typ = first & 0xF0
        if typ == pkt.PUBLISH:
            await self._incoming(first, body, n)
        elif typ in (pkt.PUBACK, pkt.SUBACK):
            w = self._want
            if n >= 2 and w is not None and w[0] == typ and w[1] == (body[0] << 8 | body[1]):
                self._got = bytes(body[:n])
                self._acked.set()
            # else: a late acknowledgement of an exchange that gave up: ignored
        # PINGRESP and anything else: the read itself proved the link alive

    async def _incoming(self, first, body, n):
        try:
            topic, pid, pos = pkt.parse_publish(first, body, n)
            t = topic.decode()
        except (ValueError, UnicodeError) as e:
            self.counters["bad"] += 1
            self._note("bad PUBLISH: %s" % _err(e))
            raise OSError(71, "malformed PUBLISH")  # the stream may be out of step
        msg = bytes(body[pos:n])
        retained = bool(first & 1)
        self.counters["received"] += 1
        for pattern, cb in self._subs:
            if topic_matches(pattern, t):
                try:
                    cb(t, msg, retained)
                except Exception as e:  # noqa: BLE001 - a bad handler must not kill MQTT
                    self.counters["bad"] += 1
                    self._note("handler for %s failed: %s" % (t, _err(e)))
        if (first >> 1) & 3 == 1:
            await self._send(pkt.puback(pid))
