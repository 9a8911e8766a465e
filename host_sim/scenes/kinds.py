"""Ready-made scenes (all deterministic from `seed`)."""
from __future__ import annotations

import random

from ..constants import DEFAULT_EPOCH
from .base import Scene
from .elements import Animal, Light, Wind


def empty(seed: int = 0) -> Scene:
    """Nothing happens: static daylight view, a little sensor noise."""
    return Scene(seed)


def animal(seed: int = 0, *, start: float = 5.0, size: float = 0.25, speed: float = 0.15,
           count: int = 1, every: float = 600.0, direction: int = 1, y: float = 0.55) -> Scene:
    """`count` animals crossing the view, the first at `start`, then every `every` s."""
    els = [Animal(start + i * every, size=size, speed=speed, y=y,
                  direction=direction if i % 2 == 0 else -direction) for i in range(count)]
    return Scene(seed, els)


def wind(seed: int = 0, *, start: float = 0.0, duration: float = 3600.0,
         strength: float = 0.6, false_pir_per_hour: float = 6.0) -> Scene:
    """Swaying vegetation with occasional false PIR pulses; no animal."""
    return Scene(seed, [Wind(start, start + duration, strength=strength,
                             false_pir_per_hour=false_pir_per_hour, seed=seed)])


def light(seed: int = 0, *, start: float = 0.0, duration: float = 3600.0,
          depth: float = 0.5, period: float = 60.0) -> Scene:
    """Sun behind clouds: global brightness changes only; PIR stays low."""
    return Scene(seed, [Light(start, start + duration, depth=depth, period=period)])


def night(seed: int = 0, *, animals=()) -> Scene:
    """Dark view with strong sensor noise; the IR/flash LED lifts it. `animals`: Animal
    elements to add."""
    return Scene(seed, list(animals), brightness=0.06, noise=14.0, ir_level=0.45)


def daylight(epoch: float = DEFAULT_EPOCH):
    """Brightness by time of day (UTC hours): night 0.05, day 0.7, one-hour ramps at 6
    and 20 o'clock."""
    def level(t: float) -> float:
        hour = ((epoch + t) % 86400) / 3600.0
        if 6.0 <= hour < 20.0:
            ramp = min(1.0, hour - 6.0, 20.0 - hour)
        else:
            ramp = 0.0
        return 0.05 + 0.65 * ramp
    return level


class Schedule(Scene):
    """A day (or `days`) of mixed events: animals at random times (more at dusk/dawn),
    wind periods with false PIR pulses, cloud periods; day/night brightness by time of day.
    Sensor noise rises in the dark."""

    def __init__(self, seed: int = 0, *, epoch: float = DEFAULT_EPOCH, days: float = 1.0,
                 animals_per_day: int = 8, wind_periods: int = 3, cloud_periods: int = 3):
        rng = random.Random(seed)
        span = days * 86400.0
        els = []
        for _ in range(int(animals_per_day * days)):
            els.append(Animal(rng.uniform(0, span - 120), size=rng.uniform(0.12, 0.4),
                              speed=rng.uniform(0.05, 0.3), y=rng.uniform(0.4, 0.7),
                              direction=rng.choice((1, -1)), shade=rng.randint(20, 45)))
        for _ in range(int(wind_periods * days)):
            s = rng.uniform(0, span - 3600)
            els.append(Wind(s, s + rng.uniform(900, 3600), strength=rng.uniform(0.3, 0.9),
                            false_pir_per_hour=rng.uniform(2, 10), seed=rng.randint(0, 10**6)))
        for _ in range(int(cloud_periods * days)):
            s = rng.uniform(0, span - 3600)
            els.append(Light(s, s + rng.uniform(600, 3600), depth=rng.uniform(0.2, 0.6),
                             period=rng.uniform(30, 300)))
        day = daylight(epoch)
        super().__init__(seed, els, brightness=day,
                         noise=lambda t: 2.0 + 12.0 * (1.0 - min(1.0, day(t) / 0.7)),
                         ir_level=0.45)
        self.epoch = epoch
        self.days = days
