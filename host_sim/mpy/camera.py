"""Simulated `camera` module: the board's firmware image decides which driver exists.

- images "ai_thinker" (default) and "generic": the cnadler86 driver (host_sim/hw/cnadler86.py:
  `Camera`, `PixelFormat`, `FrameSize`, `GrabMode`, `GainCeiling`); `capture()` returns a
  SIGNED memoryview (typecode 'b') into the driver's frame buffer, or None.
- image "lemariva": the legacy module functions (host_sim/hw/lemariva.py: `init`, `capture`
  returning a bytes copy or False, `FRAME_*`, `JPEG`, `PSRAM`, ...).

Names resolve per call through module __getattr__ on the current board, so
`hasattr(camera, "Camera")` tells the firmware which driver the board has. Look names up at
run time (inside a board), not at import time. docs/FIDELITY.md has the sources.
"""
from host_sim.context import board_or_none as _board_or_none
from host_sim.hw import cnadler86 as _cnadler86
from host_sim.hw import lemariva as _lemariva

_TABLES = {"cnadler86": _cnadler86.NAMES, "lemariva": _lemariva.NAMES}


def __getattr__(name):
    b = _board_or_none()
    if b is None:
        raise AttributeError("camera.%s: no simulated board is current (look camera names "
                             "up at run time, inside a board)" % name)
    try:
        return _TABLES[b.camera.driver][name]
    except KeyError:
        raise AttributeError("module 'camera' (%s driver) has no attribute %r"
                             % (b.camera.driver, name)) from None


def __dir__():
    b = _board_or_none()
    return sorted(_TABLES["lemariva" if b is not None and b.camera.driver == "lemariva"
                          else "cnadler86"])
