"""`python -m bench wake`, whole wakes: the firmware's CPU work from interpreter start to
deep sleep, for a PIR wake and for a timer wake with nothing to do.

Same interpreter, trees and stubs as bench/wake.py, with the instant sensor (/stub0), run
to the end: the machine stub prints "SLEEP ms" at `machine.deepsleep` and exits (a timer
wake: /wake.txt in the tree makes `machine.wake_reason()` TIMER_WAKE). RTC memory says the
last heartbeat went a minute ago, so neither wake queues one. Each run starts from a fresh
copy of its tree (a wake writes its boot count, logs, images and queue).

The clock (runner mode "whole", bench/wake.py): the wall clock from the runner's first line
to deep sleep less every asyncio wait (`IOQueue.wait_io_event` timed; the firmware blocks
nowhere else on this path and the light-sleep stub returns at once): the time the wake was
busy, i.e. its CPU work, unlike the process's CPU time (`os.wait4`, also reported as
`whole_rusage_*`) free of the interpreter's start and exit, which vary by several ms here.
The least of several runs (as timeit takes the min), beyond the bare driver's work
(wake.py's `baseline_cpu_ms`).

Where it goes:
- the PIR wake by phase, from the busy clock as each frame is handed over: to the first
  kept JPEG, the burst (to its last JPEG), to the first look frame, the look window, to
  deep sleep (`PHASES`);
- the imports: runs that exec boot.py, then import every module a wake had loaded (the
  list from one discovery run of each wake, /report in the tree: the stubs print
  sys.modules), timed in the child: all of a PIR wake's, those loaded by its first kept
  JPEG, all of a timer wake's; the remaining run = whole - first JPEG - the later imports.

Board seconds: CPU ms x the pystone ratio of bench/wake.py (this PC vs an ESP32 at
240 MHz). An upper-bound style model: it prices all of it at bytecode speed, while part is
C (the .mpy loader, hashing, the VFS) and part the PC's own file system; it leaves out flash
and SD access at board speed and the ROM + MicroPython boot before boot.py; the look
window's work (the detector on each frame) overlaps the wait for the next frame on a board
(frames 1000 / detect.fps ms apart), so it adds no awake time (`*_beyond_window`). The
burst's saves do not overlap (it awaits its full gap after each save).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

from bench import wake as W
from bench.common import ROOT

CHEAP_REPEATS = 11  # bare, imports and timer runs (~30-80 ms of CPU, <1 s each)
PIR_REPEATS = 7  # whole PIR wakes: ~6 s of wall time each (the firmware's own waits)
TIMER_WAKE = 4  # machine.TIMER_WAKE in the stub (and on the esp32 port)


# the stub RTC's time (machine.RTC.datetime: 2026-06-01 12:00 UTC) less a minute: the last
# heartbeat was just sent, so no wake here queues one (in the standard day 4 of ~60 do)
LAST_HB = 1780315200 - 60


def trees(lib: Path, tmp: Path) -> dict:
    """The pristine trees: a PIR wake, the same to its first kept JPEG, a timer wake."""
    out = {}
    for name in ("pir", "first", "timer"):
        root = tmp / ("whole-" + name)
        W.board_tree(root, 0, lib, rtc_extra={"last_hb": LAST_HB})
        if name == "first":
            (root / "stop_at").write_text(str(W.SETTLE + 1))
        if name == "timer":
            (root / "wake.txt").write_text(str(TIMER_WAKE))
        out[name] = root
    return out


def cpu_once(exe: str, tree: Path, mode: str, modules: tuple = (), report: bool = False) -> dict:
    """One run of `mode` in a fresh copy of `tree` to its end; the child's CPU time."""
    work = tree.parent / (tree.name + "-run")
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(tree, work)
    if report:
        (work / "report").write_text("1")
    script = tree.parent / ("whole-%s-%s.py" % (tree.name, mode))
    script.write_text(W.runner(work, mode, "/stub0", modules))
    log = tree.parent / (tree.name + ".out")
    with open(log, "w+") as out:
        p = subprocess.Popen([exe, "-X", "heapsize=4M", str(script)], stdout=out,
                             stderr=subprocess.STDOUT, cwd=str(tree.parent))
        timer = threading.Timer(120, p.kill)
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    lines = text.splitlines()
    got = {"cpu_ms": (ru.ru_utime + ru.ru_stime) * 1000, "user_ms": ru.ru_utime * 1000,
           "rc": p.returncode, "radio": "RADIO" in lines}
    for line in lines:
        parts = line.split()
        if parts[:1] == ["MODS"]:
            got["modules"] = tuple(parts[1:])
        elif parts[:1] == ["FRAMES"]:
            got["frames"], got["look_frames"] = int(parts[1]), int(parts[2])
        elif parts[:1] == ["STAMPS"]:
            got["stamps"] = [(x[0], int(x[2:]) / 1e6) for x in parts[1:]]
        elif parts[:1] == ["BUSY"]:
            got["busy_ms"] = int(parts[1]) / 1e6
        elif parts[:1] == ["TOOK"]:
            got["took"] = {x.rsplit(":", 1)[0]: int(x.rsplit(":", 1)[1]) / 1000 for x in parts[1:]}
        elif parts[:1] == ["IMPORTED"]:
            got["imported_ms"] = int(parts[1]) / 1000
        elif parts[:1] == ["SLEEP"]:
            got["sleep_ms"] = int(parts[1])
    want_sleep = mode == "whole" and tree.name != "whole-first"
    if p.returncode != 0 or (want_sleep and "sleep_ms" not in got):
        raise SystemExit("bench wake: %s run in %s did not end as it should (rc %s):\n%s"
                         % (mode, tree.name, p.returncode, "\n".join(lines[-30:])))
    return got


