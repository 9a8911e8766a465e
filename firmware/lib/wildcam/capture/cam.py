"""One camera interface over both MicroPython ESP32 camera drivers.

- maintained driver (cnadler86): `camera.Camera(...)`; `capture()` returns a memoryview of
  SIGNED bytes (typecode 'b') into the driver's frame buffer, which the next capture hands
  back to the driver, or None when no frame came;
- legacy driver (lemariva): `camera.init(...)` (raises OSError when the sensor does not
  start), `camera.capture()` returns a bytes copy or False.

Guarantees:
- `await capture()` returns a frame or raises `CameraError` after a bounded number of
  retries with a re-initialisation between them (counted in `errors` and `reinits`).
  With the maintained driver the wait is asynchronous: the previous buffer goes back
  (`free_buffer()`) and the task sleeps FRAME_POLL_MS at a time until `frame_available()`,
  as the driver repository's acamera.py does, so the loop keeps running while the sensor
  exposes and transfers the frame; a frame that is not there within `wait_ms` counts as a
  failure. The legacy driver can only block in `capture()`; it also refills its buffer
  right after a capture (grab mode WHEN_EMPTY), so after a pause the first frame is old and
  is dropped (counted in `discarded`).
- The returned buffer is valid until the next capture. Its bytes may be signed: pass it
  through `unsigned()` wherever bytes are read as numbers (indexing, sum, comparisons);
  file writes, hashing, bytes() and struct are unaffected by the sign.
- Every camera pin of the board preset (wildcam.core.presets) is passed to the driver
  explicitly (a generic MicroPython image requires them), and frame buffers are in PSRAM on
  both drivers (the legacy driver's DRAM default cannot hold a JPEG above CIF).
- Names of the legacy driver are not in the maintained driver's stub that type checks this
  file: the lines using them say "lemariva API" (its API: tests/stubs/lemariva/camera.pyi).
- A JPEG that does not come (most often one larger than the driver's frame buffer, w*h/5
  bytes for JPEG: a noisy night or dusk scene at high quality; the driver drops it and
  returns None) lowers the quality QUALITY_STEP for the next attempt, down to QUALITY_MIN
  (`quality_drops`), so a busy scene gets a smaller picture instead of none; after
  QUALITY_BACK good JPEGs in a row it steps back up towards the configured quality.
- Switching between GRAYSCALE (detection) and JPEG (storage) reconfigures the sensor (a
  blocking driver call of tens of ms); the adapter skips that when the mode is unchanged.
  JPEG quality is 10..100, higher is better (the maintained driver's scale); the legacy
  driver's 10..63 (lower is better) is mapped.
"""

import asyncio
import time

FRAME_SIZES = {
    "96X96": (96, 96), "QQVGA": (160, 120), "QVGA": (320, 240), "VGA": (640, 480),
    "SVGA": (800, 600), "XGA": (1024, 768), "HD": (1280, 720), "UXGA": (1600, 1200),
}
FRAME_POLL_MS = 10   # how often a waiting task looks for the frame
FRAME_WAIT_MS = 2000  # the slowest OV2640 mode gives 2 frames/s; beyond this a frame is lost
STALE_MS = 250       # legacy driver: after this pause the buffered frame is old
# maintained driver: two frame buffers in PSRAM with GRAB_LATEST double the OV2640's JPEG
# rate (cnadler86 README benchmark: VGA 12.5 -> 25 fps), so the settle frames after a start
# and a burst's frames come twice as fast; a VGA JPEG buffer is w*h/5 = 61 KB
FB_COUNT = 2
QUALITY_STEP = 15  # a failed JPEG: this much lower quality for the next attempt
QUALITY_MIN = 40
QUALITY_BACK = 60  # good JPEGs in a row before the quality steps back up (~20 bursts)


