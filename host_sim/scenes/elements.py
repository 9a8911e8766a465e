"""Things that happen in front of the camera. Each element has an interval (start, end)
and a kind, and can draw itself, dim the scene, trigger the PIR and report a truth box.
Positions are relative to the view (0..1); times are seconds since the simulation start."""
from __future__ import annotations

import math
import random
from typing import List, Optional, Tuple

Box = Tuple[float, float, float, float]


class Element:
    kind = "element"
    start = 0.0
    end = 0.0

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def brightness(self, t: float) -> float:
        return 1.0

    def draw(self, draw, t: float, w: int, h: int) -> None:
        pass

    def box(self, t: float) -> Optional[Box]:
        return None

    def pir_intervals(self) -> List[Tuple[float, float]]:
        return []


class Animal(Element):
    """A warm, dark, animal-shaped blob (body + head + legs) crossing the view at constant
    speed. PIR is high exactly while any part of it is in view."""
    kind = "animal"

    def __init__(self, start: float, *, size: float = 0.25, speed: float = 0.15,
                 y: float = 0.55, direction: int = 1, shade: int = 30, aspect: float = 0.6):
        self.start = float(start)
        self.size, self.speed, self.y = size, speed, y
        self.direction = 1 if direction >= 0 else -1
        self.shade = shade
        self.height = size * aspect
        self.end = self.start + (1.0 + size) / speed

    def _x(self, t: float) -> float:
        d = self.speed * (t - self.start)
        return -self.size + d if self.direction > 0 else 1.0 - d

    def box(self, t: float) -> Optional[Box]:
        if not self.active(t):
            return None
        x0, x1 = self._x(t), self._x(t) + self.size
        y0 = self.y - self.height / 2
        cx0, cx1 = max(0.0, x0), min(1.0, x1)
        cy0, cy1 = max(0.0, y0), min(1.0, y0 + self.height)
        if cx1 <= cx0 or cy1 <= cy0:
            return None
        return (cx0, cy0, cx1 - cx0, cy1 - cy0)

    def draw(self, draw, t: float, w: int, h: int) -> None:
        if not self.active(t):
            return
        x0 = self._x(t) * w
        bw, bh = self.size * w, self.height * h
        y0 = self.y * h - bh / 2
        # body in the back 75 % of the box, head at the front, legs below the body
        body_x0 = x0 + (0.0 if self.direction > 0 else 0.25 * bw)
        draw.ellipse([body_x0, y0 + 0.2 * bh, body_x0 + 0.75 * bw, y0 + 0.8 * bh],
                     fill=self.shade)
        hx0 = x0 + (0.68 * bw if self.direction > 0 else 0.0)
        draw.ellipse([hx0, y0, hx0 + 0.32 * bw, y0 + 0.45 * bh], fill=self.shade)
        for k in (0.15, 0.55):
            lx = body_x0 + k * bw
            draw.rectangle([lx, y0 + 0.7 * bh, lx + 0.06 * bw, y0 + bh], fill=self.shade)

    def pir_intervals(self):
        return [(self.start, self.end)]


class Wind(Element):
    """Branches swaying in from the top of the view; the PIR sees occasional false pulses
    (warm air moving with the vegetation), `false_pir_per_hour` on average."""
    kind = "wind"

    def __init__(self, start: float, end: float, *, strength: float = 0.5, branches: int = 3,
                 false_pir_per_hour: float = 6.0, pulse_s: float = 2.0, seed: int = 0):
        self.start, self.end = float(start), float(end)
        self.strength = strength
        rng = random.Random(seed * 7919 + 17)
        self._branches = [(rng.uniform(0.05, 0.95), rng.uniform(0.3, 0.6),
                           rng.uniform(0.3, 1.2), rng.uniform(0, 6.28), rng.randint(40, 80))
                          for _ in range(branches)]
        self._pulses = []
        t = self.start
        rate = false_pir_per_hour / 3600.0
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= self.end:
                break
            self._pulses.append((t, min(self.end, t + pulse_s)))

    def draw(self, draw, t: float, w: int, h: int) -> None:
        if not self.active(t):
            return
        for x, length, freq, phase, shade in self._branches:
            ang = self.strength * 0.6 * math.sin(2 * math.pi * freq * t + phase)
            x0, y0 = x * w, 0
            x1 = x0 + math.sin(ang) * length * h
            y1 = math.cos(ang) * length * h
            draw.line([x0, y0, x1, y1], fill=shade, width=max(1, w // 40))
            draw.ellipse([x1 - w * 0.06, y1 - h * 0.05, x1 + w * 0.06, y1 + h * 0.05],
                         fill=shade)

    def pir_intervals(self):
        return list(self._pulses)


class Light(Element):
    """Sun behind passing clouds: global brightness dips by up to `depth`, smoothly,
    with period `period` seconds. No PIR effect."""
    kind = "light"

    def __init__(self, start: float, end: float, *, depth: float = 0.5, period: float = 60.0):
        self.start, self.end = float(start), float(end)
        self.depth, self.period = depth, period

    def brightness(self, t: float) -> float:
        if not self.active(t):
            return 1.0
        phase = (t - self.start) / self.period
        return 1.0 - self.depth * (0.5 - 0.5 * math.cos(2 * math.pi * phase))
