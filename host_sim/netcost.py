"""What a network connection costs in virtual time, as on an ESP32-CAM: `NetModel` (figures,
with sources) and the paced transport VirtualLoop.create_connection puts between the
firmware's asyncio streams and the real socket.

Real servers on loopback answer in microseconds and a blocking call costs no virtual time,
so without this the simulator would say a network step is free. With it, in a simulation:

- TCP connect: one round trip (`rtt_s`), awaited (the loop runs meanwhile).
- TLS handshake: two more round trips (TLS 1.2's full handshake), awaited, plus `tls_cpu_s`
  of public-key arithmetic that *blocks*: the world clock jumps inside the step that
  completes the handshake, as mbedtls on the board verifies the certificate chain and does
  the key exchange in the one call that finds the server's whole flight has arrived (the
  socket is non-blocking, the arithmetic is not).
- Sending: the firmware's writes leave at `tcp_bps` / `tls_bps`; a write is accepted at once
  while lwIP's send buffer (`sndbuf`, 5744 bytes = ESP-IDF's default TCP_SND_BUF) has room,
  and `drain()` waits (virtual time, awaited) once it is full.
- Receiving: bytes reach the firmware half a round trip after the server sent them, no
  faster than the same rates, and not before a round trip after the firmware's last byte
  left (a reply cannot overtake its request, although the real server got it at once).
- Receiving comes in segments of at most `mss` bytes, each delivered when its last byte
  has arrived at the modelled rate (a large read from the real socket is not held back
  until all of it would have arrived).
- Receive window: no more than `rcvwnd` bytes (lwIP's TCP window) wait between the server
  and the firmware; past that the real socket is not read, so the server's own send buffer
  fills and it waits, as it would for a board that does not read (a 10 MB message is never
  held in the simulator's memory either).
- DNS: a `socket.getaddrinfo` from a firmware step blocks for `dns_s` (host_sim/stepwatch.py
  charges it; the firmware caches results, wildcam.net.stream.resolve).

The bytes themselves go to the real server at once; only what the firmware can observe
(when a write is taken, when a reply arrives) is paced. Sources of the defaults are in
docs/FIDELITY.md and docs/HOST_SIM.md.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

REPLY_WINDOW_S = 0.1  # real seconds a written connection counts as waiting for an answer


@dataclass
class NetModel:
    rtt_s: float = 0.03  # WLAN to a nearby server; a LAN broker is ~5 ms, a cloud ~50 ms
    tcp_bps: float = 76_000  # micropython#5543: 1550 KB in 20.3 s over TCP on an ESP32
    tls_bps: float = 74_000  # same test over TLS: 1550 KB in 21 s (~70 kB/s)
    tls_cpu_s: float = 1.0  # micropython-esp32#131: 1.18-1.28 s per handshake; microdot#34:
    # 0.93-1.07 s (mean 0.98) for an ESP32 client; nearly all of it computation on a LAN
    dns_s: float = 0.03  # one DNS round trip when the resolver answers
    sndbuf: int = 5744  # ESP-IDF CONFIG_LWIP_TCP_SND_BUF_DEFAULT (4 x MSS 1436)
    mss: int = 1436  # ESP-IDF CONFIG_LWIP_TCP_MSS default: what arrives comes in these
    rcvwnd: int = 5744  # ESP-IDF CONFIG_LWIP_TCP_WND_DEFAULT (4 x MSS; 5760 in IDF 5.x)

    def rate(self, tls: bool) -> float:
        return self.tls_bps if tls else self.tcp_bps


class PacedProtocol(asyncio.Protocol):
    """Sits between the real transport and the firmware's protocol (a StreamReaderProtocol):
    delays what arrives, and owns the paced transport the firmware writes to."""

    def __init__(self, loop, inner, model: NetModel, tls: bool):
        self.loop = loop
        self.inner = inner
        self.model = model
        self.tls = tls
        self.transport: PacedTransport | None = None
        self._rx_free = 0.0  # virtual time the previous delivery completed
        self._queue: list = []  # (due, kind, arg) in order
        self._timer = None
        self._real_paused = False
        self._await_t = None  # real time of the last write since the last bytes came in
        self._queued = 0  # bytes received from the real socket, not yet delivered
        self._win_paused = False  # the real socket is not read: the window is full
        self._inner_paused = False  # the firmware's StreamReader asked for a pause

    # from the real transport
    def connection_made(self, transport):
        self.transport = PacedTransport(self.loop, transport, self)
        paced = getattr(self.loop, "paced", None)
        if paced is not None:
            paced.add(self)
        self.inner.connection_made(self.transport)

    @property
    def awaiting(self) -> bool:
        """An answer is expected: written to, nothing received since, and the last write
        less than REPLY_WINDOW_S of real time ago (a qos0 publish or a kept-alive idle link
        is answered by nothing: after the window the loop stops waiting for it)."""
        t = self._await_t
        return t is not None and time.monotonic() - t < REPLY_WINDOW_S

    def reply_due(self) -> float:
        """The earliest virtual time an answer to what was written could be delivered: a
        round trip after the last byte left (data_received holds it back until then), so
        the clock may jump to any earlier time without waiting for the real server."""
        t = self.transport
        sent = t._tx_free if t is not None else 0.0
        return sent + self.model.rtt_s

    def data_received(self, data):
        self._await_t = None
        now = self.loop.time()
        t = self.transport
        mss = self.model.mss
        for i in range(0, len(data), mss):  # segment by segment, each when it has arrived
            piece = bytes(data[i:i + mss])
            start = max(now + self.model.rtt_s / 2, self._rx_free)
            if t is not None:  # an answer cannot come back before what it answers got there
                start = max(start, t._tx_free + self.model.rtt_s)
            self._rx_free = start + len(piece) / self.model.rate(self.tls)
            self._queued += len(piece)
            self._push(self._rx_free, "data", piece)
        if self._queued > self.model.rcvwnd and not self._win_paused:
            self._win_paused = True
            self._reading()

    def _reading(self):
        """Read the real socket unless the window is full or the firmware paused reading."""
        t = self.transport
        if t is None or t._closed:
            return
        try:
            if self._win_paused or self._inner_paused:
                t.real.pause_reading()
            else:
                t.real.resume_reading()
        except (AttributeError, RuntimeError):  # a transport already closing
            pass

    def eof_received(self):
        self._push(max(self._rx_free, self.loop.time()), "eof", None)
        return True  # keep the transport open until the queued data is delivered

    def connection_lost(self, exc):
        self._await_t = None
        paced = getattr(self.loop, "paced", None)
        if paced is not None:
            paced.discard(self)
        if self.transport is not None:
            self.transport._lost()
        self._push(max(self._rx_free, self.loop.time()), "lost", exc)

    def pause_writing(self):
        self._real_paused = True
        if self.transport is not None:
            self.transport._update()

    def resume_writing(self):
        self._real_paused = False
        if self.transport is not None:
            self.transport._update()

    # delivery in order, at virtual times
    def _push(self, due, kind, arg):
        self._queue.append((due, kind, arg))
        if self._timer is None:
            self._arm()

    def _arm(self):
        if self._queue:
            self._timer = self.loop.call_at(self._queue[0][0], self._deliver)
        else:
            self._timer = None

    def _deliver(self):
        self._timer = None
        now = self.loop.time()
        while self._queue and self._queue[0][0] <= now + 1e-9:
            _, kind, arg = self._queue.pop(0)
            if kind == "data":
                self._queued -= len(arg)
                self.inner.data_received(arg)
                if self._win_paused and self._queued <= self.model.rcvwnd:
                    self._win_paused = False
                    self._reading()
            elif kind == "eof":
                keep = self.inner.eof_received()
                if not keep and self.transport is not None:
                    self.transport.close()
            else:
                self.inner.connection_lost(arg)
        self._arm()


class PacedTransport(asyncio.Transport):
    """What the firmware's StreamWriter writes to: forwards at once, but reports itself full
    (pause_writing) while more than `sndbuf` bytes would still be on their way at the
    modelled rate, so `drain()` takes the time the board's would."""

    def __init__(self, loop, real, proto: PacedProtocol):
        super().__init__()
        self.loop = loop
        self.real = real
        self.proto = proto
        self._tx_free = 0.0  # virtual time the data written so far has left
        self._paused = False
        self._timer = None
        self._closed = False

    def write(self, data):
        if self._closed:
            return
        now = self.loop.time()
        self._tx_free = max(now, self._tx_free) + len(data) / self.proto.model.rate(
            self.proto.tls)
        self.real.write(bytes(data))  # a copy: the firmware reuses its buffers
        self.proto._await_t = time.monotonic()  # the window runs from the last write: an
        # upload longer than it (real time) still waits for the answer to its end
        self._update()

    def writelines(self, lines):
        for d in lines:
            self.write(d)

    def _backlog(self) -> float:
        return max(0.0, self._tx_free - self.loop.time()) * self.proto.model.rate(
            self.proto.tls)

    def _update(self):
        # (a byte of slack: at the resume time the backlog is sndbuf give or take a float)
        full = self._backlog() > self.proto.model.sndbuf + 1 or self.proto._real_paused
        if full and not self._paused:
            self._paused = True
            self.proto.inner.pause_writing()
        elif not full and self._paused:
            self._paused = False
            self.proto.inner.resume_writing()
        if self._paused and self._timer is None and not self.proto._real_paused:
            m = self.proto.model
            when = self._tx_free - m.sndbuf / m.rate(self.proto.tls)
            self._timer = self.loop.call_at(max(when, self.loop.time()), self._tick)

    def _tick(self):
        self._timer = None
        self._update()

    def _lost(self):
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def get_write_buffer_size(self):
        return int(self._backlog()) + self.real.get_write_buffer_size()

    def get_write_buffer_limits(self):
        return (0, self.proto.model.sndbuf)

    def set_write_buffer_limits(self, high=None, low=None):
        self.real.set_write_buffer_limits(high, low)

    def is_closing(self):
        return self._closed or self.real.is_closing()

    def close(self):
        self._closed = True
        self.real.close()

    def abort(self):
        self._closed = True
        self.real.abort()

    def can_write_eof(self):
        return self.real.can_write_eof()

    def write_eof(self):
        self.real.write_eof()

    def get_extra_info(self, name, default=None):
        return self.real.get_extra_info(name, default)

    def is_reading(self):
        return self.real.is_reading()

    def pause_reading(self):
        self.proto._inner_paused = True
        self.proto._reading()

    def resume_reading(self):
        self.proto._inner_paused = False
        self.proto._reading()

    def get_protocol(self):
        return self.proto.inner

    def set_protocol(self, protocol):
        self.proto.inner = protocol


async def paced_connection(loop, create, model: NetModel, protocol_factory, host, port,
                           ssl=None, **kw):
    """loop.create_connection with the costs above; `create` is the real one."""
    await asyncio.sleep(model.rtt_s)  # SYN, SYN-ACK
    holder = []

    def factory():
        p = PacedProtocol(loop, protocol_factory(), model, bool(ssl))
        holder.append(p)
        return p

    await create(factory, host, port, ssl=ssl, **kw)
    proto = holder[0]
    if ssl:
        await asyncio.sleep(2 * model.rtt_s)  # the handshake's two round trips
        clock = getattr(loop, "clock", None)
        if clock is not None:
            clock.advance(model.tls_cpu_s)  # the arithmetic: the loop is held meanwhile
        from .context import board_or_none

        board = board_or_none()
        if board is not None:  # the handshake's published cost beyond tls_cpu_s (energy.py)
            board.energy.count("tls")
    return proto.transport, proto.inner
