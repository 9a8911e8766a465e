"""On-device motion detection on a small grayscale frame (see docs/DETECTION.md).

    det = MotionDetector(160, 120, block=8, roi="-0,0,1,0.25")
    det.load_reference(rtc_bytes)  # the view before the trigger (else the window starts cold)
    det.begin()                    # a trigger window starts: no warm-up frames needed
    r = det.update(frame)          # frame: bytes/bytearray/memoryview, width*height grey levels
    if r.motion: r.score, r.box    # box: (x, y, w, h) relative 0..1 (Camtrap DP / MegaDetector)
    else:        r.reason          # "warmup" "quiet" "small" "unconfirmed" "sway" "static"
                                   # "near" "light" "global"
    det.quiet_lead                 # frames since begin() that all saw nothing change
    det.end(learn=not r.motion)    # what stayed still refreshes the reference
    rtc_bytes = det.save_reference()
    det.refresh(frame)             # a time-lapse frame / quiet wake refreshes it too

Per frame, integer arithmetic, O(blocks) Python operations after the kernel:
1. cell means (block/2 square, band layout; kernel: viper on a board, SWAR elsewhere);
2. light (light.Gains): a global gain (median ratio to the reference) and regional gains
   interpolated per block;
3. per block (frames.Maps), its four cells against the reference x the block's gain
   ("present": the animal did not write the reference) and, where present (everywhere in a
   cold window), against the frame `lag` frames back ("moving"); each cell against
   max(threshold, rel % of its value) + k_dev x the block's deviation (widened over its
   neighbours); a textured block whose change one gain explains is light, not change;
4. blocks that flicker (>= `flicker` on/off changes in the last 8 frames) are background;
5. blobs over the changed blocks (tracks.Blobs), centroids from the cells, tracked from
   frame to frame (overlap after the track's last step);
6. a track fires when it lasted `confirm` frames, moved in `confirm` of them and moves now,
   is not out of focus or falling (a near-lens leaf or insect), not a light front, not
   explained by one light change over its cells, and either travels (`travel`/16 block
   net on a straight path without reversals or jumps) or grazes (a body present since
   before the window, stable in size, part of it moving in `graze_moves` of `graze` frames)
   or approaches (present, moving, grown steadily to twice its size in `graze` frames).
The reference learns only where nothing changed; buffers are allocated once, a frame
allocates only a few small objects (~80 B under MicroPython).
"""
from micropython import const

from wildcam.capture.blocks import cells_size, log2, make_kernel
from wildcam.capture.frames import Maps
from wildcam.capture.light import Gains
from wildcam.capture.motion import Result
from wildcam.capture.reference import Reference
from wildcam.capture import tracks as T
from wildcam.core.roi import parse_roi

REASONS = ("warmup", "quiet", "small", "unconfirmed", "sway", "static", "near", "light",
           "global")
_STALE = const(2)      # frames that cannot be compared with the reference before it is dropped


