"""TCP (+TLS) connections on the one asyncio loop: the firmware's only way to open a socket.

    s = await open_stream("broker.example", 8883, timeout_s=5, tls=tls_context("/certs/ca.pem"))
    await s.write(b"...")          # everything, awaited in slices
    n = await s.readinto(buf)      # exactly len(buf) bytes (0 at a clean EOF)
    s.close()

Guarantees:
- No socket call blocks the loop. Connect, the TLS handshake, every read and every write go
  through asyncio streams: `asyncio.open_connection(host, port, ssl=ctx, server_hostname=name)`,
  which MicroPython has since v1.22.0 (the firmware's minimum; tools/flash.py refuses older
  boards) and CPython has too. Only DNS is synchronous (see `resolve`): numeric addresses skip it
  and names are cached, so a lookup blocks at most once per host per DNS_TTL_MS.
- Every step that can wait (connect, a read, draining a write the socket could not take at
  once) is awaited under `timeout_s` (asyncio.wait_for_ms); `deadline(ms)` bounds a whole exchange (publish + PUBACK, request +
  response): each step gets at most the time left, so a server that drips one byte per
  timeout cannot hold a caller either. A read that times out raises OSError(ETIMEDOUT) and
  leaves the connection usable (a caller may wait for an optional answer, e.g. 100-continue);
  after a failed write, or any other OSError, callers close it.
- Flat memory: one receive buffer of `rx` bytes per connection (reads are served from it, and
  large reads go straight into the caller's buffer); writes go out in slices of at most
  WSLICE (16 KB) bytes, each drained before the next: MicroPython's Stream.write copies what
  the socket did not take, so a slow server makes it hold at most one slice — one media
  chunk (4 KB by default, `cloud.chunk_kb`) — and the loop runs between slices.
- `readinto` is exact (loops over short reads); a clean EOF before any byte returns 0, EOF in
  the middle raises OSError(ECONNRESET). `readline` reads through the next LF.

TLS: `tls_context()` builds an `ssl.SSLContext(PROTOCOL_TLS_CLIENT)` from PEM file paths (the
board's ssl module reads them); with `verify` the server certificate must chain to the CA and
name the host given to `open_stream` (CERT_REQUIRED + server_hostname). On MicroPython the
handshake runs inside the first write or read (the socket is wrapped with
`do_handshake_on_connect=False`), so it is bounded by that step's timeout and its errors
surface there — as ValueError ("The certificate is not correctly signed by the trusted
CA"), which the stream turns into OSError(ECONNABORTED) quoting it; CPython completes the
handshake inside open_connection (ssl.SSLCertVerificationError, an OSError). The
handshake's network round trips are awaited; its public-key arithmetic is CPU work the board
does in one go (docs/CLOUD.md, "What blocks"), which is why connections are kept alive.
"""

import asyncio
import time

from micropython import const

ETIMEDOUT = const(110)
ECONNRESET = const(104)
EMSGSIZE = const(90)
ECONNABORTED = const(103)
RX = const(512)  # receive buffer per connection
WSLICE = const(16384)  # largest write handed to the stream at once
DNS_TTL_MS = const(3600000)
DNS_MAX = const(8)

_dns = {}  # host -> (address, expiry ticks)


def _numeric(host):
    if ":" in host:
        return True  # IPv6 literal
    for ch in host:
        if ch != "." and not ("0" <= ch <= "9"):
            return False
    return True


def resolve(host, port):
    """The address to connect to for `host`: itself when numeric, else a cached lookup.
    A lookup calls socket.getaddrinfo, which blocks: one DNS round trip when the server
    answers; when it does not, lwIP retries for about 7 s per configured DNS server (its
    defaults: 4 tries, 1+1+2+3 s). Results are kept DNS_TTL_MS (8 hosts at most); `forget()`
    drops one after a failed connect."""
    if _numeric(host):
        return host
    now = time.ticks_ms()
    e = _dns.get(host)
    if e is not None and time.ticks_diff(e[1], now) > 0:
        return e[0]
    import socket  # late: the wasm build used by the portable tests has no socket module

    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    sa = ai[-1]
    if not isinstance(sa, tuple):  # a raw sockaddr (unix port): let open_connection resolve
        return host
    if len(_dns) >= DNS_MAX and host not in _dns:
        for k in list(_dns):
            _dns.pop(k)
            break
    _dns[host] = (sa[0], time.ticks_add(now, DNS_TTL_MS))
    return sa[0]


def forget(host):
    _dns.pop(host, None)


