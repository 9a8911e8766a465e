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
  and dropped (or the connection closed).
  Content-Length, chunked transfer coding and read-until-close are handled. Reads are exact
  (the socket layer of a board reads exactly what it is asked for), so the head is read a
  few bytes at a time, never past its end.
- `Expect: 100-continue` for bodies of `expect_over` bytes or more (off by default: it costs
  a round trip per request): a server refusing the request (403 signature mismatch) answers
  before the body is sent; a server that ignores the header is waited for `continue_ms`
  only. Without it, a server that answers early and closes while the body is still going
  is heard too: its response is read after the failed write.
- Every step runs under `timeout_s` (wildcam.net.stream), and the whole exchange under a deadline
  of 2 x timeout_s plus the body at `min_rate` bytes/s. Network failures raise
  `errors.Retry` with what happened; media trouble raised by a body iterator
  (`errors.Permanent`) passes through.
- Keep-alive: one connection is kept per client and reused for the same scheme/host/port
  when the server allows it and it was idle less than `idle_ms`. Redirects are not followed
  (a 3xx is returned to the caller).
- TLS through `wildcam.net.stream.tls_context` (certificate and host name verified). `resolve`
  maps a host name to the address to connect to (tests; the Host header keeps the name).
- The request yields to the asyncio loop after the head and then at most every `pause_ms`
  while sending (0: after every chunk), so a long upload does not starve the other tasks
  (PIR, watchdog).
