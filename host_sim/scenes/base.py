"""Scene: a deterministic synthetic view (seeded background + elements + brightness +
sensor noise) rendered as grayscale bytes of any size with Pillow.

Guarantees: the same (seed, elements, t, w, h, ir) always renders the same bytes; `pir`,
`truth` and `events` come from the generator (never from a detector); `next_pir_change`
lets the board sleep until the PIR output changes instead of polling.
"""
from __future__ import annotations

import bisect
import random
from typing import Callable, List, Optional, Sequence, Union

from .elements import Animal, Element

Level = Union[float, Callable[[float], float]]


def _merge(intervals):
    out: List[list] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


class Scene:
    """brightness: overall level 0..1 (or a function of t); noise: sensor noise amplitude in
    grey levels (or a function of t); ir_level: brightness floor when the IR/flash LED is on
    (None: the LED makes no difference)."""

    def __init__(self, seed: int = 0, elements: Sequence[Element] = (), *,
                 brightness: Level = 0.7, noise: Level = 2.0,
                 ir_level: Optional[float] = 0.5) -> None:
        self.seed = seed
        self.elements = list(elements)
        self._brightness = brightness
        self._noise = noise
        self.ir_level = ir_level
        self._bg_cache: dict = {}
        pir = []
        for el in self.elements:
            pir.extend(el.pir_intervals())
        self._pir = _merge(pir)
        self._edges = [x for iv in self._pir for x in iv]

    # --- truth ------------------------------------------------------------------------------
    @property
    def events(self):
        """(start, end, kind) of every element, by start time."""
        return sorted((e.start, e.end, e.kind) for e in self.elements)

    def truth(self, t: float):
        """Relative boxes (x, y, w, h) of the animals in view at t."""
        return [b for b in (e.box(t) for e in self.elements if isinstance(e, Animal)) if b]

    def pir(self, t: float) -> bool:
        i = bisect.bisect_right(self._edges, t)
        return i % 2 == 1

    def next_pir_change(self, t: float) -> Optional[float]:
        i = bisect.bisect_right(self._edges, t)
        return self._edges[i] if i < len(self._edges) else None

    def level(self, t: float, ir: float = 0.0) -> float:
        """The scene's light at t; `ir`: the LED's share of full light over the exposure
        (0 off, 1 fully on; a PWM duty or a frame lit for part of its exposure in between)."""
        b = self._brightness(t) if callable(self._brightness) else self._brightness
        for e in self.elements:
            b *= e.brightness(t)
        if ir and self.ir_level is not None:
            f = float(ir)
            b = b + f * (max(b, self.ir_level) - b)
        return max(0.0, min(1.0, b))

    # --- rendering ------------------------------------------------------------------------------
    def _background(self, w: int, h: int):
        img = self._bg_cache.get((w, h))
        if img is None:
            from PIL import Image
            rng = random.Random(self.seed)
            gw, gh = 8, 6
            coarse = Image.frombytes("L", (gw, gh), bytes(rng.randint(90, 200)
                                                            for _ in range(gw * gh)))
            img = coarse.resize((w, h), Image.BILINEAR)
            # a ground band in the lower third, darker, like grass/soil
            from PIL import ImageDraw
            ImageDraw.Draw(img).rectangle([0, int(h * 0.78), w, h], fill=rng.randint(60, 90))
            self._bg_cache[(w, h)] = img
        return img

    def render(self, t: float, w: int, h: int, ir: float = 0.0) -> bytes:
        """Grayscale frame (w*h bytes, row-major) at time t; `ir` as in level()."""
        from PIL import Image, ImageChops, ImageDraw
        img = self._background(w, h).copy()
        draw = ImageDraw.Draw(img)
        for e in self.elements:
            if e.active(t):
                e.draw(draw, t, w, h)
        k = self.level(t, ir) / 0.7  # levels are relative to a mid-day background
        img = img.point([min(255, int(v * k)) for v in range(256)])
        amp = self._noise(t) if callable(self._noise) else self._noise
        if ir and self.ir_level is not None:
            amp = amp * (1.0 - 0.5 * float(ir))  # more light, less gain: half the noise
        amp = int(amp)
        if amp > 0:
            rng = random.Random(self.seed * 1_000_003 + int(round(t * 1000)))
            lut = [v * 2 * amp // 255 for v in range(256)]
            noise = Image.frombytes("L", (w, h), rng.randbytes(w * h)).point(lut)
            img = ImageChops.add(img, noise, 1.0, -amp)
        return img.tobytes()
