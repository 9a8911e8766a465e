"""Deterministic synthetic scenes for the simulated camera and PIR (see base.Scene)."""
from .base import Scene
from .elements import Animal, Element, Light, Wind
from .kinds import Schedule, animal, daylight, empty, light, night, wind

__all__ = ["Scene", "Element", "Animal", "Wind", "Light", "Schedule", "animal", "wind",
           "light", "night", "empty", "daylight"]
