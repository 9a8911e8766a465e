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

_MAX_BLOBS = const(8)
_BS = const(12)      # blob record: x0 y0 x1 y1 streak level cx cy sx sy path rev
_HIST = const(256)   # gain histogram bins: ratio x 64, clamped to 0..255 (0 .. 4x)

# popcount of 7-bit values: on/off changes in a block's 8-frame history
_POP = bytes(bin(i).count("1") for i in range(128))

REASONS = ("warmup", "quiet", "small", "unconfirmed", "sway", "light", "global")


def _log2(n):
    k = 0
    while (1 << k) < n:
        k += 1
    return k if (1 << k) == n else -1


def _stepped_slices():
    try:
        return b"abcd"[1::2] == b"bd"
    except Exception:  # MicroPython: NotImplementedError (only step 1)
        return False


_STEPPED = _stepped_slices()


class SwarKernel:
    """Block means in pure Python: each block row (block rows of pixels) becomes one big
    integer; masks, shifts and adds on it sum every block at once (SIMD within a register),
    so the Python work per frame is a few dozen integer operations per block row.
    `run(frame, out)` writes one rounded mean (0..255) per block into bytearray `out`.

    Per block row: pixel pairs into 16-bit lanes, then the rows are summed by halving
    (upper half + lower half, each step works on half as many bits), leaving one row of
    16-bit lanes. Where bytes slices take a step (CPython) those rows are joined and the
    rest (pairs of lanes, rounding, one byte per block) runs once per frame on the joined
    integer, the bytes picked by a stepped slice; elsewhere (MicroPython) it runs per
    block row and the bytes are compacted with shifts and masks.
    `stepped` forces either path (tests)."""

    def __init__(self, width, height, block, stepped=None):
        b = block
        self.w, self.h, self.b = width, height, b
        self.bw, self.bh = width // b, height // b
        self.stepped = _STEPPED if stepped is None else stepped
        n = width * b
        self.m00ff = int.from_bytes(b"\x00\xff" * (n // 2), "big")
        self.vfold = []               # (shift, mask): add the upper half of the rows to the lower
        k = b >> 1
        while k:
            self.vfold.append((8 * width * k, (1 << (8 * width * k)) - 1))
            k >>= 1
        self.sh2 = 2 * _log2(b)
        rows = self.bh if self.stepped else 1
        self.hmasks = _lane_masks(width * rows, b)   # 16-bit lanes -> lanes of 8*b bits
        lb = 8 * b                    # lane bits; each lane holds one block's sum
        self.half = 0
        for j in range(self.bw * rows):
            self.half |= (1 << (self.sh2 - 1)) << (j * lb)
        self.low8 = 0
        self.compact = []             # (shift, mask): spread bytes -> contiguous bytes
        if self.stepped:
            return
        for j in range(self.bw):
            self.low8 |= 0xFF << (j * lb)
        s, v, n = lb, 8, self.bw
        while n > 1:
            m = 0
            for g in range((self.bw * lb) // (2 * s) + 1):
                m |= ((1 << (2 * v)) - 1) << (g * 2 * s)
            self.compact.append((s - v, m))
            s, v, n = 2 * s, 2 * v, (n + 1) // 2

    def run(self, frame, out):
        w, b, bw = self.w, self.b, self.bw
        mv = memoryview(frame)
        m, vf, hms = self.m00ff, self.vfold, self.hmasks
        half, sh2 = self.half, self.sh2
        step = b * w
        stepped = self.stepped
        parts = []
        k = 0
        for base in range(0, step * self.bh, step):
            n = int.from_bytes(mv[base:base + step], "big")
            e = (n & m) + ((n >> 8) & m)     # 16-bit lanes: pixel pairs
            for sh, mk in vf:                 # sum the block's rows into one row
                e = (e >> sh) + (e & mk)
            if stepped:
                parts.append(e.to_bytes(w, "big"))
                continue
            for sh, hm in hms:                # pairs of lanes until one lane per block
                e = (e & hm) + ((e >> sh) & hm)
            e = ((e + half) >> sh2) & self.low8   # rounded mean in each lane's low byte
            for sh, cm in self.compact:
                e = (e | (e >> sh)) & cm
            out[k:k + bw] = e.to_bytes(bw, "big")
            k += bw
        if stepped:
            e = int.from_bytes(b"".join(parts), "big")
            for sh, hm in hms:
                e = (e & hm) + ((e >> sh) & hm)
            # the low byte of each lane (b bytes) is the block's rounded mean
            out[:] = ((e + half) >> sh2).to_bytes(w * self.bh, "big")[b - 1::b]


def _lane_masks(nbytes, b):
    """(shift, mask) pairs that add neighbouring lanes, 16 -> 32 -> ... -> 8*b bits."""
    out = []
    lane = 32
    while lane <= 8 * b:
        half = lane // 16
        out.append((lane // 2, int.from_bytes(
            (b"\x00" * half + b"\xff" * half) * (nbytes * 8 // lane), "big")))
        lane *= 2
    return out


def naive_block_means(frame, width, height, block, out):
    """Reference: the per-pixel Python loop (tests and the benchmark's baseline)."""
    bw = width // block
    bh = height // block
    acc = [0] * (bw * bh)
    for y in range(bh * block):
        row = y * width
        by = (y // block) * bw
        for x in range(bw * block):
            acc[by + x // block] += frame[row + x]
    sh2 = 2 * _log2(block)
    half = 1 << (sh2 - 1)
    for i in range(bw * bh):
        out[i] = (acc[i] + half) >> sh2


class ViperKernel:
    """The board's kernel (wildcam.capture.detect_viper); same results as SwarKernel."""

    def __init__(self, width, height, block, fn):
        self.fn = fn
        self.w, self.h, self.shift = width, height, _log2(block)
        self.acc = bytearray(4 * (width // block))

    def run(self, frame, out):
        self.fn(frame, out, self.acc, self.w, self.h, self.shift)


def viper_function():
    """The viper kernel function, or None where this MicroPython cannot run viper code
    (CPython, the wasm build: a SyntaxError on import)."""
    import sys
    if sys.implementation.name != "micropython":
        return None
    try:
        from wildcam.capture.detect_viper import block_means
        return block_means
    except Exception:  # SyntaxError (no viper emitter), ImportError
        return None


def make_kernel(width, height, block, kind="auto"):
    """kind: "auto" (viper when available), "viper" (ValueError if unavailable), "python"."""
    if kind not in ("auto", "viper", "python"):
        raise ValueError("detect.kernel must be auto, viper or python")
    if kind != "python":
        fn = viper_function()
        if fn is not None:
            return ViperKernel(width, height, block, fn)
        if kind == "viper":
            raise ValueError("no viper emitter in this MicroPython")
    return SwarKernel(width, height, block)


def parse_roi(spec, bw, bh):
    """ROI mask (bytearray, 1 = watched) from a compact string:
    - "" or None: the whole view;
    - rows of 0/1 separated by "/" ("0000/1111/1111"): a coarse grid stretched over the view;
    - rectangles "x,y,w,h" in relative coordinates separated by ";": "+" or no sign adds,
      "-" removes ("-0,0,1,0.3" = everything but the top 30 %; "0.2,0.2,0.6,0.6" = only
      the centre). A block belongs to a rectangle when its centre is inside.
    Raises ValueError with a message for people."""
    n = bw * bh
    if not spec:
        return bytearray(b"\x01" * n)
    spec = spec.strip()
    if spec and all(c in "01/" for c in spec):
        rows = spec.split("/")
        gh, gw = len(rows), len(rows[0])
        if gw == 0 or any(len(r) != gw for r in rows):
            raise ValueError("detect.roi grid: every row needs the same number of 0/1")
        mask = bytearray(n)
        for by in range(bh):
            r = rows[(2 * by + 1) * gh // (2 * bh)]
            for bx in range(bw):
                mask[by * bw + bx] = 1 if r[(2 * bx + 1) * gw // (2 * bw)] == "1" else 0
        return mask
    items = [s.strip() for s in spec.split(";") if s.strip()]
    mask = bytearray(b"\x01" * n) if items and items[0][0] == "-" else bytearray(n)
    for it in items:
        val = 1
        if it[0] in "+-":
            val = 1 if it[0] == "+" else 0
            it = it[1:]
        try:
            x, y, w, h = [float(v) for v in it.split(",")]
        except ValueError:
            raise ValueError("detect.roi: %r is not x,y,w,h (relative numbers)" % it)
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > 1.0001 or y + h > 1.0001:
            raise ValueError("detect.roi: rectangle %r must lie inside 0..1" % it)
        for by in range(bh):
            cy = (by + 0.5) / bh
            if not (y <= cy < y + h):
                continue
            for bx in range(bw):
                cx = (bx + 0.5) / bw
                if x <= cx < x + w:
                    mask[by * bw + bx] = val
    return mask


class Result:
    """One frame's outcome. Reused by the detector: copy what you keep (as_dict())."""

    def __init__(self, bw, bh):
        self._bw, self._bh = bw, bh
        self.clear()

    def clear(self):
        self.motion = False
        self.reason = "quiet"
        self.level = 0          # strength of the best blob, 16 = one block at its threshold
        self.blocks = 0         # changed blocks (after flicker suppression)
        self.blobs = 0          # blobs of at least min_area blocks
        self.streak = 0         # consecutive overlapping frames of the best blob
        self.net = self.path = self.rev = 0   # its track: displacement, path (1/16 block), reversals
        self.gain = 64          # frame gain vs background, x64
        self.mean = 0           # frame mean grey level (ROI)
        self.x0 = self.y0 = self.x1 = self.y1 = 0   # best blob, block coordinates (x1/y1 excl.)

    @property
    def score(self):
        """0..1: how strong the best blob is (1 = eight blocks at twice their threshold)."""
        return min(1.0, self.level / 256)

    @property
    def box(self):
        """Relative (x, y, w, h) of the best blob, or None."""
        if self.x1 <= self.x0:
            return None
        bw, bh = self._bw, self._bh
        return (self.x0 / bw, self.y0 / bh, (self.x1 - self.x0) / bw, (self.y1 - self.y0) / bh)

    def as_dict(self):
        d = {"motion": self.motion, "score": round(self.score, 3), "reason": self.reason,
             "blocks": self.blocks, "gain": self.gain, "mean": self.mean}
        b = self.box
        if b is not None:
            d["bbox"] = [round(v, 4) for v in b]
        return d


class MotionDetector:
    """See the module docstring. Thresholds are in grey levels (0..255) unless noted."""

    def __init__(self, width, height, block=8, threshold=6, rel=10, k_dev=3, min_area=2,
                 confirm=3, connectivity=8, roi=None, learn=3, warmup=4, flicker=3,
                 light_jump=30, global_pct=50, travel=20, straight=75, reversals=0, patient=6, creep=4,
                 kernel="auto"):
        if _log2(block) < 1 or width % block or height % block:
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
