"""The board modules and the runner `python -m bench wake` puts into its board tree, as
MicroPython source: machine (the wake's reset cause and wake reason, RTC memory from the
tree, the busy clock of the "whole" runs), network, esp32, ntptime, and the cnadler86
camera API with the sensor's modelled times charged in real time (bench/wake.py fills in
the times from host_sim/hw/camera_model). They stand for the board's C modules, so they are
compiled to .mpy and imported by the baseline run as well."""

from bench.footprint import STUBS as FOOT

MACHINE = '''
import sys
PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
EXT0_WAKE, EXT1_WAKE, TIMER_WAKE = 2, 3, 4
try:  # the wake this tree stands for (/wake.txt, written by the bench): a PIR wake if none
    with open("/wake.txt") as _f:
        _WAKE = int(_f.read())
except OSError:
    _WAKE = EXT0_WAKE
def reset_cause(): return DEEPSLEEP_RESET
def wake_reason(): return _WAKE
def unique_id(): return b"\\x24\\x0a\\xc4\\x12\\x34\\x56"
def freq(*a): return 240000000
def reset(): print("RESET"); sys.exit(3)
BUSY = None  # [start, waited] (ns) when the runner times every asyncio wait (mode "whole")
def busy_ns():  # the wake's time so far that was not spent waiting (None: not timed)
    if BUSY:
        import time
        return time.time_ns() - BUSY[0] - BUSY[1]
def busy():
    if BUSY:
        print("BUSY", busy_ns())
        cam = sys.modules.get("camera")
        if cam and cam.stamps:  # busy ns as each frame was handed over (J: JPEG, G: look)
            print("STAMPS", *cam.stamps)
def report():  # what the wake loaded and how many frames it took (a tree with /report)
    try:
        open("/report").close()
    except OSError:
        return
    print("MODS", " ".join(sorted(sys.modules)))
    cam = sys.modules.get("camera")
    print("FRAMES", *(cam.frames if cam else (0, 0)))
def deepsleep(ms=0): busy(); report(); print("SLEEP", ms); sys.exit(0)
def lightsleep(ms=0): pass
def idle(): pass
class Pin:
    IN, OUT, PULL_UP, PULL_DOWN, IRQ_RISING, IRQ_FALLING, WAKE_HIGH, WAKE_LOW = 1, 3, 1, 2, 1, 2, 5, 4
    def __init__(self, n, *a, **k): self.n = n; self.v = 1 if n == 13 else 0
    def value(self, *a):
        if a: self.v = a[0]
        return self.v
    def on(self): self.v = 1
    def off(self): self.v = 0
    def irq(self, *a, **k): pass
    def init(self, *a, **k): pass
class ADC:
    ATTN_11DB = 3
    def __init__(self, *a, **k): pass
    def atten(self, *a): pass
    def read_uv(self): return 1950000
class PWM:
    def __init__(self, *a, **k): pass
    def duty(self, *a): return 0
    def duty_u16(self, *a): return 0
    def freq(self, *a): return 0
    def deinit(self): pass
class RTC:
    _m = None
    def __init__(self): pass
    def datetime(self, *a): return (2026, 6, 1, 0, 12, 0, 0, 0)
    def memory(self, *a):
        if RTC._m is None:  # what the last deep sleep left (/rtc.bin: the bench wrote it)
            try:
                with open("/rtc.bin", "rb") as f:
                    RTC._m = bytearray(f.read())
            except OSError:
                RTC._m = bytearray()
        if a: RTC._m = bytearray(a[0])
        return bytes(RTC._m)
class WDT:
    def __init__(self, *a, **k): pass
    def feed(self): pass
class SDCard:
    def __init__(self, *a, **k): raise OSError(19)
'''

