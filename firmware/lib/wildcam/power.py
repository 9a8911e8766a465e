"""Battery operation: when to use the radio, when to sleep, and how to wake up.

`Policy` is pure logic (tested under both interpreters): battery tier from the charge,
active hours, and what each tier allows (heartbeat spacing, burst size, uploads).

`Sleeper` is the supervised task of a battery camera. It puts the board into deep sleep
once nothing is left to do (no capture under way, the sync window drained or closed, at
least `power.awake_s` since the last activity — a finished capture event is not activity:
the board sleeps as soon as it is done — never longer awake than `power.max_awake_s`
unless in maintenance) with:
- a PIR wake (ext0, level high) inside active hours and above the critical tier. During the
  quiet period after an event (`capture.quiet_s`, its end `quiet_until` in RTC seconds in
  RTC memory) the PIR stays armed when its output is low (a PIR edge before `quiet_until`
  is dropped at the wake, before any frame: CaptureService.wake_burst), so no extra wake
  ends the quiet period; while the output is still high (the animal is there: the
  level-triggered wake would come at once) the board first waits for it to fall in light
  sleep (`settle`: quiesced and held as for deep sleep, ext0 on level low, bounded by the
  quiet period left), then re-arms ext0 on high and deep-sleeps as above. No boot ends the
  quiet period; an output still high at its end wakes the board at once (a new event). Only
  a light sleep cut short (the watchdog bounds it to half its timeout) leaves today's
  fallback, a timer wake at the period's end;
- a timer wake for the next heartbeat, sync window or time-lapse image.
Before sleeping it brings the board to its hardware floor (`quiesce`): the camera driver
deinitialised, the camera's power-down pin (preset "pwdn"; GPIO32 on the AI-Thinker, its
CAM_PWR line on a stock board, the sensor's PWDN on the modified one) driven high and the
flash LED pin low, both with the ESP32 pad hold (`core.board.hold_pins`) (`Pin(..., hold=True)`: the level stays
through deep sleep on RTC GPIOs, on others with `esp32.gpio_deep_sleep_hold(True)`, which
the classic ESP32 port has), the SD card unmounted, WiFi off. Forgetting the hold costs
20+ mA asleep (docs/POWER.md). Holds survive the wake: `core.board.release_holds()` runs at boot
before the camera starts (a held PWDN would keep the sensor off).
Before that, `before(seconds)` (the App's) tells the broker it sleeps until when. Before
sleeping it records the boot as clean (so sleeping never looks like a crash loop),
notes when it went to sleep and whether the PIR was armed, saves the RTC state and flushes
the log; `account(now)` at the next boot adds the time asleep to `armed_s` (the camera
could detect) or `blind_s` (timer wake only: not survey effort), which heartbeats report;
a light sleep before it counts from its start, so it is blind, as the quiet period is.
"""

import asyncio
import time

from wildcam.core import clock, windows

NORMAL = "normal"
LOW = "low"
CRITICAL = "critical"
MAX_SLEEP_S = 6 * 3600
MIN_SLEEP_S = 5
MIN_AWAKE_MS = 300


class Policy:
    def __init__(self, low_pct=30, critical_pct=10, active_hours="", tz_offset_min=0):
        self.low_pct = low_pct
        self.critical_pct = critical_pct
        self.active = windows.parse(active_hours)
        self.tz = tz_offset_min

    def tier(self, battery_pct):
        if battery_pct is None:
            return NORMAL  # no battery sensor: behave normally
        if battery_pct < self.critical_pct:
            return CRITICAL
        if battery_pct < self.low_pct:
            return LOW
        return NORMAL

    def is_active(self, now):
        return windows.is_open(self.active, now, self.tz)

    def seconds_to_active(self, now):
        return windows.minutes_to_open(self.active, now, self.tz) * 60

    @staticmethod
    def heartbeat_s(base, tier):
        return base * (16 if tier == CRITICAL else 4 if tier == LOW else 1)

    @staticmethod
    def burst(base, tier):
        return 1 if tier != NORMAL else base

    @staticmethod
    def uploads(tier):
        """"all", "alerts" (low: only alerts use the radio) or "none" (critical)."""
        return "none" if tier == CRITICAL else "alerts" if tier == LOW else "all"

    @staticmethod
    def pir_wake(tier, active):
        return active and tier != CRITICAL


