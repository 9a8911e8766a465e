"""Vegetation for the evaluation scenes: `Foliage` sways in the wind (branches with leaf
clusters hanging into the view, grass tufts at the bottom, gusts) and fires the PIR now and
then (warm air moving with it); `Occluder` is a foreground trunk or bush an animal walks
behind (static, drawn over the animals, subtracted from their truth masks)."""
from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw

from .texture import fractal, streaks


def _clump(rng, cw, ch, shade, spread):
    """A leaf cluster: fill and mask of cw x ch pixels."""
    fill = fractal(rng, cw, ch, cells=(3, 2), octaves=3, mean=shade, std=spread)
    mask = Image.new("L", (cw, ch), 0)
    d = ImageDraw.Draw(mask)
    for _ in range(max(6, cw * ch // 12)):
        x, y = rng.gauss(cw / 2, cw / 5), rng.gauss(ch / 2, ch / 5)
        r = rng.uniform(0.08, 0.18) * cw
        d.ellipse([x - r, y - 0.6 * r, x + r, y + 0.6 * r], fill=255)
    return fill, mask


class Foliage:
    """Swaying vegetation. `strength` 0..1 scales the swing; gusts add a slower term."""
    kind = "wind"

    def __init__(self, seed: int, start: float, end: float, *, strength: float = 0.5,
                 branches: int = 3, grass: int = 6, false_pir_per_hour: float = 6.0,
                 pulse_s: float = 2.0, shade: float = 60.0):
        self.start, self.end, self.strength = float(start), float(end), strength
        rng = random.Random("foliage/%d" % seed)
        self.seed = seed
        self._branches = []
        for _ in range(branches):
            side = rng.choice(("top", "top", "left", "right"))
            self._branches.append(dict(
                side=side, pos=rng.uniform(0.05, 0.95), length=rng.uniform(0.25, 0.6),
                angle=rng.uniform(-0.4, 0.4), freq=rng.uniform(0.25, 1.3),
                phase=rng.uniform(0, 6.28), gust=rng.uniform(0.05, 0.2),
                size=rng.uniform(0.07, 0.18), shade=max(15, min(220, shade + rng.uniform(-40, 60))),
                cseed=rng.randint(0, 10 ** 6)))
        self._grass = [(rng.uniform(0, 1), rng.uniform(0.06, 0.2), rng.uniform(0.6, 2.0),
                        rng.uniform(0, 6.28), max(10, min(230, shade + rng.uniform(-30, 70))))
                       for _ in range(grass)]
        self._pulses = []
        t = self.start
        rate = false_pir_per_hour / 3600.0
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= self.end:
                break
            self._pulses.append((t, min(self.end, t + pulse_s)))
        self._clumps: dict = {}

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def brightness(self, t: float) -> float:
        return 1.0

    def pir_intervals(self):
        return list(self._pulses)

    def _sway(self, b, t):
        s = self.strength
        return s * 0.55 * (math.sin(2 * math.pi * b["freq"] * t + b["phase"])
                           + 0.35 * math.sin(2 * math.pi * b["freq"] * 2.7 * t + 2 * b["phase"])) \
            + s * 0.5 * math.sin(2 * math.pi * b["gust"] * t + b["phase"] * 3)

    def draw(self, img: Image.Image, t: float, w: int, h: int) -> None:
        if not self.active(t):
            return
        d = ImageDraw.Draw(img)
        for k, b in enumerate(self._branches):
            ang = b["angle"] + self._sway(b, t)
            ln = b["length"] * h
            if b["side"] == "top":
                x0, y0 = b["pos"] * w, -2.0
                x1, y1 = x0 + math.sin(ang) * ln, y0 + math.cos(ang) * ln
            else:
                sgn = 1 if b["side"] == "left" else -1
                x0, y0 = (-2.0 if sgn > 0 else w + 2.0), b["pos"] * h * 0.7
                x1, y1 = x0 + sgn * math.cos(ang) * ln, y0 + math.sin(ang) * ln
            d.line([x0, y0, x1, y1], fill=int(b["shade"] * 0.7), width=max(1, w // 60))
            cw = max(3, int(b["size"] * w))
            ch = max(3, int(cw * 0.8))
            key = (k, cw, ch)
            if key not in self._clumps:
                self._clumps[key] = _clump(random.Random(b["cseed"]), cw, ch, b["shade"], 18)
            fill, mask = self._clumps[key]
            img.paste(fill, (int(x1 - cw / 2), int(y1 - ch / 2)), mask)
        for x, ln, f, ph, shade in self._grass:
            bx = x * w
            tip = self.strength * 0.05 * w * math.sin(2 * math.pi * f * t + ph)
            for j in range(-2, 3):
                d.line([bx + j * w / 160, h, bx + j * 1.5 * w / 160 + tip, h - ln * h * (1 - abs(j) / 6)],
                       fill=int(shade), width=1)


class Occluder:
    """A foreground trunk (full height) or bush (from the bottom) at x (relative left)."""
    kind = "occluder"

    def __init__(self, seed: int, kind: str, x: float, width: float, shade: float,
                 top: float = 0.5):
        self.seed, self.what, self.x, self.width, self.shade = seed, kind, x, width, shade
        self.top = top
        self._cache: dict = {}

    def image(self, w: int, h: int):
        """(fill, mask, (ix, iy)) for a w x h frame."""
        got = self._cache.get((w, h))
        if got:
            return got
        rng = random.Random("occluder/%d" % self.seed)
        cw = max(2, int(self.width * w))
        if self.what == "trunk":
            ch = h
            fill = streaks(rng, cw, ch, mean=self.shade, std=14)
            mask = Image.new("L", (cw, ch), 255)
            pos = (int(self.x * w), 0)
        else:
            ch = max(2, int((1.0 - self.top) * h) + 4)
            fill, mask = _clump(rng, cw, ch, self.shade, 20)
            ImageDraw.Draw(mask).rectangle([cw // 6, ch // 2, cw - cw // 6, ch], fill=255)
            pos = (int(self.x * w), int(self.top * h))
        got = (fill, mask, pos)
        self._cache[(w, h)] = got
        return got
