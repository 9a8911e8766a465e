"""The virtual board's `camera`: the cnadler86 driver of the prebuilt
ESP32_GENERIC-SPIRAM@AI_THINKER image, as host_sim/hw/cnadler86.py models it, reduced to what
runs in the wasm interpreter (held to tests/stubs/camera.pyi by tests/test_board_contract.py;
docs/FIDELITY.md, "Virtual board").

Modelled: keyword-only constructor with the AI-Thinker pins as defaults (and checked: other
pins find no sensor); the test frame at construction; `jpeg_quality` 0..100; one camera at a
time (a new one deinitialises the old); `capture()` blocks for the frame time of the
driver's benchmark and returns a memoryview of SIGNED bytes (typecode 'b') into one reused
buffer; `free_buffer()` / `frame_available()`; OSError(ENOENT) on a deinitialised camera.
Frames: JPEGs of a still scene rendered on the host at each frame size (tools/vboard.py puts
them in /vboard/frames/<size>.jpg); GRAYSCALE frames are a grey ramp. The sensor knobs
(contrast, brightness, ...) are not here; frame_size and quality are.
"""
import array
import time

_ENOENT = 2
_FRAMES = "/vboard/frames"


class PixelFormat:
    RGB565 = 0
    YUV422 = 1
    YUV420 = 2
    GRAYSCALE = 3
    JPEG = 4
    RGB888 = 5
    RAW = 6
    RGB444 = 7
    RGB555 = 8


class FrameSize:
    R96X96, QQVGA, R128x128, QCIF, HQVGA, R240X240, QVGA, R320X320 = 0, 1, 2, 3, 4, 5, 6, 7
    CIF, HVGA, VGA, SVGA, XGA, HD, SXGA, UXGA = 8, 9, 10, 11, 12, 13, 14, 15


class GrabMode:
    WHEN_EMPTY = 0
    LATEST = 1


class GainCeiling:
    X2, X4, X8, X16, X32, X64, X128 = 0, 1, 2, 3, 4, 5, 6


_DIMS = ((96, 96), (160, 120), (128, 128), (176, 144), (240, 176), (240, 240), (320, 240),
         (320, 320), (400, 296), (480, 320), (640, 480), (800, 600), (1024, 768), (1280, 720),
         (1280, 1024), (1600, 1200))
# frames/s by frame size for GRAYSCALE, RGB565, YUV422, JPEG (the cnadler86 README benchmark;
# the same table as host_sim/hw/camera_model.py); None: the driver gives no image
_FPS = {
    0: (12.5, 12.5, 12.5, None), 1: (12.5, 12.5, 12.5, 25), 3: (11, 11, 11.5, 25),
    4: (12.5, 12.5, 12.5, 25), 5: (12.5, 12.5, 11.5, 25), 6: (12, 11, 12, 25),
    8: (12.5, None, None, 6.3), 9: (3, 3, 2.5, 12.5), 10: (3, 3, 3, 12.5),
    11: (3, 3, 3, 12.5), 12: (None, None, None, 6.3), 13: (None, None, None, 6.3),
    14: (2, 2, 2, 6.3), 15: (None, None, None, 6.3),
}
_COLUMN = {PixelFormat.GRAYSCALE: 0, PixelFormat.RGB565: 1, PixelFormat.YUV422: 2,
           PixelFormat.JPEG: 3}
_PINS = {"data_pins": [5, 18, 19, 21, 36, 39, 34, 35], "pclk_pin": 22, "vsync_pin": 25,
         "href_pin": 23, "sda_pin": 26, "scl_pin": 27, "xclk_pin": 0, "powerdown_pin": 32,
         "reset_pin": -1}
_TIMEOUT_MS = 4000  # esp_camera_fb_get() gives up after FB_GET_TIMEOUT
_current = [None]


def _frame_ms(fmt, fs):
    while fs not in _FPS:
        fs -= 1
    col = _COLUMN.get(fmt)
    fps = _FPS[fs][col] if col is not None else None
    return None if fps is None else int(1000 / fps)


