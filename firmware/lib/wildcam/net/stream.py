"""TCP (+TLS) connections with bounded blocking: the firmware's one way to open a socket.

    s = open_stream("broker.example", 8883, timeout_s=5, tls=tls_context("/certs/ca.pem"))
    s.write(b"...")            # writes everything, each step bounded by the timeout
    data = s.read(4)           # exactly 4 bytes (loops over short reads)

Guarantees:
- No call blocks longer than `timeout_s` without progress: DNS aside (lwIP's resolver has
  its own timeout), connect, the TLS handshake, every read and every write run with the
  socket timeout set. A timeout raises OSError (ETIMEDOUT on a board, TimeoutError on
  CPython); callers treat any OSError as "connection lost".
- `deadline(ms)` additionally bounds a whole exchange (e.g. publish + PUBACK): every step
  gets at most the time left, so a server that drips one byte per timeout cannot hold the
  loop either.
- `setblocking(True)` never means "forever": it re-applies the timeout. (umqtt.simple calls
  `sock.setblocking(True)` after each read; on a raw socket that would remove the timeout and
  let a stalled broker freeze the loop.) `settimeout(None)` is refused the same way.
- `read(n)`/`readinto(buf)` are exact: they loop over short reads. In non-blocking mode they
  return None when nothing has arrived yet; once the first byte is in, the rest is read with
  the timeout. A clean EOF before any byte returns b"" / 0; EOF in the middle raises OSError.

The socket API used is MicroPython's stream API (`read`/`readinto`/`write` on the socket and
on the TLS-wrapped socket); on CPython host_sim adds those methods to `socket.socket`.

TLS: `tls_context()` builds an `ssl.SSLContext(PROTOCOL_TLS_CLIENT)` from PEM file paths
(MicroPython >= 1.23 reads the files in its `ssl` module; CPython takes paths natively);
with `verify` the server certificate must chain to the CA and match the host name given to
`open_stream` (CERT_REQUIRED + server_hostname).
"""

import socket
import time

from micropython import const

ETIMEDOUT = const(110)
ECONNRESET = const(104)


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
    """One TCP(+TLS) connection. Create with `open_stream`, or `Stream(...).connect(addr)`
    (the form umqtt.simple's `socket.socket()` + `sock.connect(addr)` uses)."""

    def __init__(self, timeout_s=10, tls=None):
        self.timeout_s = timeout_s
        self.host = None
        self._tls = tls
        self._sock = None  # the plain socket
        self._io = None  # the plain socket or its TLS wrapper
        self._blocking = True
        self._applied = -1  # timeout last given to the socket
        self._deadline = None
        self.rx = 0
        self.tx = 0
        self.last_rx = self.last_tx = time.ticks_ms()

    # --- connecting ---------------------------------------------------------------------
    def connect(self, addr):
        """Resolve, connect and (with a TLS context) handshake, all under the timeout.
        `addr` is (host, port); host is a name or a dotted address."""
        host, port = addr[0], addr[1]
        self.host = host
        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        s = socket.socket(ai[0], socket.SOCK_STREAM)
        self._sock = self._io = s
        try:
            self._apply(True)
            s.connect(ai[-1])
            if self._tls is not None:
                self._io = self._tls.wrap_socket(s, server_hostname=host)
                self._applied = -1
        except BaseException:
            self.close()
            raise
        self.last_rx = self.last_tx = time.ticks_ms()
        return self

    # --- timeouts -------------------------------------------------------------------------
    def deadline(self, ms):
        """Bound everything from now on to `ms` milliseconds in total (None: no bound)."""
        self._deadline = None if ms is None else time.ticks_add(time.ticks_ms(), int(ms))

    def _timeout(self, block):
        if not block:
            return 0
        t = self.timeout_s
        if self._deadline is not None:
            left = time.ticks_diff(self._deadline, time.ticks_ms())
            if left <= 0:
                raise OSError(ETIMEDOUT)
            if left < t * 1000:
                t = left / 1000
        return t

    def _apply(self, block):
        t = self._timeout(block)
        if t == self._applied:
            return
        io = self._io
        if hasattr(io, "settimeout"):
            io.settimeout(t)
        else:  # MicroPython's TLS socket: tell it the mode, then time the plain socket
            if hasattr(io, "setblocking"):
                io.setblocking(t != 0)
            self._sock.settimeout(t)
        self._applied = t

    def settimeout(self, t):
        """Set the per-step timeout; 0 means non-blocking; None keeps the current timeout
        (blocking forever is never allowed)."""
        if t is None:
            self._blocking = True
        elif t == 0:
            self._blocking = False
        else:
            self.timeout_s = t
            self._blocking = True

    def setblocking(self, flag):
        """False: reads return None when nothing is there. True: back to the timeout."""
        self._blocking = bool(flag)

    # --- I/O ------------------------------------------------------------------------------
    def _check(self):
        if self._io is None:
            raise OSError(ECONNRESET)

    def readinto(self, buf, n=None):
        """Fill `buf` (or its first `n` bytes); see the module notes for None and EOF."""
        self._check()
        mv = memoryview(buf)
        want = len(mv) if n is None else n
        got = 0
        block = self._blocking
        while got < want:
            self._apply(block)
            r = self._io.readinto(mv[got:want])
            if r is None:
                if not block and got == 0:
                    return None
                if block:  # a TLS layer may report a timeout this way
                    raise OSError(ETIMEDOUT)
                block = True
                continue
            if r == 0:
                if got == 0:
                    return 0
                raise OSError(ECONNRESET)
            got += r
            block = True  # the rest of a message is read with the timeout
        if got:
            self.rx += got
            self.last_rx = time.ticks_ms()
        return got

    def read(self, n):
        """Exactly `n` bytes; b"" at a clean EOF; None when non-blocking and nothing came."""
        buf = bytearray(n)
        got = self.readinto(buf)
        if got is None:
            return None
        return bytes(buf) if got == n else bytes(buf[:got])

    def write(self, buf, n=None):
        """Write all of `buf` (or its first `n` bytes), each step under the timeout."""
        self._check()
        if isinstance(buf, str):
            buf = buf.encode()
        mv = memoryview(buf)
        end = len(mv) if n is None else n
        off = 0
        while off < end:
            self._apply(True)
            w = self._io.write(mv[off:end])
            if not w:
                raise OSError(ETIMEDOUT)
            off += w
        self.tx += end
        self.last_tx = time.ticks_ms()
        return end

    def close(self):
        io, s = self._io, self._sock
        self._io = self._sock = None
        for x in (io, s):
            if x is not None:
                try:
                    x.close()
                except OSError:
                    pass
                if s is io:
                    break

    @property
    def closed(self):
        return self._io is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_stream(host, port, timeout_s=10, tls=None):
    """A connected Stream to host:port (TLS when `tls` is an SSLContext)."""
    return Stream(timeout_s, tls).connect((host, port))
