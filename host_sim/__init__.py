"""host_sim: run WildCAM firmware modules unchanged on CPython against simulated hardware.

    import host_sim
    host_sim.install()                      # board module names + MicroPython extras
    from host_sim import Board, run

    async def main():
        board = Board("cam1", tmp_dir, scene=host_sim.scenes.animal(seed=1))
        board.power_on(entry=lambda storage: my_firmware(storage))
        await asyncio.sleep(3600)           # one virtual hour, in milliseconds of real time
        print(board.report())

    run(main())

See docs/HOST_SIM.md for the design.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIRMWARE_LIB = os.path.join(ROOT, "firmware", "lib")
MPY_MODULES = os.path.join(HERE, "mpy")
# micropython-lib dependencies (umqtt.simple ...), fetched by `tools/mpylib.py fetch`
MPYLIB = os.path.join(ROOT, ".cache", "mpylib", "lib")

_installed = False


def install():
    """Make board module names (machine, esp32, network, camera, ntptime, micropython) and
    the firmware package importable (both at the front of sys.path), plus the micropython-lib
    folder `.cache/mpylib/lib` when `tools/mpylib.py fetch` made it (as /lib on a board),
    and add MicroPython extras to time/gc/asyncio/sys/socket. Idempotent."""
    global _installed
    if _installed:
        return
    for p in (MPYLIB, FIRMWARE_LIB, MPY_MODULES):
        if p == MPYLIB and not os.path.isdir(p):
            continue
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    from . import patches
    patches.apply()
    _installed = True


_LAZY = {
    "Board": ("board", "Board"),
    "Simulation": ("simulation", "Simulation"),
    "run": ("simulation", "run"),
    "SimStorage": ("storage", "SimStorage"),
    "Filesystem": ("storage", "Filesystem"),
    "PowerCut": ("errors", "PowerCut"),
    "BoardHalted": ("errors", "BoardHalted"),
    "WifiModel": ("hw.wifi", "WifiModel"),
    "Battery": ("hw.battery", "Battery"),
    "CameraModel": ("hw.camera_model", "CameraModel"),
    "current_board": ("context", "current_board"),
    "WorldClock": ("vloop", "WorldClock"),
    "VirtualLoop": ("vloop", "VirtualLoop"),
}


def __getattr__(name):
    """Lazy exports: importing host_sim stays cheap and never imports the firmware."""
    if name in _LAZY:
        import importlib
        install()
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module("." + mod, __name__), attr)
    if name == "scenes":
        import importlib
        return importlib.import_module(".scenes", __name__)
    raise AttributeError("module 'host_sim' has no attribute %r" % name)
