"""WildCAM firmware. Helpers for the serial REPL:

    import wildcam
    wildcam.status()                          # how this camera is doing
    wildcam.config.show()                     # every setting (secrets hidden)
    wildcam.config.set("wifi.ssid", "my-net") # validated, saved atomically
    wildcam.config.validate()                 # list what is wrong, if anything
    wildcam.setup()                           # asks for the essentials
    wildcam.test_capture()                    # one JPEG to /sd/test.jpg

Importing the package does no I/O: the helpers load what they need on first use.
`wildcam.config` is the `wildcam/core/config.py` module itself; its module-level functions
show/set/get/validate/reload work on the board's config.

The firmware's own parts live in subsystem packages (core, capture, queue, net, dest, ota,
manage; docs/ARCHITECTURE.md has the map); `app` is the composition root.
"""

_ALIASES = {"config": "wildcam.core.config"}  # REPL names for modules inside packages


def __getattr__(name):
    """Submodules on first use: `wildcam.config` at the REPL (the module also holds the
    helpers show/set/get/validate/reload). MicroPython resolves `from wildcam import x`
    through this too, so it imports any submodule or subsystem package."""
    import sys

    full = _ALIASES.get(name) or "wildcam." + name
    if full not in sys.modules:
        try:
            __import__(full)  # never `from wildcam import ...` here: that recurses
        except ImportError:
            raise AttributeError(name)
    return sys.modules[full]


def status():
    """Print a short health summary of this camera."""
    from wildcam.core import clock
    from wildcam.core.board import default_device_id, psram_bytes, reset_cause_name
    from wildcam.core.log import Log
    from wildcam.core.storage import Storage
    from wildcam.core.version import VERSION

    from wildcam.core import config

    st = Storage()
    cfg = config._cfg()
    ts = clock.now()
    print("WildCAM %s  device %s" % (VERSION, cfg.get("device.id") or default_device_id()))
    print("time      %s" % (clock.iso(ts) if ts else "not set"))
    print("reset     %s" % reset_cause_name())
    psram = psram_bytes()
    print("psram     %s" % ("%d KB" % (psram // 1024) if psram else "none: the camera needs it"))
    for label, path in (("flash", "/"), ("sd card", "/sd")):
        try:
            total, free = st.statvfs(path)
            print("%-9s %d KB free of %d KB" % (label, free // 1024, total // 1024))
        except OSError:
            print("%-9s not mounted" % label)
    raw = st.read_atomic("/state/boot.json") if st.exists("/state") else None
    print("boots     %s" % (raw.decode() if raw else "unknown"))
    errs = cfg.validate()
    print("config    %s" % ("OK" if not errs else "%d problem(s): %s" % (len(errs), errs[0])))
    for line in reversed(Log(st, files=cfg.get("log.files"), console=False).read(0, 5)):
        print("log       " + line)


def setup():
    """Ask for the settings a new camera needs; each answer is validated and saved."""
    for key, prompt in (("wifi.ssid", "WiFi network name"), ("wifi.password", "WiFi password"),
                        ("device.name", "Camera name"), ("mqtt.host", "MQTT broker host ('' = none)")):
        while True:
            answer = input("%s: " % prompt)
            from wildcam.core import config

            if config.set(key, answer):
                break
    from wildcam.core import config

    config.validate()


def test_capture(path="/sd/test.jpg"):
    """Take one JPEG with the configured settings and save it; prints its size."""
    import asyncio

    from wildcam.capture.cam import Camera
    from wildcam.core.log import Log
    from wildcam.core.storage import Storage
    from wildcam.core import presets

    from wildcam.core import config

    cfg = config._cfg()
    cam = Camera(Log(console=True).get("cam"), frame_size=cfg.get("capture.frame_size"),
                 quality=cfg.get("capture.jpeg_quality"), pins=presets.from_config(cfg))
    try:
        frame = asyncio.run(cam.capture())
        st = Storage()
        with st.open(path, "wb") as f:
            f.write(frame)
        print("saved %s (%d bytes, driver %s)" % (path, len(frame), cam.driver_name))
        return len(frame)
    finally:
        cam.deinit()


def leave_safe_mode():
    """Clear the crash-loop count so the next boot runs the full firmware."""
    from wildcam.core.bootstate import BootState
    from wildcam.core.storage import Storage

    BootState(Storage()).load().mark_stable()
    print("safe mode cleared; machine.reset() to restart")
