"""MicroPython's `deflate` module on CPython (zlib underneath).

`DeflateIO(stream, format=AUTO, wbits=0, close=False)` compresses what is written to it into
`stream`, or decompresses what is read from `stream`. Formats: RAW, ZLIB, GZIP, AUTO (reading
only: zlib or gzip by header). `wbits` 0 means the default: 8 when compressing (a 256-byte
window, as on a board), taken from the header when decompressing. Compression needs the
board build to include it (MICROPY_PY_DEFLATE_COMPRESS); firmware checks for `write`.
"""
import zlib as _zlib

AUTO = 0
RAW = 1
ZLIB = 2
GZIP = 3


def _wbits(fmt, wbits, compress):
    w = wbits or (8 if compress else 15)
    if compress:
        w = max(w, 9)  # zlib's smallest window for writing; the stream stays readable
    if fmt == RAW:
        return -w
    if fmt == GZIP:
        return 16 + w
    if fmt == AUTO:
        if compress:
            raise ValueError("AUTO is for decompression")
        return 32 + 15
    return w


class DeflateIO:
    def __init__(self, stream, format=AUTO, wbits=0, close=False):
        if format not in (AUTO, RAW, ZLIB, GZIP):
            raise ValueError("format")
        self._s = stream
        self._fmt = format
        self._wbits = wbits
        self._close = close
        self._c = None
        self._d = None
        self._buf = b""
        self._eof = False
        self.closed = False

    def write(self, data):
        if self._d is not None:
            raise OSError(1, "stream opened for reading")
        if self._c is None:
            self._c = _zlib.compressobj(6, _zlib.DEFLATED, _wbits(self._fmt, self._wbits, True))
        out = self._c.compress(bytes(data))
        if out:
            self._s.write(out)
        return len(data)

    def _fill(self, n):
        if self._d is None:
            self._d = _zlib.decompressobj(_wbits(self._fmt, self._wbits, False))
        while (n < 0 or len(self._buf) < n) and not self._eof:
            chunk = self._d.unconsumed_tail or self._s.read(256)
            if not chunk:
                self._buf += self._d.flush()
                self._eof = True
                break
            self._buf += self._d.decompress(chunk)
            if self._d.eof:
                self._eof = True

    def read(self, n=-1):
        self._fill(n)
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self._c is not None:
            self._s.write(self._c.flush())
        if self._close:
            self._s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
