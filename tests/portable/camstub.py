"""A camera driver stub for portable tests that behaves like the cnadler86 driver wherever
firmware can tell (src/modcamera.c, src/modcamera_api.c; docs/FIDELITY.md):

- `Camera(...)` takes keyword arguments only and, like the generic `ESP32_GENERIC-SPIRAM`
  image, REQUIRES data_pins (a list or bytearray of 8), pclk_pin, vsync_pin, href_pin,
  xclk_pin and sda/scl; it takes a test frame and raises OSError when that fails;
  `jpeg_quality` outside 0..100 is a ValueError;
- `capture()` returns a memoryview of SIGNED bytes (typecode 'b') into ONE buffer that the
  next capture reuses, or None when a frame is scripted to fail;
- `free_buffer()` hands the buffer back; `frame_available()` turns True only after a few
  polls (the sensor's frame time), so a caller that waits must yield;
- a deinitialised camera raises OSError(ENOENT) (errno 2), reconfigure included.

`frames(fmt, frame_size, n)` (a module-level hook set by the test) makes the n-th frame's
bytes. Runs under CPython and real MicroPython: no CPython-only imports.
"""

import array

ENOENT = 2
POLLS = 2  # frame_available() polls until a freed buffer holds a new frame


class PixelFormat:
    RGB565 = 0
    YUV422 = 1
    YUV420 = 2
    GRAYSCALE = 3
    JPEG = 4


class FrameSize:
    R96X96 = 0
    QQVGA = 1
    QVGA = 6
    VGA = 10
    SVGA = 11


class GrabMode:
    WHEN_EMPTY = 0
    LATEST = 1


frames = None       # (fmt, frame_size, n) -> bytes, set by the test
fail_at = ()        # frame numbers (1-based, counted over all cameras) that never come
count = [0]         # frames asked for so far
shots = []          # "jpeg" / "gray" per frame, in order (what the firmware asked first)
made = []           # constructor keyword arguments seen
_REQUIRED = ("data_pins", "pclk_pin", "vsync_pin", "href_pin", "xclk_pin")
_BUF = 200000       # the driver's frame buffer (bytes)


class Camera:
    def __init__(self, **kw):
        for k in _REQUIRED:
            if k not in kw:
                raise TypeError("'%s' argument required" % k)
        pins = kw["data_pins"]
        if not isinstance(pins, (list, bytearray)):
            raise TypeError("data_pins must be a list or bytearray")
        if len(pins) != 8:
            raise ValueError("data_pins must have 8 elements")
        if kw.get("sda_pin", -1) == -1 or kw.get("scl_pin", -1) == -1:
            raise ValueError("Either i2c object or sda_pin/scl_pin must be specified")
        q = kw.get("jpeg_quality", 85)
        if q < 0 or q > 100:
            raise ValueError("jpeg quality must be in range 0-100")
        made.append(kw)
        self._fmt = kw.get("pixel_format", PixelFormat.RGB565)
        self._fs = kw.get("frame_size", FrameSize.QQVGA)
        self._q = q
        self._buf = array.array("b", bytes(_BUF))
        self._ready = True
        self._held = False
        self._polls = 0
        self.n = 0
        if self.capture() is None:
            self._ready = False
            raise OSError("Failed to capture initial frame. Construct a new object with "
                          "appropriate configuration.")
        self.free_buffer()

    def _check(self):
        if not self._ready:
            raise OSError(ENOENT)

    def deinit(self):
        self._ready = False
        self._held = False

    def reconfigure(self, frame_size=None, pixel_format=None, grab_mode=None, fb_count=None):
        self._check()
        if frame_size is not None:
            self._fs = frame_size
        if pixel_format is not None:
            self._fmt = pixel_format
        self._held = False
        self._polls = 0

    def free_buffer(self):
        if self._held:
            self._held = False
            self._polls = 0

    def frame_available(self):
        self._check()
        if self._held:
            return False
        self._polls += 1
        return self._polls > POLLS

    def capture(self):
        self._check()
        self._held = False
        count[0] += 1
        shots.append("jpeg" if self._fmt == PixelFormat.JPEG else "gray")
        self.n += 1
        if count[0] in fail_at:
            return None
        data = frames(self._fmt, self._fs, count[0])
        n = len(data)
        self._buf[:n] = array.array("b", data)  # the DMA fills the one buffer
        self._held = True
        self._polls = 0
        return memoryview(self._buf)[:n]

    @property
    def quality(self):
        self._check()
        return self._q

    @quality.setter
    def quality(self, value):
        self._check()
        self._q = value
