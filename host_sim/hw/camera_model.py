"""The camera sensor of one board: which driver "is flashed", fault script, and frame
production from the board's scene (grayscale render, JPEG via Pillow, RGB565)."""
from __future__ import annotations

import io
from typing import Iterable, Optional

# esp32-camera framesize_t order (cnadler86 FrameSize values): index -> (w, h)
FRAME_DIMS = (
    (96, 96), (160, 120), (128, 128), (176, 144), (240, 176), (240, 240), (320, 240),
    (320, 320), (400, 296), (480, 320), (640, 480), (800, 600), (1024, 768), (1280, 720),
    (1280, 1024), (1600, 1200), (1920, 1080), (720, 1280), (864, 1536), (2048, 1536),
    (2560, 1440), (2560, 1600), (1080, 1920), (2560, 1920),
)
OV2640_MAX = 15  # UXGA

FMT_RGB565 = "rgb565"
FMT_GRAY = "gray"
FMT_JPEG = "jpeg"

_HI = bytes(((g >> 3) << 3) | (g >> 5) for g in range(256))       # RRRRRGGG
_LO = bytes((((g >> 2) & 0x7) << 5) | (g >> 3) for g in range(256))  # GGGBBBBB


class CameraInitError(OSError):
    pass


class CameraModel:
    """driver: "cnadler86" | "lemariva". Faults: `fail_init` makes every init fail;
    `none_every=N` makes every Nth capture return no frame; `none_at` lists capture numbers
    (1-based) that return none. `latency` makes a capture block for one frame time."""

    def __init__(self, driver: str = "cnadler86", *, fail_init: bool = False,
                 none_every: int = 0, none_at: Iterable[int] = (), latency: bool = True,
                 sensor: str = "OV2640") -> None:
        if driver not in ("cnadler86", "lemariva"):
            raise ValueError("camera driver must be 'cnadler86' or 'lemariva'")
        self.driver = driver
        self.fail_init = fail_init
        self.none_every = none_every
        self.none_at = set(none_at)
        self.latency = latency
        self.sensor = sensor
        self.captures = 0
        self.failed_captures = 0
        self.inits = 0

    def next_capture_fails(self) -> bool:
        self.captures += 1
        n = self.captures
        bad = (self.none_every and n % self.none_every == 0) or n in self.none_at
        if bad:
            self.failed_captures += 1
        return bool(bad)

    @staticmethod
    def frame_time(fmt: str, w: int, h: int) -> float:
        """Seconds per frame (OV2640 on ESP32, figures from the product brief)."""
        px = w * h
        if fmt == FMT_JPEG:
            return 0.04 if px <= 320 * 240 else 0.08 if px <= 800 * 600 else 0.16 if px <= 1280 * 1024 else 0.33
        return 1 / 12 if px <= 320 * 240 else 0.2

    def produce(self, board, fmt: str, w: int, h: int, jpeg_q: int) -> bytes:
        """One frame of the board's scene at the current world time."""
        scene = board.scene
        t = board.sim.clock.now
        if scene is not None:
            gray = scene.render(t, w, h, ir=board.ir_on())
        else:
            gray = bytes([96]) * (w * h)
        if fmt == FMT_GRAY:
            return gray
        if fmt == FMT_RGB565:
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
