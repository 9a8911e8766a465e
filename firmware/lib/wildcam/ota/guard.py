"""The health gate for a version on trial, and the periodic update check.

Guarantees: a pending install is confirmed only after it ran `min_run_ms` and the network
answered; without that by `deadline_ms` it is rejected and the board reset, which boots the
confirmed version again (and lets the bootloader undo a pending firmware image).
"""

import asyncio
import time

from wildcam.ota import boot as ota_boot


class Guard:
    """Confirms a pending install after the health gate, or rolls it back.

    While something is pending it feeds the watchdog that boot.py started (a blocked loop
    therefore resets the board, which counts as a failed boot), unless `feed_wdt` is False
    because the App's own progress watchdog (wildcam.manage.health.Watchdog) feeds it. The
    gate passes when the firmware has run `min_run_ms` and the network answered at least once (`note()` from
    the App, or `healthy()` returning True); after `deadline_ms` without that the install
    is rejected and `reset()` called. Once confirmed the watchdog is still fed (an ESP32
    watchdog cannot be stopped)."""

    def __init__(self, updater, log, healthy=None, min_run_ms=120000, deadline_ms=900000,
                 wdt_ms=ota_boot.WDT_MS, feed_ms=5000, safe_mode=False, reset=None,
                 feed_wdt=True, alive=None):
        self.up = updater
        self.log = log
        self.healthy = healthy
        self.min_run_ms = min_run_ms
        self.deadline_ms = deadline_ms
        self.wdt_ms = wdt_ms
        self.feed_ms = feed_ms
        self.safe_mode = safe_mode
        self._reset = reset
        self.feed_wdt = feed_wdt  # False when the App's own watchdog (health.Watchdog) runs
        self.alive = alive  # progress report for the supervisor (sup.beat("ota"))
        self._ok = False
        self._t0 = time.ticks_ms()
        self.watching = False

    def note(self, what="network"):
        """The App saw the network answer (broker round trip, outbox drained, NTP)."""
        self._ok = True

    def may_sleep(self):
        """Deep sleep would end the trial boot early: wait for the verdict."""
        return not self.watching

    def _healthy(self):
        if self._ok:
            return True
        try:
            return bool(self.healthy and self.healthy())
        except Exception:  # noqa: BLE001 - a broken check is a failed check
            return False

    def _do_reset(self):
        if self._reset is not None:
            self._reset()
        else:
            import machine

            machine.reset()

    async def run(self):
        up = self.up
        up.boot_check()
        self.watching = up.pending()
        if not self.watching:
            while True:
                if self.alive is not None:
                    self.alive()
                await asyncio.sleep_ms(self.feed_ms)
        wdt = None
        if self.feed_wdt:
            import machine

            wdt = machine.WDT(timeout=self.wdt_ms)
        if self.safe_mode:
            up.reject("safe mode")
            self._do_reset()
        self.log.info("ota: trial boot; health gate after %d s", self.min_run_ms // 1000)
        while True:
            if wdt is not None:
                wdt.feed()
            if self.alive is not None:
                self.alive()
            if self.watching:
                ran = time.ticks_diff(time.ticks_ms(), self._t0)
                if ran >= self.min_run_ms and self._healthy():
                    up.confirm()
                    self.watching = False
                elif ran >= self.deadline_ms:
                    up.reject("health gate: no network answer in %d s" % (ran // 1000))
                    self._do_reset()
            await asyncio.sleep_ms(self.feed_ms)


POLL_MS = 5000  # how often a due check looks whether the radio is up
RETRY_MS = 900000  # within one boot, a check cut short is tried again after 15 min


async def watch(updater, url, every_ms, ready=None, reboot=None, poll_ms=POLL_MS):
    """The periodic check of a manifest URL. A check is due `every_ms` after the last
    answered one (`updater.due`, kept on flash: a battery board's deep sleeps and power
    cuts do not reset it); while one is due, `ready()` (the radio is up) is looked at every
    `poll_ms`, so whichever wake brings the radio up (sync window, alert, heartbeat) checks
    before the board sleeps again. `updater.wanted` says so to the battery policy (it keeps
    the radio up and the board awake for it). Resets after staging."""
    every_s = every_ms // 1000
    tried = None  # ticks of this boot's last check
    while True:
        due = not updater.pending() and updater.due(every_s) and (
            tried is None or time.ticks_diff(time.ticks_ms(), tried) >= min(every_ms, RETRY_MS))
        updater.wanted = due
        if due and (ready is None or ready()):
            r = await updater.apply(url)
            tried = time.ticks_ms()  # not again this boot before RETRY_MS (clock unset)
            if r.get("reboot"):
                if reboot is not None:
                    reboot()
                else:
                    import machine

                    machine.reset()
            continue
        await asyncio.sleep_ms(poll_ms)
