"""The cnadler86 micropython-camera-API driver (`camera.Camera`) as a simulated board runs it.

Followed from the driver's source (repository cnadler86/micropython-camera-API: src/modcamera.c,
src/modcamera_api.c, typings/camera.pyi; the esp32-camera component it wraps for timing and
buffers, see host_sim/hw/camera_model.py). What it models, and what it leaves out, is listed in
docs/FIDELITY.md. The points that matter to firmware:

- `capture()` returns `memoryview('b', ...)` — SIGNED bytes — over the driver's one frame buffer,
  or None when no frame came (after the driver's 4 s timeout). The buffer handed out before
  goes back to the driver at the next capture (or `free_buffer()`), and the sensor refills it.
- `capture()` blocks until the frame is complete (virtual time passes); `free_buffer()` +
  `frame_available()` let firmware wait in asyncio instead (the repository's acamera.py).
- The constructor takes keyword arguments only. On the camera-model image (AI_THINKER) the
  pins default to that model's; on the generic image data_pins, pclk_pin, vsync_pin,
  href_pin, xclk_pin are required (TypeError) and sda/scl (or i2c) must be given (ValueError).
  It starts the sensor, takes a test frame and raises OSError when that fails.
- There is one camera object per board (the C singleton): constructing again deinitialises
  the running camera and returns the same object.
- A deinitialised camera raises OSError(ENOENT) from every method but deinit/init/free_buffer
  and the pixel_format/grab_mode/fb_count getters (`check_init`), reconfigure included; its
  properties do not exist (AttributeError).
- Frame buffers are always in PSRAM: a board without PSRAM cannot start the camera
  (OSError(1, 'ESP_FAIL'), as esp32-camera's frame buffer allocation fails).
"""
from __future__ import annotations

import warnings

from host_sim.context import get_board
from . import camera_model as M

ENOENT = 2
ESP_ERR_NOT_FOUND = -261  # check_esp_err(): OSError(-code, name) for 0x105


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


_FMT = {PixelFormat.GRAYSCALE: M.FMT_GRAY, PixelFormat.JPEG: M.FMT_JPEG,
        PixelFormat.RGB565: M.FMT_RGB565, PixelFormat.YUV422: M.FMT_YUV422}
_PINS = ("pclk_pin", "vsync_pin", "href_pin", "sda_pin", "scl_pin", "xclk_pin")
_REQUIRED = ("data_pins", "pclk_pin", "vsync_pin", "href_pin", "xclk_pin")
_ARGS = ("data_pins",) + _PINS + ("i2c", "xclk_freq", "powerdown_pin", "reset_pin",
                                  "pixel_format", "frame_size", "jpeg_quality", "fb_count",
                                  "grab_mode", "init")
# OV2640 sensor status after esp_camera_init (esp32-camera sensors/ov2640.c init_status and
# the OV2640 settings esp_camera_init applies: gainceiling 2X, bpc off, wpc on, lenc on)
_SENSOR_DEFAULTS = dict(
    contrast=0, brightness=0, saturation=0, sharpness=0, denoise=0, gainceiling=0,
    colorbar=False, whitebal=True, gain_ctrl=True, exposure_ctrl=True, hmirror=False,
    vflip=False, aec2=False, awb_gain=True, agc_gain=0, aec_value=300, special_effect=0,
    wb_mode=0, ae_level=0, dcw=True, bpc=False, wpc=True, raw_gma=True, lenc=True)
_BOOL = {k for k, v in _SENSOR_DEFAULTS.items() if isinstance(v, bool)}


def _ov2640_set(name, value):
    """(accepted, stored value) as the OV2640 sensor setters answer (sensors/ov2640.c)."""
    if name in ("contrast", "brightness", "saturation", "ae_level"):
        return -2 <= value <= 2, value
    if name == "special_effect":
        return 0 <= value <= 6, value
    if name == "wb_mode":
        return 0 <= value <= 4, value
    if name in ("sharpness", "denoise"):  # "not supported": the setter returns -1
        return False, value
    if name == "agc_gain":
        return True, max(0, min(30, value))
    if name == "aec_value":
        return True, max(0, min(1200, value))
    if name in _BOOL:
        return True, bool(value)
    return True, value


