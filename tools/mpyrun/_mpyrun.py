# Prelude for the MicroPython WebAssembly build (runs INSIDE the wasm interpreter, loaded by
# runner.mjs before any firmware or test code). It makes the wasm build behave like an ESP32
# build where firmware can tell the difference, and holds the portable-test harness.
#
# Shims (see docs/MICROPYTHON_GATE.md):
# 1. errno: the wasm VFS raises OSError with Emscripten's numbers (missing file -> 44, not
#    errno.ENOENT == 2). `open` and the `os` file functions are wrapped so OSError carries
#    the numbers MicroPython uses on a board (Linux numbering).
# 2. asyncio.run: absent in the wasm build. A blocking version steps the wasm scheduler
#    itself, so `asyncio.run(main())` in firmware and tests runs unchanged.
import sys
import os
import io
import time
import builtins
import asyncio
from asyncio import core as _core

import _mpyhost  # registered by runner.mjs (JS functions)

# --- 1. errno mapping --------------------------------------------------------------------
# Emscripten errno -> MicroPython (Linux) errno. Deliberately absent: 1, 2, 17 and 22, which
# are also the numbers MicroPython's own VFS layer raises natively (EPERM, ENOENT, EEXIST,
# EINVAL); their Emscripten meanings (E2BIG, EACCES, EDESTADDRREQ, EFBIG) do not occur on
# the in-memory filesystem.
_EMAP = {
    63: 1, 44: 2, 29: 5, 60: 6, 8: 9, 6: 11, 48: 12, 21: 14, 10: 16, 20: 17, 75: 18, 43: 19,
    54: 20, 31: 21, 28: 22, 41: 23, 33: 24, 59: 25, 51: 28, 70: 29, 69: 30, 34: 31, 64: 32,
    37: 36, 52: 38, 55: 39, 32: 40, 138: 95, 3: 98, 4: 99, 40: 101, 13: 103, 15: 104,
    42: 105, 30: 106, 53: 107, 73: 110, 14: 111, 23: 113, 7: 114, 26: 115,
}


def _wrap(fn):
    def wrapped(*args, **kw):
        try:
            return fn(*args, **kw)
        except OSError as e:
            n = _EMAP.get(e.errno)
            if n is None:
                raise
            raise OSError(n)

    return wrapped


if not hasattr(os, "_mpyrun_wrapped"):
    for _name in ("listdir", "ilistdir", "mkdir", "remove", "unlink", "rename", "rmdir",
                  "stat", "statvfs", "chdir", "getcwd"):
        if hasattr(os, _name):
            setattr(os, _name, _wrap(getattr(os, _name)))
    builtins.open = _wrap(builtins.open)
    try:
        io.open = builtins.open
    except (AttributeError, TypeError):
        pass
    os._mpyrun_wrapped = True


# --- 2. blocking asyncio.run -------------------------------------------------------------
def _done_cb(task, er):
    pass


def _drop_loop():
    if _core.asyncio_timer is not None:
        try:
            _core.js.clearTimeout(_core.asyncio_timer)
        except Exception:
            pass
        _core.asyncio_timer = None
    _core.new_event_loop()


def run(coro):
    """asyncio.run for the wasm build: run `coro` to completion on a fresh task queue,
    stepping the scheduler here (sleeping until the next timer) instead of returning to
    JavaScript. Tasks still pending when `coro` ends are dropped (CPython cancels them).
    Note: the GC of this build only collects when control returns to JavaScript, so
    garbage made inside run() stays allocated until run() returns."""
    if _core.cur_task is not _core._top_level_task:
        raise RuntimeError("asyncio.run() cannot be called from a running event loop")
    _drop_loop()
    try:
        task = _core.create_task(coro)
        task.state = _done_cb  # completion is read below; no "exception not retrieved"
        while not task.done():
            _core._run_iter()
            if task.done():
                break
            head = _core._task_queue.peek()
            if head is None:
                raise RuntimeError(
                    "asyncio.run: main task waits for something no task or timer will "
                    "deliver (deadlock)")
            dt = time.ticks_diff(head.ph_key, time.ticks_ms())
            if dt > 0:
                time.sleep_ms(dt)
    finally:
        _core.cur_task = _core._top_level_task
        _drop_loop()
    er = task.data
    if isinstance(er, StopIteration):
        return er.value
    raise er


asyncio.run = run


# --- portable-test harness (driven by runner.mjs) ------------------------------------------
def _fmt(e):
    s = io.StringIO()
    sys.print_exception(e, s)
    return s.getvalue()


def test_names(modname):
    """Sorted names of the callables named test_* in module `modname` (imports it)."""
    mod = __import__(modname)
    out = []
    for n in dir(mod):
        if n.startswith("test_"):
            obj = getattr(mod, n)
            if callable(obj) and not isinstance(obj, type):
                out.append(n)
    out.sort()
    _mpyhost.names("\n".join(out))


_pending = None


def start(modname, name):
    """Call one test. Reports 'ok'/'fail' or 'async' (then the runner awaits finish())."""
    global _pending
    _pending = None
    try:
        r = getattr(sys.modules[modname], name)()
    except BaseException as e:  # noqa: B036 - PowerCut and friends are BaseException
        _mpyhost.result("fail", _fmt(e))
        return
    if r is not None and hasattr(r, "send"):
        _pending = r
        _mpyhost.result("async", "")
    else:
        _mpyhost.result("ok", "")


async def _guard(coro):
    try:
        await coro
    except BaseException as e:  # noqa: B036
        _mpyhost.result("fail", _fmt(e))
        return
    _mpyhost.result("ok", "")


async def finish():
    global _pending
    coro = _pending
    _pending = None
    # Run inside a real Task: awaiting from the top level makes cur_task the wasm
    # TopLevelCoro, which cannot be cancelled or thrown into.
    await asyncio.create_task(_guard(coro))
