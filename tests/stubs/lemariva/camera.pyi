"""Type stub of the legacy lemariva `camera` module (micropython-camera-driver, newest
prebuilt image MicroPython v1.21.0 with esp32-camera v2.0.5), written for this project from
src/modcamera.c (argument table, module globals) and the constant values of esp32-camera
v2.0.5 (driver/include/sensor.h, esp_camera.h). tests/test_board_contract.py holds the
firmware's legacy calls (lines marked "lemariva API") and host_sim's legacy table to it.

`init()` returns True or raises OSError("Camera Init Failed"); `capture()` returns bytes or
False; the sensor setters return None, or False when there is no camera.
"""
from typing import Final


def init(id: int, /, *, format: int = 4, framesize: int = 8, quality: int = 12, d0: int = 5,
         d1: int = 18, d2: int = 19, d3: int = 21, d4: int = 36, d5: int = 39, d6: int = 34,
         d7: int = 35, vsync: int = 25, href: int = 23, pclk: int = 22, pwdn: int = 32,
         reset: int = -1, xclk: int = 0, siod: int = 26, sioc: int = 27,
         xclk_freq: int = 10000000, fb_size: int = 1, fb_location: int = 1) -> bool: ...
def deinit() -> bool: ...
def capture() -> bytes | bool: ...

def flip(value: int, /) -> bool | None: ...
def mirror(value: int, /) -> bool | None: ...
def framesize(value: int, /) -> bool | None: ...
def quality(value: int, /) -> bool | None: ...
def contrast(value: int, /) -> bool | None: ...
def saturation(value: int, /) -> bool | None: ...
def brightness(value: int, /) -> bool | None: ...
def speffect(value: int, /) -> bool | None: ...
def whitebalance(value: int, /) -> bool | None: ...

JPEG: Final[int] = 4
YUV422: Final[int] = 1
GRAYSCALE: Final[int] = 3
RGB565: Final[int] = 0
FRAME_96X96: Final[int] = 0
FRAME_QQVGA: Final[int] = 1
FRAME_QCIF: Final[int] = 2
FRAME_HQVGA: Final[int] = 3
FRAME_240X240: Final[int] = 4
FRAME_QVGA: Final[int] = 5
FRAME_CIF: Final[int] = 6
FRAME_HVGA: Final[int] = 7
FRAME_VGA: Final[int] = 8
FRAME_SVGA: Final[int] = 9
FRAME_XGA: Final[int] = 10
FRAME_HD: Final[int] = 11
FRAME_SXGA: Final[int] = 12
FRAME_UXGA: Final[int] = 13
FRAME_FHD: Final[int] = 14
FRAME_P_HD: Final[int] = 15
FRAME_P_3MP: Final[int] = 16
FRAME_QXGA: Final[int] = 17
FRAME_QHD: Final[int] = 18
FRAME_WQXGA: Final[int] = 19
FRAME_P_FHD: Final[int] = 20
FRAME_QSXGA: Final[int] = 21
WB_NONE: Final[int] = 0
WB_SUNNY: Final[int] = 1
WB_CLOUDY: Final[int] = 2
WB_OFFICE: Final[int] = 3
WB_HOME: Final[int] = 4
EFFECT_NONE: Final[int] = 0
EFFECT_NEG: Final[int] = 1
EFFECT_BW: Final[int] = 2
EFFECT_RED: Final[int] = 3
EFFECT_GREEN: Final[int] = 4
EFFECT_BLUE: Final[int] = 5
EFFECT_RETRO: Final[int] = 6
XCLK_10MHz: Final[int] = 10000000
XCLK_20MHz: Final[int] = 20000000
PSRAM: Final[int] = 0
DRAM: Final[int] = 1
