"""The legacy lemariva micropython-camera-driver (`camera.init/capture` module functions) as a
simulated board runs it: its newest prebuilt image, MicroPython v1.21.0 with esp32-camera
v2.0.5 (repository lemariva/micropython-camera-driver: src/modcamera.c, src/modcamera.h,
README.md; constant values from esp32-camera v2.0.5 driver/include/sensor.h and esp_camera.h).

- `init(id, *, format=JPEG, framesize=FRAME_VGA, quality=12, d0..d7, vsync, href, pclk,
  pwdn, reset, xclk, siod, sioc, xclk_freq=XCLK_10MHz, fb_size=1, fb_location=DRAM)` returns
  True, or raises `OSError("Camera Init Failed")` when the sensor does not start (it never
  returns False). An invalid format, frame size or xclk_freq is a ValueError. init() on a
  running camera fails (esp32-camera's probe answers ESP_ERR_INVALID_STATE and tears the
  camera down).
- Frame buffers default to DRAM (`fb_location=camera.DRAM`); the README: "Except when using
  CIF or lower resolution with JPEG, the driver requires PSRAM" — anything else needs
  `fb_location=camera.PSRAM` (and a board with PSRAM), or init fails.
- `capture()` blocks until a frame is complete and returns a bytes COPY, or False. The buffer
  goes straight back to the driver, which refills it at once (grab mode WHEN_EMPTY): a
  capture made long after the previous one gets that old frame (esp_camera.h: "first
  'fb_count' frames might be old").
- xclk 10 MHz (the default) halves the OV2640 frame rate measured at 20 MHz (modcamera.c:
  "XCLK 20MHz or 10MHz for OV2640 double FPS").
- The sensor setters (framesize, quality, flip, ...) return False without a camera.
"""
from __future__ import annotations

from host_sim.context import get_board
from . import camera_model as M

RGB565, YUV422, YUV420, GRAYSCALE, JPEG = 0, 1, 2, 3, 4  # esp32-camera v2.0.5 pixformat_t
PSRAM, DRAM = 0, 1  # camera_fb_location_t
XCLK_10MHz, XCLK_20MHz = 10000000, 20000000
# framesize_t of esp32-camera v2.0.5 (no 128x128 / 320x320 there)
_SIZES = (("96X96", 0), ("QQVGA", 1), ("QCIF", 3), ("HQVGA", 4), ("240X240", 5),
          ("QVGA", 6), ("CIF", 8), ("HVGA", 9), ("VGA", 10), ("SVGA", 11), ("XGA", 12),
          ("HD", 13), ("SXGA", 14), ("UXGA", 15), ("FHD", 16), ("P_HD", 17), ("P_3MP", 18),
          ("QXGA", 19), ("QHD", 20), ("WQXGA", 21), ("P_FHD", 22), ("QSXGA", 23))
_CIF = 6  # legacy FRAME_CIF
_FMT = {RGB565: M.FMT_RGB565, YUV422: M.FMT_YUV422, GRAYSCALE: M.FMT_GRAY, JPEG: M.FMT_JPEG}
_PIN_ARGS = {"d0": 0, "d1": 1, "d2": 2, "d3": 3, "d4": 4, "d5": 5, "d6": 6, "d7": 7}
_OTHER_PINS = {"vsync": "vsync_pin", "href": "href_pin", "pclk": "pclk_pin",
               "pwdn": "powerdown_pin", "xclk": "xclk_pin", "siod": "sda_pin",
               "sioc": "scl_pin", "reset": "reset_pin"}
_KW = set(_PIN_ARGS) | set(_OTHER_PINS) | {"format", "framesize", "quality", "xclk_freq",
                                           "fb_size", "fb_location"}


def _state(b):
    st = getattr(b, "_legacy_cam", None)
    if st is None or st["boot"] != b.generation:
        st = b._legacy_cam = {"boot": b.generation, "ready": False}
    return st


def _dims(framesize):
    return M.dims(_SIZES[framesize][1])


