"""The detector's per-frame maps (steps 3 and 4 of docs/DETECTION.md): every block compared
with the reference ("present") and with the frame `lag` frames back ("moving"), flicker
suppression, the reference's learning, the box and the sharpness of a blob.

A block is `block` pixels square and holds four fine cells (block/2 = c pixels square),
in the kernel's band layout (blocks.cell_index): from i = fidx[b] the cells are i (top
left), i + c (top right), j = i + 1 (bottom left) and j + c. Values x16 are fixed point
(1/16 grey level).
Everything is preallocated in the constructor; nothing here allocates per frame.
"""
from array import array

from micropython import const

from wildcam.capture.blocks import cell_index
from wildcam.capture.learning import Learning
from wildcam.capture.measures import Measures

# popcount of 7-bit values: on/off changes in a block's 8-frame history
_POP = bytes(bin(i).count("1") for i in range(128))
_EXC_MAX = const(64)


class Maps(Learning, Measures):
    def __init__(self, fw, fh, bw, bh, c, size, lag, threshold, rel, k_dev, flicker, learn):
        self.fw = fw
        self.fh = fh
        self.bw = bw
        self.bh = bh
        self.c = c
        self.nb = nb = bw * bh
        self.nf = nf = size                         # cells, with the band layout's padding
        self.thr16 = threshold * 16
        self.rel = rel * 256 // 100
        self.kd = int(k_dev * 4)
        self.flicker, self.learn_shift = flicker, learn
        self.lag = lag if lag > 0 else 1
        self.fidx = array("H", [cell_index(2 * (b % bw), 2 * (b // bw), fw, c) for b in range(nb)])
        # row-major cell (x, y) -> its index (sharpness looks at neighbours)
        self.cidx = array("H", [cell_index(k % fw, k // fw, fw, c) for k in range(fw * fh)])
        self.csum = array("H", bytes(2 * nb))
        self.rsum = array("H", bytes(2 * nb))
        self.amax = array("H", bytes(2 * nb))       # presence residual, max of 4 cells x16
        self.fg = bytearray(nb)                     # changed (present or moving), kept
        self.mov = bytearray(nb)                    # moving
        self.exc = array("H", bytes(2 * nb))        # strength: 16 = at its threshold
        self.h8 = bytearray(nb)                     # change flags of the last 8 frames
        self.moved = bytearray(nb)                  # moved at some time in this window
        self.still = bytearray(nb)                  # frames present but not moving
        self.fd = array("H", bytes(2 * nf))         # |presence difference| x16 per cell
        self.ff = bytearray(nf)                     # cell over its block's threshold
        self.ring = [bytearray(nf) for _ in range(self.lag)]
        self.ring_g = [array("H", bytes(2 * nb)) for _ in range(self.lag)]
        self.slot = 0
        self.ring_n = 0
        self.last = 0                               # the slot written last
        self.g_last = 64
        self.nfg = 0
        self.mean = 0                               # the last frame's mean grey level
        self._zb = bytes(nb)
        self._zf = bytes(nf)
        self.roi = array("H")
        self.devd = array("H", bytes(2 * nb))       # deviation, widened by a block
        self.mot_k = 64
        self.dilate = 1

    def widen(self, ref):
        """devd: each block's deviation is the largest of its 3x3 neighbourhood (what
        swayed next to it in the reference may sway into it now)."""
        dev = ref.dev
        dd = self.devd
        bw = self.bw
        bh = self.bh
        for b in range(self.nb):
            y = b // bw
            x = b - y * bw
            m = 0
            for yy in range(y - 1 if y else 0, y + 2 if y + 1 < bh else bh):
                for xx in range(x - 1 if x else 0, x + 2 if x + 1 < bw else bw):
                    v = dev[yy * bw + xx]
                    if v > m:
                        m = v
            dd[b] = m

    def set_roi(self, roi):
        self.roi = roi

    def begin(self):
        self.ring_n = 0
        self.slot = 0
        self.g_last = 0
        self.nfg = 0
        self.fg[:] = self._zb
        self.mov[:] = self._zb
        self.h8[:] = self._zb
        self.moved[:] = self._zb
        self.still[:] = self._zb

    # --- sums and the reference -------------------------------------------------------
    def sums(self, f):
        """Block sums of this frame's cells into csum; returns the ROI's mean level."""
        cs, fidx, c = self.csum, self.fidx, self.c
        tot = 0
        for b in self.roi:
            i = fidx[b]
            s = f[i] + f[i + 1] + f[i + c] + f[i + c + 1]
            cs[b] = s
            tot += s
        self.mean = tot // (4 * len(self.roi))
        return self.mean

    def ref_changed(self, ref):
        v = ref.cells
        rs = self.rsum
        fidx = self.fidx
        c = self.c
        for b in range(self.nb):
            i = fidx[b]
            rs[b] = v[i] + v[i + 1] + v[i + c] + v[i + c + 1]

    def baseline(self, f, ref):
        """This frame becomes the reference (cold start, or the view changed entirely)."""
        ref.set_from(f)
        ref.mean = self.mean
        self.ref_changed(ref)
        self.widen(ref)
        self.begin()
        self._push(f, None)

    def _push(self, f, gb):
        s = self.slot
        self.ring[s][:] = f
        rg = self.ring_g[s]
        if gb is None:
            for b in self.roi:
                rg[b] = 64
        else:
            rg[:] = gb
        self.last = s
        self.slot = (s + 1) % self.lag
        if self.ring_n < self.lag:
            self.ring_n += 1

    def drop_lag(self):
        self.ring_n = 0
        self.slot = 0

    def lag_jump(self, g, jump):
        """True (and the lag frames are dropped) when the global gain jumped since the
        last frame by more than jump/64 (the IR LED, an exposure step)."""
        gl = self.g_last
        self.g_last = g
        if gl and (g * 64 > gl * (64 + jump) or g * 64 < gl * (64 - jump)):
            self.drop_lag()
            return True
        return False

    # --- the comparisons ----------------------------------------------------------------
    def compare(self, f, ref, G, use_lag, everywhere):
        """Fill fg/mov/exc (and the cell maps fd/ff) for this frame; returns how many ROI
        blocks changed before flicker suppression; pushes the frame into the lag ring.
        With a reference the animal did not write, only present blocks can be an animal,
        so motion is measured there alone unless `everywhere` (a cold window)."""
        R, dev = ref.cells, (self.devd if self.dilate else ref.dev)
        fidx, c = self.fidx, self.c
        thr0 = self.thr16
        rel = self.rel
        kd = self.kd
        flick = self.flicker
        fg = self.fg
        mov = self.mov
        exc = self.exc
        h8 = self.h8
        fd = self.fd
        ff = self.ff
        am_ = self.amax
        moved, pop, mk = self.moved, _POP, self.mot_k
        lagf = lagg = None
        if use_lag and self.ring_n:
            # `lag` frames back, or the oldest there is (the window's first frames)
            s = self.slot if self.ring_n >= self.lag else 0
            lagf, lagg = self.ring[s], self.ring_g[s]
        raw = nfg = 0
        for b in self.roi:
            i = fidx[b]
            j = i + 1
            gb = G[b]
            p0 = (R[i] * gb) >> 6
            p1 = (R[i + c] * gb) >> 6
            p2 = (R[j] * gb) >> 6
            p3 = (R[j + c] * gb) >> 6
            c0 = f[i] << 4
            c1 = f[i + c] << 4
            c2 = f[j] << 4
            c3 = f[j + c] << 4
            d0 = c0 - p0
            d1 = c1 - p1
            d2 = c2 - p2
            d3 = c3 - p3
            a0 = d0 if d0 >= 0 else -d0
            a1 = d1 if d1 >= 0 else -d1
            a2 = d2 if d2 >= 0 else -d2
            a3 = d3 if d3 >= 0 else -d3
            fd[i] = a0
            fd[i + c] = a1
            fd[j] = a2
            fd[j + c] = a3
            am = a0 if a0 > a1 else a1
            if a2 > am:
                am = a2
            if a3 > am:
                am = a3
            am_[b] = am
            t = ((p0 + p1 + p2 + p3) * rel) >> 10
            if t < thr0:
                t = thr0
            t += (dev[b] * kd) >> 2
            xp = 0
            if am > t and not _lightlike(d0, d1, d2, d3, p0, p1, p2, p3, t):
                xp = (am << 4) // t
            xm = 0
            if lagf is not None and (xp or everywhere):
                gm = (gb << 6) // (lagg[b] or 1)
                q0 = (lagf[i] * gm) >> 2
                q1 = (lagf[i + c] * gm) >> 2
                q2 = (lagf[j] * gm) >> 2
                q3 = (lagf[j + c] * gm) >> 2
                e0 = c0 - q0
                e1 = c1 - q1
                e2 = c2 - q2
                e3 = c3 - q3
                m = e0 if e0 >= 0 else -e0
                v = e1 if e1 >= 0 else -e1
                if v > m:
                    m = v
                v = e2 if e2 >= 0 else -e2
                if v > m:
                    m = v
                v = e3 if e3 >= 0 else -e3
                if v > m:
                    m = v
                t2 = ((q0 + q1 + q2 + q3) * rel) >> 10
                if t2 < thr0:
                    t2 = thr0
                t2 += (dev[b] * kd) >> 2
                if xp:
                    t2 = (t2 * mk) >> 6      # inside a present body: finer (a head, a tail)
                if m > t2 and not _lightlike(e0, e1, e2, e3, q0, q1, q2, q3, t2):
                    xm = (m << 4) // t2
                    if e0 + e1 + e2 + e3 < 0:
                        xm = -xm            # darker than `lag` frames ago
            flag = 1 if (xp or xm) else 0
            hh = ((h8[b] << 1) & 0xFF) | flag
            h8[b] = hh
            if flag:
                raw += 1
                if pop[(hh ^ (hh >> 1)) & 0x7F] < flick:
                    dk = 0
                    if xm < 0:
                        xm = -xm
                        dk = 1
                    x = xp if xp > xm else xm
                    exc[b] = x if x < _EXC_MAX else _EXC_MAX
                    fg[b] = 1
                    mov[b] = (1 + dk) if xm else 0      # 1: moved, brighter; 2: darker
                    if xm:
                        moved[b] = 1
                    ff[i] = 1 if a0 > t else 0
                    ff[i + c] = 1 if a1 > t else 0
                    ff[j] = 1 if a2 > t else 0
                    ff[j + c] = 1 if a3 > t else 0
                    nfg += 1
                    continue
            fg[b] = 0
            mov[b] = 0
        self.nfg = nfg
        self._push(f, G)
        return raw

def _lightlike(d0, d1, d2, d3, p0, p1, p2, p3, t):
    """Is a block's change (d_k, cells x16) explained by one gain on its expected cells
    (p_k), in a block textured enough to tell (cells spread by more than 2 t)?"""
    lo = p0 if p0 < p1 else p1
    hi = p0 + p1 - lo
    if p2 < lo:
        lo = p2
    elif p2 > hi:
        hi = p2
    if p3 < lo:
        lo = p3
    elif p3 > hi:
        hi = p3
    if hi - lo < 2 * t:
        return False
    ps = p0 + p1 + p2 + p3
    ds = d0 + d1 + d2 + d3
    e = d0 - ds * p0 // ps
    if e > t or e < -t:
        return False
    e = d1 - ds * p1 // ps
    if e > t or e < -t:
        return False
    e = d2 - ds * p2 // ps
    if e > t or e < -t:
        return False
    e = d3 - ds * p3 // ps
    return -t <= e <= t
