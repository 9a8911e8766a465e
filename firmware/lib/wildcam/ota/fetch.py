"""Where OTA bytes come from: `fetch(url, offset)` returns an iterable of byte chunks of
the resource from `offset`. `make_fetch` gives one for http://, https:// and
file:/board/path URLs (a bundle on the SD card); tests pass their own.

Guarantees: one buffer of `chunk` bytes per download, reused for every chunk (peak heap
does not depend on the file size); a broken connection or a 5xx raises OSError (worth
resuming at the offset reached), any other refusal raises OtaError.
"""

from micropython import const

from wildcam.ota import OtaError

CHUNK = const(4096)


def file_chunks(storage, path, offset=0, chunk=CHUNK):
    """Chunks of a board file from `offset` (one buffer, reused)."""
    buf = bytearray(chunk)
    mv = memoryview(buf)
    f = storage.open(path, "rb")
    try:
        if offset:
            f.seek(offset)
        while True:
            n = f.readinto(buf)
            if not n:
                return
            yield mv[:n]
    finally:
        f.close()


def http_chunks(url, offset=0, chunk=CHUNK, timeout_s=10, tls=None, connect=None):
    """A streamed HTTP/1.1 GET from `offset` (Range); needs a Content-Length. Raises
    OSError on network trouble or a 5xx (worth retrying), OtaError on other statuses."""
    from wildcam.net.httpmsg import parse_head
    from wildcam.net.url import host_header, urlsplit

    scheme, host, port, target = urlsplit(url)
    if connect is None:
        from wildcam.net.stream import open_stream as connect
    c = connect(host, port, timeout_s, tls if scheme == "https" else None)
    try:
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: wildcam-ota\r\n" \
            % (target, host_header(scheme, host, port))
        if offset:
            req += "Range: bytes=%d-\r\n" % offset
        c.write((req + "\r\n").encode())
        head = bytearray()
        while bytes(head[-4:]) != b"\r\n\r\n":
            b = c.read(1)
            if not b:
                raise OSError(104, "connection closed in the response head")
            head += b
            if len(head) > 2048:
                raise OSError(7, "response head too long")
        _, status, reason, headers = parse_head(head[:-4])
        if status >= 500 or status in (408, 429):
            raise OSError(5, "HTTP %d %s" % (status, reason))
        if status not in (200, 206):
            raise OtaError("GET %s: HTTP %d %s" % (url, status, reason))
        if "content-length" not in headers:
            raise OSError(5, "no Content-Length")
        left = int(headers["content-length"])
        skip = offset if status == 200 else 0  # a server ignoring Range sends it all
        buf = bytearray(chunk)
        mv = memoryview(buf)
        while left > 0:
            n = min(chunk, left)
            if c.readinto(mv[:n]) != n:
                raise OSError(104, "connection closed in the body")
            left -= n
            if skip >= n:
                skip -= n
                continue
            yield mv[skip:n]
            skip = 0
    finally:
        c.close()


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
