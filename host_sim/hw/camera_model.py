"""The camera sensor of one board: its wiring, timing, fault script, and frame production
from the board's scene (grayscale render, JPEG via Pillow, RGB565).

Timing (every figure with its source; docs/FIDELITY.md):
- frame rates: the cnadler86 README's benchmark (OV2640, xclk 20 MHz, fb_count 1), by pixel
  format and frame size; "No img" cells give no frame at all. `fb_count=2` doubles JPEG rates
  (same table). Sizes the table does not list use the next smaller listed size.
- sensor start (`esp_camera_init`): the fixed vTaskDelay()s of espressif/esp32-camera —
  driver/esp_camera.c camera_probe (10 ms, 10 ms; power-down pulse 2 x 10 ms when a PWDN pin
  is wired; reset pulse 2 x 10 ms when a RESET pin is), sensors/ov2640.c reset (10 ms),
  set_window (10 ms) + set_pixformat (10 ms) for the frame size, set_pixformat (10 ms).
  SCCB register writes are not counted, so this is a lower bound.
- a frame that never comes: `esp_camera_fb_get()` gives up after FB_GET_TIMEOUT = 4000 ms
  (driver/esp_camera.c).
- frame buffers: JPEG gets width*height/5 bytes (driver/cam_hal.c, cam_config); a larger
  JPEG overflows and is dropped. Raw formats get width*height*bytes-per-pixel.
"""
from __future__ import annotations

import io
from typing import Iterable, Optional

from .images import AI_THINKER_WIRING

# esp32-camera framesize_t order (cnadler86 FrameSize values): index -> (w, h)
FRAME_DIMS = (
    (96, 96), (160, 120), (128, 128), (176, 144), (240, 176), (240, 240), (320, 240),
    (320, 320), (400, 296), (480, 320), (640, 480), (800, 600), (1024, 768), (1280, 720),
    (1280, 1024), (1600, 1200), (1920, 1080), (720, 1280), (864, 1536), (2048, 1536),
    (2560, 1440), (2560, 1600), (1080, 1920), (2560, 1920),
)
OV2640_MAX = 15  # UXGA

FMT_RGB565 = "rgb565"
FMT_YUV422 = "yuv422"
FMT_GRAY = "gray"
FMT_JPEG = "jpeg"

# cnadler86 README "Benchmark": fps by frame size index for GRAYSCALE, RGB565, YUV422, JPEG;
# None = "No img". Indices 2 (128x128) and 7 (320x320) are not in the table.
_FPS = {
    0: (12.5, 12.5, 12.5, None), 1: (12.5, 12.5, 12.5, 25), 3: (11, 11, 11.5, 25),
    4: (12.5, 12.5, 12.5, 25), 5: (12.5, 12.5, 11.5, 25), 6: (12, 11, 12, 25),
    8: (12.5, None, None, 6.3), 9: (3, 3, 2.5, 12.5), 10: (3, 3, 3, 12.5),
    11: (3, 3, 3, 12.5), 12: (None, None, None, 6.3), 13: (None, None, None, 6.3),
    14: (2, 2, 2, 6.3), 15: (None, None, None, 6.3),
}
_COLUMN = {FMT_GRAY: 0, FMT_RGB565: 1, FMT_YUV422: 2, FMT_JPEG: 3}
FB_GET_TIMEOUT_S = 4.0
_DELAY_S = 0.010  # one vTaskDelay(10 / portTICK_PERIOD_MS)

_HI = bytes(((g >> 3) << 3) | (g >> 5) for g in range(256))       # RRRRRGGG
_LO = bytes((((g >> 2) & 0x7) << 5) | (g >> 3) for g in range(256))  # GGGBBBBB


