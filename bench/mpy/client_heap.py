# Peak heap of one HTTP PUT of a file, side by side under real MicroPython:
#   ours      wildcam.net.http.HTTP, the body streamed from the file (MediaReader chunks)
#   urequests micropython-lib urequests 0.9.1 (PyPI), the body given as bytes: its API takes
#             `data` with a len() and writes it in one call, so the file is read into RAM
#             first (f.read(), the way its users write it)
# over the same in-memory socket answering "200 OK". bench/upload.py prepends
#   SIZES = (...); CHUNK = n; EXACT = bool; CLIENTS = (...)
# and runs it on the wasm build (EXACT False) and on the native unix port with a 110 KB
# heap (EXACT True). Each client's buffers are allocated inside the measured window.
#
# How the heap is read:
# - EXACT (unix port): gc.collect() works anywhere, so every socket call (write, readline,
#   readinto) collects and reads gc.mem_alloc(): the live heap at each I/O step, for both
#   clients alike.
# - wasm: the GC collects only when control returns to JavaScript. Our client is a
#   coroutine, so it is stepped from top level (k pauses, then settle and read), as
#   upload_heap.py does. urequests is one synchronous call: the socket calls read
#   gc.mem_alloc() without collecting, so its figure includes the call's own garbage (an
#   upper bound; the unix run gives the exact one).
# A MemoryError is caught and reported with the step it happened in.
import gc
import os
import sys

BASE = [0]
PEAK = [0]
STAGE = [""]  # what the client was doing (for a MemoryError)


def sample():
    if EXACT:
        gc.collect()
    a = gc.mem_alloc() - BASE[0]
    if a > PEAK[0]:
        PEAK[0] = a


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: \"x\"\r\n\r\n"


class Sock:
    """The server side of one connection: swallows the request, answers OK once the
    request has been written (both clients read only after writing)."""

    def __init__(self, *a):
        self.closed = False
        self.resp = b""
        self.pos = 0
        self.written = 0

    # ours (wildcam.net.stream API) ------------------------------------------------------
    def deadline(self, ms):
        pass

    def settimeout(self, t):
        pass

    def write(self, buf, n=None):
        k = len(buf) if n is None else n
        self.written += k
        self.resp = OK
        sample()
        return k

    def readinto(self, buf, n=None):
        mv = memoryview(buf)
        want = len(mv) if n is None else n
        part = self.resp[self.pos:self.pos + want]
        mv[:len(part)] = part
        self.pos += len(part)
        sample()
        return len(part)

    # urequests (MicroPython socket API) ---------------------------------------------------
    def connect(self, addr):
        pass

    def readline(self):
        i = self.resp.find(b"\n", self.pos)
        i = len(self.resp) if i < 0 else i + 1
        line = self.resp[self.pos:i]
        self.pos = i
        sample()
        return line

    def read(self, n=-1):
        rest = self.resp[self.pos:]
        self.pos = len(self.resp)
        return rest

    def close(self):
        self.closed = True


class FakeSocketModule:
    """Stands in for `usocket` (urequests imports it by that name)."""
    SOCK_STREAM = 1
    AF_INET = 2

    @staticmethod
    def getaddrinfo(host, port, af=0, type=0):
        return [(2, 1, 0, "", (host, port))]

    socket = Sock


sys.modules["usocket"] = FakeSocketModule

DIR = "/tmp/ch"
for d_ in (DIR, DIR + "/sd"):
    try:
        os.mkdir(d_)
    except OSError:
        pass


def make_file(size):
    blk = bytearray(1024)
    for i in range(1024):
        blk[i] = (i * 7 + 3) & 0xFF
    with open(DIR + "/sd/f%d.jpg" % size, "wb") as f:
        left = size
        while left:
            k = min(left, 1024)
            f.write(blk if k == 1024 else blk[:k])
            left -= k


for size in SIZES:
    make_file(size)