def _int(name, v):
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("can't convert %s to int" % type(v).__name__)
    return v


class _Prop:
    """A property of the C attr handler: absent on a deinitialised camera."""

    def __init__(self, name, readonly=False):
        self.name, self.readonly = name, readonly

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        if not obj._ready:
            raise AttributeError("'Camera' object has no attribute '%s'" % self.name)
        return getattr(obj, "get_" + self.name)()

    def __set__(self, obj, value):
        if not obj._ready:
            raise AttributeError("can't set attribute '%s'" % self.name)
        if self.readonly:
            raise ValueError("read-only property")
        getattr(obj, "_set_" + self.name)(value)


class Camera:
    """cnadler86 `camera.Camera` (one per board)."""

    def __new__(cls, *args, **kwargs):
        b = get_board()
        held = getattr(b, "_camera_singleton", None)
        if held is not None and held[0] == b.generation:
            return held[1]
        self = object.__new__(cls)
        self._board, self._ready, self._constructed = b, False, False
        b._camera_singleton = (b.generation, self)
        return self

    def __init__(self, *args, **kwargs):
        if args:
            raise TypeError("function takes 0 positional arguments but %d were given" % len(args))
        for k in kwargs:
            if k not in _ARGS:
                raise TypeError("unexpected keyword argument '%s'" % k)
        b = self._board
        defaults = b.image.default_pins
        pins = {}
        for k in _REQUIRED:
            if k not in kwargs and defaults is None:
                raise TypeError("'%s' argument required" % k)
        data = kwargs.get("data_pins")
        if data is None:
            data = defaults["data_pins"] if defaults is not None else None
        elif not isinstance(data, (list, bytearray)):
            raise TypeError("data_pins must be a list or bytearray")
        elif len(data) != 8:
            raise ValueError("data_pins must have 8 elements")
        pins["data_pins"] = tuple(_int("data_pins", p) for p in data)
        for k in _PINS + ("powerdown_pin", "reset_pin"):
            dflt = defaults.get(k, -1) if defaults is not None else -1
            pins[k] = _int(k, kwargs.get(k, dflt))
        i2c = kwargs.get("i2c")
        if i2c is not None:
            raise TypeError("i2c must be a machine.I2C object")  # the shim has no machine.I2C
        if defaults is None and (pins["sda_pin"] == -1 or pins["scl_pin"] == -1):
            raise ValueError("Either i2c object or sda_pin/scl_pin must be specified")
        xclk = _int("xclk_freq", kwargs.get("xclk_freq", 20))
        if xclk < 1000:
            xclk *= 1000000
        q = _int("jpeg_quality", kwargs.get("jpeg_quality", 85))
        if q < 0 or q > 100:
            raise ValueError("jpeg quality must be in range 0-100")
        fmt = _int("pixel_format", kwargs.get("pixel_format", PixelFormat.RGB565))
        fs = _int("frame_size", kwargs.get("frame_size", FrameSize.QQVGA))
        fbc = _int("fb_count", kwargs.get("fb_count", 1))
        grab = _int("grab_mode", kwargs.get("grab_mode", GrabMode.WHEN_EMPTY))
        init = bool(kwargs.get("init", True))
        if self._constructed:
            self.deinit()  # the singleton existed: deinit it before reinitialising
        self._constructed = True
        self._pins = pins
        self._check_format(fmt)
        if xclk > 40000000:
            raise ValueError("xclk frequency cannot be grather than 40MHz")
        self._xclk = xclk
        self._fb_count = self._check_fb_count(fbc)
        self._grab = self._check_grab(grab)
        self._fmt, self._fs, self._q = fmt, fs, q
        self._sensor = dict(_SENSOR_DEFAULTS)
        self._fb = None
        self._views = []
        self._held = False
        self._due = None     # world time the frame in flight is complete; None: none in flight
        self._doomed = False  # the frame in flight never arrives
        self._data = None    # the completed frame in flight (bytes), made on demand
        self.init()
        if self.capture() is None:
            self.deinit()
            raise OSError("Failed to capture initial frame. Construct a new object with "
                          "appropriate configuration.")
        if not init:
            self.deinit()
        else:
            self.free_buffer()

    # --- checks of the C constructor / reconfigure -------------------------------------------
    @staticmethod
    def _check_format(fmt):
        if fmt > PixelFormat.RGB555 or fmt < 0:
            raise ValueError("Invalid pixel_format")
        return fmt

    @staticmethod
    def _check_fb_count(n):
        if n > 2:
            warnings.warn("Frame buffer size limited to 2")
            return 2
        if n < 1:
            warnings.warn("Frame buffer size must be >0. Setting it to 1")
            return 1
        return n

    @staticmethod
    def _check_grab(g):
        if g not in (GrabMode.WHEN_EMPTY, GrabMode.LATEST):
            raise ValueError("Invalid grab_mode")
        return g

    def _check_init(self):
        if not self._ready:
            raise OSError(ENOENT)

    # --- life cycle ----------------------------------------------------------------------------
    def init(self):
        if self._ready:
            return
        b = self._board
        model = b.camera
        model.inits += 1
        b.energy.count("camera_init")
        b.sim.clock.advance(model.init_time(self._pins))
        why = "not_found" if b.camera_held_off(self._pins.get("powerdown_pin", -1)) \
            else model.probe(self._pins)
        if why == "not_found":
            raise OSError(ESP_ERR_NOT_FOUND, "ESP_ERR_NOT_FOUND")
        fmt = _FMT.get(self._fmt)
        if fmt is None:
            raise NotImplementedError("host_sim models GRAYSCALE, JPEG, RGB565 and YUV422 only")
        if not b.psram:  # fb_location is always CAMERA_FB_IN_PSRAM: the allocation fails
            raise OSError(1, "ESP_FAIL")
        self._fs = min(self._fs, M.OV2640_MAX)  # esp_camera_init forces the sensor maximum
        w, h = M.dims(self._fs)
        self._fb = bytearray(M.CameraModel.buffer_size(fmt, w, h))
        self._miswired = why == "no_frames"
        b.xclk_lost = False  # camera_enable_out_clock(): its LEDC channel drives XCLK again
        self._ready = True
        self._held = False
        self._request()  # cam_start(): the sensor starts filling the buffer

    def deinit(self):
        if not self._ready:
            return
        for v in self._views:
            try:
                v.release()
            except BufferError:
                pass
        self._views = []
        self._fb = None
        self._held = False
        self._due = None
        self._ready = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.deinit()

    def reconfigure(self, *, frame_size=None, pixel_format=None, grab_mode=None,
                    fb_count=None):
        self._check_init()
        self._set_frame_size(self._fs if frame_size is None else frame_size)
        if pixel_format is not None:
            self._fmt = self._check_format(pixel_format)
        if grab_mode is not None:
            self._grab = self._check_grab(grab_mode)
        if fb_count is not None:
            self._fb_count = self._check_fb_count(fb_count)
        fs = self._fs
        self.deinit()
        self._fs = fs
        self.init()

    # --- frames ----------------------------------------------------------------------------------
    def _frame_time(self):
        return self._board.camera.frame_time(_FMT[self._fmt], self._fs, self._fb_count) \
            if not self._miswired else None

    def _request(self):
        """The buffer is with the driver again: the sensor delivers the next frame."""
        model = self._board.camera
        ft = self._frame_time()
        self._doomed = model.next_frame_fails() or ft is None or self._board.xclk_lost
        self._due = self._board.now + (ft or 0.0)
        self._data = None

    def _complete(self):
        """The frame in flight as bytes once its time has come (None: it never comes)."""
        if self._doomed:
            return None
        if self._data is None and self._board.xclk_lost:  # no XCLK: the frame never ends
            self._doomed = True
            return None
        if self._data is None:
            b = self._board
            w, h = M.dims(self._fs)
            data = b.camera.produce(b, _FMT[self._fmt], w, h, self._q, t=self._due,
                                    exposure=self._frame_time())
            if len(data) > len(self._fb):  # frame buffer overflow: the driver drops it
                b.camera.failed_captures += 1
                self._doomed = True
                return None
            self._data = data
        return self._data

    def frame_available(self):
        self._check_init()
        return (not self._held and self._due is not None and self._board.now >= self._due
                and self._complete() is not None)

    def free_buffer(self):
        if self._ready and self._held:
            self._held = False
            self._request()

    def capture(self):
        """A signed memoryview of the frame in the driver's buffer, or None (no frame)."""
        self._check_init()
        if self._held:
            self._held = False
            self._request()  # esp_camera_fb_return(): the previous frame goes back
        b = self._board
        clock = b.sim.clock
        if self._doomed or self._complete_at_due() is None:
            clock.advance(max(0.0, self._due + M.FB_GET_TIMEOUT_S - b.now)
                          if self._due is not None else M.FB_GET_TIMEOUT_S)
            self._request()  # the sensor keeps trying
            return None
        data = self._data
        n = len(data)
        self._fb[:n] = data
        self._held = True
        self._due = None
        view = memoryview(self._fb).cast("b")[:n]
        self._views.append(view)
        if len(self._views) > 16:
            self._views.pop(0)
        return view

    def _complete_at_due(self):
        clock = self._board.sim.clock
        if self._due is not None and clock.now < self._due:
            clock.advance(self._due - clock.now)  # fb_get blocks until the frame is complete
        return self._complete()

    # --- getters -----------------------------------------------------------------------------
    def get_pixel_format(self):
        return self._fmt

    def get_grab_mode(self):
        return self._grab

    def get_fb_count(self):
        return self._fb_count

    def get_pixel_width(self):
        self._check_init()
        return M.dims(self._fs)[0]

    def get_pixel_height(self):
        self._check_init()
        return M.dims(self._fs)[1]

    def get_max_frame_size(self):
        self._check_init()
        return M.OV2640_MAX

    def get_sensor_name(self):
        self._check_init()
        return self._board.camera.sensor

    def get_frame_size(self):
        self._check_init()
        return self._fs

    def get_quality(self):
        self._check_init()
        return self._q

    # --- setters -----------------------------------------------------------------------------
    def _set_frame_size(self, value):
        self._check_init()
        value = _int("frame_size", value)
        if value > M.OV2640_MAX:
            warnings.warn("Frame size will be scaled down to maximal frame size supported by "
                          "the camera sensor")
            value = M.OV2640_MAX
        if self._held:  # esp_camera_return_all()
            self._held = False
            self._request()
        self._board.sim.clock.advance(0.02 if self._board.camera.latency else 0.0)
        self._fs = value  # the buffers keep the size of init: larger frames overflow

    def set_frame_size(self, value):
        self._set_frame_size(value)

    def _set_quality(self, value):
        self._check_init()
        self._q = _int("quality", value)  # the sensor clamps its 0..63 scale; no error

    def set_quality(self, value):
        self._set_quality(value)

    frame_size = _Prop("frame_size")
    quality = _Prop("quality")


