"""Textured animals for the evaluation scenes: a body with head, neck, legs and tail, drawn
anti-aliased (4x supersampled mask) at sub-pixel positions, filled with a texture that moves
with the body (fur noise, spots or stripes, countershading), seen from the side or, when
approaching, from the front (with eyes that shine under the IR LED).

How it moves is a `Path`: `Walk` (constant velocity; slow walkers are Walks at 1-2 px per
frame), `Approach` (grows and comes down the frame towards the camera), `Graze` (the body
stays, the head goes down to the grass and up, with an occasional small step).
"""
from __future__ import annotations

import math
import random
from typing import List, Optional, Tuple

from PIL import Image, ImageDraw

from .texture import fractal

SS = 4   # supersampling of the shape mask


class Pose:
    __slots__ = ("x", "y", "scale", "facing", "head", "gait")

    def __init__(self, x, y, scale=1.0, facing=1, head=0.0, gait=0.0):
        self.x, self.y, self.scale, self.facing = x, y, scale, facing
        self.head, self.gait = head, gait       # head: 0 up .. 1 down to the ground


class Walk:
    """Body centre at x0 + vx * (t - t0) (relative x), feet on y + vy * (t - t0)."""

    def __init__(self, x0: float, y: float, vx: float, t0: float, vy: float = 0.0,
                 end: Optional[float] = None):
        self.x0, self.y, self.vx, self.vy, self.t0 = x0, y, vx, vy, t0
        self.end = end

    def at(self, t: float, size: float) -> Pose:
        dt = t - self.t0
        return Pose(self.x0 + self.vx * dt, self.y + self.vy * dt, 1.0,
                    1 if self.vx >= 0 else -1, 0.1, abs(self.vx) * dt / max(size, 1e-3))


class Approach:
    """From (x0, y0) at scale s0 to (x1, y1) at scale s1 over `dur` seconds from t0
    (scale grows geometrically, as an animal walking towards the lens); seen from the
    front (facing 0) unless `facing` says otherwise."""

    def __init__(self, x0, y0, x1, y1, s0, s1, t0, dur, facing=0):
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1
        self.s0, self.s1, self.t0, self.dur, self.facing = s0, s1, t0, dur, facing

    def at(self, t: float, size: float) -> Pose:
        u = max(0.0, min(1.0, (t - self.t0) / self.dur))
        s = self.s0 * (self.s1 / self.s0) ** u
        # perspective: position moves with the scale, not linearly in time
        k = (s - self.s0) / (self.s1 - self.s0) if self.s1 != self.s0 else u
        return Pose(self.x0 + (self.x1 - self.x0) * k, self.y0 + (self.y1 - self.y0) * k, s,
                    self.facing, 0.05, 3.0 * u)


class Graze:
    """Stands at (x, y); the head goes down to the grass for `down` seconds and up again
    (period `period`), nibbling while down; every `step_every` s a small step (`step`
    relative width, over one second)."""

    def __init__(self, x, y, facing, period, down, phase, step=0.0, step_every=0.0,
                 nibble=0.08, t0=0.0):
        self.x, self.y, self.facing, self.t0 = x, y, facing, t0
        self.period, self.down, self.phase = period, down, phase
        self.step, self.step_every, self.nibble = step, step_every, nibble

    def at(self, t: float, size: float) -> Pose:
        t = t - self.t0
        c = (t + self.phase) % self.period
        up = self.period - self.down            # the head is up for this part of the cycle
        if c < 0.6:
            head = 1.0 - c / 0.6                # lifting
        elif c < up - 0.6:
            head = 0.0
        elif c < up:
            head = (c - (up - 0.6)) / 0.6       # lowering
        else:
            head = 1.0 - self.nibble * (0.5 + 0.5 * math.sin(7.0 * t))
        x = self.x
        if self.step_every:
            n, f = divmod(t + self.phase, self.step_every)
            x += self.facing * self.step * (n + min(1.0, f))
        return Pose(x, self.y, 1.0, self.facing, head, 0.0)


