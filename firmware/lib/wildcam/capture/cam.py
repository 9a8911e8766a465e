"""One camera interface over both MicroPython ESP32 camera drivers.

- maintained driver (cnadler86): `camera.Camera(...)`, `capture()` returns a memoryview into a
  frame buffer that the NEXT capture overwrites, or None on failure;
- legacy driver (lemariva): `camera.init(...)`, `camera.capture()` returns bytes or False.

Guarantees: `capture()` returns a frame or raises `CameraError` after a bounded number of
retries with a re-initialisation between them (counted in `errors` and `reinits`). The
returned buffer is only valid until the next capture: callers write it out or copy it.
Switching between GRAYSCALE (detection) and JPEG (storage) reconfigures the sensor; the
adapter skips that when the mode is unchanged. JPEG quality is 10..100, higher is better
(the maintained driver's scale); the legacy driver's 10..63 (lower is better) is mapped.
"""

FRAME_SIZES = {
    "96X96": (96, 96), "QQVGA": (160, 120), "QVGA": (320, 240), "VGA": (640, 480),
    "SVGA": (800, 600), "XGA": (1024, 768), "HD": (1280, 720), "UXGA": (1600, 1200),
}


def legacy_quality(q):
    """Our 10..100 (higher is better, as the maintained driver counts) on the legacy
    driver's 10..63 scale (lower is better)."""
    return max(10, min(63, 63 - (q - 10) * 53 // 90))


class CameraError(Exception):
    pass


class Camera:
    def __init__(self, log, frame_size="VGA", quality=85, retries=3, driver=None, settle=0):
        if driver is None:
            import camera as driver
        self._drv = driver
        self.maintained = hasattr(driver, "Camera")
        self._log = log
        self._cam = None
        self._mode = None  # (gray, frame_size) currently configured
        self.frame_size = frame_size
        self.quality = quality
        self.retries = retries
        self.settle = settle  # frames dropped after a (re)configuration while exposure settles
        self._discard = 0
        self.captures = 0
        self.errors = 0
        self.reinits = 0
        self.discarded = 0

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
        self._discard = self.settle

    def _configure_maintained(self, gray, size):
        d = self._drv
        fmt = d.PixelFormat.GRAYSCALE if gray else d.PixelFormat.JPEG
        fs = getattr(d.FrameSize, "R96X96" if size == "96X96" else size)
        if self._cam is None:
            self._cam = d.Camera(pixel_format=fmt, frame_size=fs, jpeg_quality=self.quality,
                                 fb_count=1, grab_mode=d.GrabMode.LATEST)
        else:
            self._cam.reconfigure(pixel_format=fmt, frame_size=fs)
            if not gray:
                self._cam.set_quality(self.quality)

    def _configure_legacy(self, gray, size):
        d = self._drv
        try:
            d.deinit()
        except Exception:  # noqa: BLE001 - not initialised yet
            pass
        ok = d.init(0, format=d.GRAYSCALE if gray else d.JPEG,
                    framesize=getattr(d, "FRAME_" + size))
        if ok is False:
            raise CameraError("camera init failed")
        if not gray and hasattr(d, "quality"):
            d.quality(legacy_quality(self.quality))

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

    def capture(self):
        """One frame (memoryview or bytes, valid until the next capture)."""
        if self._mode is None:
            self.configure()
        for attempt in range(self.retries):
            frame = self._grab()
            while frame and self._discard > 0:  # exposure still settling after a reconfigure
                self._discard -= 1
                self.discarded += 1
                frame = self._grab()
            if frame:
                self.captures += 1
                return frame
            self.errors += 1
            self._log.warning("capture failed (attempt %d of %d)", attempt + 1, self.retries)
            try:
                self._reinit()
            except Exception as e:  # noqa: BLE001 - next attempt or the final error says it
                self._log.warning("camera reinit failed: %s", e)
        raise CameraError("no frame after %d attempts" % self.retries)

    def _grab(self):
        return self._cam.capture() if self.maintained else self._drv.capture()

    def deinit(self):
        try:
            if self.maintained:
                if self._cam is not None:
                    self._cam.deinit()
            else:
                self._drv.deinit()
        finally:
            self._cam = None
            self._mode = None
