"""Simulated `ntptime`: sets the board RTC to the true world time, only when the board's
WLAN is connected (else OSError(ETIMEDOUT), as a failed UDP exchange)."""
from host_sim import constants as _C
from host_sim.context import get_board as _board

host = "pool.ntp.org"
timeout = 1


def time():
    """Unix seconds (UTC) from the 'server'."""
    b = _board()
    if not b.sta.isconnected(b.now):
        b.sim.clock.advance(timeout)
        raise OSError(_C.ETIMEDOUT, "ETIMEDOUT")
    b.sim.clock.advance(0.05)
    return int(b.wall())


def settime():
    b = _board()
    time()
    b.rtc.set_unix(b.wall())  # NTP carries sub-second time
    b.counters["ntp_sync"] += 1
