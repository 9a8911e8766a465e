"""The process boundary: every esptool and mpremote call goes through `run()` (tests mock it
and check the exact argument lists)."""
from __future__ import annotations

import subprocess
import sys


class ToolError(Exception):
    """A step failed; `hint` says what to do next."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def esptool(*args: str) -> list[str]:
    return [sys.executable, "-m", "esptool", *args]


def mpremote(port: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "mpremote", "connect", port, *args]


def run(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a tool, capturing text output. A missing tool or timeout becomes a ToolError."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        raise ToolError(f"cannot start {argv[0]}: {e}",
                        "install the board tools: pip install -e '.[board]'") from e
    except subprocess.TimeoutExpired as e:
        raise ToolError(f"{' '.join(argv[2:4])} gave no answer within {timeout:.0f} s",
                        "unplug and replug the board, then retry") from e