class Creature:
    """An animal. `size`: body length as a fraction of the frame width (side view);
    `aspect`: height / length; `shade`: mean grey level of the fur in daylight;
    `tex`: fur texture contrast; `pattern`: "plain", "spots", "stripes"; `counter`:
    countershading (belly lighter by this many grey levels); `path`: Walk / Approach /
    Graze; in view from `start` to `end` (s), seen by the PIR from `pir_from`."""
    kind = "animal"

    def __init__(self, seed: int, path, *, size: float, start: float, end: float,
                 aspect: float = 0.6, shade: float = 40, tex: float = 12,
                 pattern: str = "plain", counter: float = 0.0, legs: float = 1.0,
                 pir_from: Optional[float] = None):
        self.seed, self.path, self.size = seed, path, size
        self.pir_from = start if pir_from is None else pir_from
        self.start, self.end = start, end
        self.aspect, self.shade, self.tex = aspect, shade, tex
        self.pattern, self.counter, self.legs = pattern, counter, legs
        self._tex_cache: dict = {}

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def brightness(self, t: float) -> float:
        return 1.0

    def pir_intervals(self):
        """The PIR sees it while in view, from `pir_from` on (a PIR zone narrower than the
        lens's view, or an animal too far to warm it, fires later)."""
        return [(max(self.start, self.pir_from), self.end)]

    # --- geometry ---------------------------------------------------------------------
    def extent(self, t: float, w: int, h: int) -> Tuple[float, float, float, float, Pose]:
        """(left px, top px, length px, height px, pose) of the whole sprite."""
        p = self.path.at(t, self.size)
        L = self.size * p.scale * w * (0.55 if p.facing == 0 else 1.0)
        H = self.size * p.scale * w * self.aspect * (1.25 if p.facing == 0 else 1.0)
        return p.x * w - L / 2, p.y * h - H, L, H, p

    def full_width(self, t: float) -> float:
        """Relative width of the whole (unclipped) body at t."""
        _, _, L, _, _ = self.extent(t, 160, 120)
        return L / 160

    def _shapes(self, d, L, H, ox, oy, p):
        """Draw the silhouette (fill 255) into the supersampled mask draw `d`."""
        def X(u):
            return (ox + (u if p.facing >= 0 else 1 - u) * L) * SS

        def Y(v):
            return (oy + v * H) * SS

        def ell(u0, v0, u1, v1):
            xa, xb = sorted((X(u0), X(u1)))
            d.ellipse([xa, Y(v0), xb, Y(v1)], fill=255)

        lw = max(1.0, 0.06 * L * self.legs)
        if p.facing == 0:                               # front view
            ell(0.18, 0.22, 0.82, 0.72)
            ell(0.3, 0.0, 0.7, 0.36)
            for u in (0.3, 0.6):
                d.rectangle([X(u), Y(0.6), X(u) + lw * SS, Y(1.0)], fill=255)
            return [(0.42, 0.15), (0.58, 0.15)]
        ell(0.08, 0.22, 0.78, 0.66)                      # body
        hv = p.head                                      # head: up (0) .. grazing (1)
        hu0, hv0 = 0.76 + 0.05 * hv, 0.02 + 0.62 * hv
        ell(hu0, hv0, hu0 + 0.24, hv0 + 0.27)
        neck = [(X(0.62), Y(0.3)), (X(0.74), Y(0.5)), (X(hu0 + 0.1), Y(hv0 + 0.22)),
                (X(hu0 + 0.06), Y(hv0 + 0.04))]
        d.polygon(neck, fill=255)
        for k, u in enumerate((0.18, 0.28, 0.6, 0.7)):   # legs, swinging in pairs
            sw = 0.08 * math.sin(2 * math.pi * p.gait * 1.6 + (math.pi if k % 2 else 0.0)) \
                if p.gait else 0.0
            top = (X(u), Y(0.55))
            foot = (X(u + sw), Y(1.0))
            d.line([top, foot], fill=255, width=max(1, int(lw * SS)))
        d.line([(X(0.1), Y(0.3)), (X(0.0), Y(0.55))], fill=255, width=max(1, int(lw * SS * 0.6)))
        return [(hu0 + 0.19, hv0 + 0.08)]

    def _fill(self, cw: int, ch: int) -> Image.Image:
        key = (cw, ch)
        img = self._tex_cache.get(key)
        if img is not None:
            return img
        rng = random.Random("fur/%d" % self.seed)
        img = fractal(rng, cw, ch, cells=(3, 2), octaves=4, persistence=0.6,
                      mean=self.shade, std=self.tex)
        d = ImageDraw.Draw(img)
        if self.counter:
            for y in range(ch):
                v = int(self.counter * (y / max(1, ch - 1) - 0.5))
                if v:
                    band = img.crop((0, y, cw, y + 1)).point(lambda q, v=v: q + v)
                    img.paste(band, (0, y))
        if self.pattern == "spots":
            for _ in range(int(cw * ch / 20) + 2):
                x, y = rng.uniform(0, cw), rng.uniform(0, ch)
                r = rng.uniform(0.04, 0.09) * cw
                d.ellipse([x - r, y - r, x + r, y + r],
                          fill=int(max(0, min(255, self.shade + rng.choice((-1, 1)) * 2.5 * self.tex))))
        elif self.pattern == "stripes":
            step = max(2.0, cw / rng.uniform(5, 10))
            x = rng.uniform(0, step)
            while x < cw:
                d.line([x, 0, x + rng.uniform(-0.2, 0.2) * ch, ch],
                       fill=int(max(0, min(255, self.shade - 2.5 * self.tex))),
                       width=max(1, int(step / 3)))
                x += step
        if len(self._tex_cache) > 64:
            self._tex_cache.clear()
        self._tex_cache[key] = img
        return img

    def sprite(self, t: float, w: int, h: int):
        """(fill L image, mask L image, (ix, iy) paste position, eyes [(x, y) px]) or None."""
        if not self.active(t):
            return None
        left, top, L, H, p = self.extent(t, w, h)
        ix, iy = math.floor(left) - 1, math.floor(top) - 1
        ox, oy = left - ix, top - iy
        cw, ch = int(math.ceil(L + ox)) + 2, int(math.ceil(H + oy)) + 2
        if ix >= w or iy >= h or ix + cw <= 0 or iy + ch <= 0:
            return None
        big = Image.new("L", (cw * SS, ch * SS), 0)
        eyes_uv = self._shapes(ImageDraw.Draw(big), L, H, ox, oy, p)
        mask = big.resize((cw, ch), Image.BOX)
        eyes = [(ix + ox + (u if p.facing >= 0 else 1 - u) * L, iy + oy + v * H)
                for u, v in eyes_uv]
        return self._fill(cw, ch), mask, (ix, iy), eyes, max(0.6, 0.025 * L)


def visible_boxes(masks: List[Image.Image], w: int, h: int):
    """Relative boxes of the visible pixels (>= half coverage) of each full-frame mask."""
    out = []
    for m in masks:
        bb = m.point(lambda v: 255 if v >= 128 else 0).getbbox()
        if bb:
            x0, y0, x1, y1 = bb
            out.append((x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h))
    return out
