"""Run code under the real MicroPython interpreter (WebAssembly build under node).

A thin Python API over tools/mpyrun/runner.mjs:

    from host_sim import wasm
    wasm.available()                       # node + the npm package installed?
    r = wasm.run_script("import gc\\nprint(gc.mem_alloc())")
    r.returncode, r.stdout, r.stderr
    results = wasm.run_tests(["tests/portable/test_storage.py"])   # list of dicts

The firmware library (firmware/lib) is copied to /lib on the interpreter's filesystem, so
`import wildcam...` works. The prelude maps errno numbers back to MicroPython's and
provides a blocking `asyncio.run`. Scripts may use top-level `await`; garbage is only
collected when control returns to JavaScript, so to measure memory do
`gc.collect(); await asyncio.sleep_ms(0)` before reading `gc.mem_alloc()` (see
docs/MICROPYTHON_GATE.md).
"""

import json
import os
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "tools", "mpyrun", "runner.mjs")
PACKAGE_DIR = os.path.join(ROOT, "node_modules", "@micropython", "micropython-webassembly-pyscript")
FIRMWARE_LIB = os.path.join(ROOT, "firmware", "lib")
INSTALL_HINT = "run scripts/setup.sh (or `npm ci` in %s)" % ROOT


class WasmUnavailable(RuntimeError):
    pass


def node():
    """Path of the node executable, or None."""
    return shutil.which("node")


def available():
    """True when node and the npm package of the wasm MicroPython are installed."""
    return node() is not None and os.path.isfile(os.path.join(PACKAGE_DIR, "micropython.mjs"))


def why_unavailable():
    if node() is None:
        return "node is not on PATH; install Node.js 20 and then " + INSTALL_HINT
    if not available():
        return "the npm package @micropython/micropython-webassembly-pyscript is missing; " + INSTALL_HINT
    return None


def _require():
    msg = why_unavailable()
    if msg:
        raise WasmUnavailable(msg)


class Result:
    """What a script run gave (like subprocess.CompletedProcess)."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def check(self):
        """Raise with the MicroPython traceback when the script failed; return self."""
        if self.returncode != 0:
            raise RuntimeError("MicroPython script failed (exit %d):\n%s%s"
                               % (self.returncode, self.stdout, self.stderr))
        return self

    def __repr__(self):
        return "Result(returncode=%r, stdout=%r, stderr=%r)" % (
            self.returncode, self.stdout[-200:], self.stderr[-200:])


def _common_args(lib_dirs, extra_files, heapsize, heap_limit, pystack):
    args = [node(), RUNNER]
    for d in lib_dirs:
        if isinstance(d, (tuple, list)):
            args += ["--lib", "%s:%s" % (d[0], d[1])]
        else:
            args += ["--lib", str(d)]
    for host, vfs in (extra_files or {}).items():
        args += ["--file", "%s:%s" % (host, vfs)]
    if heapsize:
        args += ["--heapsize", str(heapsize)]
    if heap_limit:
        args += ["--heap-limit"]
    if pystack:
        args += ["--pystack", str(pystack)]
    return args


def run_script(code, files=None, lib=True, timeout=60, heapsize=None, heap_limit=False,
               pystack=None, lib_dirs=(), prelude=True, cwd=None):
    """Run `code` (str) under MicroPython and return a Result(stdout, stderr, returncode).

    files: {vfs_path: str|bytes} written into the interpreter's filesystem first.
    lib: copy firmware/lib to /lib (so `import wildcam` works).
    lib_dirs: more host dirs (or (host, vfs) pairs) to copy.
    heapsize: initial GC heap in bytes (default 1 MB; it grows on demand) and with
    heap_limit=True a hard cap (MemoryError beyond it, like a board without PSRAM).
    An uncaught exception gives returncode 1 and its traceback in stderr; sys.exit(n) gives n.
    """
    _require()
    dirs = ([FIRMWARE_LIB] if lib else []) + list(lib_dirs)
    with tempfile.TemporaryDirectory(prefix="mpyrun-") as tmp:
        extra = {}
        for i, (vfs, content) in enumerate(sorted((files or {}).items())):
            host = os.path.join(tmp, "f%d" % i)
            with open(host, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else bytes(content))
            extra[host] = vfs
        args = _common_args(dirs, extra, heapsize, heap_limit, pystack) + ["--script", "-"]
        if not prelude:
            args.append("--no-prelude")
        if cwd:
            args += ["--cwd", cwd]
        try:
            p = subprocess.run(args, input=code.encode(), capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            err = (e.stderr or b"").decode(errors="replace")
            return Result(args, -9, out, err + "\nmpyrun: killed after %ss (infinite loop? "
                          "with heap_limit an uncaught MemoryError can hang the wasm "
                          "interpreter)\n" % timeout)
    return Result(args, p.returncode, p.stdout.decode(errors="replace"),
                  p.stderr.decode(errors="replace"))


def run_tests(test_files, lib_dirs=None, extra_files=None, timeout=300, heapsize=None,
              heap_limit=False, pystack=None):
    """Run portable test modules in one interpreter; one dict per test:
    {"module", "name", "ok", "error", "ms", "out"} ("name" None for an import failure).

    Every *.py in a test file's folder is copied to /tests (support modules import).
    lib_dirs defaults to [firmware/lib] (-> /lib). extra_files: {host_path: vfs_path}.
    If the interpreter stops early, the tests it did not report are absent; the returned
    list then ends with a record {"name": None, "ok": False, "error": ...} explaining why.
    """
    _require()
    if lib_dirs is None:
        lib_dirs = [FIRMWARE_LIB]
    args = _common_args(lib_dirs, extra_files, heapsize, heap_limit, pystack)
    args += [os.path.abspath(t) for t in test_files]
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout)
        stdout, stderr, code = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        stdout, stderr, code = e.stdout or b"", (e.stderr or b"") + (
            b"\nkilled after %ds: a test loops forever (synchronous code cannot be "
            b"interrupted in the wasm build)" % timeout), None
    results = []
    for line in stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                results.append(json.loads(line))
            except ValueError:
                pass
    failed = any(not r["ok"] for r in results)
    if code is None or code not in (0, 1) or (code == 1 and not failed):
        results.append({"module": None, "name": None, "ok": False, "ms": 0, "out": "",
                        "error": "mpyrun exited with %s\n%s" % (
                            code, stderr.decode(errors="replace")[-4000:])})
    return results