def firmware_modules(mods: tuple) -> tuple:
    """What the firmware loaded from the tree (the board stubs are in the bare run too;
    the interpreter's own frozen modules, asyncio, are imported as the wake did)."""
    return tuple(m for m in mods if m not in ("machine", "esp32", "camera", "network",
                                              "ntptime", "__main__"))


def measure(exe: str, lib: Path, tmp: Path) -> dict:
    """Least CPU ms (and user ms) of each kind of run; the discovery runs' module lists."""
    t = trees(lib, tmp)
    disc = {name: cpu_once(exe, t[name], "whole", report=True) for name in t}
    mods = {name: firmware_modules(d.get("modules", ())) for name, d in disc.items()}
    kinds = {
        "bare": (t["pir"], "bare", ()),
        "imports_first": (t["pir"], "imports", mods["first"]),
        "imports": (t["pir"], "imports", mods["pir"]),
        "timer": (t["timer"], "whole", ()),
        "imports_timer": (t["timer"], "imports", mods["timer"]),
        "pir": (t["pir"], "whole", ()),
    }
    runs: dict = {k: [] for k in kinds}
    for i in range(CHEAP_REPEATS):
        for k, (tree, mode, m) in kinds.items():
            if k != "pir" or i < PIR_REPEATS:
                runs[k].append(cpu_once(exe, tree, mode, m))
    return {"runs": runs, "discovery": disc, "modules": mods}


def detector_us() -> float | None:
    """The detector's time per look frame on this unix port (bench/results/detect.json)."""
    path = ROOT / "bench" / "results" / "detect.json"
    try:
        return json.loads(path.read_text()).get("detector_core_us_unix")
    except (OSError, ValueError):
        return None


# the PIR wake's phases: to the first kept JPEG; to the burst's last JPEG (build_core, the
# capture service, two saves and the 500 ms gaps' awaits); to the first look frame (the last
# save, build_rest: the network half, OTA, management, power; the grayscale restart); the look
# window (first to last look frame); to deep sleep (verdict, event, queue, sleep plan)
PHASES = ("first_jpeg", "burst", "to_window", "window", "to_sleep")


def phases(run: dict) -> dict:
    """A whole PIR run's busy ms by phase (they add up to its busy time)."""
    jpeg = [t for k, t in run["stamps"] if k == "J"]
    look = [t for k, t in run["stamps"] if k == "G"]
    first = jpeg[W.SETTLE]
    return {"first_jpeg": first, "burst": jpeg[-1] - first, "to_window": look[0] - jpeg[-1],
            "window": look[-1] - look[0], "to_sleep": run["busy_ms"] - look[-1]}


def top_imports(runs: list, n: int = 8) -> list:
    """The `n` slowest imports of a PIR wake's modules, [name, least ms] (each with the
    modules it imports that were not loaded yet, in the wake's sorted order)."""
    took = {m: min(r["took"][m] for r in runs) for m in runs[0]["took"]}
    return [[m, round(t, 2)] for m, t in sorted(took.items(), key=lambda x: -x[1])[:n]]


