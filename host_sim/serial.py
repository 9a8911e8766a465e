"""Each board's serial console: what firmware writes to sys.stdout lands in the board's
own buffer (`board.serial`, the last `keep` lines), as it would on its UART, instead of
interleaving every board's output on the host terminal.

    with host_sim.serial.consoles():
        sim.run_for(3600)
    print(board.serial_lines())
"""
from __future__ import annotations

import collections
import contextlib
import sys

from .context import board_or_none


class _Router:
    def __init__(self, host):
        self._host = host

    def write(self, text: str) -> int:
        b = board_or_none()
        if b is None:
            return self._host.write(text)
        buf = getattr(b, "serial", None)
        if buf is None:
            buf = b.serial = collections.deque(maxlen=2000)
            b.serial_partial = ""
            b.serial_count = 0
        text = b.serial_partial + text
        *lines, b.serial_partial = text.split("\n")
        buf.extend(lines)
        b.serial_count += len(lines)  # lines ever written (a reader tracks its position)
        return len(text)

    def flush(self) -> None:
        self._host.flush()

    def __getattr__(self, name):
        return getattr(self._host, name)


@contextlib.contextmanager
def consoles():
    """Route firmware stdout to per-board buffers for the duration of the block."""
    saved = sys.stdout
    sys.stdout = _Router(saved)
    try:
        yield
    finally:
        sys.stdout = saved


def lines(board) -> list:
    return list(getattr(board, "serial", ()))


def new_lines(board, seen: int) -> tuple[list, int]:
    """(lines written since `seen` lines, the new count); lines pushed out of the kept
    buffer in between are skipped."""
    total = getattr(board, "serial_count", 0)
    fresh = total - seen
    buf = getattr(board, "serial", ())
    return (list(buf)[-fresh:] if fresh > 0 else []), total
