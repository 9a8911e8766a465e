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
- "power": what the board can do about its own current (docs/POWER.md has every figure's
  source) — "cam_off" (True when "pwdn" can power the camera down: the stock AI-Thinker's
  GPIO32 switches the camera's 1.2/2.8 V regulators, CAM_PWR; the modified board's GPIO32 is
  the sensor's PWDN), "regulator" (the 3.3 V regulator) with "regulator_ua" (its quiescent
  current), "sd_card" (a card slot), "flash_led" (GPIO), "battery_adc" (GPIO with a divider
  from the battery, -1 = none) and "battery_divider" (battery volts per ADC volt),
  "sleep_ua" (expected deep sleep with the camera powered down and a card inserted) and
  "sleep_ua_cam_on" (the same with the camera powered: what a missing hold costs), and
  "led_pwm" (the flash LED may be dimmed by machine.PWM while the camera runs: True on the
  classic ESP32, where MicroPython's PWM channels come from the LEDC high-speed group and
  the camera's XCLK runs in the low-speed group; a chip with only the low-speed group would
  lose the XCLK's channel to it: capture.led).

Sources: the AI-Thinker ESP32-CAM wiring is MICROPY_CAMERA_MODEL_AI_THINKER in
cnadler86/micropython-camera-API src/camera_pins.h (the same numbers are the defaults of
lemariva/micropython-camera-driver src/modcamera.h). docs/FIDELITY.md lists both.
"""

_AI_THINKER_CAM = {"data": (5, 18, 19, 21, 36, 39, 34, 35), "pclk": 22, "vsync": 25,
                   "href": 23, "sda": 26, "scl": 27, "xclk": 0, "pwdn": 32, "reset": -1,
                   "xclk_hz": 20000000}

AI_THINKER = {
    "name": "AI-Thinker ESP32-CAM",
    "cam": _AI_THINKER_CAM,
    # no battery divider on the stock board; sleep: dimhoff test 3 (4.02 mA) + AMS1117 1.5 mA
    "power": {"cam_off": True, "regulator": "AMS1117", "regulator_ua": 1500, "sd_card": True,
              "flash_led": 4, "battery_adc": -1, "battery_divider": 2.0,
              "sleep_ua": 5520, "sleep_ua_cam_on": 24000, "led_pwm": True},
}

AI_THINKER_MOD = {
    "name": "AI-Thinker ESP32-CAM, modified for battery (docs/POWER.md)",
    "cam": _AI_THINKER_CAM,
    # R3 removed and PWDN wired to GPIO32, R11 removed, R14 a pull-down, AMS1117 replaced
    # by an AP7361C, 100k/100k divider from the cell to GPIO33 (ADC1: readable with WiFi on;
    # the red LED's resistor removed); sleep: dimhoff test 5 (1.41 mA) + AP7361C 60 uA
    "power": {"cam_off": True, "regulator": "AP7361C", "regulator_ua": 60, "sd_card": True,
              "flash_led": 4, "battery_adc": 33, "battery_divider": 2.0,
              "sleep_ua": 1470, "sleep_ua_cam_on": 22560, "led_pwm": True},
}

PRESETS = {"ai-thinker": AI_THINKER, "ai-thinker-mod": AI_THINKER_MOD}
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


def power(board=DEFAULT):
    """The power facts of `board` (see the module docstring)."""
    row = PRESETS.get(board)
    if row is None:
        raise ValueError("unknown board '%s' (one of %s)" % (board, ", ".join(sorted(PRESETS))))
    return row["power"]


def battery_adc(cfg):
    """(ADC pin, divider) the battery is read on: pins.battery_adc when set (>= 0, with
    power.battery_divider), -1 for none, else (-2, the default) the preset's divider."""
    pin = cfg.get("pins.battery_adc")
    if pin != -2:
        return pin, cfg.get("power.battery_divider")
    p = power(cfg.get("camera.board"))
    return p["battery_adc"], p["battery_divider"]
