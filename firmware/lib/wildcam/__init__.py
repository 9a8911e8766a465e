"""WildCAM firmware. Helpers for the serial REPL:

    import wildcam
    wildcam.status()                          # how this camera is doing
    wildcam.config.show()                     # every setting (secrets hidden)
    wildcam.config.set("wifi.ssid", "my-net") # validated, saved atomically
    wildcam.config.validate()                 # list what is wrong, if anything
    wildcam.setup()                           # asks for the essentials
    wildcam.test_capture()                    # one JPEG to /sd/test.jpg

Importing the package does no I/O: the helpers load what they need on first use.
"""


class _ReplConfig:
    """`wildcam.config` at the REPL: the board's Config, loaded on first use; errors are
    printed as sentences instead of tracebacks. Secrets are never printed."""

    def __init__(self):
        self._cfg = None

    def _get(self):
        if self._cfg is None:
            from wildcam.config import Config
            from wildcam.storage import Storage

            self._cfg = Config(Storage()).load()
        return self._cfg

    def reload(self):
        self._cfg = None
        return self._get()

    def show(self):
        self._get().show()

    def get(self, key):
        return self._get().get(key)

    def set(self, key, value):
        """Set and save one key; prints what went wrong instead of raising."""
        from wildcam.config import ConfigError

        try:
            self._get().set(key, value)
        except (ConfigError, KeyError) as e:
            for msg in getattr(e, "errors", [str(e)]):
                print("error:", msg)
            return False
        print("saved %s; takes effect at the next boot (machine.reset())" % key)
        return True

    def validate(self):
        """Print every problem; True when there is none."""
        errs = self._get().validate()
        for e in errs:
            print("error:", e)
        if not errs:
            print("config OK")
        return not errs

    def __repr__(self):
        return repr(self._get())


config = _ReplConfig()


def status():
    """Print a short health summary of this camera."""
    from wildcam import clock
    from wildcam.app import default_device_id, reset_cause_name
    from wildcam.log import Log
    from wildcam.storage import Storage
    from wildcam.version import VERSION

    st = Storage()
    cfg = config._get()
    ts = clock.now()
    print("WildCAM %s  device %s" % (VERSION, cfg.get("device.id") or default_device_id()))
    print("time      %s" % (clock.iso(ts) if ts else "not set"))
    print("reset     %s" % reset_cause_name())
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
            if config.set(key, answer):
                break
    config.validate()


def test_capture(path="/sd/test.jpg"):
    """Take one JPEG with the configured settings and save it; prints its size."""
    from wildcam.cam import Camera
    from wildcam.log import Log
    from wildcam.storage import Storage

    cfg = config._get()
    cam = Camera(Log(console=True).get("cam"), frame_size=cfg.get("capture.frame_size"),
                 quality=cfg.get("capture.jpeg_quality"))
    try:
        frame = cam.capture()
        st = Storage()
        with st.open(path, "wb") as f:
            f.write(frame)
        print("saved %s (%d bytes, driver %s)" % (path, len(frame), cam.driver_name))
        return len(frame)
    finally:
        cam.deinit()


def leave_safe_mode():
    """Clear the crash-loop count so the next boot runs the full firmware."""
    from wildcam.bootstate import BootState
    from wildcam.storage import Storage

    BootState(Storage()).load().mark_stable()
    print("safe mode cleared; machine.reset() to restart")
