"""A battery camera that cannot reach its network stops trying until it is worth trying.

Without this, a camera whose access point is gone (out of range, switched off, never there)
keeps its radio on for `power.max_awake_s` at every wake that wants it, and with no clock
(no NTP answer ever) every wake wants it: bench power's standard day without an access
point drew 254 mAh a day instead of 47 (24 days on the pack instead of 119).

Guarantees:
- After `TRIES` failed connect(s) in one wake (`wifi.connect_timeout_s` each) the wake gives
  the radio up, and the radio is held off (RTC memory `rn`: RTC minutes) until the next
  sync window starts (clock known and windows set; a failure inside a window waits for the
  next one) or for `RETRY_MIN` minutes (no clock, or no windows).
- While held, nothing brings the radio up but a version on trial or an update under way
  (the caller's exemption: its gate needs the network); the queue waits on the card, so
  nothing is lost, only later.
- The first connect that succeeds clears the hold. A hold further away than a day and
  `RETRY_MIN` (the clock was set back) is stale: ignored.
"""

from micropython import const

from wildcam.core import clock, windows

TRIES = const(1)
RETRY_MIN = const(360)  # without a window to wait for: 4 tries a day, ~1 mAh each


class RadioHold:
    def __init__(self, rtc, log, spans=None, tz_offset_min=0):
        self._rtc = rtc
        self._log = log
        self._spans = spans
        self._tz = tz_offset_min

    def held(self):
        """True while the radio is held off after a failed wake."""
        until = self._rtc.get("rn")
        if not until:
            return False
        left = until - clock.rtc_seconds() // 60
        return 0 < left <= RETRY_MIN + 1440

    def check(self, link):
        """Called while the board decides whether to stay up: True when this wake gives the
        radio up now (its connect failed); clears the hold once the link is up."""
        if link is None:
            return False
        if link.up():
            if self._rtc.get("rn"):
                self._rtc.set("rn", 0)
            return False
        if link.failures < TRIES:
            return False
        if not self.held():
            self._hold()
        return True

    def _hold(self):
        now = clock.now()
        wait = RETRY_MIN
        if now is not None and self._spans:
            wait = max(1, windows.minutes_to_next_start(self._spans, now, self._tz))
        self._rtc.set("rn", clock.rtc_seconds() // 60 + wait)
        self._log.warning("network unreachable: radio off for %d min (queue kept)", wait)
