"""A board over mpremote (one `mpremote connect PORT ...` process per step)."""
from __future__ import annotations

import json

from . import diagnose, proc
from .proc import ToolError

MARK = "@@wildcam@@"
ARCHS = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
         "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc"]

INFO = ("import sys, json\n"
        "print(%r + json.dumps({'mpy': getattr(sys.implementation, '_mpy', None), "
        "'version': list(sys.implementation.version[:3]), 'platform': sys.platform, "
        "'machine': getattr(sys.implementation, '_machine', '')}))" % MARK)

HASHES = """import os, json
try:
    import hashlib
except ImportError:
    hashlib = None
def _h(p):
    if hashlib is None or not hasattr(hashlib, 'sha256'):
        return None
    h = hashlib.sha256()
    b = bytearray(512)
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            h.update(b[:n] if n < 512 else b)
    return ''.join('%%02x' %% x for x in h.digest())
out = {}
def _walk(d):
    try:
        ents = list(os.ilistdir(d))
    except OSError:
        return
    for e in ents:
        p = (d if d != '/' else '') + '/' + e[0]
        if e[1] & 0x4000:
            _walk(p)
        else:
            out[p] = _h(p)
for _d in %r:
    _walk(_d)
for _f in %r:
    try:
        out[_f] = _h(_f)
    except OSError:
        pass
print(%r + json.dumps(out))
"""

MKDIRS = """import os
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
"""


def decode_mpy(mpy: int | None) -> dict:
    """sys.implementation._mpy -> {'mpy_version', 'mpy_sub', 'arch'} (arch None: bytecode
    only)."""
    if mpy is None:
        return {"mpy_version": None, "mpy_sub": None, "arch": None}
    a = mpy >> 10
    return {"mpy_version": mpy & 0xFF, "mpy_sub": (mpy >> 8) & 3,
            "arch": ARCHS[a] if a < len(ARCHS) else f"arch{a}"}


class Board:
    def __init__(self, port: str, timeout: float = 120):
        self.port = port
        self.timeout = timeout

    def mpremote(self, *args: str, timeout: float | None = None) -> str:
        r = proc.run(proc.mpremote(self.port, *args), timeout=timeout or self.timeout)
        out = (r.stdout or "") + (r.stderr or "")
        if r.returncode != 0 or "Traceback (most recent call last)" in out:
            raise ToolError(f"mpremote {args[0]} on {self.port} failed: "
                            f"{diagnose.last_error(out)}",
                            diagnose.hint(out) or "run `mpremote connect "
                            f"{self.port} repl` and check the board answers")
        return out

    def exec_json(self, code: str, timeout: float | None = None):
        out = self.mpremote("exec", code, timeout=timeout)
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
        """Copy (local, remote) pairs in one mpremote run, making parent folders first."""
        dirs = set()
        for _, remote in pairs:
            parts = remote.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/" + "/".join(parts[:i]))
        args = ["exec", MKDIRS % sorted(dirs, key=lambda d: (d.count("/"), d))]
        for local, remote in pairs:
            args += ["+", "fs", "cp", local, ":" + remote]
        self.mpremote(*args)

    def remove(self, paths: list[str]) -> None:
        args: list[str] = []
        for p in paths:
            args += (["+"] if args else []) + ["fs", "rm", ":" + p]
        self.mpremote(*args)

    def reset(self) -> None:
        self.mpremote("reset", timeout=30)

    def mip_install(self, specs: list[str]) -> None:
        for spec in specs:
            self.mpremote("mip", "install", spec, timeout=300)

    def close(self) -> None:
        """Nothing held between steps (each is its own mpremote process)."""
