"""The receiving half of wildcam.net.mqtt.MQTT: one reader task per connection.

Each packet's fixed header (type byte, remaining length) is read before any of its body, so
the size is known before a byte of it is stored: a packet that fits the client's `max_in`
buffer is read into it and handled; a longer one is drained in the stream's own buffer
(nothing allocated, counted `oversized`); past DRAIN_MAX the connection is dropped. A
malformed packet ends the connection (the stream may be out of step), never the task's
caller; a failing `subscribe()` callback is counted and ignored.
"""
# pyright: reportAttributeAccessIssue=false
# (mixed into net/mqtt.MQTT: the stream, buffers and counters it reads are made in
# MQTT.__init__, which pyright does not follow into a base class; mqtt.py is fully checked)


import asyncio

from micropython import const

from wildcam.net import mqttpkt as pkt
from wildcam.net.mqttpkt import topic_matches

DRAIN_MAX = const(65536)  # longer packets drop the connection instead of being drained
ECONNRESET = const(104)


def _err(e):
    return "%s %s" % (type(e).__name__, e)


class Receiver:
    """Mixed into MQTT: uses its stream, _in buffer, _subs, _want/_got/_acked, counters."""

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
        """Skip a packet too long for the buffer. A qos1 PUBLISH is still acknowledged
        (its topic and packet id are read first), so the broker does not hold it in
        flight and resend it forever."""
        self.counters["oversized"] += 1
        self._note("dropped an oversized packet (%d bytes > %d)" % (n, len(self._in)))
        if n > DRAIN_MAX:
            raise OSError(90, "packet of %d bytes: not draining that" % n)
        pid = 0
        if first & 0xF0 == pkt.PUBLISH and (first >> 1) & 3 == 1:
            mv = memoryview(self._in)
            if await s.readinto(mv, 2) != 2:
                raise OSError(ECONNRESET, "closed mid-packet")
            k = (mv[0] << 8 | mv[1]) + 2  # topic, then the packet id
            if k > len(mv) or k + 2 > n:
                raise OSError(71, "PUBLISH topic longer than the packet")
            if await s.readinto(mv, k) != k:
                raise OSError(ECONNRESET, "closed mid-packet")
            pid = mv[k - 2] << 8 | mv[k - 1]
            n -= 2 + k
        while n > 0:
            got = await s.fill()
            if not got:
                raise OSError(ECONNRESET, "closed mid-packet")
            n -= s.skip(n)
        if pid:
            await self._send(pkt.puback(pid))

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
        self.counters["received"] += 1
        for pattern, cb in self._subs:
            if topic_matches(pattern, t):
                try:
                    cb(t, msg)
                except Exception as e:  # noqa: BLE001 - a bad handler must not kill MQTT
                    self.counters["bad"] += 1
                    self._note("handler for %s failed: %s" % (t, _err(e)))
        if (first >> 1) & 3 == 1:
            await self._send(pkt.puback(pid))
