"""Things right in front of the lens: out of focus (heavily blurred), large for what they
are, and fast across the frame. None of them fires the PIR (a false PIR pulse or a warm
gust starts the window) and none is an animal.

- `Leaf`: falls along a nearly straight line (a little flutter and spin), dark against the
  sky or bright where the sun or the IR LED lights it.
- `Insect`: flies an erratic path about a drifting centre; bright under the IR LED at
  night (it is closest to the LED), dark by day.
"""
from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw, ImageFilter, ImageMath

SS = 2


class NearLens:
    kind = "nearlens"

    def __init__(self, start: float, end: float, *, size: float, blur: float, shade: float,
                 aspect: float = 0.5):
        self.start, self.end = float(start), float(end)
        self.size, self.blur, self.shade, self.aspect = size, blur, shade, aspect

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def pir_intervals(self):
        return []

    def position(self, t: float):
        """(x, y, rotation) of the centre, relative."""
        raise NotImplementedError

    def composite(self, img: Image.Image, t: float, w: int, h: int) -> Image.Image:
        """Blend the blurred object into the F image `img`; returns the new image."""
        if not self.active(t):
            return img
        x, y, rot = self.position(t)
        r = self.size * w / 2
        b = self.blur * w
        pad = int(r + 3 * b + 2)
        n = 2 * pad
        m = Image.new("L", (n * SS, n * SS), 0)
        pts = []
        for k in range(20):
            a = 2 * math.pi * k / 20
            px, py = r * math.cos(a), r * self.aspect * math.sin(a)
            qx = px * math.cos(rot) - py * math.sin(rot)
            qy = px * math.sin(rot) + py * math.cos(rot)
            pts.append(((pad + qx) * SS, (pad + qy) * SS))
        ImageDraw.Draw(m).polygon(pts, fill=255)
        m = m.resize((n, n), Image.BOX)
        if b > 0.3:
            m = m.filter(ImageFilter.GaussianBlur(b))
        full = Image.new("L", (w, h), 0)
        full.paste(m, (int(x * w) - pad, int(y * h) - pad))
        if not full.getbbox():
            return img
        a = full.convert("F")
        s = float(self.shade)
        return ImageMath.lambda_eval(lambda e: e["i"] + (e["a"] / 255.0) * (s - e["i"]),
                                     i=img, a=a)


class Leaf(NearLens):
    """Enters at (x0, y0) at t_in and travels `speed` (relative height per s) in
    direction `angle` (0 = right, pi/2 = down), fluttering sideways by `flutter`."""

    def __init__(self, seed: int, t_in: float, *, x0: float, y0: float, angle: float,
                 speed: float, size: float, blur: float, shade: float, flutter: float = 0.03):
        self.t_in, self.x0, self.y0, self.angle, self.speed = t_in, x0, y0, angle, speed
        self.flutter = flutter
        rng = random.Random("leaf/%d" % seed)
        self.ff, self.fp, self.spin = rng.uniform(1.0, 3.0), rng.uniform(0, 6.28), rng.uniform(-3, 3)
        super().__init__(t_in, t_in + 2.5 / max(speed, 0.05), size=size, blur=blur,
                         shade=shade, aspect=0.45)

    def position(self, t):
        d = self.speed * (t - self.t_in)
        fl = self.flutter * math.sin(2 * math.pi * self.ff * (t - self.t_in) + self.fp)
        x = self.x0 + d * math.cos(self.angle) * 0.75 - fl * math.sin(self.angle)
        y = self.y0 + d * math.sin(self.angle) + fl * math.cos(self.angle)
        return x, y, self.spin * (t - self.t_in) + self.fp


class Insect(NearLens):
    """Hovers and darts about a centre that drifts at `drift` (relative per s)."""

    def __init__(self, seed: int, start: float, end: float, *, x: float, y: float,
                 size: float, blur: float, shade: float, reach: float = 0.25,
                 drift: float = 0.1):
        rng = random.Random("insect/%d" % seed)
        self.cx, self.cy, self.reach = x, y, reach
        self.da = rng.uniform(0, 6.28)
        self.drift = drift
        self.terms = [(rng.uniform(0.4, 2.5), rng.uniform(0, 6.28), rng.uniform(0.3, 1.0),
                       rng.uniform(0, 6.28)) for _ in range(3)]
        super().__init__(start, end, size=size, blur=blur, shade=shade, aspect=0.7)

    def position(self, t):
        u = t - self.start
        x = self.cx + self.drift * u * math.cos(self.da)
        y = self.cy + self.drift * u * math.sin(self.da)
        for f, p, a, q in self.terms:
            x += self.reach * a / 3 * math.sin(2 * math.pi * f * u + p)
            y += self.reach * a / 3 * math.sin(2 * math.pi * f * 1.2 * u + q)
        return x, y, 0.0
