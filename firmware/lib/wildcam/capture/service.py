"""From a trigger to images on the SD card.

Triggers: the PIR pin interrupt (the handler only sets a flag), a PIR wake from deep sleep,
the time-lapse schedule, and "capture now" (REPL or remote command). An event is:
1. room check on the SD card (`SdSpace`: delete uploaded images first, or refuse);
2. a small grayscale look (96x96): ambient light for the flash LED, and, when a detector is
   configured, motion confirmation that drops false PIR triggers (wind, warm air), judged
   against the detector's reference background (the view before the trigger, kept in RTC
   memory across deep sleep; a rejected window and every time-lapse frame refresh it);
3. a burst of JPEGs, each streamed from the driver's frame buffer in fixed chunks with an
   EXIF segment inserted, to a `.part` name renamed when whole, with a JSON sidecar;
4. announcements (`on_image` per image, `on_event` per event) for the outbox.

Folder names never come from an unset clock: `/sd/DCIM/YYYYMMDD/` when the clock is set,
`/sd/DCIM/B<boot number>/` with uptime-based names when it is not (the sidecar says which).
After a PIR event, triggers are ignored for `capture.quiet_s` (counted as suppressed).

Sidecar (`<image>.json`): device, deployment (the id in /deployment.json, when deployed with
one), firmware, file, size, sha256, time (UTC seconds), time_iso, clock, boot, uptime_s,
tz_offset_min, event, trigger, seq/of, ambient, flash, sensors, and `detection`: the
detector's verdict for the EVENT, made on small grayscale look frames taken before the
burst (`frame` names their size), never on a saved image; `det_ms` says how long after the
detector's last look frame this image was taken. A box in it is where the motion was in
that look frame, not in this image.
"""

import asyncio
import hashlib
import time
from binascii import hexlify

from wildcam.core import clock, jsonutil
from wildcam.capture import exif
from wildcam.core.version import VERSION

CHUNK = 4096
DCIM = "/sd/DCIM"
LOOK_SIZE = "96X96"
THUMB_SIZE = "QQVGA"
IMAGE_ESTIMATE = 100000  # bytes to keep free per image of a burst (VGA JPEG + sidecar)


def level(frame):
    """Mean grey level 0..255 of an unsigned grayscale frame."""
    return sum(frame) // len(frame)