class Camera:
    def __init__(self, *, data_pins=None, pclk_pin=22, vsync_pin=25, href_pin=23, sda_pin=26,
                 scl_pin=27, xclk_pin=0, i2c=None, xclk_freq=20000000, powerdown_pin=32,
                 reset_pin=-1, pixel_format=PixelFormat.RGB565, frame_size=FrameSize.QQVGA,
                 jpeg_quality=85, fb_count=1, grab_mode=GrabMode.WHEN_EMPTY, init=True):
        if data_pins is not None:
            if not isinstance(data_pins, (list, bytearray)):
                raise TypeError("data_pins must be a list or bytearray")
            if len(data_pins) != 8:
                raise ValueError("data_pins must have 8 elements")
        if jpeg_quality < 0 or jpeg_quality > 100:
            raise ValueError("jpeg quality must be in range 0-100")
        if pixel_format < 0 or pixel_format > PixelFormat.RGB555:
            raise ValueError("Invalid pixel_format")
        if grab_mode not in (GrabMode.WHEN_EMPTY, GrabMode.LATEST):
            raise ValueError("Invalid grab_mode")
        old = _current[0]
        if old is not None:
            old.deinit()
        _current[0] = self
        got = {"data_pins": list(data_pins) if data_pins is not None else _PINS["data_pins"],
               "pclk_pin": pclk_pin, "vsync_pin": vsync_pin, "href_pin": href_pin,
               "sda_pin": sda_pin, "scl_pin": scl_pin, "xclk_pin": xclk_pin,
               "powerdown_pin": powerdown_pin, "reset_pin": reset_pin}
        self._wired = got == _PINS
        self._fmt, self._fs, self._q = pixel_format, min(frame_size, 15), jpeg_quality
        self._fb_count, self._grab = max(1, min(2, fb_count)), grab_mode
        self._ready = False
        self._buf = None
        self.init()
        if self.capture() is None:
            self.deinit()
            raise OSError("Failed to capture initial frame. Construct a new object with "
                          "appropriate configuration.")
        if not init:
            self.deinit()
        else:
            self.free_buffer()

    def _check(self):
        if not self._ready:
            raise OSError(_ENOENT)

    def init(self):
        if self._ready:
            return
        time.sleep_ms(80)  # esp_camera_init's fixed delays (see camera_model.py)
        if not self._wired:
            raise OSError(-261, "ESP_ERR_NOT_FOUND")
        w, h = _DIMS[self._fs]
        self._buf = array.array("b", bytes(w * h // 5 if self._fmt == PixelFormat.JPEG
                                           else w * h * (1 if self._fmt == 3 else 2)))
        self._ready = True
        self._held = False
        self._request()

    def deinit(self):
        self._ready = False
        self._held = False
        self._buf = None

    def reconfigure(self, *, frame_size=None, pixel_format=None, grab_mode=None,
                    fb_count=None):
        self._check()
        if frame_size is not None:
            self._fs = min(frame_size, 15)
        if pixel_format is not None:
            self._fmt = pixel_format
        if grab_mode is not None:
            self._grab = grab_mode
        if fb_count is not None:
            self._fb_count = max(1, min(2, fb_count))
        self.deinit()
        self.init()

    def _request(self):
        ms = _frame_ms(self._fmt, self._fs)
        self._due = None if ms is None else time.ticks_add(time.ticks_ms(), ms)

    def _data(self):
        w, h = _DIMS[self._fs]
        if self._fmt == PixelFormat.JPEG:
            try:
                with open("%s/%d.jpg" % (_FRAMES, self._fs), "rb") as f:
                    return f.read()
            except OSError:
                return None  # no frames were loaded: the sensor "gives nothing"
        row = bytes((48 + x * 160 // w) & 255 for x in range(w))
        return row * (h * (1 if self._fmt == PixelFormat.GRAYSCALE else 2))

    def frame_available(self):
        self._check()
        return not self._held and self._due is not None and \
            time.ticks_diff(time.ticks_ms(), self._due) >= 0

    def free_buffer(self):
        if self._ready and self._held:
            self._held = False
            self._request()

    def capture(self):
        self._check()
        if self._held:
            self._held = False
            self._request()
        if self._due is None:
            time.sleep_ms(_TIMEOUT_MS)
            return None
        wait = time.ticks_diff(self._due, time.ticks_ms())
        if wait > 0:
            time.sleep_ms(wait)
        data = self._data()
        if data is None or len(data) > len(self._buf):
            time.sleep_ms(_TIMEOUT_MS)
            return None
        self._buf[:len(data)] = data
        self._held = True
        self._due = None
        return memoryview(self._buf)[:len(data)]

    def get_pixel_format(self):
        return self._fmt

    def get_grab_mode(self):
        return self._grab

    def get_fb_count(self):
        return self._fb_count

    def get_frame_size(self):
        self._check()
        return self._fs

    def set_frame_size(self, value):
        self._check()
        self._fs = min(value, 15)

    def get_quality(self):
        self._check()
        return self._q

    def set_quality(self, value):
        self._check()
        self._q = value

    def get_pixel_width(self):
        self._check()
        return _DIMS[self._fs][0]

    def get_pixel_height(self):
        self._check()
        return _DIMS[self._fs][1]

    def get_sensor_name(self):
        self._check()
        return "OV2640"

    def get_max_frame_size(self):
        self._check()
        return 15

    def _prop(name, settable=False):
        def get(self):
            if not self._ready:
                raise AttributeError("'Camera' object has no attribute '%s'" % name)
            return getattr(self, "get_" + name)()

        def set_(self, value):
            if not self._ready:
                raise AttributeError("can't set attribute '%s'" % name)
            if not settable:
                raise ValueError("read-only property")
            getattr(self, "set_" + name)(value)
        return property(get, set_)

    pixel_format = _prop("pixel_format")
    grab_mode = _prop("grab_mode")
    fb_count = _prop("fb_count")
    pixel_width = _prop("pixel_width")
    pixel_height = _prop("pixel_height")
    sensor_name = _prop("sensor_name")
    max_frame_size = _prop("max_frame_size")
    frame_size = _prop("frame_size", True)
    quality = _prop("quality", True)
    del _prop
