"""host_sim: run WildCAM firmware modules unchanged on CPython against simulated hardware.

(Bootstrap version; the host_sim owner replaces this while keeping `install()`.)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIRMWARE_LIB = os.path.join(ROOT, "firmware", "lib")
MPY_MODULES = os.path.join(HERE, "mpy")

_installed = False


def install():
    """Make board module names (machine, esp32, network, camera, ntptime, micropython) and
    the firmware package importable, and add MicroPython extras to time/asyncio/gc/sys.
    Idempotent."""
    global _installed
    if _installed:
        return
    for p in (FIRMWARE_LIB, MPY_MODULES):
        if p not in sys.path:
            sys.path.insert(0, p)
    _installed = True