STUBS = {
    "network": '''
STA_IF, AP_IF = 0, 1
STAT_IDLE, STAT_CONNECTING, STAT_GOT_IP = 1000, 1001, 1010
STAT_WRONG_PASSWORD, STAT_NO_AP_FOUND, STAT_CONNECT_FAIL = 202, 201, 203
class WLAN:
    def __init__(self, *a): self._on = False
    def active(self, *a):
        if a and a[0] and not self._on:
            print("RADIO")
        if a: self._on = bool(a[0])
        return self._on
    def isconnected(self): return False
    def status(self, *a): return STAT_NO_AP_FOUND if self._on else STAT_IDLE
    def connect(self, *a, **k): pass
    def disconnect(self): pass
    def config(self, *a, **k): return None
    def ifconfig(self, *a): return ("0.0.0.0",) * 4
''',
    # the footprint bench's stubs, plus the pad hold the deep-sleep path calls
    "esp32": FOOT["/stub/esp32.py"] + "def gpio_deep_sleep_hold(*a): pass\n",
    "ntptime": FOOT["/stub/ntptime.py"],
}

# The cnadler86 API the firmware uses, with the sensor's time charged in real time.
CAMERA = '''
import array
import time
ENOENT = 2
class PixelFormat:
    RGB565, YUV422, YUV420, GRAYSCALE, JPEG = 0, 1, 2, 3, 4
class FrameSize:
    R96X96, QQVGA, QVGA, VGA, SVGA = 0, 1, 6, 10, 11
class GrabMode:
    WHEN_EMPTY, LATEST = 0, 1
FRAME_MS = FRAME_MS_VALUE
INIT_MS = INIT_MS_VALUE
DIMS = DIMS_VALUE
charged = [0]
_jpegs = [0]
frames = [0, 0]  # frames handed to the firmware: all, and those not JPEG (look frames)
stamps = []  # "J:ns" / "G:ns": machine.busy_ns() as each frame is handed over (timed runs)
try:  # /stop_at (written by the bench): end the run at that kept JPEG (the first one's work)
    with open("/stop_at") as _f:
        STOP_AT = int(_f.read())
except OSError:
    STOP_AT = 0
def _charge(ms):
    charged[0] += ms
    time.sleep_ms(ms)
class Camera:
    def __init__(self, **kw):
        for k in ("data_pins", "pclk_pin", "vsync_pin", "href_pin", "xclk_pin"):
            if k not in kw:
                raise TypeError("'%s' argument required" % k)
        self._fmt = kw.get("pixel_format", PixelFormat.RGB565)
        self._fs = kw.get("frame_size", FrameSize.QQVGA)
        self.quality = kw.get("jpeg_quality", 85)
        self._fbc = min(2, kw.get("fb_count", 1))
        self._buf = array.array("b", bytes(200000))
        self._ready = True
        self._due = None
        self._test = True
        _charge(INIT_MS)
        if self.capture() is None:  # the driver's test frame: not handed to the caller
            raise OSError("Failed to capture initial frame")
        self._test = False
        self.free_buffer()
    def _ms(self):
        return FRAME_MS[(self._fmt, self._fs, self._fbc)]
    def _check(self):
        if not self._ready:
            raise OSError(ENOENT)
    def deinit(self):
        self._ready = False
    def init(self):
        self._ready = True
        _charge(INIT_MS)
    def reconfigure(self, frame_size=None, pixel_format=None, grab_mode=None, fb_count=None):
        self._check()
        if frame_size is not None:
            self._fs = frame_size
        if pixel_format is not None:
            self._fmt = pixel_format
        if fb_count is not None:
            self._fbc = min(2, fb_count)
        _charge(INIT_MS)  # the driver deinitialises and starts the sensor again
        self._due = None
    def free_buffer(self):
        self._due = time.ticks_add(time.ticks_ms(), self._ms())
    def frame_available(self):
        self._check()
        return self._due is not None and time.ticks_diff(time.ticks_ms(), self._due) >= 0
    def capture(self):
        self._check()
        if self._due is None:
            self.free_buffer()
        wait = time.ticks_diff(self._due, time.ticks_ms())
        if wait > 0:
            charged[0] += wait
            time.sleep_ms(wait)
        self._due = None
        if self._fmt == PixelFormat.JPEG:
            n = 18000
            self._buf[0], self._buf[1] = -1, -40          # FF D8
            self._buf[n - 2], self._buf[n - 1] = -1, -39  # FF D9
            if not self._test:
                _jpegs[0] += 1
                print("JPEG", _jpegs[0], time.time_ns(), charged[0])
                if _jpegs[0] == STOP_AT:
                    import machine
                    machine.busy()
                    machine.report()
                    raise SystemExit(0)
        else:
            w, h = DIMS[self._fs]
            n = w * h
        if not self._test:
            frames[0] += 1
            frames[1] += self._fmt != PixelFormat.JPEG
            import machine
            if machine.BUSY:
                stamps.append("%s:%d" % ("J" if self._fmt == PixelFormat.JPEG else "G",
                                         machine.busy_ns()))
        return memoryview(self._buf)[:n]
'''

