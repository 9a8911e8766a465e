"""Energy model of an ESP32-CAM board: current by state, integrated over virtual time.

States, each with a configurable current (mA); defaults from published ESP32-CAM
measurements (the BRIEF): deep sleep 4.4 mA on a stock AI-Thinker board (LDO and SD card
pull-ups) or 1.4 mA on a modified one; about 190 mA awake with WiFi; about 440 mA with the
flash LED lit. Awake without the radio is taken as 120 mA (CPU at 240 MHz + camera).

`EnergyModel.account(seconds, state)` adds to per-state time and charge; `report()` gives
mAh per state and the share of each, so a run can say which states dominate.
"""
from __future__ import annotations

STOCK_SLEEP_MA = 4.4
MODIFIED_SLEEP_MA = 1.4

DEFAULT_TABLE = {
    "deep_sleep": STOCK_SLEEP_MA,
    "awake": 120.0,       # CPU + camera, radio off
    "awake_wifi": 190.0,  # radio on
    "flash_led": 250.0,   # added while the flash/IR LED is lit (190 + 250 = 440)
    "off": 0.0,
}


class EnergyModel:
    def __init__(self, table: dict | None = None, *, modified_board: bool = False) -> None:
        self.table = dict(DEFAULT_TABLE)
        if modified_board:
            self.table["deep_sleep"] = MODIFIED_SLEEP_MA
        if table:
            self.table.update(table)
        self.seconds: dict[str, float] = {k: 0.0 for k in self.table}
        self.mah: dict[str, float] = {k: 0.0 for k in self.table}

    def current(self, state: str) -> float:
        return self.table[state]

    def account(self, seconds: float, state: str) -> float:
        """Add `seconds` in `state`; returns the mAh drawn."""
        mah = self.table[state] * seconds / 3600.0
        self.seconds[state] += seconds
        self.mah[state] += mah
        return mah

    @property
    def total_mah(self) -> float:
        return sum(self.mah.values())

    def report(self) -> dict:
        total = self.total_mah or 1.0
        return {"total_mah": round(self.total_mah, 3),
                "by_state": {k: {"seconds": round(self.seconds[k], 1),
                                 "mah": round(self.mah[k], 3),
                                 "share": round(self.mah[k] / total, 3)}
                             for k in sorted(self.table) if self.seconds[k]}}

    def battery_days(self, mah_per_day: float, capacity_mah: float) -> float:
        return capacity_mah / mah_per_day if mah_per_day > 0 else float("inf")
