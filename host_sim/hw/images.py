"""Which chip a simulated board has and which MicroPython firmware image it runs.

A real ESP32-CAM's `camera` module, its constructor defaults and some `esp32` names depend on
the image that was flashed and on the chip, so a simulated board says both (docs/FIDELITY.md):

- image "ai_thinker" (default): cnadler86 micropython-camera-API's prebuilt
  `ESP32_GENERIC-SPIRAM@AI_THINKER` — `camera.Camera`, pins default to the AI-Thinker wiring
  (src/camera_pins.h, MICROPY_CAMERA_MODEL_AI_THINKER).
- image "generic": the same driver built as `ESP32_GENERIC-SPIRAM`, no camera model: the
  constructor REQUIRES data_pins, pclk_pin, vsync_pin, href_pin, xclk_pin (and sda/scl or i2c)
  (src/modcamera_api.c, `mp_camera_make_new`, the `#else` of MICROPY_CAMERA_ALL_REQ_PINS_DEFINED).
- image "lemariva": lemariva/micropython-camera-driver's prebuilt
  `micropython_v1.21.0_camera_no_ble.bin` — the legacy `camera.init/capture` functions.

Chips: "esp32" (the ESP32-CAM's classic ESP32, default), "esp32s2", "esp32s3", "esp32c3".
Only the classic chip has `esp32.raw_temperature()`; only the others have
`esp32.mcu_temperature()` (MicroPython ports/esp32/modesp32.c).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

# The AI-Thinker ESP32-CAM's camera wiring (cnadler86 src/camera_pins.h; the same numbers are
# the defaults of lemariva's src/modcamera.h). This is how the simulated board is wired.
AI_THINKER_WIRING = {
    "data_pins": (5, 18, 19, 21, 36, 39, 34, 35),  # D0..D7
    "pclk_pin": 22, "vsync_pin": 25, "href_pin": 23, "sda_pin": 26, "scl_pin": 27,
    "xclk_pin": 0, "powerdown_pin": 32, "reset_pin": -1,
}

CHIPS = ("esp32", "esp32s2", "esp32s3", "esp32c3")


class Image(NamedTuple):
    key: str
    name: str                  # what the file / build is called upstream
    driver: str                # "cnadler86" | "lemariva"
    micropython: str           # MicroPython version of the prebuilt image
    default_pins: Optional[dict]  # camera pins the constructor defaults to; None = required


IMAGES = {
    "ai_thinker": Image("ai_thinker", "ESP32_GENERIC-SPIRAM@AI_THINKER", "cnadler86", "1.27.0",
                        AI_THINKER_WIRING),
    "generic": Image("generic", "ESP32_GENERIC-SPIRAM", "cnadler86", "1.27.0", None),
    "lemariva": Image("lemariva", "micropython_v1.21.0_camera_no_ble", "lemariva", "1.21.0",
                      AI_THINKER_WIRING),
}


def image(key: str) -> Image:
    try:
        return IMAGES[key]
    except KeyError:
        raise ValueError("unknown firmware image %r (one of %s)"
                         % (key, ", ".join(sorted(IMAGES)))) from None


def check_chip(chip: str) -> str:
    if chip not in CHIPS:
        raise ValueError("unknown chip %r (one of %s)" % (chip, ", ".join(CHIPS)))
    return chip