class Sleeper:
    def __init__(self, cfg, policy, rtc, log, logs, boot, busy, draining, pir_pin,
                 next_due=None, deepsleep=None, arm_pir=None, quiesce=None, hold=None,
                 before=None, lightsleep=None):
        self.cfg = cfg
        self.policy = policy
        self.rtc = rtc
        self.log = log
        self.logs = logs
        self.boot = boot
        self._busy = busy  # () -> True while something must keep us awake
        self._draining = draining  # () -> True while uploads are going out
        self.pir_pin = pir_pin
        self._next_due = next_due  # () -> seconds until the next timed job, or None
        self._deepsleep = deepsleep
        self._lightsleep = lightsleep
        self._arm_pir = arm_pir
        self._quiesce = quiesce  # () -> None: camera deinit, SD unmount, WiFi off
        self._hold = hold  # () -> None: power-down pins held (core.board.hold_pins)
        self.tier = NORMAL
        self.maintenance = lambda: False
        self.may_sleep = lambda: True  # OTA: a version on trial must finish its gate first
        self._last = None  # no activity yet: a timer wake with nothing to do sleeps at once
        self.last_event_ms = None
        self._before = before  # async (seconds) -> None: say so before sleeping
        self._nudge = asyncio.Event()

    def activity(self):
        """Something happened: stay awake `power.awake_s` longer."""
        self._last = time.ticks_ms()

    def event_done(self):
        """A capture event ended: its images are on the card and its records queued. That
        is no reason to stay up (`power.awake_s` is for other activity): a queue that wants
        the radio keeps the board up through `draining`; otherwise it sleeps at once."""
        self.last_event_ms = time.ticks_ms()
        self.rtc.set("quiet_until", clock.rtc_seconds() + self.cfg.get("capture.quiet_s"))
        self._nudge.set()  # look now, not at the next poll

    def _pir_high(self):
        """The PIR's output now (True when it cannot be read: then no PIR wake is armed)."""
        try:
            import machine

            return machine.Pin(self.pir_pin, machine.Pin.IN).value() == 1
        except Exception:  # noqa: BLE001 - no pin to read: the cautious answer
            return True

    def quiet_left(self):
        """Seconds of the quiet period after the last event still to come (0: none; a
        `quiet_until` further away than `capture.quiet_s` is from a clock set back: none)."""
        quiet_s = self.cfg.get("capture.quiet_s")
        left = self.rtc.get("quiet_until") - clock.rtc_seconds()
        if left > quiet_s:
            left = 0
        if self.last_event_ms is not None:
            ms = quiet_s * 1000 - time.ticks_diff(
                time.ticks_ms(), self.last_event_ms)
            left = max(left, (ms + 999) // 1000)
        return left if left > 0 else 0

    def _idle_ms(self):
        if self._last is None:
            return 1 << 30
        return time.ticks_diff(time.ticks_ms(), self._last)

    def ready(self, up_ms):
        """True when it is time to sleep."""
        if self.maintenance() or self._busy() or not self.may_sleep():
            return False
        if up_ms < MIN_AWAKE_MS:  # let the boot's own jobs (heartbeat, wake trigger) start
            return False
        if self._draining() and up_ms < self.cfg.get("power.max_awake_s") * 1000:
            return False
        return self._idle_ms() >= self.cfg.get("power.awake_s") * 1000

    def plan(self, now):
        """(sleep seconds, wake on PIR?, settle seconds) for a sleep starting at Unix time
        `now` (or None). settle > 0: the PIR output is high in the quiet period, so the sleep
        begins with up to that long in light sleep for it to fall (`sleep`)."""
        due = self._next_due() if self._next_due else None
        secs = MAX_SLEEP_S if due is None else max(MIN_SLEEP_S, min(due, MAX_SLEEP_S))
        active = self.policy.is_active(now)
        pir = self.policy.pir_wake(self.tier, active)
        if not active and now is not None:
            secs = min(secs, max(MIN_SLEEP_S, self.policy.seconds_to_active(now)))
        quiet = self.quiet_left() if pir else 0
        settle = 0
        if quiet and self._pir_high():  # a level-triggered PIR would wake us at once
            # the watchdog keeps counting (it is not fed asleep): half its timeout at most
            room = (self.cfg.get("watchdog.timeout_s") or 60) // 2
            settle = max(1, min(quiet, secs, room))
        return secs, pir, settle

    async def run(self):
        """Sleep when ready (supervised task of a battery camera)."""
        started = time.ticks_ms()
        while True:
            try:  # every 500 ms, or at once when an event ends
                await asyncio.wait_for_ms(self._nudge.wait(), 500)
            except asyncio.TimeoutError:
                pass
            self._nudge.clear()
            if not self.ready(time.ticks_diff(time.ticks_ms(), started)):
                continue
            secs, pir, settle = self.plan(clock.now())
            if self._before is not None:
                try:
                    await self._before(secs)
                except Exception as e:  # noqa: BLE001 - telling the broker is not essential
                    self.log.warning("before sleep: %s", e)
                if not self.ready(time.ticks_diff(time.ticks_ms(), started)):
                    continue  # something began meanwhile (a PIR event): not now
            self.sleep(secs, pir, settle)

    def account(self, now=None):
        """At boot: add the last sleep's length to armed_s / blind_s (RTC memory). Measured
        with the RTC's own seconds (`clock.rtc_seconds()`), which run through deep sleep
        whether or not the clock was ever set (a camera on critical battery never gets NTP).
        A PIR-armed sleep that began in an event's quiet period counts that part as blind
        (its triggers are dropped), the rest as armed."""
        now = clock.rtc_seconds() if now is None else now
        at = self.rtc.get("slept_at")
        if not at or now < at:
            return 0
        span = now - at
        blind = span
        if self.rtc.get("slept_pir"):
            blind = min(span, self.cfg.get("capture.quiet_s"),
                        max(0, self.rtc.get("quiet_until") - at))
            self.rtc.set("armed_s", self.rtc.get("armed_s") + span - blind)
        self.rtc.set("blind_s", self.rtc.get("blind_s") + blind)
        self.rtc.set("slept_at", 0)
        return span

    def sleep(self, seconds, pir, settle=0):
        """Deep sleep for `seconds`, the PIR armed when `pir`; with `settle`, first light
        sleep until the PIR output falls (`_settle`). Does not return."""
        import machine

        if self._quiesce is not None:
            try:
                self._quiesce()
            except Exception as e:  # a part that will not stop must not keep us awake
                self.log.warning("before sleep: %s", e)
        at = max(1, clock.rtc_seconds())  # a light sleep first is part of this sleep
        if pir and settle:
            try:
                seconds, pir = self._settle(seconds, settle)
            except Exception as e:  # noqa: BLE001 - no light sleep: today's timer wake
                self.log.warning("light sleep: %s", e)
                pir = False
            if not pir:  # still high in the quiet period: a timer wake at its end
                seconds = min(seconds, max(MIN_SLEEP_S, self.quiet_left()))
                self._disarm()
        if pir:
            if self._arm_pir is not None:
                self._arm_pir()
            else:
                import esp32

                esp32.wake_on_ext0(machine.Pin(self.pir_pin, machine.Pin.IN),
                                   esp32.WAKEUP_ANY_HIGH)
        self.rtc.set("sleeps", self.rtc.get("sleeps") + 1)
        self.rtc.set("slept_at", at)
        self.rtc.set("slept_pir", 1 if pir else 0)
        self.rtc.save()
        self.boot.mark_stable()  # a planned sleep is a clean end of this boot
        self.log.info("deep sleep %d s (%s wake; battery tier %s)", seconds,
                      "PIR or timer" if pir else "timer", self.tier)
        self.logs.flush()
        if self._hold is not None:
            self._hold()  # last: nothing may drive these pins after the hold
        (self._deepsleep or machine.deepsleep)(seconds * 1000)

    def _settle(self, seconds, settle):
        """Light sleep, the board quiesced and its pins held as for deep sleep, until the PIR
        output falls (ext0 on level low: ports/esp32 modmachine.c enables in lightsleep the
        ext0 wake esp32.wake_on_ext0 set, which serves light and deep sleep) or `settle`
        seconds pass. Returns (deep-sleep seconds left, arm the PIR?): armed unless the
        output is still high inside the quiet period (the watchdog's bound cut it short)."""
        import esp32
        import machine

        self.log.info("light sleep up to %d s: the PIR output is high in the quiet period",
                      settle)
        self.logs.flush()
        if self._hold is not None:
            self._hold()
        t0 = clock.rtc_seconds()
        esp32.wake_on_ext0(machine.Pin(self.pir_pin, machine.Pin.IN), esp32.WAKEUP_ALL_LOW)
        (self._lightsleep or machine.lightsleep)(settle * 1000)
        seconds = max(MIN_SLEEP_S, seconds - max(0, clock.rtc_seconds() - t0))
        return seconds, not (self.quiet_left() and self._pir_high())

    @staticmethod
    def _disarm():
        """No ext0 wake (the light sleep's, on level low, must not end the deep sleep)."""
        try:
            import esp32

            esp32.wake_on_ext0(None, esp32.WAKEUP_ANY_HIGH)
        except Exception:  # noqa: BLE001 - nothing was armed
            pass
