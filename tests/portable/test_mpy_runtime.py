"""Interpreter differences the MicroPython gate exists for, pinned as portable tests.

Each test passes under CPython and under real MicroPython and shows the way of writing
firmware that works on both (docs/MICROPYTHON_GATE.md lists them).
"""

import asyncio
import errno
import json
import os

from portable_support import MICROPYTHON, raises, run, tmpdir

from wildcam.core import jsonutil
from wildcam.core.storage import EEXIST, ENOENT, ENOSPC


def test_missing_file_and_existing_folder_give_the_board_errno_numbers():
    # The wasm build raises Emscripten numbers (44, 20); the gate's prelude maps them back,
    # so firmware can compare with errno.ENOENT / errno.EEXIST as on the board.
    d = tmpdir()
    e = raises(OSError, open, d + "/missing.json", "rb")
    assert e.args[0] == errno.ENOENT == 2
    e = raises(OSError, os.stat, d + "/missing.json")
    assert e.args[0] == errno.ENOENT
    e = raises(OSError, os.mkdir, d)
    assert e.args[0] == errno.EEXIST == 17
    e = raises(OSError, os.listdir, d + "/nowhere")
    assert e.args[0] == errno.ENOENT


def test_oserror_number_is_read_from_args_0_and_some_names_are_missing():
    # MicroPython sets .errno from a single argument; CPython only from two or more.
    # Firmware reads e.args[0]; code that raises for CPython passes (number, text).
    # MicroPython's errno module has a short list: no ENOSPC, ENOTDIR, ENOTEMPTY... so
    # firmware uses its own constants (wildcam.core.storage.ENOSPC).
    e = OSError(ENOSPC)
    assert e.args[0] == ENOSPC
    assert e.errno == (ENOSPC if MICROPYTHON else None)
    e = OSError(ENOSPC, "disk full")
    assert e.errno == e.args[0] == ENOSPC
    assert hasattr(errno, "ENOSPC") != MICROPYTHON
    assert errno.ENOENT == ENOENT and errno.EEXIST == EEXIST


async def _nap(ms, value=None):
    await asyncio.sleep(ms / 1000)
    return value


def test_wait_for_takes_a_coroutine_and_times_out_with_asyncio_timeouterror():
    # On MicroPython asyncio.sleep() returns a shared generator, not a coroutine: pass a
    # coroutine (like _nap) to wait_for/create_task, never asyncio.sleep(...) itself.
    async def main():
        got = await asyncio.wait_for(_nap(5, "done"), 1)
        try:
            await asyncio.wait_for(_nap(2000), 0.02)
            timed_out = False
        except asyncio.TimeoutError:
            timed_out = True
        gathered = await asyncio.gather(_nap(1, 1), _nap(2, 2))
        return got, timed_out, gathered

    assert run(main()) == ("done", True, [1, 2])


def test_canonical_json_is_built_from_sorted_keys():
    # MicroPython's json.dumps has no sort_keys and its dicts are not insertion-ordered,
    # so text that is compared, hashed or signed goes through wildcam.core.jsonutil.dumps.
    a = {}
    b = {}
    for k in ("zeta", "alpha", "mid", "beta"):
        a[k] = len(k)
    for k in ("beta", "mid", "alpha", "zeta"):
        b[k] = len(k)
    assert jsonutil.dumps(a) == jsonutil.dumps(b) == \
        '{"alpha":5,"beta":4,"mid":3,"zeta":4}'
    assert json.loads(jsonutil.dumps({"n": {"y": 1, "x": [1, 2]}})) == {"n": {"x": [1, 2], "y": 1}}
    if MICROPYTHON:
        raises(TypeError, json.dumps, a, sort_keys=True)
        assert list({"b": 1, "a": 2, "c": 3, "zz": 4}) != ["b", "a", "c", "zz"]
    else:
        assert list(a) == ["zeta", "alpha", "mid", "beta"]


def test_float_text_is_not_portable_so_firmware_formats_integers():
    # Rounding of "%.3f" differs (and an ESP32 build uses 32-bit floats, the wasm build
    # 64-bit): text shown or compared is made from integers, e.g. millivolts.
    assert ("%.3f" % 2.0005) in ("2.000", "2.001")
    mv = 2000  # millivolts
    assert "%d.%03d V" % (mv // 1000, mv % 1000) == "2.000 V"
    assert str(7 // 2) + str(-7 // 2) == "3-4"
