"""A small HTTP/1.1 client for the board: streamed request bodies, bounded responses.

    http = HTTP(timeout_s=10, tls=tls_context("/certs/ca.pem"))
    r = await http.request("PUT", "https://bucket.s3.amazonaws.com/a/b.jpg",
                           {"Content-Type": "image/jpeg"}, body=lambda: reader.chunks(),
                           length=size)
    r.status, r.reason, r.header("etag"), r.body      # body: at most `max_body` bytes

Why not micropython-lib `requests`: it reads whole responses into RAM, turns certificate
checks off and streams an upload only from an iterator. Here:

- The body is bytes/str, or a callable returning an iterable of chunks (e.g.
  `MediaReader.chunks`, memoryviews into one preallocated buffer) sent with the
  `Content-Length` given in `length`: peak heap does not depend on the body size. A callable
  lets the client send the body again on a fresh connection when a kept-alive one turned out
  to be closed by the server.
- Responses are read into two buffers allocated once per client: the status line and
  headers (`max_head`, 2 KB) and, from the first response that has a body, the first
  `max_body` bytes of a body (2 KB: error texts, XML, JSON); the rest of a long body is read
  and dropped (or the connection closed); plus the connection's own 512-byte receive
  buffer (wildcam.net.stream). Content-Length, chunked transfer coding and read-until-close
  are handled.
- `Expect: 100-continue` for bodies of `expect_over` bytes or more (off by default: it costs
  a round trip per request): a server refusing the request (403 signature mismatch) answers
  before the body is sent; a server that ignores the header is waited for `continue_ms`
  only. Without it, a server that answers early and closes while the body is still going
  is heard too: its response is read after the failed write.
- Nothing blocks the loop: connect, TLS, every write and read are awaited on asyncio
  streams (wildcam.net.stream; DNS is cached there). Every step runs under `timeout_s`, and
  the whole exchange under a deadline of 2 x timeout_s plus the body at `min_rate` bytes/s.
  Network failures, TLS refusals and replies that are not HTTP (a bad status line,
  Content-Length or chunk size) raise `errors.Retry` with what happened, quoting a bounded
  slice of what came; media trouble raised by a body
  iterator (`errors.Permanent`) passes through.
- Keep-alive: one connection is kept per client and reused for the same scheme/host/port
  when the server allows it and it was idle less than `idle_ms`. Redirects are not followed
  (a 3xx is returned to the caller).
- TLS through `wildcam.net.stream.tls_context` (certificate and host name verified). `resolve`
  maps a host name to the address to connect to (tests; the Host header and the TLS check
  keep the name).
- Besides the stream's own waits, the request calls `pause()` after the head and then at
  most every `pause_ms` while sending (0: after every chunk): a point where other tasks run
  even when every write completes at once (a fast LAN), and a hook for benchmarks.
"""

import asyncio
import time

from micropython import const

from wildcam.core.errors import Retry
from wildcam.net.httpread import Quiet, ResponseReader, Stale
from wildcam.net.url import host_header, urlsplit

MAX_HEAD = const(2048)
MAX_BODY = const(2048)


def _sleep0():
    return asyncio.sleep_ms(0)


async def _open_default(host, port, timeout_s, tls, addr=None):
    from wildcam.net.stream import open_stream  # late: the pure helpers above need no socket

    return await open_stream(host, port, timeout_s, tls, addr)


