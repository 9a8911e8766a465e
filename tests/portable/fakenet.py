"""An in-memory stand-in for wildcam.net.stream.Stream (portable tests and the upload benchmark
under real MicroPython, which has no sockets): it answers each request with canned bytes,
counts what was written without keeping it, and reads exactly like a Stream."""


class FakeStream:
    def __init__(self, replies, keep_written=False, quiet_expect=False, fail_after=None):
        self.replies = list(replies)  # bytes for each request, in order
        self.rx = b""
        self.pos = 0
        self.written = 0
        self.requests = 0
        self.timeout_s = 5
        self.closed = False
        self.keep = keep_written
        self.data = bytearray() if keep_written else None
        self._head_done = False
        self._buf = bytearray()
        self.quiet_expect = quiet_expect
        self.fail_after = fail_after  # bytes written before writes fail (EPIPE)

    def deadline(self, ms):
        pass

    def settimeout(self, t):
        self.timeout_s = t

    def write(self, buf, n=None):
        n = len(buf) if n is None else n
        if self.fail_after is not None and self.written + n > self.fail_after:
            if self.pos >= len(self.rx) and self.replies:
                self.rx = self.replies.pop(0)
                self.pos = 0
            raise OSError(32)
        self.written += n
        if self.keep:
            self.data.extend(bytes(buf[:n]))
        if self.pos >= len(self.rx) and self.replies:
            # a new request starts: its reply becomes readable once the head went out
            self.rx = self.replies.pop(0)
            self.pos = 0
            self.requests += 1
        return n

    def readinto(self, buf, n=None):
        mv = memoryview(buf)
        want = len(mv) if n is None else n
        if self.quiet_expect and self.timeout_s < 5:
            raise OSError(110)  # a server ignoring Expect: 100-continue says nothing
        left = len(self.rx) - self.pos
        if left <= 0:
            return 0
        if want > left:
            raise OSError(104)
        mv[:want] = self.rx[self.pos:self.pos + want]
        self.pos += want
        return want

    def close(self):
        self.closed = True


class Connector:
    """`connect` factory for wildcam.net.http.HTTP handing out FakeStreams in turn."""

    def __init__(self, *streams):
        self.streams = list(streams)
        self.made = []

    def __call__(self, host, port, timeout_s, tls):
        s = self.streams.pop(0)
        self.made.append((host, port))
        return s
