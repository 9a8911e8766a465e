"""`python -m bench frozen`: what a frozen build (firmware/manifest.py: WildCAM's bytecode in
the firmware image instead of .mpy files in /lib) saves of a whole wake's CPU work.

Needs a MicroPython checkout (`WILDCAM_MPY_SRC=/path/to/micropython`; its submodules are not
needed): the unix port is built from it once with WildCAM frozen in (the same package line
as firmware/manifest.py, plus asyncio), into a temporary build folder (only the checkout's
own mpy-cross is built in place, where the port's make expects it). Then bench wake's
whole-wake runs (bench/wake_whole.py: the same trees, stubs and busy clock) go through that
one binary twice: with the firmware as .mpy files in /lib (as flashed by tools/flash.py) and
with /lib/wildcam absent, so every `wildcam` import comes from `.frozen` (boot.py puts /lib
first: a slot or a /lib copy would win over the frozen one, which is how OTA updates a
frozen build). Same binary, same machine, same run: the difference is the loading of .mpy
files (reading, allocating and linking their bytecode and qstrs), not interpreter speed.

Board seconds: busy ms x (this binary's pystones / an ESP32's, as bench wake). Without
WILDCAM_MPY_SRC the bench says why and writes nothing (CI has no MicroPython checkout:
it is not on the package registries).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench import wake as W
from bench import wake_whole as WW
from bench.common import ROOT, write_result

REPEATS = {"pir": 7, "timer": 11}
MANIFEST = """# bench frozen: the unix port with WildCAM frozen (as firmware/manifest.py does for a board)
include("$(MPY_DIR)/extmod/asyncio")
package("wildcam", base_path=%r, opt=3)
"""
# what the unix port needs no submodule for; the rest of its standard variant is kept
MAKE_FLAGS = ["VARIANT=standard", "MPY_CROSS_FLAGS=-march=x64", "MICROPY_PY_BTREE=0",
              "MICROPY_PY_SSL=0", "MICROPY_SSL_AXTLS=0", "MICROPY_SSL_MBEDTLS=0",
              "MICROPY_PY_FFI=0"]


def build(src: Path, work: Path) -> str:
    """The unix port with WildCAM frozen, built from `src` into `work`; the binary's path."""
    manifest = work / "manifest.py"
    manifest.write_text(MANIFEST % str(ROOT / "firmware" / "lib"))
    # the manifest rule insists on micropython-lib (its README.md); ours freezes none of it,
    # so an empty stand-in here keeps the checkout's own submodule folder untouched
    mpl = work / "micropython-lib"
    mpl.mkdir()
    (mpl / "README.md").write_text("stand-in: bench frozen freezes no micropython-lib\n")
    jobs = "-j%d" % (os.cpu_count() or 1)
    subprocess.run(["make", "-C", str(src / "mpy-cross"), jobs], check=True,
                   capture_output=True)
    out = work / "build"
    p = subprocess.run(["make", "-C", str(src / "ports" / "unix"), jobs, "BUILD=%s" % out,
                        "FROZEN_MANIFEST=%s" % manifest, "MPY_LIB_DIR=%s" % mpl]
                       + MAKE_FLAGS, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("bench frozen: the unix port did not build:\n" + p.stdout[-2000:]
                         + p.stderr[-2000:])
    return str(out / "micropython")


def busy(exe: str, tree: Path, n: int) -> list:
    """Busy ms (bench/wake_whole.py's clock) of `n` whole wakes of `tree`."""
    got = []
    for _ in range(n):
        r = WW.cpu_once(exe, tree, "whole")
        if r["rc"] != 0 or "busy_ms" not in r:
            raise SystemExit("bench frozen: a %s wake did not end (rc %s)" % (tree.name, r["rc"]))
        got.append(r["busy_ms"])
    return got


def run() -> dict:
    src = os.environ.get("WILDCAM_MPY_SRC")
    if not src or not (Path(src) / "ports" / "unix").is_dir():
        print("bench frozen: set WILDCAM_MPY_SRC to a MicroPython checkout (nothing written)")
        return {}
    with tempfile.TemporaryDirectory(prefix="wcfrozen") as tmp:
        t = Path(tmp)
        exe = build(Path(src), t)
        lib = W.compiled(t / "lib")
        trees = WW.trees(lib, t)
        res: dict = {"micropython": subprocess.run(
            [exe, "-c", "import sys; print(sys.version)"], capture_output=True,
            text=True).stdout.strip(), "source_commit": subprocess.run(
            ["git", "-C", src, "rev-parse", "HEAD"], capture_output=True,
            text=True).stdout.strip() or None}
        stones = W.pystones(exe)
        scale = stones / W.ESP32_PYSTONES / 1000  # board s per busy ms
        for kind in ("pir", "timer"):
            frozen = t / ("whole-frozen-" + kind)
            shutil.copytree(trees[kind], frozen)
            shutil.rmtree(frozen / "lib" / "wildcam")
            mpy = busy(exe, trees[kind], REPEATS[kind])
            frz = busy(exe, frozen, REPEATS[kind])
            res["busy_ms_%s_mpy" % kind] = round(min(mpy), 2)
            res["busy_ms_%s_frozen" % kind] = round(min(frz), 2)
            res["median_ms_%s_mpy" % kind] = round(statistics.median(mpy), 2)
            res["median_ms_%s_frozen" % kind] = round(statistics.median(frz), 2)
            res["frozen_vs_mpy_%s" % kind] = round(min(frz) / min(mpy), 3)
            res["saved_board_s_%s" % kind] = round((min(mpy) - min(frz)) * scale, 2)
        res["pystones_here"] = stones
        res["esp32_pystones"] = W.ESP32_PYSTONES
    write_result("frozen", res)
    return res
