"""The type-check gate: pyright (PyPI `pyright`, pinned in pyproject.toml; its wheel carries
pyright's JavaScript and runs on node, no download) over firmware/, boot.py and main.py with
pyrightconfig.json: the official MicroPython stubs in .cache/typings and the camera stubs in
tests/stubs. Any error fails; stub gaps are silenced at their line with the reason, and a
suppression that no longer suppresses anything is an error too.

One pyright run checks the firmware and a planted file with two board misuses, which must
be the only errors: proof that the gate can fail."""
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLANTED = '''import esp32
import time


def read():
    time.sleep_ms(ms=5)           # sleep_ms takes its argument positionally only
    return esp32.mcu_temperature()  # not on the classic ESP32 of the ESP32-CAM
'''


def _pyright(paths):
    exe = os.path.join(os.path.dirname(sys.executable), "pyright")
    if not os.path.isfile(exe):
        pytest.fail("pyright missing: run scripts/setup.sh (the test extra of pyproject.toml)",
                    pytrace=False)
    if not os.path.isfile(os.path.join(ROOT, ".cache", "typings", "machine.pyi")):
        pytest.fail("micropython-esp32-stubs missing in .cache/typings: run scripts/setup.sh",
                    pytrace=False)
    env = dict(os.environ, PYRIGHT_PYTHON_IGNORE_WARNINGS="1")
    p = subprocess.run([exe, "--outputjson", *paths], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=300)
    try:
        return json.loads(p.stdout)
    except ValueError:
        pytest.fail("pyright gave no report (exit %d):\n%s\n%s" % (p.returncode, p.stdout[-2000:],
                                                                  p.stderr[-2000:]))


def test_the_firmware_type_checks_against_the_micropython_stubs(tmp_path):
    planted = tmp_path / "planted_misuse.py"
    planted.write_text(PLANTED)
    report = _pyright(["firmware", "boot.py", "main.py", str(planted)])
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    ours = [d for d in errors if not d["file"].endswith("planted_misuse.py")]
    assert not ours, "pyright errors:\n" + "\n".join(
        "%s:%d %s [%s]" % (os.path.relpath(d["file"], ROOT), d["range"]["start"]["line"] + 1,
                           d["message"].splitlines()[0], d.get("rule")) for d in ours)
    assert report["summary"]["filesAnalyzed"] >= 70  # the whole firmware, not a subset
    got = sorted((d["range"]["start"]["line"] + 1, d.get("rule")) for d in errors
                 if d["file"].endswith("planted_misuse.py"))
    assert got == [(6, "reportCallIssue"), (7, "reportAttributeAccessIssue")], got


def test_every_suppression_says_why():
    bare = []
    for d, _, files in os.walk(os.path.join(ROOT, "firmware")):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(d, f)
            with open(path, encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    m = re.search(r"# pyright: ignore\[[^\]]+\](.*)$", line)
                    if m and not re.match(r"\s+# \S", m.group(1)):
                        bare.append("%s:%d" % (os.path.relpath(path, ROOT), n))
    assert not bare, "suppressions without a reason: " + ", ".join(bare)
