"""The WiFi link: keeps the station connected, sets the clock, and judges link quality.

Guarantees:
- `run()` never blocks the loop for longer than one WLAN poll: connecting is polled every
  `POLL_MS`, gives up after `wifi.connect_timeout_s`, and retries with full-jitter backoff
  (2 s doubling up to 5 min), so a missing access point costs little battery and no task.
- The clock is set from NTP after each (re)connection when it is unset or older than
  `NTP_EVERY_S`; failures are logged and retried at the next connection.
- `poor()` / `slow()` combine RSSI with the throughput measured on recent uploads
  (exponentially weighted), so the sync engine can defer large uploads on a bad link.
"""

import asyncio
import time

from wildcam.core import clock
from wildcam.core.retry import full_jitter

POLL_MS = 250
CHECK_MS = 5000
NTP_EVERY_S = 6 * 3600
POOR_RSSI = -80
SLOW_BPS = 20000


class Link:
    def __init__(self, ssid, password, log, timeout_s=20, ntp_host=None, on_up=None,
                 wlan=None):
        self.ssid = ssid
        self.password = password
        self.log = log
        self.timeout_ms = timeout_s * 1000
        self.ntp_host = ntp_host
        self.on_up = on_up  # called after each successful connection
        self._wlan = wlan
        self.bps = None  # measured upload throughput (bytes/s), EWMA
        self.connects = 0
        self.failures = 0
        self.last_ntp = None
        self.last_error = None
        self.alive = lambda: None  # progress report for the watchdog (set by the App)
        self.want = None  # () -> False while the radio should stay off (battery policy)

    def wlan(self):
        if self._wlan is None:
            import network

            self._wlan = network.WLAN(network.STA_IF)
        return self._wlan

    def up(self):
        try:
            return self.wlan().isconnected()
        except OSError:
            return False

    def rssi(self):
        try:
            return self.wlan().status("rssi") if self.up() else None
        except (OSError, ValueError, TypeError):
            return None

    def slow(self):
        return self.bps is not None and self.bps < SLOW_BPS

    def poor(self):
        r = self.rssi()
        return (r is not None and r < POOR_RSSI) or self.slow()

    def note(self, nbytes, ms):
        """Record an upload of `nbytes` that took `ms` (feeds poor()/slow())."""
        if nbytes < 1024 or ms <= 0:
            return
        sample = nbytes * 1000 // ms
        self.bps = sample if self.bps is None else (self.bps * 3 + sample) // 4

    async def connect(self):
        """One connection attempt; True when connected within the timeout."""
        w = self.wlan()
        w.active(True)
        if w.isconnected():
            return True
        try:
            w.connect(self.ssid, self.password)
        except OSError as e:
            self.last_error = "connect: %s" % e
            return False
        start = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), start) < self.timeout_ms:
            await asyncio.sleep_ms(POLL_MS)
            if w.isconnected():
                return True
        self.last_error = "no connection after %d s (status %s)" % (
            self.timeout_ms // 1000, w.status())
        try:
            w.disconnect()
        except OSError:
            pass
        return False

    def sync_clock(self):
        """Set the RTC from NTP (blocking, bounded by ntptime's own socket timeout)."""
        try:
            import ntptime

            if self.ntp_host:
                ntptime.host = self.ntp_host
            ntptime.settime()
            self.last_ntp = clock.now()
            self.log.info("clock set by NTP: %s", clock.iso(self.last_ntp))
            return True
        except Exception as e:  # noqa: BLE001 - OSError/timeout/DNS: try again later
            self.log.warning("NTP failed: %s", e)
            return False

    def _clock_due(self):
        now = clock.now()
        return now is None or self.last_ntp is None or now - self.last_ntp > NTP_EVERY_S

    async def run(self):
        """Keep the link up forever (supervised task)."""
        attempt = 0
        while True:
            self.alive()
            if self.want is not None and not self.want():
                self._radio_off()
                await asyncio.sleep_ms(1000)
                continue
            if self.up():
                attempt = 0
                await asyncio.sleep_ms(CHECK_MS)
                continue
            if await self.connect():
                attempt = 0
                self.connects += 1
                self.log.info("WiFi %s up (RSSI %s)", self.ssid, self.rssi())
                if self._clock_due():
                    self.sync_clock()
                if self.on_up:
                    self.on_up()
                continue
            attempt += 1
            self.failures += 1
            delay = 2000 + full_jitter(attempt, 2000, 300000)
            self.log.warning("WiFi %s: %s; next try in %d s", self.ssid, self.last_error,
                             delay // 1000)
            while delay > 0:  # in steps, reporting progress
                await asyncio.sleep_ms(min(delay, CHECK_MS))
                delay -= CHECK_MS
                self.alive()

    def off(self):
        """The radio off now (before deep sleep)."""
        self._radio_off()

    def _radio_off(self):
        try:
            w = self.wlan()
            if w.active():
                w.disconnect()
                w.active(False)
        except OSError:
            pass

    def stats(self):
        return {"up": self.up(), "rssi": self.rssi(), "bps": self.bps,
                "connects": self.connects, "failures": self.failures,
                "last_error": self.last_error}
