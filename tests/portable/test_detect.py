"""Motion detector (wildcam.capture.detect) on synthetic frames; runs under CPython and
MicroPython. Frames are 64x48 (8 x 6 blocks of 8 px, 16 x 12 cells of 4 px)."""
import gc

from portable_support import MICROPYTHON, raises

from wildcam.capture.blocks import (SwarKernel, cell_index, cells_size, make_kernel,
                                    naive_cells)
from wildcam.capture.detect import MotionDetector
from wildcam.core.roi import parse_roi

W, H = 64, 48


def _lcg(seed):
    s = seed

    def nxt():
        nonlocal s
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        return s >> 16
    return nxt


def texture(seed=7, amp=30, base=120):
    """A fixed textured background (blotches of a few pixels)."""
    r = _lcg(seed)
    coarse = [base + r() % (2 * amp + 1) - amp for _ in range((W // 4) * (H // 4))]
    f = bytearray(W * H)
    for y in range(H):
        for x in range(W):
            f[y * W + x] = coarse[(y // 4) * (W // 4) + x // 4]
    return f


def frame(bg=120, rect=None, shade=30, noise=0, seed=1, base=None, rects=()):
    """A flat (or `base`) frame with dark rectangles (x, y, w, h in pixels), optional noise."""
    f = bytearray(base) if base is not None else bytearray(bytes([bg]) * (W * H))
    for x, y, rw, rh in ((rect,) if rect else ()) + tuple(rects):
        for yy in range(max(0, y), min(H, y + rh)):
            for xx in range(max(0, x), min(W, x + rw)):
                f[yy * W + xx] = shade
    if noise:
        r = _lcg(seed)
        for i in range(W * H):
            v = f[i] + r() % (2 * noise + 1) - noise
            f[i] = 0 if v < 0 else (255 if v > 255 else v)
    return f


def scale(f, k64):
    """Every pixel times k64/64 (a global light change)."""
    return bytearray(min(255, v * k64 // 64) for v in f)


def det(**kw):
    kw.setdefault("kernel", "python")
    return MotionDetector(W, H, 8, **kw)


def with_reference(views, **kw):
    """A detector that learnt `views` (a quiet wake), saved its reference and got it back
    after a (simulated) deep sleep, ready for a trigger window."""
    d = det(**kw)
    for v in views:
        d.observe(v)
    blob = bytes(d.save_reference())
    d2 = det(**kw)
    assert d2.load_reference(blob), d2.ref_problem
    d2.begin()
    return d2


def feed(d, frames):
    r = None
    for f in frames:
        r = d.update(f)
    return r


def first_motion(d, frames):
    for k, f in enumerate(frames):
        if d.update(f).motion:
            return k
    return None


# --- the kernel -------------------------------------------------------------------------
def test_cells_match_naive_loop():
    for (w, h, b) in ((64, 48, 4), (32, 16, 2), (96, 96, 8), (16, 8, 2), (160, 120, 4),
                      (64, 40, 4)):
        f = bytearray((i * 7 + (i // w) * 13 + (i * i) % 11) & 255 for i in range(w * h))
        n = cells_size(w, h, b)
        ref = bytearray(n)
        naive_cells(f, w, h, b, ref)
        out = bytearray(n)
        SwarKernel(w, h, b).run(memoryview(f), out)
        assert out == ref, (w, h, b)
        out2 = bytearray(n)
        make_kernel(w, h, b).run(bytes(f), out2)         # viper where available
        assert out2 == ref, (w, h, b)


def test_band_layout():
    # cell (cx, cy) at (cy // c) * c * fw + c * cx + cy % c; a block's four cells at
    # i (top left), i + 1 (below), i + c (right), i + c + 1
    assert cell_index(0, 0, 16, 4) == 0 and cell_index(0, 1, 16, 4) == 1
    assert cell_index(1, 0, 16, 4) == 4 and cell_index(0, 4, 16, 4) == 64
    assert cells_size(160, 120, 4) == 8 * 160                 # 30 cell rows: the last band padded
    f = bytearray(W * H)
    for y in range(4):
        for x in range(4, 8):
            f[y * W + x] = 64                                 # cell (1, 0) only
    out = bytearray(cells_size(W, H, 4))
    SwarKernel(W, H, 4).run(f, out)
    assert out[4] == 64 and sum(out) == 64


def test_cells_extremes_and_rounding():
    k = SwarKernel(W, H, 4)
    out = bytearray(cells_size(W, H, 4))
    k.run(bytes([255]) * (W * H), out)
    assert out == bytes([255]) * len(out)
    f = bytearray(W * H)
    f[0] = 8                                   # 8/16 = 0.5 rounds up to 1
    f[W * H - 1] = 7                           # 7/16 rounds down to 0
    k.run(f, out)
    assert out[0] == 1 and sum(out) == 1


def test_bad_geometry_rejected():
    raises(ValueError, MotionDetector, 60, 48, 8)
    raises(ValueError, MotionDetector, 64, 48, 6)
    raises(ValueError, MotionDetector, 64, 48, 2)           # cells of one pixel
    raises(ValueError, MotionDetector, 64, 48, 8, connectivity=6)
    raises(ValueError, make_kernel, 64, 48, 8, "gpu")
    raises(ValueError, det().update, bytes(10))


# --- cold windows (no reference) --------------------------------------------------------
def test_cold_window_learns_first_then_stays_quiet():
    d = det()
    rs = [d.update(frame(noise=3, seed=s)).reason for s in range(12)]   # str: immutable
    assert rs[:4] == ["warmup"] * 4
    assert all(r == "quiet" for r in rs[4:]), rs


def test_cold_window_finds_a_crossing():
    d = det()
    feed(d, [frame(noise=2, seed=s) for s in range(4)])
    k = first_motion(d, [frame(rect=(4 * i, 16, 16, 16), noise=2, seed=10 + i) for i in range(10)])
    assert k is not None and k <= 5


# --- with a reference from before the trigger ------------------------------------------------
def test_reference_window_judges_the_first_frame():
    views = [frame(noise=2, seed=s) for s in range(4)]
    d = with_reference(views)
    assert d.update(frame(noise=2, seed=9)).reason == "quiet"       # no warm-up frames
    d = with_reference(views)
    r = d.update(frame(rect=(24, 16, 16, 16), noise=2, seed=9))
    assert r.reason == "unconfirmed" and r.blocks >= 4              # present at once


def test_moving_square_detected_with_box_covering_it():
    d = with_reference([frame(noise=2, seed=s) for s in range(4)])
    r = None
    for k in range(6):                          # a 16x16 square moving right 4 px a frame
        r = d.update(frame(rect=(12 + 4 * k, 16, 16, 16), noise=2, seed=10 + k))
        if r.motion:
            break
    assert r.motion and r.rule == "travel", r.reason
    x, y, w, h = r.box
    sx = 12 + 4 * k                            # the square now: x sx..sx+16, y 16..32
    assert abs(x - sx / W) < 0.07 and abs((x + w) - (sx + 16) / W) < 0.07
    assert abs(y - 16 / H) < 0.09 and abs((y + h) - 32 / H) < 0.09
    assert 0 < r.score <= 1
    dd = r.as_dict()
    assert dd["motion"] is True and len(dd["bbox"]) == 4 and dd["rule"] == "travel"


def test_slow_animal_present_from_the_first_frame():
    """1 px a frame, in view before the window: the reference (without it) shows all of
    it, so it builds up instead of fading into a learnt background."""
    views = [frame(noise=2, seed=s) for s in range(4)]
    d = with_reference(views)
    frames = [frame(rect=(20 + k, 20, 14, 10), noise=2, seed=30 + k) for k in range(18)]
    k = first_motion(d, frames)
    assert k is not None, d.result.reason
    x, y, w, h = d.result.box
    assert w * W >= 12 and h * H >= 8                # the whole body, not its leading edge
    cold = det()
    assert first_motion(cold, frames) is None        # cold, the same frames never fire


def test_temporal_confirmation_needs_n_frames():
    d = with_reference([frame()] * 2, confirm=3, travel=0)
    seen = []
    for k in range(3):
        r = d.update(frame(rect=(8 + 4 * k, 16, 16, 16)))
        seen.append((r.motion, r.streak))
    assert seen[0] == (False, 1) and seen[1] == (False, 2) and seen[2] == (True, 3)


def test_single_frame_flash_not_confirmed():
    d = with_reference([frame()] * 2, confirm=2)
    assert not d.update(frame(rect=(16, 16, 16, 16))).motion
    assert not d.update(frame()).motion


def test_min_area_in_blocks():
    d = with_reference([frame()] * 2, min_area=3, confirm=1, travel=0)
    r = d.update(frame(rect=(16, 16, 16, 8)))   # two blocks
    assert not r.motion and r.reason == "small" and r.blocks == 2
    d = with_reference([frame()] * 2, min_area=2, confirm=1, travel=0)
    assert d.update(frame(rect=(16, 16, 16, 8))).motion


def test_connectivity_4_vs_8():
    both = frame(rects=((8, 8, 8, 8), (16, 16, 8, 8)))      # diagonal neighbour blocks
    d8 = with_reference([frame()] * 2, min_area=2, confirm=1, connectivity=8, travel=0)
    assert d8.update(both).motion
    d4 = with_reference([frame()] * 2, min_area=2, confirm=1, connectivity=4, travel=0)
    r = d4.update(both)
    assert not r.motion and r.reason == "small"


def test_roi_mask_excludes_region():
    d = with_reference([frame()] * 2, roi="-0,0,1,0.5", confirm=1, travel=0)
    assert not d.update(frame(rect=(16, 0, 16, 16))).motion
    assert d.update(frame(rect=(16, 32, 16, 16))).motion


def test_roi_parsing():
    m = parse_roi("0,0,0.5,1", 8, 6)               # left half only
    assert sum(m) == 24 and m[0] == 1 and m[7] == 0
    m = parse_roi("-0,0,1,0.5;+0,0,0.25,0.5", 8, 6)
    assert sum(m) == 24 + 6
    m = parse_roi("01/11", 8, 6)                   # grid: top-left quarter off
    assert sum(m) == 48 - 12 and m[0] == 0 and m[4] == 1
    assert parse_roi("", 8, 6) == bytearray(b"\x01" * 48)
    raises(ValueError, parse_roi, "0,0,2,1", 8, 6)
    raises(ValueError, parse_roi, "a,b", 8, 6)
    raises(ValueError, parse_roi, "01/1", 8, 6)
    raises(ValueError, MotionDetector, W, H, 8, roi="0000/0000")


# --- light -------------------------------------------------------------------------------
def test_global_light_change_rejected():
    base = frame(noise=2)
    d = with_reference([base] * 3, confirm=1, travel=0)
    for k in (56, 48, 40):                          # clouds: -12 %, -25 %, -37 %
        r = d.update(scale(frame(noise=2, seed=k), k))
        assert not r.motion, (k, r.reason)
    r = d.update(scale(base, 160))                  # IR switches on: x2.5
    assert not r.motion and r.reason == "light"
    r = d.update(scale(base, 160))
    r = d.update(scale(frame(rect=(16, 16, 16, 16)), 160))
    assert r.motion                                 # a new baseline: still sees the animal


def test_gradual_light_normalised_animal_still_found():
    d = with_reference([frame()] * 2)
    k = first_motion(d, [scale(frame(rect=(12 + 4 * k, 16, 16, 16)), 64 - 3 * k)
                         for k in range(8)])      # dimming 5 % a frame while it moves
    assert k is not None


def test_large_object_does_not_look_like_light_change():
    d = with_reference([frame()] * 2, travel=0)
    r = None
    for k in range(3):                              # 40 % of the view, dark
        r = d.update(frame(rect=(4 * k, 8, 32, 32)))
    assert r.motion and r.gain == 64


def test_light_on_texture_is_not_an_animal():
    """A sunlit patch sweeping across a textured view keeps the view's pattern (one gain
    explains it): never motion; a dark object moving the same way on the same view is."""
    tex = texture()
    d = with_reference([tex] * 3)
    lit = []
    for k in range(10):
        f = bytearray(tex)
        for y in range(8, 40):
            for x in range(4 * k, 4 * k + 24):
                if x < W:
                    f[y * W + x] = min(255, f[y * W + x] * 3 // 2)
        lit.append(f)
    assert first_motion(d, lit) is None, d.result.reason
    d = with_reference([tex] * 3)
    assert first_motion(d, [frame(base=tex, rect=(4 * k, 8, 24, 32), shade=40)
                            for k in range(10)]) is not None


def test_light_front_rejected():
    """A band the height of the view sweeping in from its edge (a shadow's edge)."""
    d = with_reference([frame()] * 2)
    fronts = [frame(rect=(0, 0, 4 + 4 * k, H), shade=80) for k in range(8)]
    assert first_motion(d, fronts) is None and d.result.reason == "light"


# --- reference across wakes -----------------------------------------------------------------
def test_reference_round_trip_and_refusals():
    d = det()
    for s in range(3):
        d.observe(frame(noise=2, seed=s))
    blob = bytes(d.save_reference())
    assert len(blob) == d.ref.nbytes() == 10 + 16 * 12 + 8 * 6 + 4
    assert det().load_reference(blob)
    bad = bytearray(blob)
    bad[40] ^= 1
    d2 = det()
    assert not d2.load_reference(bytes(bad)) and "CRC" in d2.ref_problem
    assert d2.update(frame()).reason == "warmup"         # refused: the window starts cold
    assert not det().load_reference(blob[:-1])
    assert not det().load_reference(None)
    assert not det().load_reference(b"\x00" * len(blob))
    other = MotionDetector(48, 64, 8, kernel="python")    # as many bytes, other geometry
    assert not other.load_reference(blob) and "geometry" in other.ref_problem
    assert not MotionDetector(96, 48, 8, kernel="python").load_reference(blob)


def test_observe_learns_the_noise():
    d = det()
    for s in range(6):
        d.observe(frame(noise=12, seed=s))
    q = det()
    for s in range(6):
        q.observe(frame(noise=0, seed=s))
    # deviation x16: the envelope of the residuals (cells of 16 pixels: noise / 4)
    assert sum(d.ref.dev) > sum(q.ref.dev) + 48 * 16
    assert max(q.ref.dev) == 2 * 16                   # nothing seen: the floor


def test_end_folds_what_stayed_still_into_the_reference():
    d = with_reference([frame()] * 2)
    parked = frame(rect=(40, 24, 16, 16))          # a new static object: never fires
    rs = [d.update(parked) for _ in range(6)]
    assert not any(r.motion for r in rs) and d.result.reason == "static"
    before = d.ref.cells[d.maps.fidx[3 * 8 + 5]]    # block (5, 3): under the object
    d.end(learn=True)
    after = d.ref.cells[d.maps.fidx[3 * 8 + 5]]
    assert after < before                           # it learns the object an eighth...
    assert after > (before + 30 * 16) // 2          # ...not all at once


def test_refresh_starts_and_follows_the_reference():
    d = det()
    r = d.refresh(frame(bg=100))                 # a time-lapse frame: no reference yet
    assert d.ref.count == 1 and r.mean == 100
    i = d.maps.fidx[3 * 8 + 5]                   # block (5, 3)
    assert d.ref.cells[i] == 100 * 16
    d.refresh(frame(bg=100, rect=(40, 24, 16, 16)))
    assert 90 * 16 < d.ref.cells[i] < 100 * 16   # a new object: learnt slowly
    assert d.ref.cells[0] == 100 * 16


def test_a_cold_window_that_kept_an_animal_keeps_no_reference():
    d = det()
    frames = [frame(noise=2, seed=s) for s in range(4)]
    frames += [frame(rect=(4 * i, 16, 16, 16), noise=2, seed=10 + i) for i in range(10)]
    assert first_motion(d, frames) is not None and d.cold
    d.end(learn=False)                  # its reference was learnt with the animal in view
    assert d.ref.count == 0
    w = with_reference([frame()] * 2)
    w.update(frame(rect=(8, 16, 16, 16)))
    w.end(learn=False)                  # a reference from before the trigger stays
    assert w.ref.count == 2


def test_reset_drops_the_reference():
    d = with_reference([frame()] * 2)
    d.reset()
    assert d.update(frame(rect=(0, 0, 32, 32))).reason == "warmup"


# --- what is and is not an animal ------------------------------------------------------------
def test_grazing_body_with_a_moving_head_fires():
    """A body present since before the window (not in the reference), only its head moving
    down and up: rule "graze", and the box is the body, not the head."""
    d = with_reference([frame(noise=2, seed=s) for s in range(3)])
    body = (16, 24, 24, 12)
    k = first_motion(d, [frame(rects=(body, (40, 22 + (0 if k % 12 < 6 else 10), 6, 6)),
                               noise=2, seed=50 + k) for k in range(20)])
    assert k is not None and d.result.rule == "graze", d.result.reason
    x, y, w, h = d.result.box
    assert w * W >= 24


def test_static_new_object_never_fires():
    d = with_reference([frame(noise=2, seed=s) for s in range(3)])
    assert first_motion(d, [frame(rect=(16, 16, 16, 16), noise=2, seed=60 + k)
                            for k in range(16)]) is None
    assert d.result.reason == "static"


def test_flickering_blocks_suppressed():
    d = with_reference([frame()] * 2, confirm=2)
    a = frame(rect=(40, 0, 8, 16))
    b = frame(rect=(48, 0, 8, 16))
    rs = [d.update(a if k % 2 else b).motion for k in range(24)]
    assert not any(rs[12:])


def test_travelling_object_confirmed():
    d = with_reference([frame(noise=2, seed=s) for s in range(3)])
    rs = []
    for k in range(5):                          # 8 px = one block a frame, to the right
        r = d.update(frame(rect=(8 * k, 16, 16, 16), noise=2, seed=20 + k))
        rs.append(r.motion)
    assert rs[0] is False and any(rs), rs
    assert d.result.net >= 16 and d.result.rev == 0


def test_swinging_object_not_confirmed():
    """A dark patch swinging back and forth about a fixed point (a branch tip)."""
    xs = (16, 24, 32, 24, 16, 24, 32, 24, 16, 24, 32, 24)
    d = with_reference([frame(noise=2, seed=s) for s in range(3)], confirm=4)
    assert first_motion(d, [frame(rect=(x, 16, 16, 16), noise=2, seed=30 + k)
                            for k, x in enumerate(xs)]) is None
    d2 = with_reference([frame(noise=2, seed=s) for s in range(3)], confirm=4, travel=0)
    assert first_motion(d2, [frame(rect=(x, 16, 16, 16), noise=2, seed=30 + k)
                             for k, x in enumerate(xs)]) is not None


def test_falling_object_is_not_an_animal():
    """Fast and straight down the view (a leaf falling past the lens)."""
    d = with_reference([frame(noise=2, seed=s) for s in range(3)])
    assert first_motion(d, [frame(rect=(24, -12 + 14 * k, 14, 14), noise=2, seed=70 + k)
                            for k in range(5)]) is None
    d = with_reference([frame(noise=2, seed=s) for s in range(3)])
    assert first_motion(d, [frame(rect=(-8 + 14 * k, 24, 14, 14), noise=2, seed=70 + k)
                            for k in range(6)]) is not None     # across: an animal


def blurred(cx, cy, r=10, depth=70, bg=120):
    """A soft disc: the frame of an object far out of focus."""
    f = bytearray(bytes([bg]) * (W * H))
    for y in range(H):
        for x in range(W):
            d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy)
            v = depth - depth * d2 // (r * r * 4)      # falls off over twice the radius
            if v > 0:
                f[y * W + x] = bg - v
    return f


def test_blurred_object_is_not_an_animal():
    d = with_reference([frame()] * 2)
    assert first_motion(d, [blurred(8 + 6 * k, 24) for k in range(8)]) is None
    assert d.result.reason == "near"
    d = with_reference([frame()] * 2)
    assert first_motion(d, [frame(rect=(2 + 6 * k, 18, 12, 12), shade=50)
                            for k in range(8)]) is not None       # sharp: an animal


def test_no_allocation_growth_per_frame():
    views = [frame(noise=3, seed=s) for s in range(3)]
    moving = [frame(rect=(4 * k, 16, 16, 16), noise=3, seed=k) for k in range(8)]
    for d in (with_reference(views, confirm=99), det(confirm=99)):   # never fires: every path
        feed(d, views)
        means = bytearray(d.means)
        d.kernel.run(moving[3], means)
        d.update_means(means)
        if MICROPYTHON:
            # the wasm build does not collect inside synchronous code, so mem_alloc counts
            # every byte allocated: the detector core allocates only a few small objects
            # (loop iterators, range objects), never per block or cell
            gc.collect()
            a0 = gc.mem_alloc()
            for k in range(40):
                d.update_means(means)
            per_frame = (gc.mem_alloc() - a0) // 40
            assert per_frame <= 160, per_frame
            a0 = gc.mem_alloc()
            for k in range(8):
                d.update(moving[k])
            per_frame = (gc.mem_alloc() - a0) // 8
            print("kernel+detector allocates %d B per frame (garbage)" % per_frame)
        else:
            import tracemalloc

            # only what the detector's own code holds: other threads of a test run (the
            # MicroPython gate's workers) allocate at the same time
            only = [tracemalloc.Filter(True, "*wildcam/capture/*")]
            tracemalloc.start()
            for k in range(8):
                d.update(moving[k])
            gc.collect()
            s0 = tracemalloc.take_snapshot().filter_traces(only)
            for k in range(40):
                d.update(moving[k % 8])
            gc.collect()
            s1 = tracemalloc.take_snapshot().filter_traces(only)
            tracemalloc.stop()
            grown = sum(st.size_diff for st in s1.compare_to(s0, "filename"))
            assert grown <= 512, grown
