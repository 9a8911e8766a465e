"""An in-memory server under the firmware's real wildcam.net.stream.Stream (portable tests and
the upload benchmark under real MicroPython, whose wasm build has no sockets).

`FakeStream` plays the asyncio stream pair the Stream reads and writes through: it answers
each request with canned bytes, counts what was written without keeping it (unless asked),
and `Connector` hands out real Streams over FakeStreams in turn, so the Stream's buffering,
exact reads, line reads, slicing and timeouts are the code under test."""

import asyncio

from wildcam.net.stream import Stream


class FakeStream:
    def __init__(self, replies, keep_written=False, quiet_expect=False, fail_after=None):
        self.replies = list(replies)  # bytes for each request, in order
        self.rx = b""
        self.pos = 0
        self.written = 0
        self.requests = 0
        self.writes = 0
        self.closed = False
        self.keep = keep_written
        self.data = bytearray() if keep_written else None
        self.quiet_expect = quiet_expect  # say nothing until the body has come
        self.fail_after = fail_after  # bytes written before writes fail (EPIPE)
        self.stream = None  # the wildcam Stream over this one

    def _next_reply(self):
        if self.pos >= len(self.rx) and self.replies:
            # a new request starts: its reply becomes readable once the head went out
            self.rx = self.replies.pop(0)
            self.pos = 0
            self.requests += 1

    # the asyncio StreamWriter side
    def write(self, buf):
        n = len(buf)
        if self.fail_after is not None and self.written + n > self.fail_after:
            self._next_reply()
            raise OSError(32)
        self._next_reply()
        self.written += n
        self.writes += 1
        if self.keep:
            self.data.extend(bytes(buf))
        if self.writes > 1:
            self.quiet_expect = False  # the body is flowing: the server may speak

    async def drain(self):
        await asyncio.sleep_ms(0)

    def close(self):
        self.closed = True

    # the asyncio StreamReader side (MicroPython's Stream.readinto)
    async def readinto(self, buf):
        while self.quiet_expect:
            await asyncio.sleep_ms(5)  # a server ignoring Expect: 100-continue says nothing
        left = len(self.rx) - self.pos
        if left <= 0:
            return 0
        k = min(left, len(buf))
        mv = memoryview(buf)
        mv[:k] = self.rx[self.pos:self.pos + k]
        self.pos += k
        return k


def stream_over(fake, timeout_s=5):
    s = Stream(timeout_s)
    s._r = s._w = fake
    fake.stream = s
    return s


class Connector:
    """`connect` for wildcam.net.http.HTTP handing out Streams over FakeStreams in turn."""

    def __init__(self, *streams):
        self.streams = list(streams)
        self.made = []

    async def __call__(self, host, port, timeout_s, tls):
        s = self.streams.pop(0)
        self.made.append((host, port))
        return stream_over(s, timeout_s)
