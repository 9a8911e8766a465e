"""A simple battery: charge drawn by state (awake, WiFi, deep sleep), voltage from charge,
seen through a resistor divider on an ADC pin. Good enough for 'falls with use'; the energy
model of the power issue replaces the currents."""
from __future__ import annotations


class Battery:
    def __init__(self, capacity_mah: float = 2500.0, soc: float = 1.0, *,
                 awake_ma: float = 120.0, wifi_ma: float = 90.0, sleep_ma: float = 0.2,
                 v_full: float = 4.2, v_empty: float = 3.2, divider: float = 0.5) -> None:
        self.capacity_mah = capacity_mah
        self.soc = soc
        self.awake_ma = awake_ma
        self.wifi_ma = wifi_ma
        self.sleep_ma = sleep_ma
        self.v_full = v_full
        self.v_empty = v_empty
        self.divider = divider
        self.used_mah = 0.0

    def draw(self, seconds: float, ma: float) -> None:
        self.draw_mah(ma * seconds / 3600.0)

    def draw_mah(self, mah: float) -> None:
        self.used_mah += mah
        self.soc = max(0.0, self.soc - mah / self.capacity_mah)

    def voltage(self) -> float:
        """Cell voltage: linear in charge with a knee near empty."""
        s = self.soc
        v = self.v_empty + (self.v_full - self.v_empty) * s
        if s < 0.1:
            v -= (0.1 - s) * 2.0
        return v

    def pin_voltage(self) -> float:
        return self.voltage() * self.divider
