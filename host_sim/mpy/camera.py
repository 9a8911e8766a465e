"""Simulated `camera` module: the board's flashed driver decides which API exists.

- cnadler86 (maintained): Camera, PixelFormat, FrameSize, GrabMode, GainCeiling.
  `Camera.capture()` returns a memoryview into ONE buffer that the next capture overwrites;
  reconfigure()/deinit() free that buffer (views handed out before are released, so using
  them raises ValueError — on a board they would point at freed PSRAM).
- lemariva (legacy): module functions init/capture/deinit/framesize/quality/..., FRAME_*,
  JPEG/GRAYSCALE/RGB565/YUV422; capture() returns a bytes copy or False.

Names resolve per call through module __getattr__ on the current board, so
`hasattr(camera, "Camera")` tells the firmware which driver the board has. Look names up at
run time (inside a board), not at import time.
"""
from host_sim.context import board_or_none as _board_or_none
from host_sim.context import get_board as _board
from host_sim.hw import camera_model as _M


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
    R96X96, QQVGA, R128x128, QCIF, HQVGA, R240X240, QVGA, R320X320 = range(8)
    CIF, HVGA, VGA, SVGA, XGA, HD, SXGA, UXGA = range(8, 16)
    FHD, P_HD, P_3MP, QXGA, QHD, WQXGA, P_FHD, QSXGA = range(16, 24)


class GrabMode:
    WHEN_EMPTY = 0
    LATEST = 1


class GainCeiling:
    X2, X4, X8, X16, X32, X64, X128 = range(7)


_FMT = {PixelFormat.GRAYSCALE: _M.FMT_GRAY, PixelFormat.JPEG: _M.FMT_JPEG,
        PixelFormat.RGB565: _M.FMT_RGB565}
_SENSOR_DEFAULTS = dict(
    contrast=0, brightness=0, saturation=0, sharpness=0, denoise=0, gainceiling=0,
    colorbar=False, whitebal=True, gain_ctrl=True, exposure_ctrl=True, hmirror=False,
    vflip=False, aec2=False, awb_gain=True, agc_gain=0, aec_value=300, special_effect=0,
    wb_mode=0, ae_level=0, dcw=True, bpc=False, wpc=True, raw_gma=True, lenc=True)
_KEEP_VIEWS = 16
_RGB565 = PixelFormat.RGB565


class Camera:
    """cnadler86 `camera.Camera`."""

    def __init__(self, *, data_pins=None, pclk_pin=None, vsync_pin=None, href_pin=None,
                 sda_pin=None, scl_pin=None, xclk_pin=None, xclk_freq=20000000,
                 powerdown_pin=-1, reset_pin=-1, i2c=None, pixel_format=PixelFormat.RGB565,
                 frame_size=FrameSize.QVGA, jpeg_quality=85, fb_count=1,
                 grab_mode=GrabMode.WHEN_EMPTY, init=True):
        self._board = _board()
        self._fmt = pixel_format
        self._fs = frame_size
        self._q = jpeg_quality
        self._fb_count = fb_count
        self._grab = grab_mode
        self._sensor = dict(_SENSOR_DEFAULTS)
        self._buf = None
        self._views = []
        self._ready = False
        if init:
            self.init()

    # --- life cycle -------------------------------------------------------------------------
    def init(self):
        if self._ready:
            return
        model = self._board.camera
        model.inits += 1
        if model.fail_init:
            raise OSError(19, "Camera Init Failed")
        if _FMT.get(self._fmt) is None or _M.dims(self._fs) is None or self._fs > _M.OV2640_MAX:
            raise ValueError("unsupported pixel format or frame size")
        w, h = _M.dims(self._fs)
        per_px = 2 if self._fmt == _RGB565 else 1
        self._buf = bytearray(w * h * per_px)
        self._ready = True

    def deinit(self):
        self._release()
        self._ready = False

    def _release(self):
        for v in self._views:
            try:
                v.release()
            except BufferError:
                pass
        self._views = []
        self._buf = None

    def reconfigure(self, *, frame_size=None, pixel_format=None, grab_mode=None,
                    fb_count=None):
        if frame_size is not None:
            self._fs = frame_size
        if pixel_format is not None:
            self._fmt = pixel_format
        if grab_mode is not None:
            self._grab = grab_mode
        if fb_count is not None:
            self._fb_count = fb_count
        self.deinit()
        self._board.sim.clock.advance(0.15)  # sensor re-init takes a moment
        self.init()

    def frame_available(self):
        return self._ready

    def free_buffer(self):
        pass

    def capture(self):
        """A memoryview of the frame in the reused buffer, or None when no frame came."""
        if not self._ready:
            raise OSError(19, "Camera not initialized")
        b = self._board
        model = b.camera
        w, h = _M.dims(self._fs)
        fmt = _FMT[self._fmt]
        if model.latency:
            b.sim.clock.advance(model.frame_time(fmt, w, h))
        if model.next_capture_fails():
            return None
        data = model.produce(b, fmt, w, h, self._q)
        n = len(data)
        if n > len(self._buf):  # frame buffer overflow: the driver drops the frame
            model.failed_captures += 1
            return None
        self._buf[:n] = data
        view = memoryview(self._buf)[:n]
        self._views.append(view)
        if len(self._views) > _KEEP_VIEWS:
            self._views.pop(0)
        return view

    # --- read-only properties and getters --------------------------------------------------
    pixel_format = property(lambda self: self._fmt)
    grab_mode = property(lambda self: self._grab)
    fb_count = property(lambda self: self._fb_count)
    pixel_width = property(lambda self: _M.dims(self._fs)[0])
    pixel_height = property(lambda self: _M.dims(self._fs)[1])
    max_frame_size = property(lambda self: _M.OV2640_MAX)
    sensor_name = property(lambda self: self._board.camera.sensor)

    def get_pixel_format(self):
        return self._fmt

    def get_grab_mode(self):
        return self._grab

    def get_fb_count(self):
        return self._fb_count

    def get_pixel_width(self):
        return self.pixel_width

    def get_pixel_height(self):
        return self.pixel_height

    def get_max_frame_size(self):
        return _M.OV2640_MAX

    def get_sensor_name(self):
        return self.sensor_name

    # --- read-write -------------------------------------------------------------------------
    def _set_fs(self, v):
        self.reconfigure(frame_size=v)

    frame_size = property(lambda self: self._fs, _set_fs)

    def get_frame_size(self):
        return self._fs

    def set_frame_size(self, v):
        self._set_fs(v)

    def _set_q(self, v):
        self._q = int(v)

    quality = property(lambda self: self._q, _set_q)

    def get_quality(self):
        return self._q

    def set_quality(self, v):
        self._set_q(v)


