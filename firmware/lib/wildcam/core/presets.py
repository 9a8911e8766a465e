"""Board presets: how each supported camera board is wired, in one table.

`camera.board` in the config names a row of `PRESETS`; `camera.pins` may override single
camera pins of it ("pwdn=-1,xclk=27,data=32/35/34/5/39/18/36/19"). The camera adapter
always passes every pin to the driver explicitly: a generic MicroPython image (cnadler86
`ESP32_GENERIC-SPIRAM`) has no camera model built in and REQUIRES the pins, and on a
camera-model image the explicit pins equal its defaults.

A row is a dict; code reads the keys it knows and ignores the rest, so a row can grow:
- "name": what the board is called;
- "cam": the camera connector — "data" (D0..D7), "pclk", "vsync", "href", "sda", "scl",
  "xclk", "pwdn" (-1 = none), "reset" (-1 = none), "xclk_hz";
- power fields, for the power work to add (documented here so they land in one place):
  "flash_led" (GPIO of the flash/IR LED), "battery_adc" (GPIO) with "battery_divider"
  (battery volts per ADC volt), "sleep_ua" (expected deep-sleep current of the bare board).
  Until then those values come from the config keys pins.* and power.*.

Sources: the AI-Thinker ESP32-CAM wiring is MICROPY_CAMERA_MODEL_AI_THINKER in
cnadler86/micropython-camera-API src/camera_pins.h (the same numbers are the defaults of
lemariva/micropython-camera-driver src/modcamera.h). docs/FIDELITY.md lists both.
"""

AI_THINKER = {
    "name": "AI-Thinker ESP32-CAM",
    "cam": {"data": (5, 18, 19, 21, 36, 39, 34, 35), "pclk": 22, "vsync": 25, "href": 23,
            "sda": 26, "scl": 27, "xclk": 0, "pwdn": 32, "reset": -1, "xclk_hz": 20000000},
}

PRESETS = {"ai-thinker": AI_THINKER}
DEFAULT = "ai-thinker"
_INT_KEYS = ("pclk", "vsync", "href", "sda", "scl", "xclk", "pwdn", "reset", "xclk_hz")


def _num(key, text):
    try:
        return int(text)
    except ValueError:
        raise ValueError("%s: '%s' is not a whole number" % (key, text))


def parse_pins(text):
    """{key: value} from "key=value,..." (data=D0/D1/.../D7); ValueError in plain words."""
    out = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError("'%s' is not key=value" % part)
        if key == "data":
            pins = tuple(_num("data", p) for p in val.split("/"))
            if len(pins) != 8:
                raise ValueError("data needs 8 pins D0/D1/.../D7, got %d" % len(pins))
            out[key] = pins
        elif key in _INT_KEYS:
            out[key] = _num(key, val.strip())
        else:
            raise ValueError("unknown camera pin '%s' (one of data, %s)"
                             % (key, ", ".join(_INT_KEYS)))
    return out


def camera_pins(board=DEFAULT, overrides=""):
    """The camera connector of `board` with `overrides` ("key=value,...") applied."""
    row = PRESETS.get(board)
    if row is None:
        raise ValueError("unknown board '%s' (one of %s)" % (board, ", ".join(sorted(PRESETS))))
    pins = dict(row["cam"])
    if overrides:
        pins.update(parse_pins(overrides))
    return pins


def from_config(cfg):
    """The camera pins a Config asks for (camera.board, camera.pins)."""
    return camera_pins(cfg.get("camera.board"), cfg.get("camera.pins"))
