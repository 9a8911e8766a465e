"""Reading HTTP/1.1 responses into buffers allocated once, whatever the server sends.

Guarantees:
- The status line and headers are read into one `max_head` buffer a few bytes at a time,
  never past their end (a board's socket reads exactly what it is asked for); longer heads
  are refused with OSError.
- At most `max_body` bytes of a body are kept (error texts, XML, JSON), in a buffer
  allocated on the first response that has a body; the rest is read and dropped through a
  256-byte scratch buffer, or, past `DRAIN_MAX`, the connection is given up.
- Content-Length, chunked transfer coding (trailers skipped) and read-until-close bodies;
  a malformed frame raises OSError or ValueError, never hangs.
"""

from micropython import const

from wildcam.net.httpmsg import Response, parse_head

DRAIN_MAX = const(65536)  # longer unwanted bodies: close instead of reading them
_CRLF2 = b"\r\n\r\n"
_CRLF = b"\r\n"


def _suffix_match(buf, n, pattern):
    """Length of the longest suffix of buf[:n] that is a prefix of `pattern`."""
    k = min(n, len(pattern) - 1)
    while k > 0:
        ok = True
        for i in range(k):
            if buf[n - k + i] != pattern[i]:
                ok = False
                break
        if ok:
            return k
        k -= 1
    return 0


_CRLF2 = b"\r\n\r\n"
_CRLF = b"\r\n"


class Stale(Exception):
    """The connection closed before any byte of the response."""


class Quiet(Exception):
    """No interim response within continue_ms."""


class ResponseReader:
    def __init__(self, max_head, max_body):
        self._head = bytearray(max_head)
        self._max_body = max_body
        self._body_buf = None  # allocated on the first response that has a body
        self._scratch = None

    def read_head(self, c, quiet_ok=False):
        """Read the status line and headers into the head buffer; returns their length.
        Raises Stale when the connection closed before any byte, Quiet (with `quiet_ok`)
        when the read timed out before any byte."""
        buf = self._head
        mv = memoryview(buf)
        n = 0
        while True:
            need = 4 - _suffix_match(buf, n, _CRLF2)
            if n + need > len(buf):
                raise OSError(7, "response headers longer than %d bytes" % len(buf))
            try:
                got = c.readinto(mv[n:n + need])
            except OSError:
                if quiet_ok and n == 0:
                    raise Quiet()
                raise
            if not got:
                if n == 0:
                    raise Stale()
                raise OSError(104, "connection closed in the response headers")
            n += got
            if n >= 4 and buf[n - 4:n] == _CRLF2:
                return n

    def read(self, c, method, keepalive=True):
        """(Response, keep): the next response on `c`; `keep` says whether the connection
        may carry another request."""
        return self.finish(c, self.read_head(c), method, keepalive)

    def finish(self, c, n, method, keepalive=True):
        """The response whose head (n bytes) read_head() has just read."""
        version, status, reason, headers = parse_head(memoryview(self._head)[:n - 4])
        keep = keepalive and version == "HTTP/1.1" and \
            headers.get("connection", "").lower() != "close"
        kept = 0
        truncated = False
        if method == "HEAD" or status in (100, 204, 304) or 100 <= status < 200 or \
                headers.get("content-length") == "0":
            pass
        elif headers.get("transfer-encoding", "").lower().find("chunked") >= 0:
            kept, truncated = self._read_chunked(c)
        elif "content-length" in headers:
            size = int(headers["content-length"])
            if size > DRAIN_MAX + self._max_body:
                kept = self._read_some(c, min(size, self._max_body))
                truncated = True
                keep = False
            else:
                kept, truncated = self._read_fixed(c, size)
        else:
            kept, truncated = self._read_to_close(c)
            keep = False
        body = bytes(memoryview(self._body_buf)[:kept]) if kept else b""  # pyright: ignore[reportArgumentType]  # the buffer exists once anything was read (kept > 0)
        return Response(status, reason, headers, body, truncated, version), keep

    @property
    def _body(self):
        if self._body_buf is None:
            self._body_buf = bytearray(self._max_body)
        return self._body_buf

    def _read_some(self, c, n):
        if n:
            c.readinto(memoryview(self._body)[:n])
        return n

    def _discard(self, c, n):
        if self._scratch is None:
            self._scratch = bytearray(256)
        mv = memoryview(self._scratch)
        while n > 0:
            k = min(n, len(mv))
            if c.readinto(mv[:k]) != k:
                raise OSError(104, "connection closed in the response body")
            n -= k

    def _read_fixed(self, c, size, kept=0):
        room = self._max_body - kept
        take = min(room, size)
        if take:
            if c.readinto(memoryview(self._body)[kept:kept + take]) != take:
                raise OSError(104, "connection closed in the response body")
        self._discard(c, size - take)
        return kept + take, size > take

    def _read_line(self, c):
        """One CRLF-terminated line (without the CRLF), at most 128 bytes."""
        if self._scratch is None:
            self._scratch = bytearray(256)
        buf = self._scratch
        mv = memoryview(buf)
        n = 0
        while True:
            need = 2 - _suffix_match(buf, n, _CRLF)
            if n + need > 128:
                raise OSError(7, "chunk size line too long")
            if c.readinto(mv[n:n + need]) != need:
                raise OSError(104, "connection closed in a chunked body")
            n += need
            if buf[n - 2:n] == _CRLF:
                return bytes(buf[:n - 2])

    def _read_chunked(self, c):
        kept = 0
        truncated = False
        while True:
            line = self._read_line(c)
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_line(c):  # trailers up to the empty line
                    pass
                return kept, truncated
            kept2, t = self._read_fixed(c, size, kept)
            truncated = truncated or t
            kept = kept2
            if self._read_line(c):
                raise OSError(71, "bad chunk terminator")

    def _read_to_close(self, c):
        """HTTP/1.0 style body (no length): read byte by byte up to max_body, then stop."""
        mv = memoryview(self._body)
        kept = 0
        while kept < len(mv):
            try:
                got = c.readinto(mv[kept:kept + 1])
            except OSError:
                break
            if not got:
                return kept, False
            kept += 1
        return kept, True
