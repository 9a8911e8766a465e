"""Light for the evaluation scenes, as per-pixel gain fields (Pillow "F" images, 1.0 = the
backdrop as drawn) that multiply the view:

- `Drift`: slow change over tens of minutes (the sun moving, the camera's exposure): a
  smooth spatial field plus a global exposure term. It is why a reference background from
  an earlier wake never matches the view exactly.
- `Clouds`: the whole view dims and brightens (sun behind passing clouds).
- `SunBurst`: the sun comes out through the canopy: dappled patches brighten (by up to
  2.5x), the shade stays; ramps on over a second or more, stays, goes.
- `Flecks`: small bright sun spots through moving leaves: they wobble about fixed points
  and flicker.
- `ShadowSweep`: the soft edge of a cloud shadow crossing the view.
- `IRLamp`: the IR LED at night: a floor of light, brightest in the middle of the view.
No element here fires the PIR.
"""
from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw, ImageFilter, ImageMath

from .texture import fractal


def _mul(a: Image.Image, b: Image.Image) -> Image.Image:
    return ImageMath.lambda_eval(lambda e: e["a"] * e["b"], a=a, b=b)


def _signed(img: Image.Image) -> Image.Image:
    """L image (0..255) -> F image in -1..1."""
    return img.convert("F").point(lambda v: v / 127.5 - 1.0)


class LightElement:
    kind = "light"
    start, end = 0.0, 1e12

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def pir_intervals(self):
        return []

    def gain(self, t: float) -> float:
        """Global factor."""
        return 1.0

    def field(self, t: float, w: int, h: int):
        """Per-pixel factor (F image) or None (no spatial part)."""
        return None


class Drift(LightElement):
    def __init__(self, seed: int, *, amp: float = 0.12, period: float = 2400.0,
                 exposure: float = 0.15):
        self.seed, self.amp, self.period, self.exposure = seed, amp, period, exposure
        self.phase = random.Random("drift/%d" % seed).uniform(0, 6.28)
        self._bases: dict = {}

    def _base(self, w, h):
        b = self._bases.get((w, h))
        if b is None:
            rng = random.Random("drift-f/%d" % self.seed)
            b = tuple(_signed(fractal(rng, w, h, cells=(3, 2), octaves=2, persistence=0.5,
                                      mean=127.5, std=60)) for _ in range(2))
            self._bases[(w, h)] = b
        return b

    def gain(self, t):
        return 1.0 + self.exposure * math.sin(2 * math.pi * t / (0.7 * self.period) + 2 * self.phase)

    def field(self, t, w, h):
        n1, n2 = self._base(w, h)
        c = self.amp * math.cos(2 * math.pi * t / self.period + self.phase)
        s = self.amp * math.sin(2 * math.pi * t / self.period + self.phase)
        return ImageMath.lambda_eval(lambda e: e["a"] * c + e["b"] * s + 1.0, a=n1, b=n2)


class Clouds(LightElement):
    def __init__(self, start: float, end: float, *, depth: float = 0.5, period: float = 60.0):
        self.start, self.end, self.depth, self.period = float(start), float(end), depth, period

    def gain(self, t):
        if not self.active(t):
            return 1.0
        phase = (t - self.start) / self.period
        return 1.0 - self.depth * (0.5 - 0.5 * math.cos(2 * math.pi * phase))


class SunBurst(LightElement):
    """Patches (`cover` of the view) brighten by `peak` (1.0 = twice as bright) from t_on,
    ramping over `ramp` s, for `hold` s, then back; shade gains `diffuse` of it."""

    def __init__(self, seed: int, t_on: float, *, peak: float = 1.0, ramp: float = 1.5,
                 hold: float = 20.0, cover: float = 0.4, diffuse: float = 0.1,
                 blotch: float = 1.0, period: float = 0.0):
        self.seed, self.t_on, self.peak, self.ramp, self.hold = seed, t_on, peak, ramp, hold
        self.cover, self.diffuse, self.blotch = cover, diffuse, blotch
        self.period = period            # > 0: repeats (clouds passing the sun)
        self._masks: dict = {}

    def level(self, t: float) -> float:
        u = t - self.t_on
        if self.period:
            u %= self.period
        if u < 0:
            return 0.0
        if u < self.ramp:
            return 0.5 - 0.5 * math.cos(math.pi * u / self.ramp)
        if u < self.ramp + self.hold:
            return 1.0
        if u < 2 * self.ramp + self.hold:
            return 0.5 + 0.5 * math.cos(math.pi * (u - self.ramp - self.hold) / self.ramp)
        return 0.0

    def _mask(self, w, h):
        m = self._masks.get((w, h))
        if m is None:
            rng = random.Random("burst/%d" % self.seed)
            cells = (int(4 * self.blotch) + 2, int(3 * self.blotch) + 2)
            n = fractal(rng, w, h, cells=cells, octaves=3, persistence=0.45, mean=128, std=45)
            cut = 128 + 45 * (0.5 - self.cover) * 2.2     # threshold for the covered share
            soft = 12.0
            lut = [int(255 / (1 + math.exp(-(v - cut) / soft))) for v in range(256)]
            m = n.point(lut).filter(ImageFilter.GaussianBlur(1.0 * w / 160)).convert("F")
            m = m.point(lambda v: v / 255.0)
            self._masks[(w, h)] = m
        return m

    def field(self, t, w, h):
        a = self.peak * self.level(t)
        if a <= 0:
            return None
        dif = self.diffuse
        return ImageMath.lambda_eval(lambda e: e["m"] * (a * (1 - dif)) + (1.0 + a * dif),
                                     m=self._mask(w, h))


