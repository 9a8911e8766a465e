"""The board's real-time clock: calendar time that runs on the world clock (optionally with
drift), plus 2048 bytes of RTC memory. Both survive deep sleep, soft and WDT resets; a
power cut resets the time to 2000-01-01 00:00:00 and clears the memory."""
from __future__ import annotations

import datetime as _dt

from ..constants import RTC_POWERON_UNIX

MEMORY_MAX = 2048
_UTC = _dt.timezone.utc


class RtcModel:
    def __init__(self, clock, drift_ppm: float = 0.0) -> None:
        self.clock = clock
        self.drift_ppm = drift_ppm
        self.memory = b""
        self.power_on()

    def power_on(self) -> None:
        self._base = float(RTC_POWERON_UNIX)
        self._at = self.clock.now
        self.memory = b""

    def unix(self) -> float:
        """Seconds since 1970 that this board's RTC shows now."""
        return self._base + (self.clock.now - self._at) * (1.0 + self.drift_ppm * 1e-6)

    def set_unix(self, ts: float) -> None:
        self._base = float(ts)
        self._at = self.clock.now

    def datetime(self) -> tuple:
        """(year, month, day, weekday 0=Monday, hours, minutes, seconds, microseconds)."""
        ts = self.unix()
        d = _dt.datetime.fromtimestamp(ts, _UTC)
        return (d.year, d.month, d.day, d.weekday(), d.hour, d.minute, d.second, d.microsecond)

    def set_datetime(self, dt: tuple) -> None:
        y, mo, d = dt[0], dt[1], dt[2]
        h, mi, s = (dt[4], dt[5], dt[6]) if len(dt) > 6 else (0, 0, 0)
        sub = dt[7] if len(dt) > 7 else 0
        ts = _dt.datetime(y, mo, d, h, mi, s, tzinfo=_UTC).timestamp()
        self.set_unix(ts + sub / 1_000_000)

    def set_memory(self, data) -> None:
        data = bytes(data)
        if len(data) > MEMORY_MAX:
            raise ValueError("buffer too long")
        self.memory = data
