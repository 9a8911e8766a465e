"""From a trigger to images on the SD card: photograph first, judge afterwards.

Triggers: the PIR pin interrupt (the handler only sets a flag), a PIR wake from deep sleep,
the time-lapse schedule, and "capture now" (REPL or remote command). An event is:
1. room check on the SD card (`SdSpace`: delete uploaded images first, or refuse);
2. the flash decision: for a PIR trigger from what is already known (the last ambient level
   when fresh: `capture.judge`; none: the LED lights the burst), never waiting for a frame;
   other triggers take one small grayscale look first (they are not in a hurry);
3. the burst of JPEGs, streamed to the card with EXIF and a sidecar (`capture.store`);
4. for a PIR trigger with a detector configured, the verdict from grayscale frames taken
   after the burst, against the reference background (`capture.judge`): motion keeps the
   burst (its sidecars get the verdict), none drops the trigger: the images are deleted, or
   kept unannounced for review with `detect.rejected` = "keep";
5. announcements (`on_image` per kept image, `on_event` per event) for the outbox.

Guarantees:
- A PIR trigger's first frame is requested before anything else of the event: no look, no
  detection, no flash write before it. On a PIR wake the App calls `wake_burst()` before it
  builds the rest of the firmware (with the first frame already taken when the last sleep
  left a first-shot record: wildcam.capture.first); the verdict and announcements follow in `run()`.
- A burst that was taken is never silently lost: until it is announced (or deleted by the
  verdict) `capture.store` keeps a marker, and the next boot announces what it lists.
- After a PIR event, triggers are ignored for `capture.quiet_s` (counted as suppressed).

Sidecar (`<image>.json`): device, deployment (the id in /deployment.json, when deployed with
one), firmware, file, size, sha256, time (UTC seconds), time_iso, clock, boot, uptime_s,
tz_offset_min, event, trigger, seq/of, ambient, flash, sensors, `verdict` ("motion",
"unchecked": no detector verdict, "rejected": kept for review) and `detection`: the
detector's verdict for the EVENT, made on small grayscale frames taken after the burst
(`frame` names their size), never on a saved image; `det_ms` says how long after this
image the deciding frame was taken. A box in it is where the motion was in that frame.
"""

import asyncio
import time

from wildcam.capture.judge import Judge
from wildcam.capture.store import Store
from wildcam.core import clock
from wildcam.core.rtcstate import in_quiet

THUMB_SIZE = "QQVGA"
IMAGE_ESTIMATE = 100000  # bytes to keep free per image of a burst (VGA JPEG + sidecar)
URGENT = ("pir", "pir-wake", "motion")  # an animal may be passing: photograph at once
LIGHT_EVERY_MS = 1200000  # an awake (mains) camera samples the light this often while idle