def _sensor_prop(name):
    def get(self):
        return self._sensor[name]

    def set_(self, v):
        self._sensor[name] = v
    setattr(Camera, name, property(get, set_))
    setattr(Camera, "get_" + name, get)
    setattr(Camera, "set_" + name, set_)


for _n in _SENSOR_DEFAULTS:
    _sensor_prop(_n)


# --- lemariva legacy driver ---------------------------------------------------------------------
_LEGACY_DIMS = (
    (96, 96), (160, 120), (176, 144), (240, 176), (240, 240), (320, 240), (400, 296),
    (480, 320), (640, 480), (800, 600), (1024, 768), (1280, 720), (1280, 1024),
    (1600, 1200))
_LEGACY_NAMES = ("96X96", "QQVGA", "QCIF", "HQVGA", "240X240", "QVGA", "CIF", "HVGA", "VGA",
                 "SVGA", "XGA", "HD", "SXGA", "UXGA")
_LEGACY_FMT = {0: _M.FMT_RGB565, 1: _M.FMT_RGB565, 2: _M.FMT_GRAY, 3: _M.FMT_JPEG}


def _legacy_state(b):
    st = getattr(b, "_legacy_cam", None)
    if st is None:
        st = b._legacy_cam = {"ready": False, "format": 3, "framesize": 13, "quality": 12,
                              "flip": 0, "mirror": 0}
    return st


def _l_init(id=0, **kw):
    b = _board()
    st = _legacy_state(b)
    b.camera.inits += 1
    if b.camera.fail_init:
        print("Camera Init Failed")
        return False
    st["format"] = kw.get("format", st["format"])
    st["framesize"] = kw.get("framesize", st["framesize"])
    st["ready"] = True
    return True


def _l_deinit():
    _legacy_state(_board())["ready"] = False
    return True


def _l_capture():
    b = _board()
    st = _legacy_state(b)
    if not st["ready"]:
        return False
    w, h = _LEGACY_DIMS[st["framesize"]]
    fmt = _LEGACY_FMT[st["format"]]
    if b.camera.latency:
        b.sim.clock.advance(b.camera.frame_time(fmt, w, h))
    if b.camera.next_capture_fails():
        return False
    q = max(5, min(95, int(100 - (st["quality"] - 10) * 1.5)))
    return b.camera.produce(b, fmt, w, h, q)


def _l_setter(key):
    def f(value):
        _legacy_state(_board())[key] = value
    return f


_CNADLER = {"Camera": Camera, "PixelFormat": PixelFormat, "FrameSize": FrameSize,
            "GrabMode": GrabMode, "GainCeiling": GainCeiling}
_LEMARIVA = {"init": _l_init, "deinit": _l_deinit, "capture": _l_capture,
             "JPEG": 3, "GRAYSCALE": 2, "YUV422": 1, "RGB565": 0, "PSRAM": 1, "DRAM": 0,
             "XCLK_10MHz": 10000000, "XCLK_20MHz": 20000000,
             "EFFECT_NONE": 0, "EFFECT_NEG": 1, "EFFECT_BW": 2, "EFFECT_RED": 3,
             "EFFECT_GREEN": 4, "EFFECT_BLUE": 5, "EFFECT_RETRO": 6,
             "WB_NONE": 0, "WB_SUNNY": 1, "WB_CLOUDY": 2, "WB_OFFICE": 3, "WB_HOME": 4}
for _i, _name in enumerate(_LEGACY_NAMES):
    _LEMARIVA["FRAME_" + _name] = _i
for _key in ("framesize", "quality", "flip", "mirror", "brightness", "contrast",
             "saturation", "speffect", "whitebalance", "pixformat"):
    _LEMARIVA[_key] = _l_setter({"pixformat": "format"}.get(_key, _key))


# The driver names exist only through __getattr__ (per board), never as module globals.
del Camera, PixelFormat, FrameSize, GrabMode, GainCeiling


def __getattr__(name):
    b = _board_or_none()
    if b is None:
        raise AttributeError("camera.%s: no simulated board is current (look camera names "
                             "up at run time, inside a board)" % name)
    table = _CNADLER if b.camera.driver == "cnadler86" else _LEMARIVA
    try:
        return table[name]
    except KeyError:
        raise AttributeError("module 'camera' (%s driver) has no attribute %r"
                             % (b.camera.driver, name)) from None


def __dir__():
    b = _board_or_none()
    names = _CNADLER if b is None or b.camera.driver == "cnadler86" else _LEMARIVA
    return sorted(names)