class CaptureService:
    def __init__(self, config, storage, cam, log, boot_no, device_id, sensors=None,
                 space=None, detector=None, on_image=None, on_event=None):
        self._cfg = config
        self._st = storage
        self._cam = cam
        self._log = log
        self._boot_no = boot_no
        self.device_id = device_id
        self._sensors = sensors
        self._space = space
        self._detector = detector  # optional wildcam.capture.detect.MotionDetector
        self._on_image = on_image  # (path, size, sha256 hex, meta) once an image is whole
        self._on_event = on_event  # (meta) once an event is over
        self._flag = asyncio.ThreadSafeFlag()
        self._reason = "pir"
        self._pir = None
        self._led = None
        self._boot_ms = time.ticks_ms()
        self._seq = 0
        self._det_ms = None  # ticks of the detector's last look frame (for `det_ms`)
        self.deployment = None  # wildcam.manage.health.Deployment (set by the App)
        self.alive = lambda: None  # progress report for the watchdog (set by the App)
        self.max_burst = None  # battery policy may shorten bursts
        self.busy = False  # True from trigger until the event is over
        self.on_done = None  # () after each event (the battery sleeper listens)
        self.on_thumb = None  # (small JPEG bytes, meta) after each event (Home Assistant)
        self.reference_store = None  # has .reference: the detector's view across deep sleep
        self.counters = {"triggers": 0, "suppressed": 0, "events": 0, "images": 0,
                         "failures": 0, "rejected": 0, "no_space": 0, "flash": 0}

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

    async def run(self):
        """Serve triggers forever (supervised task)."""
        if self._pir is None and "pir" in self._cfg.get("capture.mode"):
            self.attach_pir()
        while True:
            try:
                await asyncio.wait_for_ms(self._flag.wait(), 10000)
            except asyncio.TimeoutError:
                self.alive()  # idle, not hung
                continue
            self.alive()
            reason, self._reason = self._reason, "pir"
            await self.event(reason)
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
    async def event(self, reason):
        """Run one capture event; returns the image paths written."""
        self.busy = True
        try:
            return await self._event(reason)
        finally:
            self.busy = False
            if self.on_done:
                self.on_done()

    async def _event(self, reason):
        n = 1 if reason == "timelapse" else self._cfg.get("capture.burst_count")
        if self.max_burst:
            n = min(n, self.max_burst)
        if self._space is not None and not self._space.ensure(n * IMAGE_ESTIMATE):
            self.counters["no_space"] += 1
            return []
        self._seq += 1
        event_id = "%s-%d-%d" % (self.device_id, self._boot_no, self._seq)
        ambient, detection = await self._look(reason)
        if detection is False:
            self.counters["rejected"] += 1
            self._log.info("event %s: %s trigger not confirmed by motion (%s): dropped",
                           event_id, reason, getattr(self, "_last_reason", "?"))
            return []
        self.counters["events"] += 1
        self.counters["last_event"] = clock.now()  # pyright: ignore[reportArgumentType]  # a timestamp among the counts: pyright types the dict from its int literals
        flash = self._flash_wanted(ambient)
        meta = {"event": event_id, "trigger": reason, "ambient": ambient, "flash": flash,
                "detection": detection or None}
        if self._sensors is not None:
            meta.update(self._sensors.snapshot())
        paths = await self._burst(n, meta, flash)
        if self.on_thumb is not None and paths:
            await self._thumb(meta)
        if self._on_event:
            ev = dict(meta)
            ev["images"] = len(paths)
            ev["time"] = clock.now() or 0
            self._on_event(ev)
        return paths

    async def _look(self, reason):
        """(ambient mean 0..255 or None, detection dict / False / None) from small grayscale
        frames: one for the light, or up to `detect.frames` at `detect.fps` until the
        detector confirms motion (False: it never did). Without a verdict (camera trouble)
        the event goes ahead: better a false trigger than a lost animal. Frames are read as
        unsigned bytes (`cam.unsigned`): the maintained driver's are signed."""
        want_light = self._cfg.get("capture.flash") == "auto"
        det = self._detector if reason in ("pir", "pir-wake", "motion") else None
        if reason == "timelapse" and self._detector is not None:
            return await self._refresh(), None
        if not (want_light or det):
            return None, None
        try:
            cam = self._cam
            if det is None:
                cam.configure(gray=True, frame_size=LOOK_SIZE)
                return level(cam.unsigned(await cam.capture())), None
            cam.configure(gray=True, frame_size=self._cfg.get("detect.frame"))
            ambient = level(cam.unsigned(await cam.capture()))
            lit = self._flash_wanted(ambient)
            if lit:  # at night the detector needs the LED (IR on IR boards) to see anything
                self._set_led(True)
            # the reference (RTC memory across deep sleep) is the view before the trigger:
            # no warm-up frames, the first frame is already judged against it
            det.begin()
            gap = 1000 // self._cfg.get("detect.fps")
            r = None
            for i in range(self._cfg.get("detect.frames")):
                r = det.update(cam.unsigned(await cam.capture()))
                self._det_ms = time.ticks_ms()
                if r.motion:
                    det.end(learn=False)
                    self._keep_reference()
                    verdict = r.as_dict()
                    verdict["frame"] = self._cfg.get("detect.frame")
                    return ambient, verdict
                if i + 1 < self._cfg.get("detect.frames"):
                    await asyncio.sleep_ms(gap)
            if lit:
                self._set_led(False)
            det.end(learn=True)  # nothing moved: what stayed still refreshes the reference
            self._keep_reference()
            self._last_reason = r.reason if r else "?"
            return ambient, False
        except Exception as e:  # noqa: BLE001 - no verdict: capture anyway
            self._set_led(False)
            self._log.warning("grayscale look failed: %s", e)
            return None, None

    async def _refresh(self):
        """A time-lapse event: one detection frame refreshes the detector's reference (the
        view as it is while nothing is expected to move); returns the ambient level."""
        try:
            cam = self._cam
            cam.configure(gray=True, frame_size=self._cfg.get("detect.frame"))
            frame = cam.unsigned(await cam.capture())
            ambient = level(frame)
            self._detector.refresh(frame)
            self._keep_reference()
            return ambient
        except Exception as e:  # noqa: BLE001 - a time-lapse image without a refresh
            self._log.warning("reference refresh failed: %s", e)
            return None

    def _keep_reference(self):
        """Hand the detector's reference to whatever keeps it across deep sleep (the RTC
        state of a battery camera: `reference_store.reference`)."""
        if self.reference_store is not None:
            det = self._detector
            self.reference_store.reference = det.save_reference() if det.ref.count else None

    async def _thumb(self, meta):
        """A QQVGA JPEG (a few KB) of the scene for dashboards; never fatal."""
        try:
            self._cam.configure(gray=False, frame_size=THUMB_SIZE)
            self.on_thumb(bytes(await self._cam.capture()), meta)
        except Exception as e:  # noqa: BLE001 - a missing thumbnail is not an error worth more
            self._log.info("thumbnail skipped: %s", e)

    def _flash_wanted(self, ambient):
        mode = self._cfg.get("capture.flash")
        if mode == "on":
            return True
        if mode == "off" or ambient is None:
            return False
        return ambient < self._cfg.get("capture.dark_level")

    def _set_led(self, on):
        pin = self._cfg.get("pins.flash_led")
        if pin < 0:
            return
        try:
            if self._led is None:
                import machine

                self._led = machine.Pin(pin, machine.Pin.OUT, value=0)
            self._led.value(1 if on else 0)
        except (OSError, ValueError) as e:
            self._log.warning("flash LED: %s", e)

    async def _burst(self, n, meta, flash):
        gap = self._cfg.get("capture.burst_interval_ms")
        paths = []
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
                    frame = await self._cam.capture()
                    if meta.get("detection") and self._det_ms is not None:
                        m["det_ms"] = time.ticks_diff(time.ticks_ms(), self._det_ms)
                    path, size, digest = await self.save(frame, m)
                except Exception as e:  # noqa: BLE001 - one bad frame must not end the burst
                    self.counters["failures"] += 1
                    self._log.warning("capture %d/%d failed: %s", i + 1, n, e)
                    continue
                paths.append(path)
                self.counters["images"] += 1
                self._log.info("image %s (%d bytes, %s %d/%d)", path, size, meta["trigger"],
                               i + 1, n)
                if self._on_image:
                    self._on_image(path, size, digest, m)
                if i + 1 < n:
                    await asyncio.sleep_ms(gap)
        finally:
            if flash:
                self._set_led(False)
        return paths

    # --- files ----------------------------------------------------------------------------
    def next_path(self, ts):
        """(folder, file name) for the next image; never based on an unset clock."""
        if ts is None:
            folder = "%s/B%05d" % (DCIM, self._boot_no)
            up = time.ticks_diff(time.ticks_ms(), self._boot_ms) // 1000
            return folder, "U%06d_%04d.jpg" % (up, self.counters["images"] + 1)
        rem = int(ts) % 86400
        return "%s/%s" % (DCIM, clock.ymd(ts)), "%02d%02d%02d_B%05d_%04d.jpg" % (
            rem // 3600, rem // 60 % 60, rem % 60, self._boot_no, self.counters["images"] + 1)

    def _exif(self, ts, meta):
        if not self._cfg.get("storage.exif"):
            return b""
        when = None
        tz = self._cfg.get("time.tz_offset_min")
        if ts is not None:
            local = clock.rtc_from_unix(ts + tz * 60)
            when = "%04d:%02d:%02d %02d:%02d:%02d" % (local[0], local[1], local[2],
                                                       local[4], local[5], local[6])
        lat, lon = self._cfg.get("device.lat"), self._cfg.get("device.lon")
        return exif.segment(when, serial=self.device_id, description=meta.get("event"),
                            lat=lat, lon=lon, software="WildCAM " + VERSION, offset_min=tz)

    async def save(self, frame, meta=None):
        """Stream `frame` to the SD card with EXIF, hashing it on the way, then write its
        sidecar; returns (path, size, sha256 hex). Only whole files get final names. Each
        chunk written is followed by a yield: an SD write of a large JPEG takes a while and
        the other tasks (the next PIR edge, the watchdog) run in between."""
        meta = meta or {}
        ts = clock.now()
        folder, name = self.next_path(ts)
        self._st.makedirs(folder)
        path = folder + "/" + name
        tmp = path + ".part"
        h = hashlib.sha256()
        app1 = self._exif(ts, meta)
        size = 0
        with self._st.open(tmp, "wb") as f:
            if app1:
                parts = exif.jpeg_parts(frame, app1, CHUNK)
            else:
                mv = memoryview(frame)
                parts = (mv[off:off + CHUNK] for off in range(0, len(mv), CHUNK))
            for part in parts:
                h.update(part)
                f.write(part)
                size += len(part)
                await asyncio.sleep_ms(0)
        self._st.rename(tmp, path)
        digest = hexlify(h.digest()).decode()
        self._write_sidecar(path, name, size, digest, ts, meta)
        return path, size, digest

    def _write_sidecar(self, path, name, size, digest, ts, meta):
        side = {"device": self.device_id, "firmware": VERSION, "file": name, "size": size,
                "sha256": digest, "time": ts, "time_iso": clock.iso(ts) if ts else None,
                "clock": "rtc" if ts is not None else "unset", "boot": self._boot_no,
                "uptime_s": time.ticks_diff(time.ticks_ms(), self._boot_ms) // 1000,
                "tz_offset_min": self._cfg.get("time.tz_offset_min")}
        dep = self.deployment.id() if self.deployment is not None else None
        if dep:
            side["deployment"] = dep
        for k in meta:
            side[k] = meta[k]
        try:
            self._st.write_atomic(path[:-4] + ".json", jsonutil.dumps(side).encode())
        except OSError as e:  # the image is whole; a missing sidecar is reported, not fatal
            self._log.warning("sidecar for %s: %s", path, e)
