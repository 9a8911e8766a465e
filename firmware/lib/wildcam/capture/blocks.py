"""Cell means of a grayscale frame: the detector's per-frame kernel.

`make_kernel(w, h, cell)` gives an object whose `run(frame, out)` writes the rounded mean
of every `cell` x `cell` square of `frame` (w*h grey levels, row-major) into `out`, in the
*band layout*: cell rows are grouped in bands of `cell` rows, and inside a band the cells
of one column are consecutive, so cell (cx, cy) is at

    (cy // cell) * (cell * fw) + cell * cx + cy % cell          (fw = w // cell)

which is how the SWAR kernel's lanes fall out (one `cell`-byte lane per column holds the
band's rows), and puts the four cells of a detector block (2 x 2 cells) at i, i + 1 (below)
and i + cell, i + cell + 1 (right). `out` holds `cells_size(w, h, cell)` bytes (a last,
partial band is padded). Two implementations with identical results:
- `ViperKernel`: `@micropython.viper` machine code (wildcam.capture.detect_viper) on a board;
- `SwarKernel`: pure Python that sums whole rows of cells as big integers (SIMD within a
  register), no per-pixel Python loop; used where viper is unavailable (CPython, wasm).
`naive_cells` is the per-pixel reference (tests, and the benchmark's baseline).
"""


def log2(n):
    k = 0
    while (1 << k) < n:
        k += 1
    return k if (1 << k) == n else -1


def cell_index(cx, cy, fw, cell):
    """Index of cell (cx, cy) in the band layout."""
    return (cy // cell) * (cell * fw) + cell * cx + cy % cell


def cells_size(width, height, cell):
    fh = height // cell
    return ((fh + cell - 1) // cell) * cell * (width // cell)


class SwarKernel:
    """Cell means in pure Python: each row of cells (`cell` rows of pixels) becomes one big
    integer; masks, shifts and adds on it sum every cell at once (SIMD within a register),
    so the Python work per frame is a dozen integer operations per row of cells.

    Per row of cells: pixel pairs into 16-bit lanes, then the pixel rows are summed by
    halving (upper half + lower half, each step on half as many bits), then neighbouring
    lanes are paired until one lane of 8*cell bits per cell; rounding leaves each mean in
    its lane's low byte. `cell` such rows shifted by 8*(cell-1-r) bytes and or-ed fill the
    lanes completely: the band's bytes, in the band layout, with no compaction step."""

    def __init__(self, width, height, cell):
        b = cell
        if log2(b) < 1 or width % b or height % b:
            raise ValueError("cell must be a power of two >= 2 dividing %dx%d" % (width, height))
        self.w, self.h, self.b = width, height, b
        self.fw, self.fh = width // b, height // b
        self.size = cells_size(width, height, b)
        n = width * b
        self.m00ff = int.from_bytes(b"\x00\xff" * (n // 2), "big")
        self.vfold = []               # (shift, mask): add the upper half of the rows to the lower
        k = b >> 1
        while k:
            self.vfold.append((8 * width * k, (1 << (8 * width * k)) - 1))
            k >>= 1
        self.sh2 = 2 * log2(b)
        self.hmasks = []              # 16-bit lanes -> lanes of 8*b bits
        lane = 32
        while lane <= 8 * b:
            half = lane // 16
            self.hmasks.append((lane // 2, int.from_bytes(
                (b"\x00" * half + b"\xff" * half) * (width * 8 // lane), "big")))
            lane *= 2
        lb = 8 * b                    # lane bits; each lane holds one cell's sum
        self.half = self.low8 = 0
        for j in range(self.fw):
            self.half |= (1 << (self.sh2 - 1)) << (j * lb)
            self.low8 |= 0xFF << (j * lb)

    def run(self, frame, out):
        w, b = self.w, self.b
        mv = memoryview(frame)
        m, vf, hms = self.m00ff, self.vfold, self.hmasks
        half, sh2, low8 = self.half, self.sh2, self.low8
        step = b * w
        nb = b * self.fw              # bytes per band
        last = self.fh - 1
        o = 0
        r = 0
        acc = 0
        for cy in range(self.fh):
            base = cy * step
            n = int.from_bytes(mv[base:base + step], "big")
            e = (n & m) + ((n >> 8) & m)     # 16-bit lanes: pixel pairs
            for sh, mk in vf:                 # sum the cell's pixel rows into one row
                e = (e >> sh) + (e & mk)
            for sh, hm in hms:                # pairs of lanes until one lane per cell
                e = (e & hm) + ((e >> sh) & hm)
            e = ((e + half) >> sh2) & low8    # rounded mean in each lane's low byte
            acc |= e << (8 * (b - 1 - r))     # this row's byte of every lane
            r += 1
            if r == b or cy == last:
                out[o:o + nb] = acc.to_bytes(nb, "big")
                o += nb
                r = 0
                acc = 0


def naive_cells(frame, width, height, cell, out):
    """Reference: the per-pixel Python loop (tests and the benchmark's baseline)."""
    fw = width // cell
    fh = height // cell
    acc = [0] * (fw * fh)
    for y in range(fh * cell):
        row = y * width
        by = (y // cell) * fw
        for x in range(fw * cell):
            acc[by + x // cell] += frame[row + x]
    sh2 = 2 * log2(cell)
    half = 1 << (sh2 - 1)
    for cy in range(fh):
        for cx in range(fw):
            out[cell_index(cx, cy, fw, cell)] = (acc[cy * fw + cx] + half) >> sh2


class ViperKernel:
    """The board's kernel (wildcam.capture.detect_viper); same results as SwarKernel."""

    def __init__(self, width, height, cell, fn):
        self.fn = fn
        self.w, self.h, self.shift = width, height, log2(cell)
        self.size = cells_size(width, height, cell)
        self.acc = bytearray(4 * (width // cell))

    def run(self, frame, out):
        self.fn(frame, out, self.acc, self.w, self.h, self.shift)


def viper_function():
    """The viper kernel function, or None where this MicroPython cannot run viper code
    (CPython, the wasm build: a SyntaxError on import)."""
    import sys
    if sys.implementation.name != "micropython":
        return None
    try:
        from wildcam.capture.detect_viper import cell_means
        return cell_means
    except Exception:  # SyntaxError (no viper emitter), ImportError
        return None


def make_kernel(width, height, cell, kind="auto"):
    """kind: "auto" (viper when available), "viper" (ValueError if unavailable), "python"."""
    if kind not in ("auto", "viper", "python"):
        raise ValueError("detect.kernel must be auto, viper or python")
    if kind != "python":
        fn = viper_function()
        if fn is not None:
            return ViperKernel(width, height, cell, fn)
        if kind == "viper":
            raise ValueError("no viper emitter in this MicroPython")
    return SwarKernel(width, height, cell)