"""

import asyncio
import time

from micropython import const

from wildcam.core.errors import Retry

MAX_HEAD = const(2048)
MAX_BODY = const(2048)
_DRAIN_MAX = const(65536)  # longer unwanted bodies: close instead of reading them
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


# --- pure helpers (portable tests) ----------------------------------------------------------
def quote(s, safe=""):
    """Percent-encode the UTF-8 bytes of `s` except RFC 3986 unreserved characters and
    `safe` (e.g. "/" for paths). Upper-case hex, as SigV4 / SharedKey require."""
    if isinstance(s, str):
        s = s.encode()
    safe = safe.encode() if isinstance(safe, str) else safe
    out = []
    for b in s:
        if b in _UNRESERVED or b in safe:
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def unquote(s):
    """Decode %XX escapes (and nothing else: '+' stays '+')."""
    if "%" not in s:
        return s
    b = s.encode()
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 37 and i + 2 < len(b):
            out.append(int(b[i + 1:i + 3].decode(), 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return out.decode()


def urlsplit(url):
    """(scheme, host, port, target) of an absolute http(s) URL; target is path?query
    ("/" when empty). Raises ValueError on anything else."""
    i = url.find("://")
    if i < 0:
        raise ValueError("not an absolute URL: %s" % url)
    scheme = url[:i].lower()
    if scheme not in ("http", "https"):
        raise ValueError("unsupported scheme %s" % scheme)
    rest = url[i + 3:]
    j = len(rest)
    for ch in "/?":
        k = rest.find(ch)
        if 0 <= k < j:
            j = k
    hostport = rest[:j]
    target = rest[j:] or "/"
    if target[0] == "?":
        target = "/" + target
    if "@" in hostport:
        raise ValueError("credentials in URLs are not supported")
    port = 443 if scheme == "https" else 80
    if hostport.startswith("["):
        k = hostport.find("]")
        host = hostport[1:k]
        if hostport[k + 1:k + 2] == ":":
            port = int(hostport[k + 2:])
    elif ":" in hostport:
        host, p = hostport.rsplit(":", 1)
        port = int(p)
    else:
        host = hostport
    if not host:
        raise ValueError("no host in URL: %s" % url)
    return scheme, host.lower(), port, target


def split_target(target):
    """(path, query string without '?') of a request target."""
    i = target.find("?")
    if i < 0:
        return target, ""
    return target[:i], target[i + 1:]


def parse_query(qs):
    """[(name, value)] of a query string, decoded, in order."""
    out = []
    if not qs:
        return out
    for part in qs.split("&"):
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
        else:
            k, v = part, ""
        out.append((unquote(k), unquote(v)))
    return out


def host_header(scheme, host, port):
    default = 443 if scheme == "https" else 80
    h = "[%s]" % host if ":" in host else host
    return h if port == default else "%s:%d" % (h, port)


def parse_head(data):
    """(version, status, reason, headers) from the bytes of a status line and headers
    (CRLF-separated, the final empty line optional). Header names are lower-cased; repeated
    headers are joined with ", "."""
    text = bytes(data).decode("latin-1") if not isinstance(data, str) else data
    lines = text.split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2 or not first[0].startswith("HTTP/"):
        raise ValueError("not an HTTP response: %r" % lines[0][:40])
    status = int(first[1])
    reason = first[2] if len(first) > 2 else ""
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        i = line.find(":")
        if i <= 0:
            continue
        name = line[:i].strip().lower()
        value = line[i + 1:].strip()
        if name in headers:
            headers[name] = headers[name] + ", " + value
        else:
            headers[name] = value
    return first[0], status, reason, headers


def retry_after_ms(headers, default=0):
    """Retry-After (delta seconds) in ms; an HTTP date or nonsense gives `default`."""
    v = headers.get("retry-after")
    if not v:
        return default
    try:
        return max(0, int(v.strip())) * 1000
    except ValueError:
        return default


def xml_text(body, tag):
    """Text of the first <tag>...</tag> in an XML error body, or None."""
    if not body:
        return None
    s = bytes(body).decode("utf-8", "replace") if not isinstance(body, str) else body
    i = s.find("<%s>" % tag)
    if i < 0:
        return None
    i += len(tag) + 2
    j = s.find("</%s>" % tag, i)
    return s[i:j] if j >= 0 else None


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


class Response:
    def __init__(self, status, reason, headers, body, truncated=False, version="HTTP/1.1"):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body  # bytes: at most max_body of them
        self.truncated = truncated
        self.version = version

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def ok(self):
        return 200 <= self.status < 300

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.reason)


def _sleep0():
    return asyncio.sleep_ms(0)


def _open_default(host, port, timeout_s, tls):
    from wildcam.net.stream import open_stream  # late: the pure helpers above need no socket

    s = open_stream(host, port, timeout_s, tls)
    nodelay(s)
    return s


def nodelay(stream):
    """TCP_NODELAY on a Stream's socket where the port has it: without it the last short
    segment of a body waits for the server's delayed ACK (~40 ms per request)."""
    try:
        import socket

        sock = stream._sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError, ImportError):
        pass


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
        self._head = bytearray(max_head)
        self._max_body = max_body
        self._body_buf = None  # allocated on the first response that has a body
        self._scratch = None
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

    def _open(self, scheme, host, port):
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
        c = self._connect(self.resolve.get(host, host), port, self.timeout_s, tls)
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
                c, reused = self._open(scheme, host, port)
            except OSError as e:
                self.close()
                raise Retry("%s %s: cannot connect: %s %s" % (method, host, type(e).__name__,
                                                              e))
            try:
                return await self._exchange(c, method, head, body, length, expect)
            except _Stale:
                self.close()
                if reused and attempt == 0:
                    continue  # the server had closed the kept-alive connection: again
                raise Retry("%s %s: connection closed before a response" % (method, host))
            except OSError as e:
                self.close()
                raise Retry("%s %s: %s %s" % (method, host, type(e).__name__, e))
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
            c.write(head)
            await self.pause()  # signing was CPU work: let the other tasks run
            resp = None
            if expect and body is not None:
                resp = self._wait_continue(c)
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
                    early = self._early_response(c, method)
                    if early is None:
                        raise
                    self.close()
                    return early
                self.counters["sent"] += length or 0
            while True:
                resp = self._read_response(c, method)
                if resp.status != 100:
                    break
            self._conn_used = time.ticks_ms()
            return resp
        finally:
            if not c.closed:
                c.deadline(None)

    async def _send_body(self, c, body, length):
        if not callable(body):
            c.write(body)
            return
        sent = 0
        last = time.ticks_ms()
        for chunk in body():
            c.write(chunk)
            sent += len(chunk)
            now = time.ticks_ms()
            if time.ticks_diff(now, last) >= self.pause_ms:
                await self.pause()
                last = time.ticks_ms()
        if sent != length:
            raise OSError(5, "body was %d bytes, announced %d" % (sent, length))

    def _early_response(self, c, method):
        if c.closed:
            return None
        try:
            c.settimeout(max(0.05, self.continue_ms / 1000))
            resp = self._read_response(c, method)
        except (OSError, ValueError, _Stale, _Quiet):
            return None
        return resp if resp.status >= 300 else None

    def _wait_continue(self, c):
        """After headers with Expect: the interim or final response, or None when the
        server said nothing within continue_ms (then the body goes anyway)."""
        saved = c.timeout_s
        c.settimeout(max(0.05, self.continue_ms / 1000))
        try:
            n = self._read_head(c, True)
        except _Quiet:
            return None
        finally:
            c.settimeout(saved)
        return self._finish_response(c, n, "PUT")

    # --- responses --------------------------------------------------------------------------
    def _read_head(self, c, quiet_ok=False):
        """Read the status line and headers into self._head; returns their length."""
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
                    raise _Quiet()
                raise
            if not got:
                if n == 0:
                    raise _Stale()
                raise OSError(104, "connection closed in the response headers")
            n += got
            if n >= 4 and buf[n - 4:n] == _CRLF2:
                return n

    def _read_response(self, c, method):
        return self._finish_response(c, self._read_head(c), method)

    def _finish_response(self, c, n, method):
        version, status, reason, headers = parse_head(memoryview(self._head)[:n - 4])
        keep = self.keepalive and version == "HTTP/1.1" and \
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
            if size > _DRAIN_MAX + self._max_body:
                kept = self._read_some(c, min(size, self._max_body))
                truncated = True
                keep = False
            else:
                kept, truncated = self._read_fixed(c, size)
        else:
            kept, truncated = self._read_to_close(c)
            keep = False
        body = bytes(memoryview(self._body_buf)[:kept]) if kept else b""
        if not keep and status != 100:
            self.close()
        return Response(status, reason, headers, body, truncated, version)

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


class _Stale(Exception):
    """The connection closed before any byte of the response."""


class _Quiet(Exception):
    """No interim response within continue_ms."""


def check(resp, what, permanent_codes=None):
    """Map a Response to the sync engine's outcome: return it when 2xx; raise Retry for
    408/429/5xx (with Retry-After) and Permanent otherwise, with the server's words."""
    from wildcam.core.errors import Permanent

    if 200 <= resp.status < 300:
        return resp
    detail = error_text(resp)
    msg = "%s: HTTP %d %s" % (what, resp.status, detail)
    if resp.status in (408, 429) or resp.status >= 500:
        raise Retry(msg, retry_after_ms(resp.headers, 0))
    raise Permanent(msg)


def error_text(resp):
    """The server's explanation: S3/GCS/Azure XML Code+Message, else the body's start."""
    code = xml_text(resp.body, "Code")
    message = xml_text(resp.body, "Message")
    if code or message:
        return "%s: %s" % (code or resp.reason, (message or "").split("\n")[0])
    azure = resp.headers.get("x-ms-error-code")
    text = resp.body[:200].decode("utf-8", "replace").strip() if resp.body else ""
    if azure:
        return "%s %s" % (azure, text)
    return ("%s %s" % (resp.reason, text)).strip()