def init(id, **kw):
    for k in kw:
        if k not in _KW:
            raise TypeError("unexpected keyword argument '%s'" % k)
    b = get_board()
    st = _state(b)
    fmt = kw.get("format", JPEG)
    if fmt not in (JPEG, YUV422, GRAYSCALE, RGB565):
        raise ValueError("Image format is not valid")
    size = kw.get("framesize", 8)
    if not 0 <= size < len(_SIZES):
        raise ValueError("Image framesize is not valid")
    xclk = kw.get("xclk_freq", XCLK_10MHz)
    if xclk not in (XCLK_10MHz, XCLK_20MHz):
        raise ValueError("xclk frequency is not valid")
    w = b.camera.wiring
    pins = {"data_pins": tuple(kw.get(k, w["data_pins"][i]) for k, i in _PIN_ARGS.items())}
    for k, name in _OTHER_PINS.items():
        pins[name] = kw.get(k, w[name])
    model = b.camera
    model.inits += 1
    b.energy.count("camera_init")
    b.sim.clock.advance(model.init_time(pins))
    if st["ready"]:  # camera_probe: ESP_ERR_INVALID_STATE -> esp_camera_deinit()
        st["ready"] = False
        raise OSError("Camera Init Failed")
    loc = kw.get("fb_location", DRAM)
    in_dram_ok = fmt == JPEG and size <= _CIF
    why = "not_found" if b.camera_held_off(pins.get("powerdown_pin", -1)) else model.probe(pins)
    if why == "not_found" or (loc == DRAM and not in_dram_ok) or (loc != DRAM and not b.psram):
        raise OSError("Camera Init Failed")
    st.update(ready=True, format=fmt, framesize=size, quality=kw.get("quality", 12),
              xclk=xclk, miswired=why == "no_frames", due=None)
    _request(b, st)
    return True


def _init_signature():
    import inspect
    P = inspect.Parameter
    return inspect.Signature([P("id", P.POSITIONAL_ONLY)] +
                             [P(n, P.KEYWORD_ONLY, default=None) for n in sorted(_KW)])


init.__signature__ = _init_signature()  # the C table: id positional, the rest keyword-only


def deinit():
    _state(get_board())["ready"] = False
    return True


def _frame_time(b, st):
    if st["miswired"]:
        return None
    ft = b.camera.frame_time(_FMT[st["format"]], _SIZES[st["framesize"]][1])
    return None if ft is None else ft * XCLK_20MHz / st["xclk"]


def _request(b, st):
    ft = _frame_time(b, st)
    st["doomed"] = b.camera.next_frame_fails() or ft is None
    st["due"] = b.now + (ft or 0.0)


def capture():
    b = get_board()
    st = _state(b)
    if not st["ready"]:
        return False
    clock = b.sim.clock
    if clock.now < st["due"]:
        clock.advance(st["due"] - clock.now)
    if st["doomed"]:
        clock.advance(M.FB_GET_TIMEOUT_S)
        _request(b, st)
        return False
    w, h = _dims(st["framesize"])
    q = max(5, min(95, int(100 - (st["quality"] - 10) * 1.5)))
    fmt = _FMT[st["format"]]
    data = b.camera.produce(b, fmt, w, h, q, t=st["due"], exposure=_frame_time(b, st))
    _request(b, st)  # esp_camera_fb_return(): the sensor refills the buffer at once
    if len(data) > M.CameraModel.buffer_size(fmt, w, h):
        b.camera.failed_captures += 1
        return False
    return data


def _setter(key):
    def f(value, /):
        st = _state(get_board())
        if not st["ready"]:
            return False  # esp_camera_sensor_get() is NULL
        if key is not None:
            st[key] = value
        return None
    f.__name__ = key or "setting"
    return f


framesize = _setter("framesize")
quality = _setter("quality")
flip = _setter(None)
mirror = _setter(None)
contrast = _setter(None)
saturation = _setter(None)
brightness = _setter(None)
speffect = _setter(None)
whitebalance = _setter(None)

NAMES = {"init": init, "deinit": deinit, "capture": capture, "flip": flip, "mirror": mirror,
         "framesize": framesize, "quality": quality, "contrast": contrast,
         "saturation": saturation, "brightness": brightness, "speffect": speffect,
         "whitebalance": whitebalance,
         "JPEG": JPEG, "YUV422": YUV422, "GRAYSCALE": GRAYSCALE, "RGB565": RGB565,
         "PSRAM": PSRAM, "DRAM": DRAM, "XCLK_10MHz": XCLK_10MHz, "XCLK_20MHz": XCLK_20MHz,
         "WB_NONE": 0, "WB_SUNNY": 1, "WB_CLOUDY": 2, "WB_OFFICE": 3, "WB_HOME": 4,
         "EFFECT_NONE": 0, "EFFECT_NEG": 1, "EFFECT_BW": 2, "EFFECT_RED": 3,
         "EFFECT_GREEN": 4, "EFFECT_BLUE": 5, "EFFECT_RETRO": 6}
for _i, (_n, _) in enumerate(_SIZES):
    NAMES["FRAME_" + _n] = _i
