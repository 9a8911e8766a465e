"""A board over adafruit-ampy (`flash.py deploy --tool ampy`), for users who have ampy.

The same steps as `Board` (board.py, mpremote): info, file hashes, copy, remove, reset,
a JSON query. They run through ampy's own serial raw-REPL layer, `ampy.pyboard.Pyboard`
(pyserial; its raw-REPL entry with Ctrl-C, Ctrl-A, the soft reset and the two Ctrl-C that
stop a running main.py; its command writes in 256-byte pieces 10 ms apart; its `follow`),
over one connection held for the whole deploy instead of one process per step.

Guarantees:
- The raw REPL is entered once per connection (ampy's `Files` helpers enter it, with a soft
  reset, for every file); the connection is dropped after a reset and reopened on demand.
- Files are written in CHUNK-byte pieces, base64 in a raw-REPL exec each (ampy's own
  `put` sends 32 bytes per exec), into `<path>.part`, hashed on the board while writing;
  the file is renamed into place only when the board's SHA-256 equals the local one, so
  a cut cable leaves the old file, never half a new one.
- Every failure is a ToolError with advice (ampy's PyboardError is a BaseException).
- mip is not available through ampy: `--deps mip` is refused (the cache, the default,
  copies the same micropython-lib modules).
AMPY_BAUD and AMPY_DELAY (ampy's own environment variables) are honoured: an ESP32 board
whose serial adapter resets it on open may need AMPY_DELAY=0.5 or more.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from . import diagnose
from .board import HASHES, INFO, MARK, MKDIRS, decode_mpy
from .proc import ToolError

CHUNK = 1024  # file bytes per raw-REPL exec (1368 characters of base64)

OPEN = ("import binascii, hashlib\n_h = hashlib.sha256()\n_f = open(%r, 'wb')\n"
        "def _w(s):\n    b = binascii.a2b_base64(s)\n    _h.update(b)\n    _f.write(b)\n")
CLOSE = ("_f.close()\nimport os\n_d = ''.join('%%02x' %% x for x in _h.digest())\n"
         "if _d == %r:\n    try:\n        os.remove(%r)\n    except OSError:\n        pass\n"
         "    os.rename(%r, %r)\nelse:\n    os.remove(%r)\nprint(%r + _d)\n"
         "del _f, _h, _w, _d\n")
REMOVE = ("import os\nfor _p in %r:\n    try:\n        os.remove(_p)\n    except OSError:\n"
          "        pass\n")
RESET = "import machine\nmachine.reset()\n"


def _ampy():
    try:
        from ampy import pyboard
    except ImportError:
        raise ToolError("adafruit-ampy is not installed",
                        "pip install adafruit-ampy (or pip install -e '.[board]'), or deploy "
                        "with the default --tool mpremote") from None
    return pyboard


class AmpyBoard:
    def __init__(self, port: str, timeout: float = 120, baud: int | None = None,
                 delay: float | None = None):
        self.port = port
        self.timeout = timeout
        self.baud = baud or int(os.environ.get("AMPY_BAUD", "115200"))
        self.delay = float(os.environ.get("AMPY_DELAY", "0")) if delay is None else delay
        self._pyb = None

    # --- the connection -------------------------------------------------------------------
    def _fail(self, what: str, e: BaseException) -> ToolError:
        text = " ".join(repr(a) if isinstance(a, bytes) else str(a) for a in e.args) or repr(e)
        return ToolError(f"ampy {what} on {self.port} failed: {diagnose.last_error(text)}",
                         diagnose.hint(text) or f"check the board answers: "
                         f"`ampy --port {self.port} ls`; an ESP32 that resets when the port "
                         "opens may need AMPY_DELAY=0.5")

    def _board(self):
        if self._pyb is None:
            pyboard = _ampy()
            try:
                pyb = pyboard.Pyboard(self.port, baudrate=self.baud, rawdelay=self.delay)
            except (pyboard.PyboardError, OSError) as e:
                raise self._fail("connect", e) from None
            try:
                pyb.enter_raw_repl()
            except (pyboard.PyboardError, OSError) as e:
                pyb.close()
                raise self._fail("raw REPL", e) from None
            self._pyb = pyb
        return self._pyb

    def close(self) -> None:
        pyb, self._pyb = self._pyb, None
        if pyb is not None:
            try:
                pyb.exit_raw_repl()
                pyb.close()
            except (OSError, _ampy().PyboardError):
                pass

    def _exec(self, code: str, timeout: float | None = None) -> str:
        pyb = self._board()
        pyboard = _ampy()
        try:
            out, err = pyb.exec_raw(code, timeout=timeout or self.timeout)
        except (pyboard.PyboardError, OSError) as e:
            self.close()
            raise self._fail("exec", e) from None
        if err:
            text = err.decode(errors="replace")
            raise ToolError(f"ampy exec on {self.port} failed: {diagnose.last_error(text)}",
                            diagnose.hint(text) or "run the step by hand with `ampy --port "
                            f"{self.port} run` to see the whole traceback")
        return out.decode(errors="replace")

    # --- the steps deploy uses ------------------------------------------------------------
    def exec_json(self, code: str, timeout: float | None = None):
        out = self._exec(code, timeout)
        for line in out.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise ToolError(f"the board gave no answer to a query: {diagnose.last_error(out)}",
                        diagnose.NO_REPL)

    def info(self) -> dict:
        d = self.exec_json(INFO)
        d.update(decode_mpy(d.get("mpy")))
        return d

    def hashes(self, dirs=("/lib",), files=("/boot.py", "/main.py")) -> dict:
        return self.exec_json(HASHES % (list(dirs), list(files), MARK), timeout=300)

    def copy(self, pairs: list[tuple[str, str]]) -> None:
        """Copy (local, remote) pairs, making parent folders first; each file is checked
        against its SHA-256 on the board before it replaces the old one."""
        dirs = set()
        for _, remote in pairs:
            parts = remote.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/" + "/".join(parts[:i]))
        self._exec(MKDIRS % sorted(dirs, key=lambda d: (d.count("/"), d)))
        for local, remote in pairs:
            self._put(Path(local).read_bytes(), remote)

    def _put(self, data: bytes, remote: str) -> None:
        part = remote + ".part"
        want = hashlib.sha256(data).hexdigest()
        self._exec(OPEN % part)
        for i in range(0, len(data), CHUNK):
            self._exec("_w(b'%s')\n" % base64.b64encode(data[i:i + CHUNK]).decode())
        out = self._exec(CLOSE % (want, remote, part, remote, part, MARK))
        got = [ln[len(MARK):] for ln in out.splitlines() if ln.startswith(MARK)]
        if got != [want]:
            raise ToolError(f"{remote} arrived damaged on {self.port} (sha256 "
                            f"{(got or ['none'])[0][:12]}, sent {want[:12]}); the old file "
                            "was kept", "check the cable and run deploy again")

    def remove(self, paths: list[str]) -> None:
        self._exec(REMOVE % list(paths))

    def reset(self) -> None:
        """machine.reset() without waiting for an answer (the board reboots), then drop
        the connection: the next step reconnects."""
        pyb = self._board()
        pyboard = _ampy()
        try:
            pyb.exec_raw_no_follow(RESET)
        except (pyboard.PyboardError, OSError) as e:
            raise self._fail("reset", e) from None
        finally:
            self._pyb = None
            try:
                pyb.close()
            except OSError:
                pass

    def mip_install(self, specs: list[str]) -> None:
        raise ToolError("ampy cannot run mip (there is no `ampy mip`)",
                        "use --deps cache (the default: the same micropython-lib modules from "
                        "the local cache), or --tool mpremote with --deps mip")
