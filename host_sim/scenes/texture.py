"""Procedural textures and backdrops for the evaluation scenes (Pillow only, C speed).

Everything is drawn in relative coordinates from a seeded `random.Random`, so the same seed
gives the same picture at any render size. A backdrop is the static view the camera trap
looks at: a fractal base (smooth to rough), a horizon, ground with grass strokes and leaf
litter, tree trunks with bark, rocks, an optional bright sky gap, then a little lens blur.
The parameters (mean level, contrast, roughness, how much of each structure) vary per seed
so a detector tuned on one look does not pass by luck on another.
"""
from __future__ import annotations

import random
from typing import Tuple

from PIL import Image, ImageDraw, ImageFilter, ImageStat


def noise_grid(rng: random.Random, gw: int, gh: int, w: int, h: int,
               resample=Image.BICUBIC) -> Image.Image:
    """A gw x gh grid of random grey levels, resized to w x h (one octave)."""
    small = Image.frombytes("L", (gw, gh), rng.randbytes(gw * gh))
    return small.resize((w, h), resample)


def normalise(img: Image.Image, mean: float, std: float) -> Image.Image:
    """Map an L image linearly to the given mean and standard deviation (clipped)."""
    st = ImageStat.Stat(img)
    m0, s0 = st.mean[0], max(1e-3, st.stddev[0])
    k = std / s0
    return img.point([max(0, min(255, int(round(mean + (v - m0) * k)))) for v in range(256)])


def fractal(rng: random.Random, w: int, h: int, *, cells: Tuple[int, int] = (4, 3),
            octaves: int = 5, persistence: float = 0.55, mean: float = 128,
            std: float = 30) -> Image.Image:
    """Value-noise fractal: `octaves` grids doubling in resolution from `cells`, each
    weighted `persistence` times the previous one, normalised to mean/std."""
    acc = None
    total = 0.0
    amp = 1.0
    gw, gh = cells
    for _ in range(octaves):
        layer = noise_grid(rng, min(gw, 256), min(gh, 192), w, h)
        total += amp
        acc = layer if acc is None else Image.blend(acc, layer, amp / total)
        amp *= persistence
        gw, gh = gw * 2, gh * 2
    return normalise(acc, mean, std)


