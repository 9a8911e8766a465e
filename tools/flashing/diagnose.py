"""What an esptool or mpremote failure means, and what the user should do next."""
from __future__ import annotations

import re

PORT_BUSY = ("the serial port is busy: close whatever holds it (mpremote, screen, minicom, the "
             "Arduino IDE serial monitor, another flash.py) and retry")
PORT_MISSING = ("no such serial port: check the cable (a data cable, not charge-only) and pick "
                "the port from `python -m serial.tools.list_ports` (Linux: /dev/ttyUSB0, "
                "macOS: /dev/cu.usbserial-*, Windows: COM3)")
PORT_DENIED = ("no permission to open the serial port: add yourself to the dialout group "
               "(`sudo usermod -aG dialout $USER`, then log in again)")
NOT_BOOTLOADER = ("the board is not in its bootloader: on an ESP32-CAM connect IO0 to GND, "
                  "press RESET (or power-cycle), run the command again, and remove the jumper "
                  "after flashing; also check TX/RX are crossed and the adapter gives 5 V")
WRONG_CHIP = ("this is not an ESP32 (an ESP32-CAM has a plain ESP32): use a MicroPython image "
              "built for the chip esptool found, or check you picked the right port")
NO_REPL = ("no MicroPython REPL answered: flash MicroPython first (`flash.py flash --port PORT "
           "--firmware ESP32_GENERIC-....bin`), or press RESET and retry; a program that blocks "
           "Ctrl-C can also hide the REPL")

_RULES = [
    (r"Errno 16|[Rr]esource busy|in use by another program|Access is denied", PORT_BUSY),
    (r"Errno 13|[Pp]ermission denied", PORT_DENIED),
    (r"Errno 2\]|No such file or directory|FileNotFoundError|could not open port", PORT_MISSING),
    (r"[Ww]rong --chip|This chip is (ESP32-\w+|ESP8266)|Unexpected chip id", WRONG_CHIP),
    (r"Failed to connect to|No serial data received|Wrong boot mode|Invalid head of packet|"
     r"download mode", NOT_BOOTLOADER),
    (r"could not enter raw repl|no device found|failed to access", NO_REPL),
]


def hint(output: str) -> str:
    """The advice for the first rule that matches the tool's output ("" if none)."""
    for pattern, advice in _RULES:
        if re.search(pattern, output):
            return advice
    return ""


def last_error(output: str) -> str:
    """The most telling line of a tool's output (for the one-line error message)."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.search(r"error|Error|failed|Failed|busy|denied|No such", ln):
            return ln
    return lines[-1] if lines else "(no output)"
