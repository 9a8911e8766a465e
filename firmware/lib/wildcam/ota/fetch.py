"""Where OTA bytes come from: `fetch(url, offset)` returns a chunk source of the resource from
`offset`. `make_fetch` gives one for http://, https:// and file:/board/path URLs (a bundle on
the SD card); tests pass their own.

A chunk source is either an object with `async next()` (a memoryview, or None at the end)
and `close()` — what `make_fetch` returns, so a download awaits every network step and
never holds the loop — or any plain iterable of byte chunks (tests, in-memory bundles);
`chunks_of()` gives both the same face.

Guarantees: one buffer of `chunk` bytes per download, reused for every chunk (peak heap
does not depend on the file size); a broken connection or a 5xx raises OSError (worth
resuming at the offset reached), a reply that is not HTTP errors.Retry quoting it, any
other refusal OtaError. An https:// URL is only fetched with a TLS context (`ota.ca`, or
the unverified one `ota.insecure` gives): never in the clear. Every download has a total
deadline besides the per-step timeout: 2 x timeout_s for the connection and the head, then
timeout_s plus the body at `min_rate` bytes/s, so a server trickling a byte at a time ends
as a resumable OSError(ETIMEDOUT) instead of holding an update for ever.
"""

from micropython import const

from wildcam.ota import OtaError

CHUNK = const(4096)
MIN_RATE = const(1024)  # bytes/s a body must keep up on average (a 1 MB file: 17 min)


class _Iter:
    """A plain iterable of chunks as a chunk source."""

    def __init__(self, it):
        self._it = iter(it)

    async def next(self):
        for part in self._it:
            return part
        return None

    def close(self):
        pass


def chunks_of(src):
    """`src` (a chunk source or an iterable of chunks) as a chunk source."""
    return src if hasattr(src, "next") and hasattr(src, "close") else _Iter(src)


class FileChunks:
    """Chunks of a board file from `offset` (one buffer, reused)."""

    def __init__(self, storage, path, offset=0, chunk=CHUNK):
        self._buf = bytearray(chunk)
        self._mv = memoryview(self._buf)
        self._f = storage.open(path, "rb")
        if offset:
            self._f.seek(offset)

    async def next(self):
        if self._f is None:
            return None
        n = self._f.readinto(self._buf)
        if not n:
            self.close()
            return None
        return self._mv[:n]

    def close(self):
        f, self._f = self._f, None
        if f is not None:
            f.close()


class HttpChunks:
    """A streamed HTTP/1.1 GET from `offset` (Range); needs a Content-Length. Raises OSError
    on network trouble or a 5xx (worth retrying), OtaError on other statuses. Every step is
    awaited under `timeout_s` (wildcam.net.stream)."""

    def __init__(self, url, offset=0, chunk=CHUNK, timeout_s=10, tls=None, connect=None):
        self.url = url
        self.offset = offset
        self.chunk = chunk
        self.timeout_s = timeout_s
        self.tls = tls
        self._connect = connect
        self.min_rate = MIN_RATE
        self._c = None
        self._left = -1  # body bytes still to read; -1 before the head
        self._skip = 0
        self._buf = bytearray(0)  # the chunk buffer, made once the head was read

    async def _start(self):
        from wildcam.net.httpmsg import content_length, parse_head
        from wildcam.net.url import host_header, urlsplit

        scheme, host, port, target = urlsplit(self.url)
        if scheme == "https" and self.tls is None:
            raise OtaError("https URL but no TLS context: set ota.ca to a CA file (or "
                           "ota.insecure to fetch without verifying the server)")
        connect = self._connect
        if connect is None:
            from wildcam.net.stream import open_stream as connect
        self._c = c = await connect(host, port, self.timeout_s,
                                    self.tls if scheme == "https" else None)
        c.deadline(self.timeout_s * 2000)
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: wildcam-ota\r\n" \
            % (target, host_header(scheme, host, port))
        if self.offset:
            req += "Range: bytes=%d-\r\n" % self.offset
        await c.write((req + "\r\n").encode())
        head = bytearray(2048)
        mv = memoryview(head)
        n = 0
        while True:
            try:
                k = await c.readline(mv[n:])
            except OSError as e:
                if e.args and e.args[0] == 90:
                    raise OSError(7, "response head too long")
                raise
            if not k:
                raise OSError(104, "connection closed in the response head")
            n += k
            if k == 2 and head[n - 2] == 13:
                break
        _, status, reason, headers = parse_head(mv[:n - 4])
        if status >= 500 or status in (408, 429):
            raise OSError(5, "HTTP %d %s" % (status, reason))
        if status not in (200, 206):
            raise OtaError("GET %s: HTTP %d %s" % (self.url, status, reason))
        size = content_length(headers)
        if size is None:
            raise OSError(5, "no Content-Length")
        self._left = size
        c.deadline(self.timeout_s * 1000 + size * 1000 // max(1, self.min_rate))
        self._skip = self.offset if status == 200 else 0  # a server ignoring Range sends all
        self._buf = bytearray(self.chunk)

    async def next(self):
        try:
            if self._left < 0:
                await self._start()
            mv = memoryview(self._buf)
            while self._left > 0:
                n = min(self.chunk, self._left)
                if await self._c.readinto(mv[:n]) != n:
                    raise OSError(104, "connection closed in the body")
                self._left -= n
                if self._skip >= n:
                    self._skip -= n
                    continue
                part = mv[self._skip:n]
                self._skip = 0
                return part
        except BaseException:
            self.close()
            raise
        self.close()
        return None

    def close(self):
        c, self._c = self._c, None
        if c is not None:
            c.close()


def file_chunks(storage, path, offset=0, chunk=CHUNK):
    return FileChunks(storage, path, offset, chunk)


def http_chunks(url, offset=0, chunk=CHUNK, timeout_s=10, tls=None, connect=None):
    return HttpChunks(url, offset, chunk, timeout_s, tls, connect)


def make_fetch(storage=None, tls=None, timeout_s=10, chunk=CHUNK):
    """fetch(url, offset) for http(s):// URLs and file:/board/path (an SD card bundle)."""

    def fetch(url, offset=0):
        if url.startswith("file:"):
            path = url[5:]
            while path.startswith("//"):
                path = path[1:]
            return file_chunks(storage, path, offset, chunk)
        return http_chunks(url, offset, chunk, timeout_s, tls)

    return fetch
