"""GPIO state of one board. A pin's level is what firmware drives (OUT) or what the outside
world drives (the simulation, e.g. the PIR sensor), else its pull resistor."""
from __future__ import annotations

from typing import Callable, Dict, Optional

IN = 1
OUT = 3
OPEN_DRAIN = 7
PULL_DOWN = 1
PULL_UP = 2
IRQ_RISING = 1
IRQ_FALLING = 2


class PinState:
    def __init__(self, gpio: int) -> None:
        self.gpio = gpio
        self.driven: Optional[int] = None   # level forced from outside (kept across boots)
        self.reset()

    def reset(self) -> None:
        """Power-on state of the firmware-controlled part."""
        self.mode: Optional[int] = None
        self.pull: Optional[int] = None
        self.out = 0
        self.handler: Optional[Callable] = None
        self.trigger = 0
        self.pin_obj = None
        self.irq_count = 0

    def level(self) -> int:
        if self.mode == OUT:
            return self.out
        if self.mode == OPEN_DRAIN and self.out == 0:
            return 0
        if self.driven is not None:
            return self.driven
        return 1 if self.pull == PULL_UP else 0


class PinBank:
    def __init__(self) -> None:
        self.pins: Dict[int, PinState] = {}

    def get(self, gpio: int) -> PinState:
        st = self.pins.get(gpio)
        if st is None:
            st = self.pins[gpio] = PinState(gpio)
        return st

    def reset(self) -> None:
        for st in self.pins.values():
            st.reset()