class HTTP:
    def __init__(self, timeout_s=10, tls=None, keepalive=True, idle_ms=4000, resolve=None,
                 max_head=MAX_HEAD, max_body=MAX_BODY, expect_over=None, continue_ms=1500,
                 min_rate=1024, connect=None, user_agent="wildcam", pause=None, pause_ms=20):
        self.timeout_s = timeout_s
        self.tls = tls  # an ssl.SSLContext for https URLs (wildcam.net.stream.tls_context)
        self.keepalive = keepalive
        self.idle_ms = idle_ms
        self.resolve = resolve or {}
        self.expect_over = expect_over
        self.continue_ms = continue_ms
        self.min_rate = min_rate
        self.user_agent = user_agent
        self._connect = connect or _open_default
        self.pause = pause or _sleep0  # () -> awaitable: where a request lets others run
        self.pause_ms = pause_ms  # yield to the loop at most this often while sending
        self.reader = ResponseReader(max_head, max_body)
        self._conn = None
        self._conn_key = None
        self._conn_used = 0
        self.counters = {"requests": 0, "connects": 0, "reused": 0, "sent": 0}

    # --- connections ----------------------------------------------------------------------
    def close(self):
        c = self._conn
        self._conn = None
        self._conn_key = None
        if c is not None:
            c.close()

    async def _open(self, scheme, host, port):
        key = "%s://%s:%d" % (scheme, host, port)
        c = self._conn
        if c is not None:
            idle = time.ticks_diff(time.ticks_ms(), self._conn_used)
            if self._conn_key == key and not c.closed and idle < self.idle_ms:
                self.counters["reused"] += 1
                return c, True
            self.close()
        tls = None
        if scheme == "https":
            if self.tls is None:
                raise ValueError("https URL but no TLS context (set tls / a CA file)")
            tls = self.tls
        addr = self.resolve.get(host)
        if addr is None:
            c = await self._connect(host, port, self.timeout_s, tls)
        else:
            c = await self._connect(host, port, self.timeout_s, tls, addr)
        self.counters["connects"] += 1
        self._conn = c
        self._conn_key = key
        return c, False

    # --- requests -------------------------------------------------------------------------
    async def request(self, method, url, headers=None, body=None, length=None, expect=None):
        """Send one request and return its Response (any status). Raises Retry on network
        trouble; see the module notes for `body`/`length`/`expect`."""
        scheme, host, port, target = urlsplit(url)
        if isinstance(body, str):
            body = body.encode()
        if body is not None and not callable(body):
            length = len(body)
        if callable(body) and length is None:
            raise ValueError("a streamed body needs its length")
        if expect is None:
            expect = self.expect_over is not None and length is not None and \
                length >= self.expect_over
        head = self._request_head(method, target, host_header(scheme, host, port), headers,
                                  length, expect)
        self.counters["requests"] += 1
        for attempt in (0, 1):
            try:
                c, reused = await self._open(scheme, host, port)
            except OSError as e:
                self.close()
                raise Retry("%s %s: cannot connect: %s %s" % (method, host, type(e).__name__,
                                                              e))
            try:
                return await self._exchange(c, method, head, body, length, expect)
            except Stale:
                self.close()
                if reused and attempt == 0:
                    continue  # the server had closed the kept-alive connection: again
                raise Retry("%s %s: connection closed before a response" % (method, host))
            except OSError as e:
                self.close()
                raise Retry("%s %s: %s %s" % (method, host, type(e).__name__, e))
            except (Retry, ValueError) as e:  # not HTTP: out of step, the link is done
                self.close()
                raise Retry("%s %s: %s" % (method, host, e))
            except BaseException:
                self.close()
                raise
        raise Retry("%s %s: no response" % (method, host))  # not reached

    def _request_head(self, method, target, host, headers, length, expect):
        parts = ["%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, target, host)]
        have = {}
        if headers:
            for name in sorted(headers):
                value = headers[name]
                if value is None:
                    continue
                have[name.lower()] = 1
                parts.append("%s: %s\r\n" % (name, value))
        if "host" in have:  # a caller's Host wins (e.g. Azure's production form in tests)
            parts[0] = "%s %s HTTP/1.1\r\n" % (method, target)
        if length is not None and "content-length" not in have:
            parts.append("Content-Length: %d\r\n" % length)
        elif length is None and method in ("PUT", "POST") and "content-length" not in have:
            parts.append("Content-Length: 0\r\n")
        if expect:
            parts.append("Expect: 100-continue\r\n")
        if "user-agent" not in have and self.user_agent:
            parts.append("User-Agent: %s\r\n" % self.user_agent)
        if not self.keepalive:
            parts.append("Connection: close\r\n")
        parts.append("\r\n")
        return "".join(parts).encode()

    async def _exchange(self, c, method, head, body, length, expect):
        total = self.timeout_s * 2000 + ((length or 0) * 1000 // max(1, self.min_rate))
        c.deadline(total)
        try:
            await c.write(head)
            await self.pause()  # signing was CPU work: let the other tasks run
            resp = None
            if expect and body is not None:
                resp = await self._wait_continue(c)
                if resp is not None and resp.status != 100:
                    self.close()  # the body was not sent: this connection is done
                    if resp.status < 300:
                        raise OSError(71, "HTTP %d before the body was sent" % resp.status)
                    return resp
            if body is not None:
                try:
                    await self._send_body(c, body, length)
                except OSError:
                    # a server may answer (403, 413) and close while the body is still
                    # going: its answer, when there is one, says more than EPIPE does
                    early = await self._early_response(c, method)
                    if early is None:
                        raise
                    self.close()
                    return early
                self.counters["sent"] += length or 0
            while True:
                resp = await self._response(c, method)
                if resp.status != 100:
                    break
            self._conn_used = time.ticks_ms()
            return resp
        finally:
            if not c.closed:
                c.deadline(None)

    async def _send_body(self, c, body, length):
        if not callable(body):
            await c.write(body)
            return
        sent = 0
        last = time.ticks_ms()
        for chunk in body():  # pyright: ignore[reportGeneralTypeIssues]  # callable() narrows the unannotated body to returning object
            await c.write(chunk)
            sent += len(chunk)
            now = time.ticks_ms()
            if time.ticks_diff(now, last) >= self.pause_ms:
                await self.pause()
                last = time.ticks_ms()
        if sent != length:
            raise OSError(5, "body was %d bytes, announced %d" % (sent, length))

    async def _early_response(self, c, method):
        if c.closed:
            return None
        try:
            c.deadline(max(50, self.continue_ms))
            resp = await self._response(c, method)
        except (OSError, ValueError, Retry, Stale, Quiet):
            return None
        return resp if resp.status >= 300 else None

    async def _wait_continue(self, c):
        """After headers with Expect: the interim or final response, or None when the
        server said nothing within continue_ms (then the body goes anyway)."""
        try:
            n = await self.reader.read_head(c, max(50, self.continue_ms))
        except Quiet:
            return None
        return self._kept(*await self.reader.finish(c, n, "PUT", self.keepalive))

    async def _response(self, c, method):
        return self._kept(*await self.reader.read(c, method, self.keepalive))

    def _kept(self, resp, keep):
        if not keep and resp.status != 100:
            self.close()
        return resp
