"""Misbehaving local servers for `python -m bench stall` (loopback, real sockets).

HTTP and MQTT servers that (a) drip one byte per second, (b) stall in the middle of a
response, (c) take the request body at a capped rate, (d) speak TLS (the client closes after
every exchange, so every connection pays a handshake). Each runs in its own process
(`Process`), so its work never competes with the measured loop for the interpreter lock;
inside, each connection is served by a thread. `close()` ends it.
"""
from __future__ import annotations

import multiprocessing
import socket
import ssl
import struct
import threading
import time

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
DRIP_S = 1.0
RATE = 256 * 1024  # bytes/s the capped servers read


class Server:
    def __init__(self, behave, tls: ssl.SSLContext | None = None):
        self.behave = behave
        self.tls = tls
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.conns: list = []
        self.stop = threading.Event()
        self.requests = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if self.tls is not None:
                c = self.tls.wrap_socket(c, server_side=True)
                self.conns.append(c)
            self.behave(self, c)
        except (OSError, ValueError, IndexError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def sleep(self, s):
        return self.stop.wait(s)

    def close(self):
        self.stop.set()
        self.srv.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def _child(behave, tls_files, conn, served):
    tls = None
    if tls_files:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(*tls_files)
    srv = Server(behave, tls)
    srv.served = served
    conn.send(srv.port)
    conn.recv()  # until the parent says stop (or goes away)
    srv.close()


class Process:
    """A Server in a child process: `port`, `requests` (served so far), `close()`."""

    def __init__(self, behave, tls_files=None):
        ctx = multiprocessing.get_context("spawn")
        self._served = ctx.Value("i", 0)
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child, args=(behave, tls_files, child, self._served),
                                daemon=True)
        self.proc.start()
        self.port = self._conn.recv()

    @property
    def requests(self):
        return self._served.value

    def close(self):
        try:
            self._conn.send(0)
        except OSError:
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


def _count(srv):
    srv.requests += 1
    served = getattr(srv, "served", None)
    if served is not None:
        with served.get_lock():
            served.value += 1


# --- HTTP ----------------------------------------------------------------------------------
def read_request(srv, c, rate=None):
    """Read one request (head + Content-Length body); at `rate` bytes/s when given."""
    head = b""
    while b"\r\n\r\n" not in head:
        b = c.recv(1)
        if not b:
            raise OSError("closed")
        head += b
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    if b"expect: 100-continue" in head.lower():
        c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    t0 = time.monotonic()
    got = 0
    while got < n:
        part = c.recv(min(16384, n - got))
        if not part:
            raise OSError("closed")
        got += len(part)
        if rate:
            ahead = got / rate - (time.monotonic() - t0)
            if ahead > 0 and srv.sleep(ahead):
                return
    _count(srv)


def http_drip(srv, c):
    read_request(srv, c)
    for b in OK:
        c.sendall(bytes([b]))
        if srv.sleep(DRIP_S):
            return


def http_stall(srv, c):
    read_request(srv, c)
    c.sendall(OK[:20])  # the status line and half a header, then nothing
    srv.sleep(60)


def http_capped(srv, c):
    while not srv.stop.is_set():
        read_request(srv, c, RATE)
        c.sendall(OK.replace(b"Connection: close\r\n", b""))


def http_ok(srv, c):
    read_request(srv, c)
    c.sendall(OK)


# --- MQTT ----------------------------------------------------------------------------------
def read_packet(c, rate=None, srv=None):
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
    t0 = time.monotonic()
    while len(body) < n:
        part = c.recv(min(16384, n - len(body)))
        if not part:
            return None
        body += part
        if rate:
            ahead = len(body) / rate - (time.monotonic() - t0)
            if ahead > 0 and srv.sleep(ahead):
                return None
    return h[0], body


def _ack(c, t, body):
    if t >> 4 == 1:
        c.sendall(b"\x20\x02\x00\x00")
    elif t >> 4 == 3 and (t >> 1) & 3:
        tl = struct.unpack("!H", body[:2])[0]
        c.sendall(b"\x40\x02" + body[2 + tl:4 + tl])
    elif t >> 4 == 12:
        c.sendall(b"\xd0\x00")


def mqtt_ok(srv, c, rate=None):
    while not srv.stop.is_set():
        p = read_packet(c, rate, srv)
        if p is None or p[0] >> 4 == 14:
            return
        if p[0] >> 4 == 3:
            _count(srv)
        _ack(c, *p)


def mqtt_capped(srv, c):
    mqtt_ok(srv, c, RATE)


def mqtt_drip(srv, c):
    read_packet(c)
    for b in b"\x20\x02\x00\x00":
        if srv.sleep(DRIP_S):
            return
        c.sendall(bytes([b]))
    mqtt_ok(srv, c)


def mqtt_stall(srv, c):
    read_packet(c)
    c.sendall(b"\x20\x02\x00\x00")
    p = read_packet(c)  # the retained `online`: acknowledged
    _ack(c, *p)
    read_packet(c)  # the event: never acknowledged
    c.sendall(b"\x40\x02")  # half a PUBACK, then silence
    srv.sleep(60)