class Flecks(LightElement):
    """`n` bright spots (radius `r` relative width) that wobble by `amp` (relative) at
    `freq` Hz about fixed points and flicker; `gain` up to 1 + `bright`."""

    def __init__(self, seed: int, *, n: int = 12, r: float = 0.02, amp: float = 0.02,
                 freq: float = 0.8, bright: float = 0.8, drift: float = 0.0):
        rng = random.Random("flecks/%d" % seed)
        self.spots = [(rng.uniform(0, 1), rng.uniform(0.2, 1), r * rng.uniform(0.5, 1.6),
                       rng.uniform(0, 6.28), freq * rng.uniform(0.5, 1.5), rng.uniform(0.4, 1.0))
                      for _ in range(n)]
        self.amp, self.bright, self.drift = amp, bright, drift

    def field(self, t, w, h):
        img = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(img)
        for x, y, r, ph, f, b in self.spots:
            sx = x + self.amp * math.sin(2 * math.pi * f * t + ph) + self.drift * math.sin(0.05 * t + ph)
            sy = y + 0.6 * self.amp * math.sin(2 * math.pi * f * 1.3 * t + 2 * ph)
            fl = b * max(0.0, min(1.0, 0.6 + 0.6 * math.sin(2 * math.pi * f * 0.7 * t + 3 * ph)))
            rr = r * w
            d.ellipse([sx * w - rr, sy * h - 0.7 * rr, sx * w + rr, sy * h + 0.7 * rr],
                      fill=int(255 * fl))
        img = img.filter(ImageFilter.GaussianBlur(0.8 * w / 160))
        k = self.bright / 255.0
        return img.convert("F").point(lambda v: 1.0 + v * k)


class ShadowSweep(LightElement):
    """The edge of a cloud shadow (darkening by `depth`, `soft` relative width) crosses the
    view at `speed` (relative width per s) in direction `angle`, from t_start."""

    def __init__(self, t_start: float, *, depth: float = 0.4, speed: float = 0.2,
                 angle: float = 0.0, soft: float = 0.2, entering: bool = True):
        self.t_start, self.depth, self.speed, self.angle = t_start, depth, speed, angle
        self.soft, self.entering = soft, entering
        self._ramps: dict = {}

    def field(self, t, w, h):
        # position of the edge along the direction; the shadow is behind it
        pos = -0.3 + self.speed * (t - self.t_start)
        ca, sa = math.cos(self.angle), math.sin(self.angle)
        img = Image.new("F", (w, h))
        vals = []
        d = self.depth
        for y in range(0, h, 4):
            for x in range(0, w, 4):
                u = (x / w - 0.5) * ca + (y / h - 0.5) * sa + 0.5
                s = max(-30.0, min(30.0, (pos - u) / self.soft))
                sh = 1.0 / (1.0 + math.exp(-6 * s))
                if not self.entering:
                    sh = 1.0 - sh
                vals.append(1.0 - d * sh)
        small = Image.new("F", ((w + 3) // 4, (h + 3) // 4))
        small.putdata(vals)
        img = small.resize((w, h), Image.BILINEAR)
        return img


class IRLamp:
    """IR LED light: `level` (relative to midday) in the middle, falling to
    level * (1 - falloff) in the corners."""

    def __init__(self, level: float = 0.5, falloff: float = 0.45):
        self.level, self.falloff = level, falloff
        self._fields: dict = {}

    def field(self, w, h):
        f = self._fields.get((w, h))
        if f is None:
            vals = []
            for y in range(0, h, 4):
                for x in range(0, w, 4):
                    r2 = ((x / w - 0.5) ** 2 + (y / h - 0.5) ** 2) / 0.5
                    vals.append(self.level * (1.0 - self.falloff * r2))
            small = Image.new("F", ((w + 3) // 4, (h + 3) // 4))
            small.putdata(vals)
            f = small.resize((w, h), Image.BILINEAR)
            self._fields[(w, h)] = f
        return f
