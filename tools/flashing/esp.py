"""Erase and write a MicroPython image with esptool (ESP32: the image goes at 0x1000)."""
from __future__ import annotations

import time
from pathlib import Path

from . import diagnose, proc
from .proc import ToolError

CHIP = "esp32"
OFFSET = "0x1000"  # ESP32 MicroPython images include the second-stage bootloader
BAUD = "460800"
FLASH_SIZE = 4 * 1024 * 1024
# image header byte 12..13: chip id (0 = ESP32, 2 = ESP32-S2, 5 = C3, 9 = S3, ...)
CHIP_IDS = {0: "ESP32", 2: "ESP32-S2", 5: "ESP32-C3", 9: "ESP32-S3", 12: "ESP32-C2",
            13: "ESP32-C6", 16: "ESP32-H2"}


def check_image(path: Path) -> list[str]:
    """Refuse what cannot be an ESP32 MicroPython image before anything is erased.
    Returns warnings (e.g. no camera module found); raises ToolError when unusable."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ToolError(f"cannot read the firmware image: {e}",
                        "download an ESP32 MicroPython image (.bin) with a camera module, "
                        "e.g. from github.com/cnadler86/micropython-camera-API releases") from e
    if len(data) < 64 or data[0] != 0xE9:
        raise ToolError(f"{path} is not an ESP32 firmware image (no 0xE9 header)",
                        "use the .bin of a MicroPython ESP32 build (not a .uf2, .elf or zip)")
    if len(data) > FLASH_SIZE - 0x1000:
        raise ToolError(f"{path} is {len(data)} bytes: too big for 4 MB of flash",
                        "use an image for 4 MB ESP32 boards")
    chip = int.from_bytes(data[12:14], "little")
    if chip != 0:
        name = CHIP_IDS.get(chip, f"chip id {chip}")
        raise ToolError(f"{path} is built for {name}, not ESP32",
                        "an ESP32-CAM needs an ESP32 image (ESP32_GENERIC or a camera build)")
    warnings = []
    if b"camera" not in data:
        warnings.append("this image seems to have no `camera` module: the board will boot but "
                        "cannot take pictures (use a camera build, e.g. cnadler86's)")
    return warnings


def _esptool(port: str, *args: str, baud: str | None = None, timeout: float = 300) -> str:
    argv = proc.esptool("--chip", CHIP, "--port", port, *(("--baud", baud) if baud else ()),
                        *args)
    r = proc.run(argv, timeout=timeout)
    out = (r.stdout or "") + (r.stderr or "")
    if r.returncode != 0 or "A fatal error occurred" in out:
        raise ToolError(f"esptool {args[0]} failed: {diagnose.last_error(out)}",
                        diagnose.hint(out) or "run the same esptool command by hand to see "
                        "its full output: " + " ".join(argv[1:]))
    return out


def erase(port: str) -> str:
    return _esptool(port, "erase_flash", timeout=120)


def write(port: str, image: Path, baud: str = BAUD) -> str:
    return _esptool(port, "write_flash", "-z", OFFSET, str(image), baud=baud, timeout=600)


def wait_for_repl(port: str, timeout: float = 20.0, sleep=time.sleep) -> str:
    """After the write (esptool resets the board): retry until the MicroPython REPL answers.
    Returns `sys.implementation` as the board prints it."""
    end = time.monotonic() + timeout
    last = ""
    while True:
        r = proc.run(proc.mpremote(port, "exec", "import sys; print(sys.implementation)"),
                     timeout=15)
        out = (r.stdout or "") + (r.stderr or "")
        if r.returncode == 0 and "name='micropython'" in out:
            return out.strip().splitlines()[-1]
        last = out
        if time.monotonic() > end:
            raise ToolError(f"the board did not answer after flashing: {diagnose.last_error(last)}",
                            "remove the IO0-GND jumper and press RESET, then run "
                            f"`mpremote connect {port} repl` to see what it prints")
        sleep(1.0)
