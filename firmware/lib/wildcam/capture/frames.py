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
from wildcam.capture.reference import DEV0, DEV_MAX

# popcount of 7-bit values: on/off changes in a block's 8-frame history
_POP = bytes(bin(i).count("1") for i in range(128))
_EXC_MAX = const(64)


class Maps:
    def __init__(self, fw, fh, bw, bh, c, size, lag, threshold, rel, k_dev, flicker, learn):
        self.fw, self.fh, self.bw, self.bh, self.c = fw, fh, bw, bh, c
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
        self._zb = bytes(nb)
        self._zf = bytes(nf)
        self.roi = array("H")
        self.devd = array("H", bytes(2 * nb))       # deviation, widened by a block
        self.mot_k = 64
        self.dilate = 1

    def widen(self, ref):
        """devd: each block's deviation is the largest of its 3x3 neighbourhood (what
        swayed next to it in the reference may sway into it now)."""
        dev, dd, bw, bh = ref.dev, self.devd, self.bw, self.bh
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
        return tot // (4 * len(self.roi))

    def ref_changed(self, ref):
        v, rs, fidx, c = ref.cells, self.rsum, self.fidx, self.c
        for b in range(self.nb):
            i = fidx[b]
            rs[b] = v[i] + v[i + 1] + v[i + c] + v[i + c + 1]

    def baseline(self, f, ref):
        """This frame becomes the reference (cold start, or the view changed entirely)."""
        ref.set_from(f)
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
        thr0, rel, kd, flick = self.thr16, self.rel, self.kd, self.flicker
        fg, mov, exc, h8, fd, ff, am_ = self.fg, self.mov, self.exc, self.h8, self.fd, self.ff, self.amax
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

    # --- learning -------------------------------------------------------------------
    def learn_dev(self, ref):
        """With a reference from before the trigger the view is not learnt in the window
        (an animal standing still must not fade into it); only the deviations rise where a
        block flickers (sway that the reference wake did not see)."""
        dev, dd, h8, fg, am_ = ref.dev, self.devd, self.h8, self.fg, self.amax
        for b in self.roi:
            if h8[b] & 1 and not fg[b]:
                dv = dev[b]
                dv += (am_[b] - dv) >> 2
                dv = dv if dv < DEV_MAX else DEV_MAX
                dev[b] = dv
                if dv > dd[b]:
                    dd[b] = dv

    def learn(self, f, ref, G, fast):
        """The reference follows the view where nothing changed (normalised by the block's
        gain, so it stays in its own light), `fast` in a cold window (whose reference is
        its first frame: where that frame showed the animal, the view behind it is learnt
        once the block stays present without moving for two frames)."""
        R, dev, rs = ref.cells, ref.dev, self.rsum
        fidx, c, fg, mov, still, am_ = self.fidx, self.c, self.fg, self.mov, self.still, self.amax
        h8, dd = self.h8, self.devd
        sh = self.learn_shift - (2 if fast else 0)
        for b in self.roi:
            i = fidx[b]
            j = i + 1
            s = sh
            if fg[b]:
                if not fast or mov[b]:
                    still[b] = 0
                    continue
                still[b] += 1
                if still[b] < 2:
                    continue
                s = 1                                  # a ghost of the first frame
            else:
                still[b] = 0
                dv = dev[b]
                a = am_[b]
                # the envelope rises fast where a block flickers (sway), slowly elsewhere
                dv += (a - dv) >> (2 if (h8[b] & 1) else sh + 1)
                dv = dv if dv < DEV_MAX else DEV_MAX
                dev[b] = dv
                if dv > dd[b]:
                    dd[b] = dv
            gb = G[b] or 1
            r = R[i]
            R[i] = r + ((((f[i] << 10) // gb) - r) >> s)
            r = R[i + c]
            R[i + c] = r + ((((f[i + c] << 10) // gb) - r) >> s)
            r = R[j]
            R[j] = r + ((((f[j] << 10) // gb) - r) >> s)
            r = R[j + c]
            R[j + c] = r + ((((f[j + c] << 10) // gb) - r) >> s)
            rs[b] = R[i] + R[i + c] + R[j] + R[j + c]

    def observe(self, f, ref, gains):
        """A quiet frame for the reference (a wake with nothing moving): a running mean
        over the first 8 frames, then 1/8 per frame; deviations likewise."""
        self.sums(f)
        if ref.count == 0:
            ref.set_from(f)
            self.ref_changed(ref)
            return 64
        g = gains.global_gain(self.csum, self.rsum)
        if g < 22 or g > 192:                          # another light entirely: restart
            ref.set_from(f)
            self.ref_changed(ref)
            return g
        gains.update(self._zb)
        G = gains.block
        R, dev, rs, fidx, c = ref.cells, ref.dev, self.rsum, self.fidx, self.c
        n = ref.count + 1 if ref.count < 8 else 8
        for b in range(self.nb):
            i = fidx[b]
            gb = G[b] or 1
            am = 0
            for q in range(4):
                k = i + (q >> 1) + (c if q & 1 else 0)
                r = R[k]
                d = (f[k] << 4) - ((r * gb) >> 6)
                d = d if d >= 0 else -d
                if d > am:
                    am = d
                R[k] = r + (((f[k] << 10) // gb) - r) // n
            # deviation: the envelope of what was seen (a few frames: the largest
            # residual, not its mean, is what a swaying branch or noise will do again)
            dv = dev[b] - (dev[b] >> 3)
            if am > dv:
                dv = am
            dev[b] = DEV0 if dv < DEV0 else (dv if dv < DEV_MAX else DEV_MAX)
            rs[b] = R[i] + R[i + 1] + R[i + c] + R[i + c + 1]
        ref.count += 1
        return g

    def fold(self, ref):
        """End of a window: blocks that never moved take the last frame (in the
        reference's light), so the reference follows the view across wakes."""
        if not self.ring_n:
            return
        f, G = self.ring[self.last], self.ring_g[self.last]
        R, fidx, c, moved = ref.cells, self.fidx, self.c, self.moved
        for b in self.roi:
            if moved[b]:
                continue
            i = fidx[b]
            gb = G[b] or 1
            for q in range(4):
                k = i + (q >> 1) + (c if q & 1 else 0)
                r = R[k]
                R[k] = r + ((((f[k] << 10) // gb) - r) >> 1)
        self.ref_changed(ref)

    # --- about one blob -------------------------------------------------------------------
    def box(self, blob, o, res):
        """The blob's box in cells: the cells over their threshold in its changed blocks
        (the whole blob, not only the edges that moved), else its blocks."""
        fg, ff, c, bw, fidx = self.fg, self.ff, self.c, self.bw, self.fidx
        x0, y0, x1, y1 = blob[o], blob[o + 1], blob[o + 2], blob[o + 3]
        cx0, cy0, cx1, cy1 = 2 * x1, 2 * y1, 0, 0
        for by in range(y0, y1):
            for bx in range(x0, x1):
                if not fg[by * bw + bx]:
                    continue
                i = fidx[by * bw + bx]
                for q in range(4):
                    if ff[i + (q >> 1) + (c if q & 1 else 0)]:
                        x = 2 * bx + (q & 1)
                        y = 2 * by + (q >> 1)
                        if x < cx0:
                            cx0 = x
                        if x >= cx1:
                            cx1 = x + 1
                        if y < cy0:
                            cy0 = y
                        if y >= cy1:
                            cy1 = y + 1
        if cx1 <= cx0:
            cx0, cy0, cx1, cy1 = 2 * x0, 2 * y0, 2 * x1, 2 * y1
        res.x0, res.y0, res.x1, res.y1 = cx0, cy0, cx1, cy1

    def explained(self, blob, o, f, ref, G):
        """Does one light change explain the blob? Over the fine cells of its changed
        blocks, the frame against the expected view (reference x gain): a textured view
        (spread >= 3 grey levels) that the frame still shows (correlation >= 0.8), scaled
        by 0.5..2 with no more than a 20 % offset, is the same view in other light (a
        shadow, a sun patch), not an animal, whose fur does not follow the ground's
        texture. Integer arithmetic on 8-bit values, in two passes."""
        fg, cs, bw, R, fidx = self.fg, self.c, self.bw, ref.cells, self.fidx
        x0, y0, x1, y1 = blob[o], blob[o + 1], blob[o + 2], blob[o + 3]
        n = sc = sp = 0
        for pas in (0, 1):
            if pas:
                if n < 8:
                    return False
                mc, mp = sc // n, sp // n
                vc = vp = cv = 0
            for by in range(y0, y1):
                for bx in range(x0, x1):
                    b = by * bw + bx
                    if not fg[b]:
                        continue
                    g = G[b]
                    i = fidx[b]
                    for q in range(4):
                        k = i + (q >> 1) + (cs if q & 1 else 0)
                        c = f[k]
                        p = (R[k] * g) >> 10
                        if pas:
                            c -= mc
                            p -= mp
                            vc += c * c
                            vp += p * p
                            cv += c * p
                        else:
                            n += 1
                            sc += c
                            sp += p
        if vp < 9 * n:                         # spread under 3 grey levels: can't tell
            return False
        if cv <= 0:
            return False
        vc, vp, cv = _shrink(vc, vp, cv)
        if cv * cv < ((vc * vp) // 25) * 16:  # correlation under 0.8
            return False
        if 2 * cv < vp or cv > 2 * vp:         # gain outside 0.5..2
            return False
        off = mc * vp - cv * mp                # offset x vp
        return -mc * vp <= 5 * off <= mc * vp

    def sharpness(self, blob, o):
        """Steepest step of the presence difference between neighbouring cells inside the
        blob's box, % of its peak: an object in focus has an edge (high), an object at the
        lens is blurred over many cells (low)."""
        fd, fw, ci = self.fd, self.fw, self.cidx
        x0, y0, x1, y1 = 2 * blob[o], 2 * blob[o + 1], 2 * blob[o + 2], 2 * blob[o + 3]
        peak = step = 0
        for y in range(y0, y1):
            row = y * fw
            for x in range(x0, x1):
                v = fd[ci[row + x]]
                if v > peak:
                    peak = v
                if x + 1 < x1:
                    d = v - fd[ci[row + x + 1]]
                    d = d if d >= 0 else -d
                    if d > step:
                        step = d
                if y + 1 < y1:
                    d = v - fd[ci[row + fw + x]]
                    d = d if d >= 0 else -d
                    if d > step:
                        step = d
        return step * 100 // peak if peak else 100


def _shrink(a, b, c):
    """Shift a, b, c right together until each fits 15 bits (so products stay small ints)."""
    while a > 32767 or b > 32767 or c > 32767 or c < -32767:
        a >>= 1
        b >>= 1
        c >>= 1
    return a, b, c


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