for _name in ("pixel_format", "grab_mode", "fb_count", "pixel_width", "pixel_height",
              "max_frame_size", "sensor_name"):
    setattr(Camera, _name, _Prop(_name, readonly=True))


def _sensor_prop(name):
    def get(self):
        self._check_init()
        return self._sensor[name]

    def set_(self, value):
        self._check_init()
        v = bool(value) if name in _BOOL else _int(name, value)
        ok, stored = _ov2640_set(name, v)
        if not ok:
            raise ValueError("Invalid setting for %s" % name)
        self._sensor[name] = stored

    get.__name__, set_.__name__ = "get_" + name, "set_" + name
    setattr(Camera, "get_" + name, get)
    setattr(Camera, "set_" + name, set_)
    setattr(Camera, "_set_" + name, set_)
    setattr(Camera, name, _Prop(name))


for _name in _SENSOR_DEFAULTS:
    _sensor_prop(_name)
del _name

def _declared_signature():
    """What the C argument table accepts (keyword-only; required-ness depends on the image,
    so the shim parses **kwargs itself): inspect.signature() and the contract test see it."""
    import inspect
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_ONLY)] + [P(n, P.KEYWORD_ONLY, default=None) for n in _ARGS]
    return inspect.Signature(params)


Camera.__init__.__signature__ = _declared_signature()

NAMES = {"Camera": Camera, "PixelFormat": PixelFormat, "FrameSize": FrameSize,
         "GrabMode": GrabMode, "GainCeiling": GainCeiling}
