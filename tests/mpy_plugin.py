"""pytest plugin: every tests/portable/test_*.py also runs under real MicroPython.

Each portable test file is collected twice: as usual (CPython) and by `MpyFile`, whose
items are marked `micropython` and have node ids like
`tests/portable/test_storage.py::mpy::test_write_atomic_replaces`. All tests of one file run
in ONE interpreter process (tools/mpyrun/runner.mjs via host_sim.wasm.run_tests); files run
in parallel on a small thread pool, started when the first MicroPython item runs.

`pytest -m micropython` runs only these. If node or the npm package is missing the items
FAIL with the install hint: the gate must never pass by skipping.
Hooked in by tests/conftest.py (`from mpy_plugin import *`).
"""

import ast
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from host_sim import wasm

__all__ = ["pytest_collect_file", "pytest_collection_finish", "pytest_unconfigure"]

HERE = os.path.dirname(os.path.abspath(__file__))
PORTABLE = os.path.join(HERE, "portable")
# host_sim's filesystem model is portable too: the full-disk test storage imports it
EXTRA = {os.path.join(os.path.dirname(HERE), "host_sim", "fsmodel.py"): "/tests/fsmodel.py"}
FILE_TIMEOUT = 300

_lock = threading.Lock()
_pool = None
_futures = {}  # abs path -> Future[list[dict]]
_wanted = []  # abs paths of files with selected MicroPython items, in collection order


def _is_portable_test(path):
    p = str(path)
    return (os.path.dirname(p) == PORTABLE and os.path.basename(p).startswith("test_")
            and p.endswith(".py"))


def pytest_collect_file(file_path, parent):
    if _is_portable_test(file_path):
        return MpyFile.from_parent(parent, path=file_path,
                                   nodeid=_rel(parent, file_path) + "::mpy")
    return None


def _rel(parent, path):
    root = str(parent.config.rootpath)
    return os.path.relpath(str(path), root).replace(os.sep, "/")


def pytest_collection_finish(session):
    seen = set()
    for item in session.items:
        if isinstance(item, MpyItem):
            p = str(item.path)
            if p not in seen:
                seen.add(p)
                _wanted.append(p)


def pytest_unconfigure(config):
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def _results_for(path):
    """Results of the MicroPython run of `path` (starting every wanted file on first use)."""
    global _pool
    with _lock:
        if path not in _futures:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))
            for p in [path] + [w for w in _wanted if w != path]:
                if p not in _futures:
                    _futures[p] = _pool.submit(wasm.run_tests, [p], extra_files=EXTRA,
                                               timeout=FILE_TIMEOUT)
        fut = _futures[path]
    return fut.result()


class MpyFailure(Exception):
    pass


class MpyFile(pytest.File):
    def collect(self):
        with open(self.path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=str(self.path))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    node.name.startswith("test_"):
                if node.args.args or node.args.vararg or node.args.kwonlyargs:
                    # pytest would inject fixtures; MicroPython cannot.
                    item = MpyItem.from_parent(self, name=node.name, lineno=node.lineno,
                                               bad_signature=True)
                else:
                    item = MpyItem.from_parent(self, name=node.name, lineno=node.lineno)
                item.add_marker(pytest.mark.micropython)
                yield item


class MpyItem(pytest.Item):
    def __init__(self, *, lineno=0, bad_signature=False, **kw):
        super().__init__(**kw)
        self.lineno = lineno
        self.bad_signature = bad_signature

    def runtest(self):
        if self.bad_signature:
            raise MpyFailure("portable test functions take no arguments (no fixtures): "
                             "%s()" % self.name)
        why = wasm.why_unavailable()
        if why:
            raise MpyFailure("real MicroPython (wasm) is not available: " + why)
        results = _results_for(str(self.path))
        module = os.path.basename(str(self.path))[:-3]
        for r in results:
            if r.get("module") == module and r.get("name") == self.name:
                self.user_properties.append(("micropython_ms", r.get("ms")))
                if r["ok"]:
                    return
                raise MpyFailure("MicroPython traceback:\n%s%s"
                                 % (_host_paths(r["error"], self), _out(r)))
        for r in results:
            if r.get("name") is None:  # import failure or a crashed interpreter
                raise MpyFailure("under MicroPython this test did not run:\n%s%s"
                                 % (_host_paths(r.get("error", ""), self), _out(r)))
        raise MpyFailure("MicroPython did not report %s (the runner found: %s)"
                         % (self.name, ", ".join(str(r.get("name")) for r in results)))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, MpyFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.lineno - 1, "mpy::%s" % self.name


def _host_paths(text, item):
    """Point traceback lines at repository files: /tests/x.py -> tests/portable/x.py,
    /lib/... -> firmware/lib/...; drop the harness's own frame."""
    tests_dir = os.path.dirname(_rel(item, item.path))
    lines = []
    for line in text.splitlines():
        if line.startswith('  File "/mpyrun/'):
            continue
        line = line.replace('File "/tests/', 'File "%s/' % tests_dir)
        line = line.replace('File "/lib/', 'File "firmware/lib/')
        lines.append(line)
    return "\n".join(lines) + "\n"


def _out(r):
    out = r.get("out") or ""
    return "\n--- output under MicroPython ---\n%s" % out if out.strip() else ""
