"""Reading HTTP/1.1 responses into buffers allocated once, whatever the server sends.

Guarantees:
- The status line and headers are read line by line (wildcam.net.stream.Stream.readline)
  into one `max_head` buffer; longer heads are refused with OSError.
- At most `max_body` bytes of a body are kept (error texts, XML, JSON), in a buffer
  allocated on the first response that has a body; the rest is read and dropped, or, past
  `DRAIN_MAX`, the connection is given up.
- Content-Length, chunked transfer coding (trailers skipped) and read-until-close bodies;
  a malformed frame (status line, Content-Length, chunk size) raises errors.Retry quoting
  a bounded slice of it, a broken one OSError; neither ever hangs. Every read is awaited
  under the stream's timeouts.
"""

from micropython import const

from wildcam.core.errors import Retry
from wildcam.net.httpmsg import Response, content_length, parse_head, quote

DRAIN_MAX = const(65536)  # longer unwanted bodies: close instead of reading them
ETIMEDOUT = const(110)
EMSGSIZE = const(90)


class Stale(Exception):
    """The connection closed before any byte of the response."""


class Quiet(Exception):
    """No interim response within continue_ms."""


class ResponseReader:
    def __init__(self, max_head, max_body):
        self._head = bytearray(max_head)
        self._max_body = max_body
        self._body_buf = None  # allocated on the first response that has a body
        self._line = None  # 128 bytes for chunk-size lines and trailers

    async def read_head(self, c, quiet_ms=None):
        """Read the status line and headers into the head buffer; returns their length
        (with the final empty line). Raises Stale when the connection closed before any
        byte, Quiet (with `quiet_ms`) when no byte came within that many ms."""
        if quiet_ms is not None:
            try:
                await c.fill(quiet_ms)
            except OSError as e:
                if e.args and e.args[0] == ETIMEDOUT:
                    raise Quiet()
                raise
        mv = memoryview(self._head)
        n = 0
        while True:
            try:
                k = await c.readline(mv[n:])
            except OSError as e:
                if e.args and e.args[0] == EMSGSIZE:
                    raise OSError(7, "response headers longer than %d bytes" % len(mv))
                raise
            if not k:
                if n == 0:
                    raise Stale()
                raise OSError(104, "connection closed in the response headers")
            n += k
            if k == 2 and self._head[n - 2] == 13:  # the empty line
                return n

    async def read(self, c, method, keepalive=True):
        """(Response, keep): the next response on `c`; `keep` says whether the connection
        may carry another request."""
        return await self.finish(c, await self.read_head(c), method, keepalive)

    async def finish(self, c, n, method, keepalive=True):
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
            kept, truncated = await self._read_chunked(c)
        elif "content-length" in headers:
            size = content_length(headers) or 0  # (present: an int, or Retry)
            if size > DRAIN_MAX + self._max_body:
                kept = await self._read_some(c, min(size, self._max_body))
                truncated = True
                keep = False
            else:
                kept, truncated = await self._read_fixed(c, size)
        else:
            kept, truncated = await self._read_to_close(c)
            keep = False
        body = bytes(memoryview(self._body_buf)[:kept]) if kept else b""  # pyright: ignore[reportArgumentType]  # the buffer exists once anything was read (kept > 0)
        return Response(status, reason, headers, body, truncated, version), keep

    @property
    def _body(self):
        if self._body_buf is None:
            self._body_buf = bytearray(self._max_body)
        return self._body_buf

    async def _read_some(self, c, n):
        if n and await c.readinto(memoryview(self._body)[:n]) != n:
            raise OSError(104, "connection closed in the response body")
        return n

    async def _discard(self, c, n):
        while n > 0:
            got = await c.fill()
            if not got:
                raise OSError(104, "connection closed in the response body")
            k = min(n, got)
            c.skip(k)
            n -= k

    async def _read_fixed(self, c, size, kept=0):
        room = self._max_body - kept
        take = min(room, size)
        if take:
            if await c.readinto(memoryview(self._body)[kept:kept + take]) != take:
                raise OSError(104, "connection closed in the response body")
        await self._discard(c, size - take)
        return kept + take, size > take

    async def _read_line(self, c):
        """One CRLF-terminated line (without the CRLF), at most 128 bytes."""
        if self._line is None:
            self._line = bytearray(128)
        try:
            n = await c.readline(memoryview(self._line))
        except OSError as e:
            if e.args and e.args[0] == EMSGSIZE:
                raise OSError(7, "chunk size line too long")
            raise
        if n < 2 or self._line[n - 2] != 13:
            raise OSError(104, "connection closed in a chunked body")
        return bytes(self._line[:n - 2])

    async def _read_chunked(self, c):
        kept = 0
        truncated = False
        while True:
            line = await self._read_line(c)
            size = chunk_size(line)
            if size == 0:
                while await self._read_line(c):  # trailers up to the empty line
                    pass
                return kept, truncated
            kept2, t = await self._read_fixed(c, size, kept)
            truncated = truncated or t
            kept = kept2
            if await self._read_line(c):
                raise OSError(71, "bad chunk terminator")

    async def _read_to_close(self, c):
        """HTTP/1.0 style body (no length): what comes up to max_body, then stop."""
        mv = memoryview(self._body)
        kept = 0
        while kept < len(mv):
            try:
                got = await c.fill()
            except OSError:
                break
            if not got:
                return kept, False
            k = min(got, len(mv) - kept)
            await c.readinto(mv[kept:kept + k])  # from the stream's buffer: no wait
            kept += k
        return kept, True


HEX = "0123456789abcdefABCDEF"


def chunk_size(line):
    """The size on a chunk-size line (extensions after ";" ignored): 1..8 hex digits, or
    Retry quoting the line."""
    digits = bytes(line).split(b";")[0].strip().decode("latin-1")
    if not digits or len(digits) > 8 or any(c not in HEX for c in digits):
        raise Retry("bad chunk size %s" % quote(line))
    return int(digits, 16)
