# boot.py - runs first after every reset. It must never fail: anything that could raise is
# guarded, and the real work (config, safe-mode decision, services) happens in main.py.
# OTA: wildcam.ota.boot (from the factory /lib) picks the app slot to run, counts trial
# boots of a pending update and rolls back; that slot goes first on sys.path.
import sys


def _forget():
    # drop any imported copy of our package so the next import finds it on the new path
    for m in list(sys.modules):
        if m == "wildcam" or m.startswith("wildcam."):
            del sys.modules[m]


try:
    import gc

    gc.collect()
    # our package in /lib wins over anything frozen into the firmware image
    for _p in [p for p in sys.path
               if p == "/lib" or p.startswith("/slots") or p.startswith("/sd/slots")]:
        sys.path.remove(_p)  # (a soft reset may keep an earlier choice)
    sys.path.insert(1, "/lib")
    _forget()
except Exception as e:  # noqa: BLE001
    print("boot.py:", e)

try:
    from wildcam.ota import boot as ota_boot

    _slot = ota_boot.select()
    if _slot != "/lib":
        sys.path.insert(1, _slot)
except Exception as e:  # noqa: BLE001 - no or broken selector: the factory /lib runs
    print("boot.py: ota", e)
finally:
    _forget()  # main.py imports the chosen slot's package, not the /lib copy used above
