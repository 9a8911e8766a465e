"""boot.py under real MicroPython (wasm): the pointer decides which `wildcam` package main.py
imports, the /lib copy used for the decision is forgotten, trial boots are counted in the
fallback file counter (no NVS there) and an exhausted trial boots /lib again."""
import json
from pathlib import Path

from host_sim import wasm

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
exec(open("/boot.py").read())
import sys, wildcam.core.version
print("RESULT", wildcam.core.version.VERSION, sys.path[1])
try:
    print("TRIES", open("/slots/tries").read())
except OSError:
    print("TRIES none")
"""


def boot(pointer=None, slot_files=True, extra=None, runs=1):
    files = {"/boot.py": (ROOT / "boot.py").read_text()}
    if slot_files:
        files["/slots/b/wildcam/__init__.py"] = ""
        files["/slots/b/wildcam/core/version.py"] = 'VERSION = "9.9.9"\n'
    if pointer is not None:
        files["/slots/active"] = pointer if isinstance(pointer, str) else json.dumps(pointer)
    files.update(extra or {})
    r = wasm.run_script(PROBE * runs, files=files)
    assert r.returncode == 0, r.stderr
    out = [line.split(" ", 2)[1:] for line in r.stdout.splitlines()
           if line.startswith(("RESULT", "TRIES"))]
    return out, r.stdout


def test_no_pointer_boots_the_factory_lib():
    out, _ = boot()
    assert out[0] == ["0.1.0", "/lib"]


def test_confirmed_slot_b_is_imported_instead_of_lib():
    out, _ = boot({"slot": "b", "state": "confirmed", "good": "b", "version": "9.9.9"})
    assert out[0] == ["9.9.9", "/slots/b"] and out[1] == ["none"]


def test_pending_slot_is_counted_then_rolled_back_after_three_boots():
    p = {"slot": "b", "state": "pending", "good": "lib", "good_version": "0.1.0",
         "version": "9.9.9", "gen": 4, "tries_max": 3}
    out, text = boot(p, runs=4)  # four boots in one interpreter (state is in the files)
    assert [o for o in out if o[0] != "none"] == [
        ["9.9.9", "/slots/b"], ["4", "1"], ["9.9.9", "/slots/b"], ["4", "2"],
        ["9.9.9", "/slots/b"], ["4", "3"], ["0.1.0", "/lib"], ["4", "4"]], text


def test_broken_pointer_or_missing_slot_boot_lib():
    assert boot("{torn")[0][0] == ["0.1.0", "/lib"]
    out, _ = boot({"slot": "b", "state": "confirmed", "good": "b"}, slot_files=False)
    assert out[0] == ["0.1.0", "/lib"]