class CameraModel:
    """One OV2640 wired to the board. `driver` is set by the Board from its firmware image.

    Faults: `fail_init` makes every sensor start fail (the SCCB probe finds no sensor);
    `none_every=N` makes every Nth frame never arrive; `none_at` lists frame numbers (1-based)
    that never arrive. `latency=False` makes frames instant (unit tests of other parts only).
    `wiring` is how the sensor is connected (AI-Thinker by default)."""

    def __init__(self, driver: str = "cnadler86", *, fail_init: bool = False,
                 none_every: int = 0, none_at: Iterable[int] = (), latency: bool = True,
                 sensor: str = "OV2640", wiring: Optional[dict] = None) -> None:
        if driver not in ("cnadler86", "lemariva"):
            raise ValueError("camera driver must be 'cnadler86' or 'lemariva'")
        self.driver = driver
        self.fail_init = fail_init
        self.none_every = none_every
        self.none_at = set(none_at)
        self.latency = latency
        self.sensor = sensor
        self.wiring = dict(wiring or AI_THINKER_WIRING)
        self.captures = 0          # frames asked of the sensor
        self.failed_captures = 0   # frames that never came (or overflowed)
        self.inits = 0

    def next_frame_fails(self) -> bool:
        """Draw the fate of the next frame asked of the sensor (scripted faults)."""
        self.captures += 1
        n = self.captures
        bad = (self.none_every and n % self.none_every == 0) or n in self.none_at
        if bad:
            self.failed_captures += 1
        return bool(bad)

    # kept for callers of the old name
    next_capture_fails = next_frame_fails

    def frame_time(self, fmt: str, frame_size: int, fb_count: int = 1) -> Optional[float]:
        """Seconds per frame, or None when the driver gives no image in this mode."""
        if not self.latency:
            return 0.0
        fs = min(frame_size, OV2640_MAX)
        while fs not in _FPS:
            fs -= 1
        fps = _FPS[fs][_COLUMN.get(fmt, 1)]
        if fps is None:
            return None
        if fmt == FMT_JPEG and fb_count >= 2:
            fps *= 2
        return 1.0 / fps

    def init_time(self, pins: dict) -> float:
        """The fixed delays of one esp_camera_init() (see the module docstring)."""
        if not self.latency:
            return 0.0
        t = 6 * _DELAY_S
        if pins.get("powerdown_pin", -1) >= 0:
            t += 2 * _DELAY_S
        if pins.get("reset_pin", -1) >= 0:
            t += 2 * _DELAY_S
        return t

    def probe(self, pins: dict) -> Optional[str]:
        """Why the sensor would not start with these pins: "not_found" (SCCB/XCLK/PWDN do not
        reach the sensor), "no_frames" (the data bus is miswired), or None."""
        if self.fail_init:
            return "not_found"
        w = self.wiring
        for k in ("sda_pin", "scl_pin", "xclk_pin", "powerdown_pin"):
            if k in pins and pins[k] != w[k]:
                return "not_found"
        for k in ("pclk_pin", "vsync_pin", "href_pin"):
            if pins.get(k) != w[k]:
                return "no_frames"
        if tuple(pins.get("data_pins", ())) != tuple(w["data_pins"]):
            return "no_frames"
        return None

    @staticmethod
    def buffer_size(fmt: str, w: int, h: int) -> int:
        if fmt == FMT_JPEG:
            return w * h // 5
        return w * h * (1 if fmt == FMT_GRAY else 2)

    def produce(self, board, fmt: str, w: int, h: int, jpeg_q: int, t: Optional[float] = None,
                exposure: Optional[float] = None) -> bytes:
        """One frame of the board's scene completed at world time `t` (default: now), lit by
        the flash LED as it was over the frame's `exposure` (seconds before `t`; the frame
        period): an LED switched on half-way through a frame lights it half, a PWM-dimmed
        one by its duty (Board.led_share; without `exposure`, the LED's level at `t`)."""
        scene = board.scene
        if t is None:
            t = board.sim.clock.now
        if scene is not None:
            lit = board.led_share(t - (exposure or 0.0), t)  # no exposure: the level at t
            gray = scene.render(t, w, h, ir=lit)
        else:
            gray = bytes([96]) * (w * h)
        if fmt == FMT_GRAY:
            return gray
        if fmt in (FMT_RGB565, FMT_YUV422):
            out = bytearray(2 * w * h)
            out[0::2] = gray.translate(_HI)
            out[1::2] = gray.translate(_LO)
            return bytes(out)
        from PIL import Image
        buf = io.BytesIO()
        Image.frombytes("L", (w, h), gray).save(buf, "JPEG", quality=max(1, min(95, jpeg_q)))
        return buf.getvalue()


def dims(frame_size: int) -> Optional[tuple]:
    if 0 <= frame_size < len(FRAME_DIMS):
        return FRAME_DIMS[frame_size]
    return None