def figures(got: dict, scale: float, base_ms: float) -> dict:
    """The result keys (bench/results/wake.json). `*_cpu_ms_*`: the in-child clock (time
    not spent in an asyncio wait; the imports: the clock around boot.py + the imports, no
    wait in them), least of the runs, beyond `base_ms` (the bare driver's, wake.py's
    baseline_cpu_ms); `*_rusage`: the child's process CPU time beyond the bare one's
    (coarser: interpreter start and exit vary by several ms)."""
    runs = got["runs"]
    busy = {k: min(r["busy_ms"] for r in runs[k]) - base_ms for k in ("timer", "pir")}
    imp = {k: min(r["imported_ms"] for r in runs[k])
           for k in ("imports_first", "imports", "imports_timer")}
    least = {k: min(r["cpu_ms"] for r in v) for k, v in runs.items()}
    user = {k: min(r["user_ms"] for r in v) for k, v in runs.items()}
    pir = got["discovery"]["pir"]
    det = detector_us()
    # the PIR wake by phase, from the frames' busy stamps (least of the runs each; the first
    # beyond the bare driver's work, like the whole)
    phase = {k: min(v[k] for v in map(phases, runs["pir"])) for k in PHASES}
    phase["first_jpeg"] -= base_ms
    rest = imp["imports"] - imp["imports_first"]  # what a PIR wake imports after its first JPEG
    ms = {
        "whole_cpu_ms_pir": busy["pir"],
        "import_cpu_ms": imp["imports"],
        "import_cpu_ms_first_jpeg": imp["imports_first"],
        "import_cpu_ms_rest": rest,
        "whole_cpu_ms_pir_run_rest": busy["pir"] - phase["first_jpeg"] - rest,
        "whole_cpu_ms_timer": busy["timer"],
        "import_cpu_ms_timer": imp["imports_timer"],
        "whole_cpu_ms_timer_run_rest": busy["timer"] - imp["imports_timer"],
    }
    ms.update({"whole_cpu_ms_pir_phase_%s" % k: v for k, v in phase.items()})
    # the look window's work, first to last look frame (the detector on each): on a board it
    # runs while the next frame is awaited (frames 1000/detect.fps ms apart), so it adds no
    # awake time; bench detect's per-frame figure x the look frames for comparison
    ms["whole_cpu_ms_pir_beyond_window"] = busy["pir"] - phase["window"]
    if det:
        ms["whole_cpu_ms_pir_detector_est"] = pir["look_frames"] * det / 1000
    res = {k: round(v, 2) for k, v in ms.items()}
    res.update({k.replace("cpu_ms", "board_s"): round(v * scale / 1000, 2) for k, v in ms.items()})
    for k in ("pir", "timer", "imports"):
        res["whole_rusage_cpu_ms_%s" % k] = round(least[k] - least["bare"], 1)
        res["whole_rusage_user_ms_%s" % k] = round(user[k] - user["bare"], 1)
    res.update({
        "whole_rusage_bare_cpu_ms": round(least["bare"], 1),
        "whole_spread_cpu_ms_pir": sorted(round(r["busy_ms"] - base_ms, 1) for r in runs["pir"]),
        "whole_spread_cpu_ms_timer": sorted(round(r["busy_ms"] - base_ms, 1)
                                            for r in runs["timer"]),
        "whole_spread_import_cpu_ms": sorted(round(r["imported_ms"], 2) for r in runs["imports"]),
        "import_top_ms": top_imports(runs["imports"]),
        "whole_frames_pir": pir.get("frames"),
        "whole_look_frames_pir": pir.get("look_frames"),
        "whole_modules_pir": len(got["modules"]["pir"]),
        "whole_modules_first": len(got["modules"]["first"]),
        "whole_modules_timer": len(got["modules"]["timer"]),
        "whole_timer_radio": got["discovery"]["timer"]["radio"],
        "whole_pir_radio": pir["radio"],
        "whole_repeats": [PIR_REPEATS, CHEAP_REPEATS],
        "whole_model": "upper-bound style: the firmware's CPU ms here beyond the bare driver's "
                       "x the pystone ratio (bytecode speed); no flash/SD time, no ROM boot",
    })
    return res


def run(exe: str, lib: Path, tmp: Path, scale: float, base_ms: float) -> dict:
    return figures(measure(exe, lib, tmp), scale, base_ms)
