"""Peak memory while uploading does not depend on the file size (issue: large files).

Each destination uploads 100 KB, 1 MB and 10 MB files to its real server under tracemalloc;
the peak traced allocation of the upload (the board's client code, on CPython) must be the
same within a small margin for all three sizes, and small in absolute terms.
"""
import asyncio
import tracemalloc

import pytest

from wildcam.dest.azure import AzureDest
from wildcam.dest.http import HttpDest
from wildcam.dest.s3 import S3Dest
from wildcam.net.http import HTTP

from .cloudsrv import AZ_CONTAINER
from .cloudutil import media_item, storage

pytestmark = pytest.mark.services

SIZES = (100_000, 1_000_000, 10_000_000)
FLAT_MARGIN = 8192  # bytes the peak may differ between sizes
CEILING = 64 * 1024  # absolute peak above the baseline


def peaks(make_dest, root):
    """Peak traced allocation per size. CPython's asyncio transport reads up to 256 KB per
    recv() (`max_size`) into a fresh bytes object; a board reads into the connection's
    512-byte buffer (wildcam.net.stream). The figure is about the firmware's code, so the
    transport is set to read 4 KB at a time here. Its write buffer grows to 64 KB before
    `drain()` waits (how far depends on how fast the in-process server thread runs on a
    busy machine); MicroPython's `drain()` writes the whole buffer out every time, so the
    transport's high-water mark is set to 4 KB too."""
    from asyncio import selector_events, transports

    saved = selector_events._SelectorSocketTransport.max_size
    selector_events._SelectorSocketTransport.max_size = 4096
    limits = transports._FlowControlMixin._set_write_buffer_limits

    def small(self, high=None, low=None):
        limits(self, 4096 if high is None else high, low)

    transports._FlowControlMixin._set_write_buffer_limits = small
    loop = asyncio.new_event_loop()
    try:
        d = make_dest()
        items = [media_item(root, "M-%d" % n, n, seed=n % 251) for n in SIZES]
        loop.run_until_complete(d.send(media_item(root, "warm", 1000), storage(root)))
        out = []
        for it in items:
            tracemalloc.start()
            try:
                base = tracemalloc.get_traced_memory()[0]
                loop.run_until_complete(d.send(it, storage(root)))
                out.append(tracemalloc.get_traced_memory()[1] - base)
            finally:
                tracemalloc.stop()
        return out
    finally:
        loop.close()
        selector_events._SelectorSocketTransport.max_size = saved
        transports._FlowControlMixin._set_write_buffer_limits = limits


def _assert_flat(p):
    assert max(p) - min(p) <= FLAT_MARGIN, p
    assert max(p) <= CEILING, p


def test_s3_peak_flat(live_s3, tmp_path):
    import time

    p = peaks(lambda: S3Dest(HTTP(timeout_s=10), live_s3.endpoint, "traps", live_s3.region,
                             live_s3.access, live_s3.secret, device="mem", now=time.time),
              str(tmp_path))
    print("s3 peaks", p)
    _assert_flat(p)


def test_azure_peak_flat(live_azurite, tmp_path):
    import time

    p = peaks(lambda: AzureDest(HTTP(timeout_s=10), live_azurite.endpoint, AZ_CONTAINER,
                                account_key=live_azurite.key, device="mem", now=time.time),
              str(tmp_path))
    print("azure peaks", p)
    _assert_flat(p)


def test_http_peak_flat(tmp_path):
    import http.server
    import threading

    class Sink(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        buf = bytearray(4096)  # the server runs in this process: keep its allocations out

        def do_PUT(self):
            n = int(self.headers["Content-Length"])
            mv = memoryview(self.buf)
            while n:
                n -= self.rfile.readinto(mv[:min(n, len(mv))])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/u/{name}.{ext}" % srv.server_address[1]
        p = peaks(lambda: HttpDest(HTTP(timeout_s=10), url, token="t"), str(tmp_path))
    finally:
        srv.shutdown()
    print("http peaks", p)
    _assert_flat(p)


def test_sealed_s3_and_azure_peak_flat(live_s3, live_azurite, tmp_path):
    """Client-side AES-256-CTR encrypts each chunk in place: still flat (the CPython
    cryptolib shim allocates one chunk-sized result per call, freed at once)."""
    import time

    from wildcam.dest.crypt import Sealer

    key = "5a" * 32
    p = peaks(lambda: S3Dest(HTTP(timeout_s=10), live_s3.endpoint, "traps", live_s3.region,
                             live_s3.access, live_s3.secret, device="mem-enc", now=time.time,
                             sealer=Sealer(key)), str(tmp_path))
    print("s3 sealed peaks", p)
    _assert_flat(p)
    p = peaks(lambda: AzureDest(HTTP(timeout_s=10), live_azurite.endpoint, AZ_CONTAINER,
                                account_key=live_azurite.key, device="mem-enc", now=time.time,
                                sealer=Sealer(key)), str(tmp_path))
    print("azure sealed peaks", p)
    _assert_flat(p)
