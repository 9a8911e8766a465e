"""Block means of a grayscale frame: the detector's per-frame kernel.

`make_kernel(w, h, block)` gives an object whose `run(frame, out)` writes the rounded mean
of every `block` x `block` square of `frame` (w*h grey levels, row-major) into `out`
(row-major blocks). Two implementations with identical results:
- `ViperKernel`: `@micropython.viper` machine code (wildcam.capture.detect_viper) on a board;
- `SwarKernel`: pure Python that sums whole block rows as big integers (SIMD within a
  register), no per-pixel Python loop; used where viper is unavailable (CPython, wasm).
`naive_block_means` is the per-pixel reference (tests, and the benchmark's baseline).
Nothing here allocates per frame after construction.
"""


def log2(n):
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
        self.sh2 = 2 * log2(b)
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
    sh2 = 2 * log2(block)
    half = 1 << (sh2 - 1)
    for i in range(bw * bh):
        out[i] = (acc[i] + half) >> sh2


class ViperKernel:
    """The board's kernel (wildcam.capture.detect_viper); same results as SwarKernel."""

    def __init__(self, width, height, block, fn):
        self.fn = fn
        self.w, self.h, self.shift = width, height, log2(block)
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
