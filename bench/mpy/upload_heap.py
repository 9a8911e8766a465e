# Peak heap of the board's upload path under real MicroPython (run by bench/upload.py with
# host_sim.wasm.run_script): an S3 PUT of SIZES through wildcam.net.http and its Stream
# (receive buffer, write slices) over an in-memory asyncio stream pair.
# The wasm build collects garbage only when control returns to JavaScript, so the upload
# coroutine is stepped by hand from top level: for each sample point k it is advanced k
# pauses (after the head, after each chunk), the heap settled, gc.mem_alloc() read, and the
# coroutine closed. The client and destination are built inside the measured window: the
# figure includes their preallocated buffers (chunk, response head).
import gc, asyncio, os
from wildcam.net.http import HTTP
from wildcam.net.stream import Stream
from wildcam.dest.s3 import S3Dest
from wildcam.core.storage import Storage

class P(Storage):
    def real(self, p):
        return "/tmp/b" + p

CONT = b"HTTP/1.1 100 Continue\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: \"x\"\r\n\r\n"

class Sink:
    """The asyncio stream pair under the client's Stream: answers each request from memory
    (100-continue first when asked), counts what was written, never makes anyone wait."""
    def __init__(self):
        self.pending = b""
        self.pos = 0
        self.written = 0
    def write(self, buf):
        if self.pos >= len(self.pending):
            self.pending = CONT + OK if b"Expect: 100" in bytes(buf) else OK
            self.pos = 0
        self.written += len(buf)
    async def drain(self):
        pass
    async def readinto(self, buf):
        k = min(len(buf), len(self.pending) - self.pos)
        mv = memoryview(buf)
        mv[:k] = self.pending[self.pos:self.pos + k]
        self.pos += k
        return k
    def close(self):
        pass


class MemStream(Stream):
    """The client's real Stream (receive buffer, slices, exact and line reads) over the Sink.
    Its per-step timeouts (asyncio.wait_for_ms) are skipped: the Sink never waits, and
    wait_for needs the scheduler, which would stop the hand-stepping below."""
    async def _io(self, aw, ms):
        return await aw

class It:
    def __init__(self, key, media, size, sha256=None):
        self.key = key; self.media = media; self.size = size; self.sha256 = None
        self.kind = "detection"; self.data = {"score": 1, "trigger": "pir"}
        self.created = 1780000000
        self.sha256 = sha256

def _pause():
    yield "pause"

for d_ in ("/tmp/b", "/tmp/b/sd"):
    try:
        os.mkdir(d_)
    except OSError:
        pass
blk = bytearray(4096)
import hashlib, binascii
DIGEST = {}
for size in SIZES:
    h = hashlib.sha256()
    with open("/tmp/b/sd/f%d.jpg" % size, "wb") as f:
        left = size
        while left:
            k = min(left, 4096)
            part = blk[:k] if k < 4096 else blk
            f.write(part)
            h.update(part)
            left -= k
    DIGEST[size] = binascii.hexlify(h.digest()).decode()
sink = Sink()


async def connect(*a):
    s = MemStream(5)
    s._r = s._w = sink
    return s


def make():
    http = HTTP(connect=connect, pause=_pause, pause_ms=0, expect_over=65536)
    return S3Dest(http, "http://127.0.0.1:9000", "traps", access_key="AK", secret_key="SK",
                  now=lambda: 1780000000, chunk=CHUNK)


st = P()


def steps_of(size):
    return size // CHUNK + 2  # head, each chunk (the last may be short), the end


async def settle():
    gc.collect()
    await asyncio.sleep_ms(0)
    gc.collect()


out = []
for size in SIZES:
    n = steps_of(size)
    points = sorted(set([1, 2, 3, n // 4, n // 2, 3 * n // 4, n - 2, n - 1, n]))
    peak = 0
    for k in points:
        it = It("k%d" % size, "/sd/f%d.jpg" % size, size, DIGEST[size])
        sink.pending = b""
        sink.pos = 0
        await settle()
        base = gc.mem_alloc()
        d = make()  # the client's own buffers count too
        coro = d.send(it, st)
        done = False
        for _ in range(k):
            try:
                coro.send(None)
            except StopIteration:
                done = True
                break
        await settle()
        a = gc.mem_alloc() - base
        if a > peak:
            peak = a
        if not done:
            coro.close()
        coro = None
        d = None
    out.append(peak)
print("PEAK", " ".join(str(x) for x in out))