class MotionDetector:
    """See the module docstring and docs/DETECTION.md (every argument). Thresholds are in
    grey levels (0..255), distances in 1/16 block, unless noted."""

    def __init__(self, width, height, block=8, threshold=5, rel=8, k_dev=3, min_area=1,
                 confirm=3, connectivity=8, roi=None, learn=4, warmup=4, flicker=3,
                 light_jump=30, global_pct=50, travel=20, straight=75, reversals=0,
                 graze=6, graze_moves=3, lag=2, near_step=24, near_sharp=55, exclude=1,
                 ncc=1, dilate=1, mot_k=48, kernel="auto"):
        if log2(block) < 2 or width % block or height % block:
            raise ValueError("detect.block must be a power of two >= 4 dividing %dx%d"
                             % (width, height))
        if connectivity not in (4, 8):
            raise ValueError("detect.connectivity must be 4 or 8")
        self.w, self.h, self.block = width, height, block
        self.fine = fine = block >> 1
        self.bw, self.bh = bw, bh = width // block, height // block
        self.fw, self.fh = fw, fh = width // fine, height // fine
        self.nb = bw * bh
        self.min_area, self.confirm = min_area, confirm
        self.travel, self.straight, self.reversals = travel, straight, reversals
        self.graze, self.graze_moves = graze, graze_moves
        self.near_step, self.near_sharp = near_step, near_sharp
        self.exclude, self.ncc, self.dilate = exclude, ncc, dilate
        self.warmup, self.global_pct = warmup, global_pct
        self.light_jump = light_jump * 64 // 100
        self.kernel = make_kernel(width, height, fine, kernel)
        size = cells_size(width, height, fine)
        self.means = bytearray(size)              # cell means, band layout (blocks.py)
        self.maps = Maps(fw, fh, bw, bh, fine, size, lag, threshold, rel, k_dev, flicker,
                         learn)
        self.ref = Reference(fw, fh, bw, bh, size, self.maps.cidx)
        self.ref_problem = None
        self.maps.mot_k = mot_k
        self.blobs = T.Blobs(bw, bh, connectivity == 8)
        self.result = Result(fw, fh)
        self._packed = None
        self.set_roi(roi)
        self.begin()

    # --- configuration ---------------------------------------------------------------------
    def set_roi(self, spec):
        from array import array

        self.roi_spec = spec or ""
        self.mask = parse_roi(spec, self.bw, self.bh)
        self.roi = array("H", [i for i in range(self.nb) if self.mask[i]])
        self.n_roi = len(self.roi)
        if self.n_roi == 0:
            raise ValueError("detect.roi leaves no block to watch")
        self.gains = Gains(self.bw, self.bh, self.roi)
        self.maps.set_roi(self.roi)

    # --- the reference across wakes -----------------------------------------------------------
    def load_reference(self, data):
        """Take a reference saved by save_reference() (RTC memory); False (and
        `ref_problem` says why) when it does not fit this detector: then the next window
        starts cold."""
        self.ref_problem = self.ref.from_bytes(data)
        if self.ref_problem is None:
            self.maps.ref_changed(self.ref)
        self.cold = self.ref.count == 0
        return self.ref_problem is None

    def save_reference(self, out=None):
        """The reference as bytes for RTC memory (ref.nbytes() long; `out` reused)."""
        self._packed = self.ref.to_bytes(out if out is not None else self._packed)
        return self._packed

    def observe(self, frame):
        """Learn a frame in which nothing moves (a quiet wake, a time-lapse frame): the
        reference follows the view and its light. Returns the frame's gain vs it (x64)."""
        self.kernel.run(frame, self.means)
        return self.maps.observe(self.means, self.ref, self.gains)

    def begin(self):
        """A trigger window starts: forget the last window's tracks, keep the reference."""
        self.frames = 0
        self.quiet_lead = 0  # the window's first frames that all saw nothing change
        self.stale = 0
        self.cold = self.ref.count == 0
        self.blobs.clear()
        self.maps.begin()
        self.maps.dilate = self.dilate
        if self.ref.count:
            self.maps.widen(self.ref)

    def end(self, learn=True):
        """The window is over; with `learn` (nothing was kept, or a time-lapse), blocks
        that never moved in it are folded into the reference from its last frame. A cold
        window that kept its animal learnt its reference from frames showing it: that
        reference is dropped (the next window starts cold rather than with a ghost)."""
        if learn and self.frames:
            self.maps.fold(self.ref)
        elif not learn and self.cold:
            self.ref.clear()

    def refresh(self, frame):
        """One frame in which nothing is expected to move (a time-lapse image, a quiet
        wake): the reference follows it (begin, update, end); with no reference yet it
        starts one. Returns the frame's Result (its `mean` serves the flash decision)."""
        if not self.ref.count:
            self.observe(frame)
            res = self.result
            res.clear()
            res.mean = self.maps.sums(self.means)
            return res
        self.begin()
        res = self.update(frame)
        self.end(learn=True)
        return res

    def reset(self):
        """Forget the reference too: the next frame starts a cold window."""
        self.ref.clear()
        self.begin()

    # --- per frame -------------------------------------------------------------------------
    def update(self, frame):
        """Process one frame (width*height grey levels); returns the reused Result."""
        if len(frame) < self.w * self.h:
            raise ValueError("frame has %d bytes, need %d" % (len(frame), self.w * self.h))
        self.kernel.run(frame, self.means)
        return self.update_means(self.means)

    def update_means(self, fine):
        """Process one frame given its fine cell means (bytes, one per cell)."""
        res = self.result
        res.clear()
        self.frames += 1
        mp, ref, gains = self.maps, self.ref, self.gains
        res.mean = mp.sums(fine)
        if ref.count == 0:                        # cold: this frame is the reference
            mp.baseline(fine, ref)
            self.cold = True
            res.reason = "warmup"
            return res
        g = gains.global_gain(mp.csum, mp.rsum)
        res.gain = g
        if g < 22 or g > 192:                     # not comparable (IR switched, dusk)
            self.stale += 1
            mp.drop_lag()
            if self.stale >= _STALE:
                mp.baseline(fine, ref)
                self.cold = True
            res.reason = "light"
            return res
        self.stale = 0
        gains.update(mp.fg if self.exclude else mp._zb)
        jump = mp.lag_jump(g, self.light_jump)
        raw = mp.compare(fine, ref, gains.block, not jump, self.cold)
        if self.cold and self.frames <= self.warmup:
            mp.observe(fine, ref, gains)          # a cold window first learns the view
            mp.widen(ref)
            res.reason = "warmup"
            return res
        if raw * 100 > self.global_pct * self.n_roi:
            mp.baseline(fine, ref)                # the view changed as a whole
            self.cold = True
            self.blobs.clear()
            res.reason = "global"
            return res
        if self.cold:
            mp.learn(fine, ref, gains.block, True)
        else:
            mp.learn_dev(ref)
        if jump:
            res.reason = "light"
        res.blocks = mp.nfg
        if mp.nfg == 0:
            self.blobs.clear()
            if not jump and self.quiet_lead == self.frames - 1:
                self.quiet_lead += 1  # still nothing changed since the window began
            return res
        bl = self.blobs
        res.blobs = bl.find(self.roi, mp.fg, mp.exc, mp.mov, self.min_area, mp.fd, mp.fidx,
                            self.fine)
        bl.link()
        self._decide(res)
        bl.roll()
        return res

    def _decide(self, res):
        bl = self.blobs
        blob = bl.blob
        best = -1
        bkey = -1
        bpass = ""
        for k in range(bl.n):
            o = k * T.BS
            why = self._passes(o)
            key = ((1 << 27 if why else 0) + (blob[o + T.STREAK] << 16) + blob[o + T.LEVEL])
            if key > bkey:
                best, bkey, bpass = k, key, why
        if best < 0:
            res.reason = "small"
            return
        o = best * T.BS
        self.best = o
        res.level = blob[o + T.LEVEL]
        res.streak = blob[o + T.STREAK]
        res.net = T.net(blob, o)
        res.path = blob[o + T.PATH]
        res.rev = blob[o + T.REV] >> 2
        self.maps.box(blob, o, res)
        if bpass:
            res.motion = True
            res.reason = ""
            res.rule = bpass
        elif res.streak >= self.confirm:
            res.reason = self._why_not(o)
        else:
            res.reason = "unconfirmed"

    def _passes(self, o):
        """"travel", "graze" or "approach" when the track of the blob at blobs.blob[o]
        confirms an animal, else ""."""
        b = self.blobs.blob
        streak = b[o + T.STREAK]
        if streak < self.confirm:
            return ""
        if not self.travel:            # travel test off
            return "travel"
        moved = b[o + T.MOVED]
        if moved < self.confirm or not b[o + T.NMOV]:
            return ""                  # it must be moving now, and have moved for a while
        if self._near(o) or self._front(o) or self._light(o):
            return ""
        dx = b[o + T.CX] - b[o + T.SX]
        dy = b[o + T.CY] - b[o + T.SY]
        dx = dx if dx >= 0 else -dx
        dy = dy if dy >= 0 else -dy
        rev = b[o + T.REV] >> 2
        # straight along the way it goes (a walker bobs up and down as it crosses), and
        # not one jump (blobs merging or splitting) but steps
        if dx >= dy:
            straight = dx * 100 >= self.straight * b[o + T.PX]
        else:
            straight = dy * 100 >= self.straight * b[o + T.PY]
        if (rev <= self.reversals and dx + dy >= self.travel and straight
                and 10 * b[o + T.STEP] <= 7 * b[o + T.PATH]):
            return "travel"
        # grazing: a body present (not cold: the reference is from before it came), stable
        # in size, part of it moving now and again, in a view not swept by light
        if (self.graze and not self.cold and streak >= self.graze and b[o + T.UNSTABLE] <= 1
                and 10 * self.maps.nfg <= 3 * self.n_roi):
            if moved >= self.graze_moves and b[o + T.NMOV] * 2 <= b[o + T.AREA]:
                return "graze"
            # coming closer: it grows steadily (twice its size), moving all the while
            area = b[o + T.AREA]
            if area >= 6 and area >= 2 * b[o + T.AREA0] and 2 * moved >= streak:
                return "approach"
        return ""

    def _near(self, o):
        """A near-lens object or a soft light edge: out of focus (no sharp edge in the
        difference map; an animal in view is in focus), or falling (fast and mostly
        downwards: a leaf; animals walk across or towards the camera)."""
        b = self.blobs.blob
        if self.near_step and b[o + T.STEP] >= self.near_step:
            dx = b[o + T.CX] - b[o + T.SX]
            dy = b[o + T.CY] - b[o + T.SY]
            if dy > 0 and dy >= (dx if dx >= 0 else -dx):
                return True
        return self.near_sharp and self.maps.sharpness(b, o) < self.near_sharp

    def _front(self, o):
        """A light front (the edge of a shadow or of sunlight sweeping in): it spans the
        view from border to border, or runs along one border for most of its length as a
        band; an animal is compact and smaller than the view."""
        b = self.blobs.blob
        x0 = b[o + T.X0]
        y0 = b[o + T.Y0]
        x1 = b[o + T.X1]
        y1 = b[o + T.Y1]
        bw, bh = self.bw, self.bh
        w, h = x1 - x0, y1 - y0
        left = x0 == 0
        right = x1 == bw
        top = y0 == 0
        bottom = y1 == bh
        if (left and right) or (top and bottom):
            return True
        if (left or right) and 10 * h >= 6 * bh and 2 * w < bw:
            return True
        if (top or bottom) and 10 * w >= 6 * bw and 2 * h < bh:
            return True
        touches = (1 if left else 0) + (1 if right else 0) + (1 if top else 0) + (1 if bottom else 0)
        return (touches >= 2 and (10 * w >= 6 * bw or 10 * h >= 6 * bh)
                and 2 * b[o + T.AREA] < w * h)

    def _light(self, o):
        return self.ncc and self.maps.explained(self.blobs.blob, o, self.means, self.ref,
                                                self.gains.block)

    def _why_not(self, o):
        b = self.blobs.blob
        if b[o + T.MOVED] < self.confirm or not b[o + T.NMOV]:
            return "static"
        if self._front(o) or self._light(o):
            return "light"
        if self._near(o):
            return "near"
        return "sway"
