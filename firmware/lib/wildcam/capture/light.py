"""The detector's light model: how bright each block should be, given the reference.

Light that changes between the reference and now (the sun moved, the exposure changed, a
cloud, a sun burst through the canopy) multiplies the view, and not uniformly. The model:
1. a global gain: the median ratio of block sums to the reference's (a histogram, robust to
   anything covering less than half of the view);
2. regional gains: the view is cut into `RX` x `RY` regions; each takes the mean ratio
   of its blocks that look like light rather than an object (within a factor
   `1 +- BAND/64` of the global gain, and not part of last frame's blobs), trimmed to those
   within 1/8 of that mean, or the global gain when too few do; each block's expected gain is the bilinear interpolation of the
   region gains at its centre, so a smooth light field (drift, a shadow's soft edge, the IR
   lamp's falloff) is followed across the frame while an animal (a compact, strong change)
   is not absorbed;
3. the structure test (in detect.py): within a block, a light change scales its four fine
   cells alike, an object replaces their pattern; a textured block whose change is
   explained by its own gain is light, not motion.
All state is preallocated; `Gains.update` allocates nothing.
"""
from array import array

from micropython import const

RX = const(5)
RY = const(3)
BAND = const(24)       # a block within global gain x (1 +- 24/64) may vote for its region
_HIST = const(256)


class Gains:
    """Per-block expected gain x64 (`self.block`), recomputed each frame by `update`."""

    def __init__(self, bw, bh, roi):
        self.bw, self.bh = bw, bh
        nb = bw * bh
        self.block = array("H", [64] * nb)
        self.ratio = array("H", bytes(2 * nb))
        self.hist = array("H", bytes(2 * _HIST))
        self._hzero = array("H", bytes(2 * _HIST))
        self.region = array("H", [64] * (RX * RY))
        # region of every block, and the blocks of every region (flat, with offsets)
        self.reg_of = bytearray(nb)
        counts = [0] * (RX * RY)
        for b in range(nb):
            r = (b % bw) * RX // bw + ((b // bw) * RY // bh) * RX
            self.reg_of[b] = r
            counts[r] += 1
        self.ssum = array("I", bytes(4 * RX * RY))
        self._szero = array("I", bytes(4 * RX * RY))
        self.cnt = bytearray(RX * RY)
        self._czero = bytes(RX * RY)
        # bilinear interpolation between region centres, separable: per block column the
        # two region columns and the weight of the second (x256), likewise per block row
        self.cx0, self.cx1, self.wx = self._axis(bw, RX)
        self.cy0, self.cy1, self.wy = self._axis(bh, RY)
        self.rowg = array("H", bytes(2 * RY * bw))   # region rows interpolated along x
        self.set_roi(roi)
        self.g = 64

    @staticmethod
    def _axis(n, regions):
        c0, c1, w = bytearray(n), bytearray(n), bytearray(n)
        for k in range(n):
            f = (k + 0.5) * regions / n - 0.5
            a = min(max(int(f // 1), 0), regions - 1)
            c0[k], c1[k] = a, min(a + 1, regions - 1)
            w[k] = min(255, int(min(max(f - a, 0.0), 1.0) * 256))
        return c0, c1, w

    def set_roi(self, roi):
        self.roi = roi
        self.n_roi = len(roi)

    def global_gain(self, csum, rsum):
        """Median ratio (x64) of csum (block sums of 4 fine cells) to rsum (the same sums
        x16 of the reference), over the ROI; also fills self.ratio."""
        gh, ratio = self.hist, self.ratio
        gh[:] = self._hzero
        for b in self.roi:
            rs = rsum[b]
            r = ((csum[b] << 10) + (rs >> 1)) // (rs + 1)
            r = r if r < 65535 else 65535
            ratio[b] = r
            gh[r if r < 255 else 255] += 1
        half = self.n_roi >> 1
        c = 0
        g = 0
        while g < 255:
            c += gh[g]
            if c > half:
                break
            g += 1
        self.g = g
        return g

    def update(self, exclude):
        """Regional gains from self.ratio (global_gain first), skipping blocks where
        `exclude[b]` is set (last frame's blobs); then every block's expected gain."""
        g = self.g
        lo = g - ((g * BAND) >> 6)
        hi = g + ((g * BAND) >> 6)
        ratio, reg_of, region = self.ratio, self.reg_of, self.region
        ssum, cnt = self.ssum, self.cnt
        roi = self.roi
        # pass 1: the mean of each region's blocks in the band; pass 2: the mean of those
        # within 1/8 of it (a trimmed mean: an animal's blocks, far from the light's
        # ratio, drop out; so do the few a change left in the band)
        for pas in (0, 1):
            ssum[:] = self._szero
            cnt[:] = self._czero
            for b in roi:
                if exclude[b]:
                    continue
                v = ratio[b]
                if pas:
                    r = reg_of[b]
                    m = region[r]
                    d = (m >> 3) + 2
                    if v < m - d or v > m + d:
                        continue
                else:
                    if v < lo or v > hi:
                        continue
                    r = reg_of[b]
                ssum[r] += v
                cnt[r] += 1
            for r in range(RX * RY):
                n = cnt[r]
                if n >= 3:
                    region[r] = (ssum[r] + (n >> 1)) // n
                elif not pas:
                    region[r] = g
        bw = self.bw
        rowg, cx0, cx1, wx = self.rowg, self.cx0, self.cx1, self.wx
        for ry in range(RY):
            base = ry * RX
            o = ry * bw
            for x in range(bw):
                a = wx[x]
                rowg[o + x] = (region[base + cx0[x]] * (256 - a)
                               + region[base + cx1[x]] * a + 128) >> 8
        blk, cy0, cy1, wy = self.block, self.cy0, self.cy1, self.wy
        for b in roi:
            y = b // bw
            x = b - y * bw
            a = wy[y]
            blk[b] = (rowg[cy0[y] * bw + x] * (256 - a) + rowg[cy1[y] * bw + x] * a + 128) >> 8

    def flat(self, g):
        """Every block at gain g (no reference to compare regions with)."""
        blk = self.block
        for b in self.roi:
            blk[b] = g
