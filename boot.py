# boot.py - runs first after every reset. It must never fail: anything that could raise is
# guarded, and the real work (config, safe-mode decision, services) happens in main.py.
import sys

try:
    import gc

    gc.collect()
    # our package in /lib wins over anything frozen into the firmware image
    if "/lib" in sys.path:
        sys.path.remove("/lib")
    sys.path.insert(1, "/lib")
except Exception as e:  # noqa: BLE001
    print("boot.py:", e)
