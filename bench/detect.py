"""`python -m bench detect`: on-device motion detection, quality and cost.

Quality: host_sim.evalset (labelled from the scene generator; the scene types and the
protocol are in docs/DETECTION.md: a reference wake, deep sleep, a PIR window), SEEDS bench
seeds and as many held-out seeds per scene type at 160x120: recall per scene type and by
animal size (small: under 12 % of the width, large: 12 % or more), false-trigger rate over
the "false" scene types, precision, mean IoU of the hit boxes. Held-out keys are prefixed
`heldout_`.

Cost: the cell-mean kernel (4x4 cells in the band layout; the pure-Python SWAR kernel, the
one the simulator and the wasm build run) against a naive per-pixel Python loop computing
the same cells, over the same frames, in the same run, under CPython and under real
MicroPython (wasm build, time.ticks_us), in interleaved rounds keeping the best of each
(other load on the machine only slows a round down). The detector core per frame (with a
reference, a walking animal) is timed under CPython, wasm and, where the native unix
MicroPython is installed, there with the board's viper kernel (information only).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from bench.common import ROOT, write_result

from host_sim import evalset, wasm
from wildcam.capture.blocks import SwarKernel, cells_size, naive_cells
from wildcam.capture.detect import MotionDetector

SEEDS = int(os.environ.get("WILDCAM_DETECT_SEEDS", "30"))
W, H, BLOCK = 160, 120, 8
CELL = BLOCK // 2
NFRAMES = 8
ROUNDS = 6          # CPython timing: interleaved rounds of >= 0.1 s per function
MPY_ROUNDS = 3      # MicroPython: interleaved rounds of >= 0.4 s per function

TIMING = r"""
import time
from wildcam.capture.blocks import naive_cells, make_kernel, cells_size
from wildcam.capture.detect import MotionDetector
W, H, C, N, ROUNDS = %d, %d, %d, %d, %d
data = open("/frames.bin", "rb").read()
frames = [data[i * W * H:(i + 1) * W * H] for i in range(N)]
out = bytearray(cells_size(W, H, C))
k = make_kernel(W, H, C, KIND)
det = MotionDetector(W, H, 2 * C, kernel=KIND)
for f in frames[:3]:
    det.observe(f)
det.begin()
cells = []
for f in frames:
    det.kernel.run(f, det.means)
    cells.append(bytes(det.means))
def per_frame(fn, items, min_us):
    reps = 0
    t0 = time.ticks_us()
    while True:
        for f in items:
            fn(f)
        reps += 1
        dt = time.ticks_diff(time.ticks_us(), t0)
        if dt >= min_us:
            return dt / (reps * len(items))
naive = kern = core = 1e12
for _ in range(ROUNDS):
    naive = min(naive, per_frame(lambda f: naive_cells(f, W, H, C, out), frames, 400000))
    kern = min(kern, per_frame(lambda f: k.run(f, out), frames, 400000))
    core = min(core, per_frame(lambda c: det.update_means(c), cells, 400000))
