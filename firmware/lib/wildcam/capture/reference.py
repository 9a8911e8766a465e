"""The reference background: the view as it was before the animal came, kept across deep
sleep in RTC memory (see docs/DETECTION.md, "Reference background across wakes").

It holds, for every fine cell (block/2 pixels square: 4x4 at the default 8) its mean grey
level x16 (in the kernel's band layout, blocks.cell_index; packed row-major), and for every block its mean absolute deviation x16 (sensor noise, swaying
leaves, flicker seen while it was learnt). It is learnt only from frames in which nothing
moves: a quiet wake, a time-lapse frame, the end of a rejected event (`learn`), and in a
trigger window only where nothing has changed (so an animal never writes it).

`to_bytes()` packs it into one byte per cell and per block plus a 10-byte header (magic,
version, geometry, learnt frame count, mean level, a reserved byte) and a CRC-32 (binascii, C on a
board), so it fits RTC memory with room for the rest of the state: 160x120 with 8-pixel
blocks is 10 + 1200 + 300 + 4 = 1514 bytes. `from_bytes()` refuses anything that is not a
reference for this geometry (another size, another firmware's bytes, a flipped bit) and
says why.
"""
from array import array
from binascii import crc32

from micropython import const

MAGIC = b"WR"
VERSION = const(1)
HEADER = const(10)
DEV0 = const(32)          # deviation x16 before anything is learnt: 2 grey levels
DEV_MAX = const(1020)     # one byte of deviation x4: at most 63.75 grey levels


class Reference:
    """`cells` fine means x16 (array "H", band layout), `dev` block deviations x16 (array
    "H", nb), `count` frames learnt (0: no reference), `mean` the view's grey level then."""

    def __init__(self, fw, fh, bw, bh, size, cidx):
        self.fw, self.fh, self.bw, self.bh = fw, fh, bw, bh
        self.nf, self.nb = fw * fh, bw * bh
        self.cidx = cidx                   # row-major cell -> index in the band layout
        self.cells = array("H", bytes(2 * size))
        self.dev = array("H", bytes(2 * self.nb))
        self.count = 0
        self.mean = 0                      # the view's mean grey level when last learnt

    def nbytes(self):
        return HEADER + self.nf + self.nb + 4

    def clear(self):
        self.count = 0

    def set_from(self, fine):
        """Start from one frame's fine means (bytes)."""
        c, dv = self.cells, self.dev
        for i in range(len(c)):
            c[i] = fine[i] << 4
        for b in range(self.nb):
            dv[b] = DEV0
        self.count = 1

    def to_bytes(self, out=None):
        """The packed reference (bytearray of nbytes()); `out` is reused when given."""
        n = self.nbytes()
        buf = out if out is not None and len(out) == n else bytearray(n)
        buf[0:2] = MAGIC
        buf[2] = VERSION
        buf[3], buf[4], buf[5], buf[6] = self.fw, self.fh, self.bw, self.bh
        buf[7] = self.count if self.count < 255 else 255
        buf[8] = self.mean if self.mean < 255 else 255
        buf[9] = 0                         # reserved
        c, dv, ci = self.cells, self.dev, self.cidx
        o = HEADER
        for i in range(self.nf):               # row-major, without the layout's padding
            v = (c[ci[i]] + 8) >> 4
            buf[o + i] = v if v < 255 else 255
        o += self.nf
        for b in range(self.nb):
            v = (dv[b] + 2) >> 2
            buf[o + b] = v if v < 255 else 255
        o += self.nb
        crc = crc32(memoryview(buf)[:o]) & 0xFFFFFFFF
        buf[o] = crc >> 24
        buf[o + 1] = (crc >> 16) & 0xFF
        buf[o + 2] = (crc >> 8) & 0xFF
        buf[o + 3] = crc & 0xFF
        return buf

    def problem(self, data):
        """None when `data` is a reference for this geometry, else why not."""
        n = self.nbytes()
        if data is None or len(data) != n:
            return "reference has %d bytes, need %d" % (0 if data is None else len(data), n)
        if bytes(data[0:2]) != MAGIC or data[2] != VERSION:
            return "not a detector reference (magic/version)"
        if (data[3], data[4], data[5], data[6]) != (self.fw, self.fh, self.bw, self.bh):
            return "reference for another frame geometry"
        crc = (data[n - 4] << 24) | (data[n - 3] << 16) | (data[n - 2] << 8) | data[n - 1]
        if crc32(memoryview(data)[:n - 4]) & 0xFFFFFFFF != crc:
            return "reference corrupted (CRC)"
        if not data[7]:
            return "reference empty"
        return None

    def from_bytes(self, data):
        """Load a packed reference; returns None, or the reason it was refused (the
        reference is then empty)."""
        why = self.problem(data)
        if why:
            self.count = 0
            return why
        c, dv, ci = self.cells, self.dev, self.cidx
        o = HEADER
        for i in range(self.nf):
            c[ci[i]] = data[o + i] << 4
        o += self.nf
        for b in range(self.nb):
            dv[b] = data[o + b] << 2
        self.count = data[7]
        self.mean = data[8]
        return None
