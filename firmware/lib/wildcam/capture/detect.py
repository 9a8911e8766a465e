"""On-device motion detection on a small grayscale frame (see docs/DETECTION.md).

    det = MotionDetector(160, 120, block=8, roi="-0,0,1,0.25")
    r = det.update(frame)          # frame: bytes/bytearray/memoryview, width*height grey levels
    if r.motion: r.score, r.box    # box: (x, y, w, h) relative 0..1 (Camtrap DP / MegaDetector)
    else:        r.reason          # "warmup" "quiet" "small" "unconfirmed" "sway" "light" "global"

Pipeline per frame, all integer arithmetic, O(blocks) Python operations after the kernel:
1. block means (kernel: `@micropython.viper` on a board, else a pure-Python SWAR kernel that
   sums whole block rows as big integers: no per-pixel Python loop);
2. global illumination: the median ratio of block mean to background (a histogram, robust
   to an animal covering less than half of the ROI) is the frame's gain; a jump beyond
   `light_jump` % re-baselines instead of triggering, smaller changes are normalised away;
3. per block: |mean - background * gain| against max(threshold, rel % of the background)
   plus k_dev x the block's running mean absolute deviation (learned where nothing moves);
4. blocks that flicker (>= `flicker` on/off changes in the last 8 frames: swaying
   vegetation, water) are treated as background; more than `global_pct` % of the ROI changed
   at once also re-baselines (IR switching, exposure jumps);
5. connected components (8- or 4-neighbour) over the block grid, `min_area` blocks;
6. temporal confirmation: a blob counts when blobs overlapped (within one block) for
   `confirm` consecutive frames and the track travels: its centroid moved at least `travel`
   sixteenths of a block from where the track started, along a path at most 100/`straight`
   times as long, with no more than `reversals` changes of horizontal direction (a branch
   tip swinging about a fixed point does not). A track that has not travelled that far
   counts after `patient` frames if it crept `creep`/16 block and never reversed (slow
   animals). Otherwise reason "sway".
The background learns at 1/2**learn per frame where there is no motion, 1/2**(learn+3) under
a blob. Buffers are allocated once; a frame allocates nothing in the detector itself.
"""
from array import array

from micropython import const

from wildcam.capture.blocks import log2, make_kernel
from wildcam.capture.motion import Result
from wildcam.core.roi import parse_roi

_MAX_BLOBS = const(8)
_BS = const(12)      # blob record: x0 y0 x1 y1 streak level cx cy sx sy path rev
_HIST = const(256)   # gain histogram bins: ratio x 64, clamped to 0..255 (0 .. 4x)

# popcount of 7-bit values: on/off changes in a block's 8-frame history
_POP = bytes(bin(i).count("1") for i in range(128))

REASONS = ("warmup", "quiet", "small", "unconfirmed", "sway", "light", "global")