def streaks(rng: random.Random, w: int, h: int, *, vertical: bool = True, mean: float = 100,
            std: float = 20) -> Image.Image:
    """Bark/grass-like texture: noise stretched along one axis."""
    gw, gh = (max(2, w // 3), 6) if vertical else (6, max(2, h // 3))
    return normalise(noise_grid(rng, gw, gh, w, h), mean, std)


class Backdrop:
    """The static view: `image(w, h)` (L, cached per size) and `mean_at(x, y)` (relative
    position -> local grey level of the 160x120 rendering, for camouflaged animals)."""

    def __init__(self, seed: int, *, dark: bool = False) -> None:
        rng = random.Random("backdrop/%d" % seed)
        self.seed = seed
        self.mean = rng.uniform(70, 170) if not dark else rng.uniform(80, 150)
        self.contrast = rng.uniform(10, 42)
        self.rough = rng.uniform(0.35, 0.72)
        self.horizon = rng.uniform(0.2, 0.55)
        self.ground = self.mean + rng.uniform(-45, 25)
        self.sky = rng.random() < 0.3
        self.trunks = [(rng.uniform(-0.02, 1.0), rng.uniform(0.02, 0.12), rng.uniform(0.55, 1.0),
                        rng.uniform(-60, 40), rng.randint(0, 10 ** 6))
                       for _ in range(rng.choice((0, 0, 1, 2, 3, 4)))]
        self.rocks = [(rng.uniform(0, 1), rng.uniform(max(self.horizon, 0.5), 1.0),
                       rng.uniform(0.04, 0.2), rng.uniform(-40, 50))
                      for _ in range(rng.choice((0, 0, 1, 2, 3)))]
        self.grass = rng.choice((0, 0.5, 1.0, 2.0))       # stroke density
        self.litter = rng.choice((0, 40, 120))
        self.foliage = [(rng.uniform(0, 1), rng.uniform(0, 0.9), rng.uniform(0.08, 0.25),
                         rng.uniform(-50, 40)) for _ in range(rng.choice((0, 0, 1, 2, 3)))]
        self.blur = rng.uniform(0.3, 0.9)
        self._cache: dict = {}

    def image(self, w: int, h: int) -> Image.Image:
        img = self._cache.get((w, h))
        if img is None:
            img = self._draw(w, h)
            self._cache[(w, h)] = img
        return img

    def _draw(self, w: int, h: int) -> Image.Image:
        rng = random.Random("backdrop-draw/%d" % self.seed)
        img = fractal(rng, w, h, persistence=self.rough, mean=self.mean, std=self.contrast)
        d = ImageDraw.Draw(img)
        hy = int(self.horizon * h)
        if self.sky:   # a bright gap in the canopy at the top
            sky = fractal(rng, w, max(1, hy // 2), cells=(3, 2), octaves=3, persistence=0.4,
                          mean=min(235, self.mean + 70), std=12)
            img.paste(sky, (0, 0))
        ground = fractal(rng, w, h - hy, cells=(6, 2), persistence=self.rough,
                         mean=max(25, min(220, self.ground)), std=self.contrast * 0.8)
        gmask = Image.new("L", (w, h - hy), 0)
        gd = ImageDraw.Draw(gmask)
        # a wavy horizon line, soft into the base
        pts = [(0, h)] + [(x, rng.uniform(0, 0.08) * h) for x in range(0, w + 8, 8)] + [(w, h)]
        gd.polygon(pts, fill=255)
        img.paste(ground, (0, hy), gmask.filter(ImageFilter.GaussianBlur(1.5)))
        for x, tw, base, shade, ts in self.trunks:
            trng = random.Random(ts)
            x0, x1 = int(x * w), int((x + tw) * w) + 1
            y1 = int(base * h)
            bark = streaks(trng, max(1, x1 - x0), max(1, y1), mean=max(20, min(230, self.mean + shade)),
                           std=self.contrast * 0.7)
            tm = Image.new("L", bark.size, 255)
            img.paste(bark, (x0, 0), tm)
        for x, y, r, shade in self.rocks:
            rx, ry = r * w, r * w * 0.55
            cx, cy = x * w, y * h
            rock = fractal(rng, max(2, int(2 * rx)), max(2, int(2 * ry)), cells=(3, 2), octaves=3,
                           mean=max(20, min(235, self.ground + shade)), std=self.contrast * 0.6)
            m = Image.new("L", rock.size, 0)
            ImageDraw.Draw(m).ellipse([0, 0, rock.size[0] - 1, rock.size[1] - 1], fill=255)
            img.paste(rock, (int(cx - rx), int(cy - ry)), m)
        n = int(self.grass * w * (1 - self.horizon))
        for _ in range(n):
            gx = rng.uniform(0, w)
            gy = rng.uniform(hy, h)
            ln = rng.uniform(0.02, 0.08) * h
            v = int(max(0, min(255, self.ground + rng.gauss(0, self.contrast))))
            d.line([gx, gy, gx + rng.uniform(-0.4, 0.4) * ln, gy - ln], fill=v, width=1)
        for fx, fy, fr, shade in self.foliage:   # bushes: clumps of small leaves
            for _ in range(int(400 * fr)):
                lx = (fx + rng.gauss(0, fr / 2)) * w
                ly = (fy + rng.gauss(0, fr / 3)) * h
                r = rng.uniform(0.8, 2.5) * w / 160
                v = int(max(0, min(255, self.mean + shade + rng.gauss(0, self.contrast))))
                d.ellipse([lx - r, ly - r * 0.6, lx + r, ly + r * 0.6], fill=v)
        for _ in range(self.litter):
            lx, ly = rng.uniform(0, w), rng.uniform(hy, h)
            r = rng.uniform(0.4, 1.6) * w / 160
            v = int(max(0, min(255, self.ground + rng.gauss(0, 1.2 * self.contrast))))
            d.ellipse([lx - r, ly - r * 0.6, lx + r, ly + r * 0.6], fill=v)
        return img.filter(ImageFilter.GaussianBlur(self.blur * w / 160))

    def mean_at(self, x: float, y: float, r: float = 0.06) -> float:
        """Local grey level around (x, y) (relative), on the 160x120 rendering."""
        img = self.image(160, 120)
        box = (max(0, int((x - r) * 160)), max(0, int((y - r) * 120)),
               min(160, int((x + r) * 160) + 1), min(120, int((y + r) * 120) + 1))
        return ImageStat.Stat(img.crop(box)).mean[0]

    def std_at(self, x: float, y: float, r: float = 0.06) -> float:
        img = self.image(160, 120)
        box = (max(0, int((x - r) * 160)), max(0, int((y - r) * 120)),
               min(160, int((x + r) * 160) + 1), min(120, int((y + r) * 120) + 1))
        return ImageStat.Stat(img.crop(box)).stddev[0]