RUNNER = '''
import time
t0 = time.time_ns()
import sys
import vfs


class Root:
    """The board tree as `/`. This unix port's VfsPosix(root).rename() fails on absolute
    paths (both are built in one shared buffer), so renames go relative to the tree, which
    is the process's working folder; everything else is VfsPosix's own."""

    def __init__(self, root):
        self.p = vfs.VfsPosix(root)

    def mount(self, ro, mkfs):
        self.p.mount(ro, mkfs)
        self.p.chdir("/")

    def umount(self):
        pass

    def rename(self, a, b):
        return self.p.rename(a.lstrip("/"), b.lstrip("/"))

    def __getattr__(self, name):
        return getattr(self.p, name)


vfs.umount("/")
vfs.mount(Root(ROOT_VALUE), "/")
print("START", t0)
sys.path[:] = ["", ".frozen", STUB_VALUE]
MODE = MODE_VALUE
if MODE in ("baseline", "bare"):
    sys.path.insert(1, "/lib")
    # built into the firmware on a board (C modules), stubs here: both runs import them,
    # so the stubs' own import time is not counted as the firmware's work
    import machine
    import esp32
    import camera
    if MODE == "bare":  # the baseline of the whole wakes, which import these too
        import network
        import ntptime
    cam = camera.Camera(data_pins=[5, 18, 19, 21, 36, 39, 34, 35], pclk_pin=22, vsync_pin=25,
                        href_pin=23, xclk_pin=0, sda_pin=26, scl_pin=27, powerdown_pin=32,
                        pixel_format=camera.PixelFormat.JPEG, frame_size=camera.FrameSize.VGA,
                        jpeg_quality=85, fb_count=2, grab_mode=camera.GrabMode.LATEST)
    cam.free_buffer()
    frame = cam.capture()
    t = time.time_ns()
    with open("/sd/baseline.jpg", "wb") as f:
        f.write(frame)
    print("WRITTEN", time.time_ns() - t)
elif MODE == "imports":  # boot.py, then what a wake had loaded (MODULES), and no more
    import machine  # the board's C modules first: their stubs' imports are not counted
    import esp32
    import camera
    import network
    import ntptime
    t1 = time.ticks_us()
    exec(open("/boot.py").read(), {"__name__": "__main__"})
    took = []
    for m in MODULES_VALUE:  # each with what it imports that is not loaded yet
        t = time.ticks_us()
        __import__(m)
        took.append("%s:%d" % (m, time.ticks_diff(time.ticks_us(), t)))
    print("IMPORTED", time.ticks_diff(time.ticks_us(), t1))
    print("TOOK", *took)
else:
    if MODE == "whole":  # every asyncio wait timed: busy = wall - waits (machine.busy)
        import machine
        import asyncio.core

        machine.BUSY = [t0, 0]
        _wait = asyncio.core.IOQueue.wait_io_event

        def _timed(self, dt):
            t = time.time_ns()
            _wait(self, dt)
            machine.BUSY[1] += time.time_ns() - t

        asyncio.core.IOQueue.wait_io_event = _timed
    exec(open("/boot.py").read(), {"__name__": "__main__"})
    exec(open("/main.py").read(), {"__name__": "__main__"})
'''