class MotionDetector:
    """See the module docstring. Thresholds are in grey levels (0..255) unless noted."""

    def __init__(self, width, height, block=8, threshold=6, rel=10, k_dev=3, min_area=2,
                 confirm=3, connectivity=8, roi=None, learn=3, warmup=4, flicker=3,
                 light_jump=30, global_pct=50, travel=20, straight=75, reversals=0, patient=6, creep=4,
                 kernel="auto"):
        if log2(block) < 1 or width % block or height % block:
            raise ValueError("detect.block must be a power of two dividing %dx%d"
                             % (width, height))
        if connectivity not in (4, 8):
            raise ValueError("detect.connectivity must be 4 or 8")
        self.w, self.h, self.block = width, height, block
        self.bw, self.bh = bw, bh = width // block, height // block
        self.nb = nb = bw * bh
        self.threshold16 = threshold * 16
        self.rel = rel * 256 // 100           # of the predicted value, /256
        self.k_dev = int(k_dev * 4)           # quarters
        self.min_area, self.confirm = min_area, confirm
        self.travel = travel          # 1/16 block
        self.straight, self.reversals = straight, reversals
        self.patient, self.creep = patient, creep
        self.conn8 = connectivity == 8
        self.learn, self.warmup, self.flicker = learn, warmup, flicker
        self.light_jump = light_jump * 64 // 100
        self.global_pct = global_pct
        self.kernel = make_kernel(width, height, block, kernel)
        self.means = bytearray(nb)
        self.bg = array("H", bytes(2 * nb))     # background x16
        self.dev = array("H", bytes(2 * nb))    # mean absolute deviation x16
        self.hist8 = bytearray(nb)              # fg flags of the last 8 frames
        self.fg = bytearray(nb)                 # this frame's changed blocks
        self.excess = array("H", bytes(2 * nb)) # per changed block: 16 * diff / threshold
        self.label = bytearray(nb)
        self._zero = bytes(nb)
        self.stack = array("H", bytes(2 * nb))
        self.ghist = array("H", bytes(2 * _HIST))
        self._gzero = array("H", bytes(2 * _HIST))
        # blobs: x0, y0, x1, y1, streak, level (current and previous frame)
        self.blob = array("H", bytes(2 * _BS * _MAX_BLOBS))
        self.prev = array("H", bytes(2 * _BS * _MAX_BLOBS))
        self.nprev = 0
        self.result = Result(bw, bh)
        self.set_roi(roi)
        self.reset()

    # --- configuration ---------------------------------------------------------------------
    def set_roi(self, spec):
        self.roi_spec = spec or ""
        self.mask = parse_roi(spec, self.bw, self.bh)
        self.roi = array("H", [i for i in range(self.nb) if self.mask[i]])
        self.n_roi = len(self.roi)
        if self.n_roi == 0:
            raise ValueError("detect.roi leaves no block to watch")
        self.reset()

    def reset(self):
        """Forget the background (the next frames are the warm-up)."""
        self.frames = 0
        self.nprev = 0
        self.hist8[:] = self._zero

    # --- per frame -------------------------------------------------------------------------
    def update(self, frame):
        """Process one frame (width*height grey levels); returns the reused Result."""
        if len(frame) < self.w * self.h:
            raise ValueError("frame has %d bytes, need %d" % (len(frame), self.w * self.h))
        self.kernel.run(frame, self.means)
        return self.update_means(self.means)

    def _baseline(self, means):
        bg, dev, d0 = self.bg, self.dev, 2 * 16
        for i in range(self.nb):
            bg[i] = means[i] << 4
            dev[i] = d0
        self.nprev = 0

    def update_means(self, means):
        """Process one frame given its block means (bytes, one per block)."""
        res = self.result
        res.clear()
        self.frames += 1
        roi, bg, dev = self.roi, self.bg, self.dev
        n_roi = self.n_roi
        tot = 0
        for i in roi:
            tot += means[i]
        res.mean = tot // n_roi
        if self.frames == 1:
            self._baseline(means)
            res.reason = "warmup"
            return res
        # gain: median of mean/background over the ROI
        gh = self.ghist
        gh[:] = self._gzero
        for i in roi:
            b = bg[i]
            r = ((means[i] << 10) + (b >> 1)) // (b + 1)
            gh[r if r < 255 else 255] += 1
        half = n_roi >> 1
        c = 0
        g = 0
        while True:
            c += gh[g]
            if c > half:
                break
            g += 1
        res.gain = g
        if g < 64 - self.light_jump or g > 64 + self.light_jump:
            self._baseline(means)
            res.reason = "light"
            return res
        warm = self.frames <= self.warmup
        fgb, exc, h8, pop = self.fg, self.excess, self.hist8, _POP
        fgb[:] = self._zero
        thr0, rel, kd = self.threshold16, self.rel, self.k_dev
        learn, learn_fg, flick = self.learn, self.learn + 3, self.flicker
        dl = 1 if warm else learn        # the warm-up learns the noise (and sway) fast
        nfg = 0
        raw = 0
        for i in roi:
            m16 = means[i] << 4
            b = bg[i]
            pred = (b * g) >> 6
            d = m16 - pred
            ad = d if d >= 0 else -d
            t = (pred * rel) >> 8
            if t < thr0:
                t = thr0
            t += (dev[i] * kd) >> 2
            hh = ((h8[i] << 1) & 0xFF) | (1 if ad > t else 0)
            h8[i] = hh
            if (hh & 1) and not warm:
                raw += 1
                if pop[(hh ^ (hh >> 1)) & 0x7F] < flick:
                    fgb[i] = 1
                    x = (ad << 4) // t
                    exc[i] = x if x < 64 else 64
                    nfg += 1
                    bg[i] = b + ((m16 - b) >> learn_fg)
                    continue
            bg[i] = b + ((m16 - b) >> learn)
            dv = dev[i]
            dev[i] = dv + ((ad - dv) >> dl)
        if warm:
            res.reason = "warmup"
            return res
        if raw * 100 > self.global_pct * n_roi:
            self._baseline(means)
            res.reason = "global"
            return res
        res.blocks = nfg
        if nfg == 0:
            self.nprev = 0
            return res
        nb_ = self._blobs()
        res.blobs = nb_
        self._track(nb_, res)
        return res

    def _blobs(self):
        """Connected components of self.fg; blobs >= min_area into self.blob (strongest
        first when there are more than fit). Returns the count."""
        fgb, lab, st, exc = self.fg, self.label, self.stack, self.excess
        bw, bh, conn8 = self.bw, self.bh, self.conn8
        lab[:] = self._zero
        blob = self.blob
        nblob = 0
        for s in self.roi:
            if not fgb[s] or lab[s]:
                continue
            lab[s] = 1
            st[0] = s
            sp = 1
            area = 0
            level = 0
            wx = wy = 0
            x0 = bw
            y0 = bh
            x1 = y1 = 0
            while sp:
                sp -= 1
                i = st[sp]
                area += 1
                e = exc[i]
                level += e
                y = i // bw
                x = i - y * bw
                wx += x * e
                wy += y * e
                if x < x0:
                    x0 = x
                if x >= x1:
                    x1 = x + 1
                if y < y0:
                    y0 = y
                if y >= y1:
                    y1 = y + 1
                for dy in (-1, 0, 1):
                    yy = y + dy
                    if yy < 0 or yy >= bh:
                        continue
                    for dx in (-1, 0, 1):
                        if (dx == 0 and dy == 0) or (not conn8 and dx != 0 and dy != 0):
                            continue
                        xx = x + dx
                        if xx < 0 or xx >= bw:
                            continue
                        j = yy * bw + xx
                        if fgb[j] and not lab[j]:
                            lab[j] = 1
                            st[sp] = j
                            sp += 1
            if area < self.min_area:
                continue
            if nblob < _MAX_BLOBS:
                k = nblob
                nblob += 1
            else:                              # replace the weakest
                k = 0
                for q in range(1, _MAX_BLOBS):
                    if blob[q * _BS + 5] < blob[k * _BS + 5]:
                        k = q
                if blob[k * _BS + 5] >= level:
                    continue
            o = k * _BS
            blob[o] = x0
            blob[o + 1] = y0
            blob[o + 2] = x1
            blob[o + 3] = y1
            blob[o + 4] = 1
            blob[o + 5] = level if level < 65535 else 65535
            blob[o + 6] = (16 * wx + (level >> 1)) // level + 8   # centroid, 1/16 block
            blob[o + 7] = (16 * wy + (level >> 1)) // level + 8
        return nblob

    def _track(self, nblob, res):
        blob, prev, npv = self.blob, self.prev, self.nprev
        best = -1
        bkey = -1
        for k in range(nblob):
            o = k * _BS
            x0, y0, x1, y1 = blob[o], blob[o + 1], blob[o + 2], blob[o + 3]
            cx, cy = blob[o + 6], blob[o + 7]
            s = 0
            pp = -1
            for q in range(npv):
                p = q * _BS
                # overlap with one block of slack (motion between frames)
                if (prev[p] <= x1 and x0 <= prev[p + 2] and prev[p + 1] <= y1
                        and y0 <= prev[p + 3] and prev[p + 4] > s):
                    s = prev[p + 4]
                    pp = p
            blob[o + 4] = s + 1 if s < 1000 else s
            if pp < 0 or blob[o + 5] > (prev[pp + 5] << 1) + 32:
                # a new track starts here, or the blob grew to more than twice its strength
                # (an animal coming into view, a second part joining): its centroid jumped,
                # measure the track from here
                blob[o + 8], blob[o + 9], blob[o + 10], blob[o + 11] = cx, cy, 0, 0
            else:                      # continue the track: start point, path, reversals
                dx = cx - prev[pp + 6]
                dy = cy - prev[pp + 7]
                step = (dx if dx >= 0 else -dx) + (dy if dy >= 0 else -dy)
                path = prev[pp + 10] + step
                blob[o + 8], blob[o + 9] = prev[pp + 8], prev[pp + 9]
                blob[o + 10] = path if path < 65535 else 65535
                # direction of the net x motion so far vs this step's (bit 0: last sign)
                rv = prev[pp + 11]
                if dx > 8 or dx < -8:              # half a block: a real step
                    sg = 1 if dx > 0 else 0
                    if rv & 2 and (rv & 1) != sg:  # moved before, now the other way
                        rv += 4
                    rv = (rv & ~3) | 2 | sg
                blob[o + 11] = rv
            # rank: a blob whose track passes the tests, then the longest streak, the strongest
            # (a small int on 32-bit MicroPython: streak <= 1000, level <= 65535)
            key = ((1 << 27 if self._passes(o) else 0) + (blob[o + 4] << 16) + blob[o + 5])
            if key > bkey:
                best = k
                bkey = key
        prev[:] = blob
        self.nprev = nblob
        if best < 0:
            res.reason = "small"
            return
        o = best * _BS
        res.x0, res.y0, res.x1, res.y1 = blob[o], blob[o + 1], blob[o + 2], blob[o + 3]
        res.streak = blob[o + 4]
        res.level = blob[o + 5]
        dx = blob[o + 6] - blob[o + 8]
        dy = blob[o + 7] - blob[o + 9]
        res.net = (dx if dx >= 0 else -dx) + (dy if dy >= 0 else -dy)
        res.path = blob[o + 10]
        res.rev = blob[o + 11] >> 2
        if self._passes(o):
            res.motion = True
            res.reason = ""
        elif res.streak >= self.confirm:
            res.reason = "sway"
        else:
            res.reason = "unconfirmed"

    def _passes(self, o):
        """Does the track of the blob at self.blob[o] confirm motion: long enough, and
        travelling (net displacement of its centroid, a straight enough path, no reversal)
        rather than swinging about a fixed point?"""
        b = self.blob
        if b[o + 4] < self.confirm:
            return False
        dx = b[o + 6] - b[o + 8]
        dy = b[o + 7] - b[o + 9]
        net = (dx if dx >= 0 else -dx) + (dy if dy >= 0 else -dy)
        if not self.travel:            # travel test off
            return True
        if (b[o + 11] >> 2) > self.reversals:
            return False
        if net >= self.travel and net * 100 >= self.straight * b[o + 10]:
            return True
        return self.patient and b[o + 4] >= self.patient and net >= self.creep