from wildcam.core.storage import Storage
from wildcam.dest.media import MediaReader
from wildcam.net.http import HTTP
import urequests


class St(Storage):
    def real(self, p):
        return DIR + p


ST = St()
URL = "http://bench.example/traps/k.jpg"
HEADERS = {"Content-Type": "image/jpeg"}


def _pause():
    yield "pause"


def ours_request(size):
    """The coroutine of one PUT by our client (its HTTP object and chunk buffer built here,
    inside the window)."""
    http = HTTP(connect=lambda *a: Sock(), pause=_pause, pause_ms=0)
    reader = MediaReader(ST, "/sd/f%d.jpg" % size, size=size, chunk=CHUNK)
    return http.request("PUT", URL, HEADERS, body=reader.chunks, length=size)


def run_coro(coro, limit=None):
    """Step a coroutine; True when it finished within `limit` steps."""
    n = 0
    while limit is None or n < limit:
        try:
            coro.send(None)
        except StopIteration as e:
            r = e.value
            if r is not None and r.status != 200:
                raise RuntimeError("ours: status %d" % r.status)
            return True
        n += 1
    return False


def settle_now():
    gc.collect()
    BASE[0] = gc.mem_alloc()
    PEAK[0] = 0


def ours_exact(size):
    settle_now()
    STAGE[0] = "streaming the file"
    run_coro(ours_request(size))
    return PEAK[0]


async def ours_stepped(size):
    import asyncio

    n = size // CHUNK + 3
    peak = 0
    for k in sorted(set([1, 2, 3, n // 2, n - 2, n - 1, n])):
        gc.collect()
        await asyncio.sleep_ms(0)
        gc.collect()
        base = gc.mem_alloc()
        coro = ours_request(size)
        done = run_coro(coro, k)
        gc.collect()
        await asyncio.sleep_ms(0)
        gc.collect()
        a = gc.mem_alloc() - base
        if a > peak:
            peak = a
        if not done:
            coro.close()
        coro = None
    return peak


def urequests_put(size, readinto=False):
    settle_now()
    STAGE[0] = "reading the body into RAM (f.read())"
    with open(DIR + "/sd/f%d.jpg" % size, "rb") as f:
        if readinto:
            data = bytearray(size)
            f.readinto(data)
        else:
            data = f.read()
    sample()
    STAGE[0] = "sending"
    r = urequests.put(URL, data=data, headers=HEADERS)
    if r.status_code != 200:
        raise RuntimeError("urequests: status %d" % r.status_code)
    r.close()
    return PEAK[0]


def report(client, size, fn):
    try:
        peak = fn(size)
        print("HEAP %s %d %d" % (client, size, peak))
    except MemoryError as e:
        print("FAIL %s %d MemoryError (%s) while %s, %d B in use before it"
              % (client, size, e, STAGE[0], PEAK[0]))
    gc.collect()


def max_body(readinto):
    """Largest body (1 KB steps) urequests sends on this heap."""
    lo, hi = 0, 256
    while lo < hi:
        mid = (lo + hi + 1) // 2
        make_file(mid * 1024)
        try:
            urequests_put(mid * 1024, readinto)
            lo = mid
        except MemoryError:
            hi = mid - 1
        os.remove(DIR + "/sd/f%d.jpg" % (mid * 1024))
        gc.collect()
    return lo * 1024


async def main():
    for size in SIZES:
        if "ours" in CLIENTS:
            if EXACT:
                report("ours", size, ours_exact)
            else:
                try:
                    print("HEAP ours %d %d" % (size, await ours_stepped(size)))
                except MemoryError as e:
                    print("FAIL ours %d MemoryError: %s" % (size, e))
        if "urequests" in CLIENTS:
            report("urequests", size, urequests_put)
    if MAXBODY:
        print("MAXBODY read %d" % max_body(False))
        print("MAXBODY readinto %d" % max_body(True))
    print("DONE")
