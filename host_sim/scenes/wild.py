"""WildScene: the evaluation scenes' view (host_sim.evalset), deterministic from its parts.

    scene = WildScene(Backdrop(seed), animals=[Creature(...)], foliage=[Foliage(...)],
                      occluders=[Occluder(...)], lights=[Drift(...), SunBurst(...)],
                      nearlens=[Leaf(...)], brightness=0.7, noise=3.0, lamp=IRLamp())
    frame = scene.render(t, 160, 120, ir=True)     # w*h grey levels
    scene.truth(t)                                  # visible animal boxes (relative)

Same interface as `base.Scene` (render, truth, pir, next_pir_change, events, level), so a
simulated board can look at one too. Render order: backdrop, swaying foliage, animals,
foreground occluders; then light (ambient brightness x every light element's gain and
field, plus the IR lamp when on); then near-lens objects (lit by themselves), eye-shine,
sensor noise. Truth boxes are the visible animal pixels (half coverage or more, occluders
subtracted), from the same drawing code, never from a detector.
"""
from __future__ import annotations

import bisect
import random
from typing import Iterable, List, Optional

from PIL import Image, ImageChops, ImageDraw, ImageMath

from .base import _merge
from .creature import visible_boxes


class WildScene:
    def __init__(self, backdrop, *, animals: Iterable = (), foliage: Iterable = (),
                 occluders: Iterable = (), lights: Iterable = (), nearlens: Iterable = (),
                 brightness: float = 0.7, noise: float = 2.0, lamp=None,
                 pir_pulses: Iterable = (), seed: int = 0) -> None:
        self.backdrop = backdrop
        self.animals = list(animals)
        self.foliage = list(foliage)
        self.occluders = list(occluders)
        self.lights = list(lights)
        self.nearlens = list(nearlens)
        self.brightness, self.noise, self.lamp = brightness, noise, lamp
        self.ir_level = lamp.level if lamp is not None else None
        self.seed = seed
        pir = [iv for el in self.animals + self.foliage for iv in el.pir_intervals()]
        pir.extend(pir_pulses)
        self._pir = _merge(pir)
        self._edges = [x for iv in self._pir for x in iv]
        self._last = None

    # --- truth and PIR ------------------------------------------------------------------
    @property
    def events(self):
        return sorted((e.start, e.end, e.kind) for e in self.animals + self.foliage)

    def pir(self, t: float) -> bool:
        return bisect.bisect_right(self._edges, t) % 2 == 1

    def next_pir_change(self, t: float) -> Optional[float]:
        i = bisect.bisect_right(self._edges, t)
        return self._edges[i] if i < len(self._edges) else None

    def level(self, t: float, ir: float = 0.0) -> float:
        b = self.brightness
        for li in self.lights:
            b *= li.gain(t)
        if ir and self.lamp is not None:
            b += self.lamp.level * float(ir)  # ir: the LED's share of full light
        return max(0.0, min(1.0, b))

    def _sprites(self, t: float, w: int, h: int):
        key = (t, w, h)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        sp = [a.sprite(t, w, h) for a in self.animals]
        self._last = (key, sp)
        return sp

    def masks(self, t: float, w: int, h: int) -> List[Image.Image]:
        """Full-frame visible mask (L) of every animal in view at t."""
        out = []
        for s in self._sprites(t, w, h):
            if s is None:
                continue
            m = Image.new("L", (w, h), 0)
            m.paste(s[1], s[2])
            for o in self.occluders:
                fill, om, pos = o.image(w, h)
                hole = Image.new("L", (w, h), 0)
                hole.paste(om, pos)
                m = ImageChops.subtract(m, hole)
            out.append(m)
        return out

    def truth(self, t: float, w: int = 160, h: int = 120):
        """Relative boxes (x, y, w, h) of the visible part of each animal at t."""
        return visible_boxes(self.masks(t, w, h), w, h)

    # --- rendering -----------------------------------------------------------------------
    def render(self, t: float, w: int, h: int, ir: float = 0.0) -> bytes:
        """`ir`: the LED's share of full light over the exposure (0..1; bool as 0/1)."""
        share = float(ir)
        img = self.backdrop.image(w, h).copy()
        for f in self.foliage:
            f.draw(img, t, w, h)
        sprites = self._sprites(t, w, h)
        for s in sprites:
            if s is not None:
                img.paste(s[0], s[2], s[1])
        for o in self.occluders:
            fill, om, pos = o.image(w, h)
            img.paste(fill, pos, om)
        g = self.brightness / 0.7
        for li in self.lights:
            g *= li.gain(t)
        field = None
        for li in self.lights:
            fi = li.field(t, w, h)
            if fi is not None:
                field = fi if field is None else ImageMath.lambda_eval(
                    lambda e: e["a"] * e["b"], a=field, b=fi)
        lamp = self.lamp.field(w, h) if (ir and self.lamp is not None) else None
        k = 1.0 / 0.7
        kl = k * share  # the lamp's light scales with the LED's share
        if field is None and lamp is None:
            out = img.convert("F").point(lambda v: v * g)
        elif lamp is None:
            out = ImageMath.lambda_eval(lambda e: e["i"] * e["f"] * g, i=img.convert("F"), f=field)
        elif field is None:
            out = ImageMath.lambda_eval(lambda e: e["i"] * (e["l"] * kl + g),
                                        i=img.convert("F"), l=lamp)
        else:
            out = ImageMath.lambda_eval(lambda e: e["i"] * (e["f"] * g + e["l"] * kl),
                                        i=img.convert("F"), f=field, l=lamp)
        for n in self.nearlens:
            out = n.composite(out, t, w, h)
        if ir and self.lamp is not None:
            self._eyes(out, sprites, w, h, 250.0 * share)
        amp = self.noise * (1.0 - 0.5 * share) if (ir and self.lamp is not None) else self.noise
        if amp > 0:
            rng = random.Random(self.seed * 1_000_003 + int(round(t * 1000)))
            nz = Image.frombytes("L", (w, h), rng.randbytes(w * h)).convert("F")
            out = ImageMath.lambda_eval(lambda e: e["i"] + (e["n"] - 127.5) * (amp / 127.5),
                                        i=out, n=nz)
        return out.convert("L").tobytes()

    def _eyes(self, out: Image.Image, sprites, w: int, h: int, fill: float = 250.0) -> None:
        """Eye-shine: the IR LED reflected by the eyes, bright dots on the head."""
        d = ImageDraw.Draw(out)
        for s in sprites:
            if s is None:
                continue
            for ex, ey in s[3]:
                r = s[4]
                d.ellipse([ex - r, ey - r, ex + r, ey + r], fill=fill)