def legacy_quality(q):
    """Our 10..100 (higher is better, as the maintained driver counts) on the legacy
    driver's 10..63 scale (lower is better)."""
    return max(10, min(63, 63 - (q - 10) * 53 // 90))


class CameraError(Exception):
    pass


def _explain(e):
    """The driver's OSError in words a person can act on."""
    a = e.args
    name = a[1] if len(a) > 1 else a[0] if a else ""
    if name == "ESP_ERR_NOT_FOUND":
        return "camera sensor not found: check the ribbon cable and camera.board/camera.pins"
    if name == "ESP_FAIL":
        return "camera could not start (ESP_FAIL: no memory for frame buffers; PSRAM?)"
    return "camera did not start: %s" % (name or e)


class Camera:
    def __init__(self, log, frame_size="VGA", quality=85, retries=3, driver=None, settle=0,
                 pins=None, wait_ms=FRAME_WAIT_MS):
        if driver is None:
            import camera as driver
        self._drv = driver
        self.maintained = hasattr(driver, "Camera")
        self._log = log
        self._cam = None
        self._mode = None  # (gray, frame_size) currently configured
        if pins is None:
            from wildcam.core import presets

            pins = presets.camera_pins()
        self.pins = pins
        self.frame_size = frame_size
        self.quality = quality  # configured; `q` is what the sensor uses now
        self.q = quality
        self._good = 0  # JPEGs in a row since the quality was lowered
        self.quality_drops = 0
        self.retries = retries
        self.settle = settle  # frames dropped after a (re)configuration while exposure settles
        self.wait_ms = wait_ms
        self._discard = 0
        self._ubuf = None  # unsigned copy of small frames (see unsigned())
        self._last = None  # ticks of the last legacy capture
        self.captures = 0
        self.errors = 0
        self.reinits = 0
        self.discarded = 0
        self.switches = 0  # mode changes after the first (each drops `settle` frames)
        self.timeouts = 0

    @property
    def driver_name(self):
        return "cnadler86" if self.maintained else "lemariva"

    def configure(self, gray=False, frame_size=None):
        """Make the next capture GRAYSCALE (raw w*h bytes) or JPEG at `frame_size`."""
        mode = (gray, frame_size or self.frame_size)
        if mode == self._mode:
            return
        if self.maintained:
            self._configure_maintained(*mode)
        else:
            self._configure_legacy(*mode)
        self._mode = mode
        self.switches += 1
        self._discard = self.settle
        self._last = None

    async def ready(self):
        """Back to JPEG at the configured size with the settle frames already dropped, so
        the next burst's first frame is a real one (called while idle, after a look)."""
        self.configure(gray=False)
        while self._discard > 0:
            self._discard -= 1
            self.discarded += 1
            await self._grab()

    def _configure_maintained(self, gray, size):
        d = self._drv
        fmt = d.PixelFormat.GRAYSCALE if gray else d.PixelFormat.JPEG
        fs = getattr(d.FrameSize, "R96X96" if size == "96X96" else size)
        if self._cam is not None:
            self._cam.reconfigure(pixel_format=fmt, frame_size=fs)
            if not gray:
                self._cam.quality = self.q
            return
        while self._cam is None:
            try:
                self._cam = self._construct(fmt, fs)
            except OSError as e:
                # the test frame the constructor takes did not come: smaller, if it can be
                if gray or "initial frame" not in str(e) or not self._lower(gray):
                    raise CameraError(_explain(e))

    def _construct(self, fmt, fs):
        d, p = self._drv, self.pins
        return d.Camera(
            data_pins=list(p["data"]), pclk_pin=p["pclk"], vsync_pin=p["vsync"],
            href_pin=p["href"], sda_pin=p["sda"], scl_pin=p["scl"], xclk_pin=p["xclk"],
            xclk_freq=p["xclk_hz"], powerdown_pin=p["pwdn"], reset_pin=p["reset"],
            pixel_format=fmt, frame_size=fs, jpeg_quality=self.q, fb_count=FB_COUNT,
            grab_mode=d.GrabMode.LATEST)

    def _configure_legacy(self, gray, size):
        d = self._drv
        p = self.pins
        kw = {"d%d" % i: p["data"][i] for i in range(8)}
        for ours, theirs in (("vsync", "vsync"), ("href", "href"), ("pclk", "pclk"),
                             ("pwdn", "pwdn"), ("reset", "reset"), ("xclk", "xclk"),
                             ("sda", "siod"), ("scl", "sioc")):
            kw[theirs] = p[ours]
        kw["framesize"] = getattr(d, "FRAME_" + size)
        kw["quality"] = legacy_quality(self.q)
        kw["format"] = d.GRAYSCALE if gray else d.JPEG  # pyright: ignore[reportAttributeAccessIssue]  # lemariva API
        kw["xclk_freq"], kw["fb_location"] = d.XCLK_10MHz, d.PSRAM  # pyright: ignore[reportAttributeAccessIssue]  # lemariva API
        try:
            d.deinit()  # pyright: ignore[reportAttributeAccessIssue]  # lemariva API
        except Exception:  # noqa: BLE001 - not initialised yet
            pass
        try:
            d.init(0, **kw)  # pyright: ignore[reportAttributeAccessIssue]  # lemariva API
        except OSError as e:
            raise CameraError(_explain(e))

    def _reinit(self):
        self.reinits += 1
        mode = self._mode
        self._mode = None
        try:
            if self.maintained and self._cam is not None:
                self._cam.deinit()
                self._cam = None
        except Exception as e:  # noqa: BLE001
            self._log.warning("camera deinit: %s", e)
        if mode:
            self.configure(*mode)

    async def capture(self):
        """One frame (memoryview or bytes, valid until the next capture)."""
        if self._mode is None:
            self.configure()
        for attempt in range(self.retries):
            frame = await self._grab()
            while frame and self._discard > 0:  # exposure still settling
                self._discard -= 1
                self.discarded += 1
                frame = await self._grab()
            if frame:  # not None (maintained), not False (legacy), not empty
                self.captures += 1
                self._quality_up()
                return frame
            self.errors += 1
            self._log.warning("capture failed (attempt %d of %d)", attempt + 1, self.retries)
            self._quality_down()
            try:
                self._reinit()
            except Exception as e:  # noqa: BLE001 - next attempt or the final error says it
                self._log.warning("camera reinit failed: %s", e)
        raise CameraError("no frame after %d attempts" % self.retries)

    def _quality_down(self):
        """A JPEG did not come: the next attempt (the reinit constructs with `q`) asks for
        a smaller one."""
        if self._mode is not None:
            self._lower(self._mode[0])

    def _lower(self, gray):
        """True when the quality went down (JPEG mode, not at QUALITY_MIN yet)."""
        if gray or self.q <= QUALITY_MIN:
            return False
        self.q = max(QUALITY_MIN, self.q - QUALITY_STEP)
        self._good = 0
        self.quality_drops += 1
        self._log.warning("JPEG quality lowered to %d (a frame too large for the buffer?)",
                          self.q)
        return True

    def _quality_up(self):
        if self.q >= self.quality or self._mode is None or self._mode[0]:
            return
        self._good += 1
        if self._good >= QUALITY_BACK:
            self._good = 0
            self.q = min(self.quality, self.q + QUALITY_STEP)
            if self.maintained and self._cam is not None:
                self._cam.quality = self.q

    async def _grab(self):
        if not self.maintained:
            return self._grab_legacy()
        cam = self._cam
        if cam is None:
            return None
        cam.free_buffer()  # the last frame goes back: the sensor starts the next one
        t0 = time.ticks_ms()
        while not cam.frame_available():
            if time.ticks_diff(time.ticks_ms(), t0) > self.wait_ms:
                self.timeouts += 1
                return None
            await asyncio.sleep_ms(FRAME_POLL_MS)
        return cam.capture()

    def _grab_legacy(self):
        d = self._drv
        last = self._last
        if last is not None and time.ticks_diff(time.ticks_ms(), last) > STALE_MS:
            if d.capture():  # pyright: ignore[reportAttributeAccessIssue]  # lemariva API
                self.discarded += 1  # the frame the driver took right after the last capture
        frame = d.capture()  # pyright: ignore[reportAttributeAccessIssue]  # lemariva API
        self._last = time.ticks_ms()
        return frame

    def unsigned(self, frame):
        """`frame` as unsigned bytes (0..255 when indexed or summed). The maintained driver's
        view is signed and MicroPython's memoryview has no cast(), so its bytes are copied
        (one memcpy, no per-byte Python work) into a buffer kept for the next call; use it
        for the small grayscale frames, never for a JPEG. Valid until the next call."""
        if not self.maintained:
            return frame
        n = len(frame)
        buf = self._ubuf
        if buf is None or len(buf) < n:
            buf = self._ubuf = bytearray(n)
        buf[:n] = frame
        return memoryview(buf)[:n]

    def deinit(self):
        try:
            if self.maintained:
                if self._cam is not None:
                    self._cam.deinit()
            else:
                self._drv.deinit()  # pyright: ignore[reportAttributeAccessIssue]  # lemariva API
        finally:
            self._cam = None
            self._mode = None
