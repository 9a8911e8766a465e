"""GPIO state of one board. A pin's level is what firmware drives (OUT) or what the outside
world drives (the simulation, e.g. the PIR sensor), else its pull resistor.

Pad hold (ESP32 `gpio_hold_en`, MicroPython `Pin(..., hold=True)`; docs/FIDELITY.md): a
held pad keeps the direction, pull and output level it had when the hold was set, whatever
the firmware writes afterwards; the hold survives every reset but a power loss (ESP-IDF:
"Power down or call gpio_hold_dis will disable this function"), and wake from deep sleep
("the pin configuration - including the pad hold - will be retained on wake", MicroPython
esp32 quickref). In deep sleep a held RTC GPIO keeps its level; a held digital (non-RTC)
GPIO only when `esp32.gpio_deep_sleep_hold(True)` was called; any other pad floats."""
from __future__ import annotations

from typing import Callable, Dict, Optional

IN = 1
OUT = 3
OPEN_DRAIN = 7
PULL_DOWN = 1
PULL_UP = 2
IRQ_RISING = 1
IRQ_FALLING = 2
# ESP32 pins routed to the RTC domain in deep sleep (MicroPython esp32 quickref, "Deep-sleep
# mode": 0, 2, 4, 12-15, 25-27, 32-39); 34-39 are input only, where hold does nothing
# (machine_pin.c: the pad hold is set only when GPIO_IS_VALID_OUTPUT_GPIO).
RTC_GPIOS = frozenset((0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 39))
INPUT_ONLY = frozenset((34, 35, 36, 37, 38, 39))


class PinState:
    def __init__(self, gpio: int) -> None:
        self.gpio = gpio
        self.driven: Optional[int] = None   # level forced from outside (kept across boots)
        self.held: Optional[tuple] = None   # (mode, pull, out) frozen by a pad hold
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

    def power_loss(self) -> None:
        self.held = None
        self.reset()

    def set_hold(self, on: bool) -> None:
        """hold=False applies the configuration written meanwhile and releases the pad;
        hold=True does the same and freezes the pad again (machine_pin.c)."""
        self.held = (self.mode, self.pull, self.out) if on else None

    def _pad(self) -> tuple:
        return self.held if self.held is not None else (self.mode, self.pull, self.out)

    def level(self) -> int:
        mode, pull, out = self._pad()
        if mode == OUT:
            return out
        if mode == OPEN_DRAIN and out == 0:
            return 0
        if self.driven is not None:
            return self.driven
        return 1 if pull == PULL_UP else 0

    def sleep_level(self, deep_sleep_hold: bool) -> Optional[int]:
        """The level this pad drives in deep sleep, or None when it floats."""
        if self.held is None or not (self.gpio in RTC_GPIOS or deep_sleep_hold):
            return None
        mode, pull, out = self.held
        if mode in (OUT, OPEN_DRAIN):
            return out if mode == OUT or out == 0 else None
        return None


class PinBank:
    def __init__(self) -> None:
        self.pins: Dict[int, PinState] = {}

    def get(self, gpio: int) -> PinState:
        st = self.pins.get(gpio)
        if st is None:
            st = self.pins[gpio] = PinState(gpio)
        return st

    def reset(self, power_loss: bool = False) -> None:
        """A new boot: registers to their defaults; pad holds stay unless power was lost."""
        for st in self.pins.values():
            st.power_loss() if power_loss else st.reset()