print("RESULT", type(k).__name__, naive, kern, core)
"""


def frames() -> bytes:
    """Frames of a walking animal: the reference wake's, then the window's."""
    seq = evalset.make("walk", 0)
    ref = seq.reference(W, H)[:3]
    return b"".join(ref) + b"".join(f for _, f, _ in seq.frames(W, H, 4.0, NFRAMES - 3, 1.0))


def cpython_cost(data: bytes) -> dict:
    fr = [data[i * W * H:(i + 1) * W * H] for i in range(NFRAMES)]
    out = bytearray(cells_size(W, H, CELL))

    def per_frame(fn, items, min_s=0.1):
        reps, t0 = 0, time.perf_counter()
        while True:
            for f in items:
                fn(f)
            reps += 1
            dt = time.perf_counter() - t0
            if dt >= min_s:
                return dt * 1e6 / (reps * len(items))

    k = SwarKernel(W, H, CELL)
    det = MotionDetector(W, H, BLOCK, kernel="python")
    for f in fr[:3]:
        det.observe(f)
    det.begin()
    cells = []
    for f in fr:
        det.kernel.run(f, det.means)
        cells.append(bytes(det.means))
    # interleaved rounds, the best of each (other load on the machine only slows a round down)
    naive = kern = core = float("inf")
    for _ in range(ROUNDS):
        naive = min(naive, per_frame(lambda f: naive_cells(f, W, H, CELL, out), fr))
        kern = min(kern, per_frame(lambda f: k.run(f, out), fr))
        core = min(core, per_frame(det.update_means, cells))
    return {"naive_us_cpython": round(naive, 1), "kernel_us_cpython": round(kern, 1),
            "kernel_speedup_cpython": round(naive / kern, 1),
            "detector_core_us_cpython": round(core, 1)}


def _parse(stdout: str):
    for line in stdout.splitlines():
        if line.startswith("RESULT"):
            _, kind, naive, kern, core = line.split()
            return kind, float(naive), float(kern), float(core)
    raise RuntimeError("no RESULT in output:\n" + stdout)


def micropython_cost(data: bytes) -> dict:
    code = TIMING % (W, H, CELL, NFRAMES, MPY_ROUNDS)
    r = wasm.run_script(code.replace("KIND", '"python"'), files={"/frames.bin": data},
                        timeout=600)
    if r.returncode != 0:
        raise RuntimeError("wasm timing failed:\n" + r.stdout + r.stderr)
    _, naive, kern, core = _parse(r.stdout)
    out = {"naive_us_micropython": round(naive, 1), "kernel_us_micropython": round(kern, 1),
           "kernel_speedup_micropython": round(naive / kern, 1),
           "detector_core_us_micropython": round(core, 1)}
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.isfile(exe):                     # native unix port: viper kernel
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "frames.bin"), "wb") as f:
                f.write(data)
            script = code.replace('"/frames.bin"', '"frames.bin"')
            with open(os.path.join(tmp, "t.py"), "w") as f:
                f.write(script.replace("KIND", '"viper"'))
            env = dict(os.environ, MICROPYPATH=str(ROOT / "firmware" / "lib") + ":.frozen")
            p = subprocess.run([exe, "t.py"], cwd=tmp, env=env, capture_output=True,
                               text=True, timeout=600)
            if p.returncode == 0:
                _, naive_u, viper_u, core_u = _parse(p.stdout)
                out.update({"naive_us_unix": round(naive_u, 1),
                            "viper_us_unix": round(viper_u, 1),
                            "kernel_speedup_viper_unix": round(naive_u / viper_u, 1),
                            "detector_core_us_unix": round(core_u, 1)})
    return out


HELDOUT = 1000      # held-out seeds start here: never used while tuning


def make_detector(w: int, h: int):
    return MotionDetector(w, h, kernel="python")


def _table(title: str, res: dict) -> None:
    fmt = lambda v: "-" if v is None else "%.3f" % v  # noqa: E731
    print("\n" + title)
    print("  %-14s %-8s %4s %7s %9s %9s %6s  %s" % ("scene type", "group", "n", "recall",
                                                   "precision", "false-trg", "IoU", "reasons (misses)"))
    for kind, c in res["types"].items():
        miss: dict = {}
        for r in res["rows"]:
            if r["kind"] == kind and not (r["fired"] and r["fired"]["hit"]) and (r["positive"] or r["fired"]):
                top = max(r["reasons"], key=r["reasons"].get) if r["reasons"] else "fired"
                top = "fired" if r["fired"] else top
                miss[top] = miss.get(top, 0) + 1
        print("  %-14s %-8s %4d %7s %9s %9s %6s  %s" % (
            kind, evalset.TYPES[kind][0], c["n"], fmt(c["recall"]), fmt(c["precision"]),
            fmt(c["false_trigger_rate"]), fmt(c["mean_iou"]),
            " ".join("%s:%d" % kv for kv in sorted(miss.items()))))
    for name, c in list(res["groups"].items()) + [("size<12%", res["sizes"]["small"]),
                                                   ("size>=12%", res["sizes"]["large"])]:
        print("  %-14s %-8s %4d %7s %9s %9s %6s" % (
            "[" + name + "]", "", c["n"], fmt(c["recall"]), fmt(c["precision"]),
            fmt(c["false_trigger_rate"]), fmt(c["mean_iou"])))


def flat(res: dict, prefix: str = "") -> dict:
    """The flat keys of bench/results/detect.json for one seed set."""
    out = {}
    for kind, c in res["types"].items():
        if c["recall"] is not None:
            out[prefix + "recall_" + kind] = c["recall"]
        if c["false_trigger_rate"] is not None:
            out[prefix + "false_trigger_rate_" + kind] = c["false_trigger_rate"]
    g = res["groups"]
    out.update({prefix + "recall": g["animal"]["recall"],
                prefix + "recall_large": res["sizes"]["large"]["recall"],
                prefix + "recall_small": res["sizes"]["small"]["recall"],
                prefix + "n_large": res["sizes"]["large"]["positives"],
                prefix + "n_small": res["sizes"]["small"]["positives"],
                prefix + "precision": res["overall"]["precision"],
                prefix + "false_trigger_rate": g["false"]["false_trigger_rate"],
                prefix + "false_trigger_rate_negative": g["negative"]["false_trigger_rate"],
                prefix + "mean_iou": g["animal"]["mean_iou"]})
    for group in ("animal", "false", "negative"):  # look frames a window took (issue 21)
        n = [r["looked"] for r in res["rows"] if evalset.TYPES[r["kind"]][0] == group]
        if n:
            out[prefix + "looked_frames_" + group] = round(sum(n) / len(n), 2)
    return out


def quality(make=make_detector, seeds: int = SEEDS) -> dict:
    """Bench seeds 0..seeds-1 and held-out seeds HELDOUT.. (same count), every scene type."""
    out = {"seeds": seeds}
    for title, first, prefix in (("bench seeds", 0, ""), ("held-out seeds", HELDOUT, "heldout_")):
        t = time.perf_counter()
        res = evalset.evaluate(evalset.generate(range(first, first + seeds)), make,
                               width=W, height=H)
        _table("detect, %s %d-%d: %dx%d, reference wake then a PIR window of %d frames "
               "at %g fps (%.0f s)" % (title, first, first + seeds - 1, W, H,
                                       evalset.DEFAULTS["frames"], evalset.DEFAULTS["fps"],
                                       time.perf_counter() - t), res)
        out.update(flat(res, prefix))
    return out


def run() -> dict:
    data = frames()
    result = quality()
    result.update(cpython_cost(data))
    result.update(micropython_cost(data))
    result["frame"] = "%dx%d block %d, cells %d" % (W, H, BLOCK, CELL)
    write_result("detect", result)
    return result


if __name__ == "__main__":
    import json
    print(json.dumps(run(), indent=1, sort_keys=True))