class CaptureService:
    def __init__(self, config, storage, cam, log, boot_no, device_id, sensors=None,
                 space=None, detector=None, on_image=None, on_event=None, boot_ms=None):
        self._cfg = config
        self._cam = cam
        self._log = log
        self._boot_no = boot_no
        self.device_id = device_id
        self._sensors = sensors
        self._space = space
        self.store = Store(config, storage, log, boot_no, device_id, boot_ms)
        self.judge = Judge(config, cam, detector, log)
        self._on_image = on_image  # (path, size, sha256 hex, meta) once an image is kept
        self._on_event = on_event  # (meta) once an event is over
        self._flag = asyncio.ThreadSafeFlag()
        self._reason = "pir"
        self._pir = None
        self._led = None
        self._seq = 0
        self._pending = None  # a burst wake_burst() took before the App was built
        self._light_try = None  # ticks of the last idle light sample (awake cameras)
        self._unready = False  # the sensor was left in GRAYSCALE: back to JPEG when idle
        self.alive = lambda: None  # progress report for the watchdog (set by the App)
        self.max_burst = None  # type: int | None  # battery policy may shorten bursts
        self.busy = False  # True from trigger until the event is over
        self.on_done = None  # () after each event (the battery sleeper listens)
        self.on_thumb = None  # (small JPEG bytes, meta) after each event (Home Assistant)
        self.counters = {"triggers": 0, "suppressed": 0, "events": 0, "images": 0,
                         "failures": 0, "rejected": 0, "no_space": 0, "flash": 0,
                         "discarded": 0, "kept_rejected": 0, "recovered": 0}

    @property
    def deployment(self):
        return self.store.deployment

    @deployment.setter
    def deployment(self, value):  # wildcam.manage.health.Deployment (set by the App)
        self.store.deployment = value

    @property
    def reference_store(self):
        return self.judge.store

    @reference_store.setter
    def reference_store(self, value):  # RTC state: the detector's view across deep sleep
        self.judge.store = value

    # --- triggers -------------------------------------------------------------------------
    def _irq(self, pin):
        self.counters["triggers"] += 1
        self.busy = True
        self._flag.set()

    def trigger(self, reason="manual"):
        """Capture as soon as possible (remote command, REPL, wake from deep sleep)."""
        self.counters["triggers"] += 1
        self._reason = reason
        self.busy = True
        self._flag.set()

    def attach_pir(self):
        import machine

        self._pir = machine.Pin(self._cfg.get("pins.pir"), machine.Pin.IN, machine.Pin.PULL_DOWN)
        self._pir.irq(handler=self._irq, trigger=machine.Pin.IRQ_RISING)

    async def wake_burst(self, reason="pir-wake", first=None):
        """The PIR wake: the burst now, before the App builds anything else; `first`: the
        frame the wake took before the service existed (frame, ticks, lit), the burst's
        first image. None when the PIR woke us within the last event's quiet period
        (`quiet_until` in RTC memory: the Sleeper keeps the PIR armed then; such a trigger
        is counted as suppressed)."""
        self.counters["triggers"] += 1
        st = self.reference_store
        if st is not None and in_quiet(st, self._cfg.get("capture.quiet_s")):
            self.counters["suppressed"] += 1  # (the first shot decided the same: no frame)
            self._log.info("PIR wake in the quiet period: ignored")
            return
        self.busy = True
        self._pending = await self._shoot(reason, first)

    async def run(self):
        """Serve triggers forever (supervised task)."""
        if self._pir is None and "pir" in self._cfg.get("capture.mode"):
            self.attach_pir()
        self._recover()
        if self._pending is not None:
            ev, self._pending = self._pending, None
            await self._serve(ev["reason"], ev)
        awake = self._cfg.get("power.mode") != "battery"
        while True:
            if awake:
                await self._idle_light()
            try:
                await asyncio.wait_for_ms(self._flag.wait(), 10000)
            except asyncio.TimeoutError:
                self.alive()  # idle, not hung
                continue
            self.alive()
            reason, self._reason = self._reason, "pir"
            await self._serve(reason)

    async def _idle_light(self):
        """An awake camera keeps a fresh light level (so a PIR burst never waits for one and
        never guesses) and leaves the sensor ready for JPEG; never fatal."""
        t = self._light_try
        if self._cfg.get("capture.flash") == "auto" and \
                (t is None or time.ticks_diff(time.ticks_ms(), t) >= LIGHT_EVERY_MS):
            self._light_try = time.ticks_ms()
            await self.judge.light()
            self._unready = True
        if self._unready:
            self._unready = False
            try:
                await self._cam.ready()
            except Exception as e:  # noqa: BLE001 - the burst retries with a reinit
                self._log.info("camera not ready: %s", e)

    async def _serve(self, reason, ev=None):
        await self.event(reason, ev)
        self._unready = True
        if reason in ("pir", "pir-wake"):
            before = self.counters["triggers"]
            quiet = self._cfg.get("capture.quiet_s")
            while quiet > 0:
                await asyncio.sleep(min(quiet, 10))
                quiet -= 10
                self.alive()
            self.counters["suppressed"] += self.counters["triggers"] - before
            self._flag.clear()  # a trigger during the quiet period is dropped
            self.busy = False

    async def timelapse(self):
        """One image every `capture.timelapse_s` seconds (supervised task; idle when 0)."""
        while True:
            period = self._cfg.get("capture.timelapse_s")
            if not period:
                await asyncio.sleep(3600)
                continue
            await asyncio.sleep(period)
            await self.event("timelapse")

    # --- one event ------------------------------------------------------------------------
    async def event(self, reason, ev=None):
        """Run one capture event (or finish one `wake_burst` took); returns the paths of the
        images kept."""
        self.busy = True
        try:
            if ev is None:
                ev = await self._shoot(reason)
            return await self._finish(ev) if ev is not None else []
        finally:
            self.busy = False
            if self.on_done:
                self.on_done()

    async def _shoot(self, reason, first=None):
        """Room check, the flash decision, the burst; returns the event, not yet announced
        when a verdict must follow (None: no room on the card). With `first` the flash was
        decided when that frame was taken."""
        n = 1 if reason == "timelapse" else self._cfg.get("capture.burst_count")
        if self.max_burst:
            n = min(n, self.max_burst)
        if self._space is not None and not self._space.ensure(n * IMAGE_ESTIMATE):
            self.counters["no_space"] += 1
            return None
        self._seq += 1
        urgent = reason in URGENT
        judged = urgent and self.judge.enabled
        if urgent:
            ambient = self.judge.ambient()
        elif self._cfg.get("capture.flash") == "auto" or self.judge.enabled:
            ambient = await self.judge.refresh()  # not in a hurry: look first
        else:
            ambient = None
        flash = first[2] if first else self.judge.flash_wanted(ambient)
        meta = {"event": "%s-%d-%d" % (self.device_id, self._boot_no, self._seq),
                "trigger": reason, "ambient": ambient, "flash": flash, "detection": None}
        if judged:
            meta["verdict"] = "pending"
        if self._sensors is not None:
            meta.update(self._sensors.snapshot())
        # the LED goes off after the burst: the window lights its own frames (judge.window),
        # after the App is built (the grayscale switch restarts the sensor anyway)
        shots = await self._burst(n, meta, flash, announce=not urgent, first=first)
        return {"reason": reason, "meta": meta, "shots": shots, "flash": flash,
                "judged": judged, "urgent": urgent}

    async def _finish(self, ev):
        """After the burst: the verdict and the light level, then the announcements."""
        meta, shots = ev["meta"], ev["shots"]
        verdict = None
        if ev["judged"] and shots:
            ambient, verdict = await self.judge.window(ev["flash"], self._set_led)
            if ambient is None:
                ambient = await self.judge.light(after_led=True)  # the window was lit
            else:
                self.judge.note_ambient(ambient)
            if verdict is False:
                self._reject(ev)
                return []
        elif ev["urgent"] and shots:
            ambient = await self.judge.light()
        else:
            ambient = None
            if ev["judged"]:
                self._set_led(False)  # lit for a window that had nothing to judge
        if ev["urgent"] and shots:
            self._keep(ev, ambient, verdict)
        self.counters["events"] += 1
        self.counters["last_event"] = clock.now()  # pyright: ignore[reportArgumentType]  # a timestamp among the counts: pyright types the dict from its int literals
        paths = [s[0] for s in shots]
        if self.on_thumb is not None and paths:
            await self._thumb(meta)
        if self._on_event:
            out = dict(meta)
            out["images"] = len(paths)
            out["time"] = clock.now() or 0
            self._on_event(out)
        return paths

    def _keep(self, ev, ambient, verdict):
        """Motion, no verdict, or no detector: the burst stays; its sidecars get what was
        learnt after it (verdict, light level); announce it."""
        meta = ev["meta"]
        change = {}
        if ev["judged"]:
            meta["detection"] = verdict or None
            meta["verdict"] = "motion" if verdict else "unchecked"
            change = {"detection": meta["detection"], "verdict": meta["verdict"]}
        if meta.get("ambient") is None and ambient is not None:
            meta["ambient"] = change["ambient"] = ambient
        decided = self.judge.decided_ms
        for path, size, digest, m, t in ev["shots"]:
            change = dict(change)
            if verdict and decided is not None:
                change["det_ms"] = time.ticks_diff(decided, t)
            m.update(change)
            if change:
                self.store.update_sidecar(path, change)
            if self._on_image:
                self._on_image(path, size, digest, m)
        self.store.clear_pending()

    def _reject(self, ev):
        """No motion: a false trigger. Its images are deleted, or kept for review."""
        self.counters["rejected"] += 1
        keep = self._cfg.get("detect.rejected") == "keep"
        self._log.info("event %s: %s trigger not confirmed by motion (%s): %s",
                       ev["meta"]["event"], ev["reason"], self.judge.reason,
                       "kept for review" if keep else "dropped")
        for path, _, _, _, _ in ev["shots"]:
            if keep:  # the animal may have left before the window: never upload, never lose
                self.store.update_sidecar(path, {"verdict": "rejected", "detection": {
                    "motion": False, "reason": self.judge.reason}})
                self.counters["kept_rejected"] += 1
                if self._space is not None:
                    self._space.note_uploaded(path)  # deletable as uploaded ones are
            else:
                self.store.remove(path)
                self.counters["discarded"] += 1
        self.store.clear_pending()

    def _recover(self):
        """Images an earlier boot photographed but never handed over (a reset between the
        burst and its verdict): announced now, unjudged (the scene has changed since)."""
        for path, size, digest, side in self.store.take_pending():
            side["verdict"] = "unchecked"
            self.store.update_sidecar(path, {"verdict": "unchecked"})
            self.counters["recovered"] += 1
            self._log.warning("image %s of an unfinished event handed over unjudged", path)
            if self._on_image:
                self._on_image(path, size, digest, side)

    async def _thumb(self, meta):
        """A QQVGA JPEG (a few KB) of the scene for dashboards; never fatal."""
        try:
            self._cam.configure(gray=False, frame_size=THUMB_SIZE)
            self.on_thumb(bytes(await self._cam.capture()), meta)
        except Exception as e:  # noqa: BLE001 - a missing thumbnail is not an error worth more
            self._log.info("thumbnail skipped: %s", e)

    def _set_led(self, pct):
        """The flash LED at `pct` percent (True: 100, False: 0; capture.led)."""
        if self._led is None:
            from wildcam.capture.led import Led
            from wildcam.core import presets

            try:
                ok = presets.power(self._cfg.get("camera.board")).get("led_pwm", False)
            except ValueError:
                ok = False
            self._led = Led(self._cfg.get("pins.flash_led"), self._log, ok)
        self._led.set(100 if pct is True else 0 if pct is False else pct)

    async def _burst(self, n, meta, flash, announce=True, first=None):
        """n JPEGs; returns [(path, size, sha256, meta, ticks)]; `announce`: hand each to
        on_image at once (nothing to wait for), else each goes into the pending marker as it
        is saved (announced after the verdict); `first`: the first frame is already taken.
        A lit burst switches the LED off at its end (a motion check that follows lights its
        own frames)."""
        gap = self._cfg.get("capture.burst_interval_ms")
        shots = []
        if flash:
            self.counters["flash"] += 1
            self._set_led(True)
        try:
            try:
                self._cam.configure(gray=False)
            except Exception as e:  # noqa: BLE001 - capture() retries with a reinit
                self._log.warning("camera configure failed: %s", e)
            for i in range(n):
                m = dict(meta)
                m["seq"], m["of"] = i + 1, n
                try:
                    if i == 0 and first:
                        frame, t = first[0], first[1]
                    else:
                        frame = await self._cam.capture()
                        t = time.ticks_ms()
                    path, size, digest = await self.store.save(frame, m)
                except Exception as e:  # noqa: BLE001 - one bad frame must not end the burst
                    self.counters["failures"] += 1
                    self._log.warning("capture %d/%d failed: %s", i + 1, n, e)
                    continue
                shots.append((path, size, digest, m, t))
                if not announce:  # in the marker from the first image on: a cut mid-burst
                    self.store.mark_pending([s[:3] for s in shots])  # loses none of it
                self.counters["images"] += 1
                self._log.info("image %s (%d bytes, %s %d/%d)", path, size, meta["trigger"],
                               i + 1, n)
                if announce and self._on_image:
                    self._on_image(path, size, digest, m)
                if i + 1 < n:
                    await asyncio.sleep_ms(gap)
        finally:
            if flash:
                self._set_led(False)
        return shots

    async def save(self, frame, meta=None):
        """One frame to the card (the REPL's test_capture and tests use it)."""
        return await self.store.save(frame, meta)