def tls_context(ca_path=None, cert_path=None, key_path=None, verify=True):
    """An SSLContext for a client. `ca_path`: PEM file of the CA(s) that sign the server's
    certificate (required with `verify`: a board has no CA store). `cert_path`/`key_path`:
    PEM client certificate and key for mutual TLS (AWS IoT Core, mosquitto
    `require_certificate`). Paths are real filesystem paths (`storage.real(board_path)`)."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        if not ca_path:
            raise ValueError("tls: verify needs ca_path (the board has no CA store)")
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=ca_path)
        if hasattr(ctx, "check_hostname"):
            ctx.check_hostname = True  # pyright: ignore[reportAttributeAccessIssue]  # CPython's ssl (host_sim) only; hasattr-guarded
    else:
        if hasattr(ctx, "check_hostname"):
            ctx.check_hostname = False  # pyright: ignore[reportAttributeAccessIssue]  # CPython's ssl (host_sim) only; hasattr-guarded
        ctx.verify_mode = ssl.CERT_NONE
    if cert_path:
        if not key_path:
            raise ValueError("tls: cert_path needs key_path")
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


class Stream:
    """One TCP(+TLS) connection. `await Stream(timeout_s, tls).connect(host, port)` or
    `await open_stream(...)`."""

    def __init__(self, timeout_s=10, tls=None, rx=RX):
        self.timeout_s = timeout_s
        self.host = None
        self._tls = tls
        self._r = self._w = None
        self._buf = bytearray(rx)
        self._mv = memoryview(self._buf)
        self._a = self._b = 0  # unread bytes are _buf[_a:_b]
        self._deadline = None
        self.rx = 0
        self.tx = 0
        self.last_rx = self.last_tx = time.ticks_ms()

    # --- connecting ---------------------------------------------------------------------
    async def connect(self, host, port, addr=None):
        """Resolve (unless `addr` is given: connect there, verify TLS for `host`), connect
        and, on CPython, handshake; all under the timeout."""
        self.host = host
        ip = addr or resolve(host, port)
        ms = self._ms()
        if self._tls is None:
            aw = asyncio.open_connection(ip, port)
        else:
            aw = asyncio.open_connection(ip, port, ssl=self._tls, server_hostname=host)
        try:
            self._r, self._w = await self._io(aw, ms)
        except BaseException:
            if addr is None:
                forget(host)
            self.close()
            raise
        self._nodelay()
        self.last_rx = self.last_tx = time.ticks_ms()
        return self

    def _nodelay(self):
        """TCP_NODELAY where the port has it: without it the last short segment of a body
        waits for the server's delayed ACK (~40 ms per request)."""
        try:
            import socket

            w = self._w
            s = getattr(w, "s", None)  # MicroPython's Stream keeps its socket here
            if s is None:
                s = w.get_extra_info("socket")
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (AttributeError, OSError, TypeError, KeyError, ImportError):
            pass

    # --- timeouts -------------------------------------------------------------------------
    def deadline(self, ms):
        """Bound everything from now on to `ms` milliseconds in total (None: no bound)."""
        self._deadline = None if ms is None else time.ticks_add(time.ticks_ms(), int(ms))

    def settimeout(self, t):
        """The per-step timeout in seconds (None keeps the current one: never forever)."""
        if t is not None and t > 0:
            self.timeout_s = t

    def _ms(self, ms=None):
        t = int(self.timeout_s * 1000) if ms is None else int(ms)
        if self._deadline is not None:
            left = time.ticks_diff(self._deadline, time.ticks_ms())
            if left <= 0:
                raise OSError(ETIMEDOUT, "deadline passed")
            if left < t:
                t = left
        return t

    async def _io(self, aw, ms):
        try:
            return await asyncio.wait_for_ms(aw, ms)
        except asyncio.TimeoutError:
            raise OSError(ETIMEDOUT, "timed out")
        except ValueError as e:
            raise self._refused(e)

    def _refused(self, e):
        """MicroPython's ssl raises ValueError when the handshake fails (a certificate no
        trusted CA signed, a host name it does not name): an OSError like any other network
        failure (callers make it a Retry), saying what mbedtls said."""
        if self._tls is None:
            return e
        return OSError(ECONNABORTED, "TLS with %s refused: %s" % (
            self.host, " ".join(str(e).split()) or type(e).__name__))

    # --- reading --------------------------------------------------------------------------
    def _check(self):
        if self._r is None:
            raise OSError(ECONNRESET, "not connected")

    async def _recv(self, mv, ms=None):
        """One read of what has arrived (at least a byte) into mv; 0 at EOF."""
        self._check()
        while True:
            t = self._ms(ms)
            n = await self._io(self._r.readinto(mv), t)
            if n is not None:  # None: a TLS record is not complete yet (MicroPython)
                return n

    async def fill(self, ms=None):
        """Wait (at most `ms`, default the step timeout) until some bytes are buffered;
        returns how many (0 at EOF). Raises OSError(ETIMEDOUT) when none came: the
        connection stays usable."""
        if self._b > self._a:
            return self._b - self._a
        n = await self._recv(self._mv, ms)
        self._a, self._b = 0, n
        return n

    def buffered(self):
        return self._b - self._a

    def skip(self, n):
        """Drop up to `n` buffered bytes (no waiting); returns how many were dropped."""
        k = min(n, self._b - self._a)
        self._a += k
        self.rx += k
        return k

    async def readinto(self, buf, n=None):
        """Fill `buf` (or its first `n` bytes); see the module notes for EOF."""
        mv = memoryview(buf)
        want = len(mv) if n is None else n
        got = 0
        while got < want:
            a, b = self._a, self._b
            if b > a:
                k = min(b - a, want - got)
                mv[got:got + k] = self._mv[a:a + k]
                self._a = a + k
                got += k
                continue
            if want - got >= len(self._buf):  # large: straight into the caller's buffer
                k = await self._recv(mv[got:want])
                got += k
            else:
                k = await self.fill()
            if k == 0:
                if got == 0:
                    return 0
                raise OSError(ECONNRESET, "connection closed mid-message")
        self.rx += got
        self.last_rx = time.ticks_ms()
        return got

    async def read(self, n):
        """Exactly `n` bytes; b"" at a clean EOF."""
        buf = bytearray(n)
        got = await self.readinto(buf)
        return bytes(buf) if got == n else b""

    async def readline(self, mv):
        """Bytes up to and including the next LF, into `mv`; returns their count (0 at a
        clean EOF). A line longer than `mv` raises OSError(EMSGSIZE)."""
        n = 0
        room = len(mv)
        while True:
            if self._b == self._a:
                if await self.fill() == 0:
                    if n == 0:
                        return 0
                    raise OSError(ECONNRESET, "connection closed mid-line")
            a, b = self._a, self._b
            i = self._buf.find(b"\n", a, b)
            end = b if i < 0 else i + 1
            k = end - a
            if n + k > room:
                raise OSError(EMSGSIZE, "line longer than %d bytes" % room)
            mv[n:n + k] = self._mv[a:end]
            n += k
            self._a = end
            if i >= 0:
                self.rx += n
                self.last_rx = time.ticks_ms()
                return n

    # --- writing --------------------------------------------------------------------------
    async def write(self, buf, n=None):
        """Write all of `buf` (or its first `n` bytes), slice by slice; a slice the socket
        cannot take at once is drained under the step timeout (and the deadline)."""
        self._check()
        if isinstance(buf, str):
            buf = buf.encode()
        mv = memoryview(buf)
        end = len(mv) if n is None else n
        off = 0
        while off < end:
            k = min(end - off, WSLICE)
            w = self._w
            if w is None:
                raise OSError(ECONNRESET, "connection closed")
            t = self._ms()
            try:
                w.write(mv[off:off + k])  # MicroPython: the TLS handshake runs in here
            except ValueError as e:
                raise self._refused(e)
            if _waiting(w):
                await self._io(w.drain(), t)
            else:
                await w.drain()  # nothing held back: returns at once (MicroPython: yields)
            off += k
        self.tx += end
        self.last_tx = time.ticks_ms()
        return end

    # --- closing --------------------------------------------------------------------------
    def close(self):
        w = self._w
        self._r = self._w = None
        self._a = self._b = 0
        if w is None:
            return
        try:
            w.close()
        except (OSError, RuntimeError):  # CPython: a loop closed under a kept connection
            pass
        s = getattr(w, "s", None)  # MicroPython: Stream.close() leaves the socket open
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    @property
    def closed(self):
        return self._w is None


def _waiting(w):
    """True when drain() may have to wait: MicroPython's Stream holds what its socket did not
    take in `out_buf`; a CPython transport waits once its buffer passes the high-water mark.
    Unknown writers count as waiting (drain under a timeout: always safe)."""
    ob = getattr(w, "out_buf", None)
    if ob is not None:
        return len(ob) > 0
    t = getattr(w, "transport", None)
    try:
        return t.get_write_buffer_size() > t.get_write_buffer_limits()[1]
    except (AttributeError, OSError, TypeError):
        return True


async def open_stream(host, port, timeout_s=10, tls=None, addr=None, rx=RX):
    """A connected Stream to host:port (TLS when `tls` is an SSLContext)."""
    return await Stream(timeout_s, tls, rx).connect(host, port, addr)
