"""How shims find "their" board: two context variables set in every firmware task.

`current_board` holds the Board whose firmware runs in this asyncio context; `current_boot`
holds the boot number it was started in, so code left over from a previous boot (a task
that swallowed its cancellation) is stopped the moment it touches hardware.
"""
from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Optional

from .errors import BoardHalted

if TYPE_CHECKING:  # pragma: no cover
    from .board import Board

current_board: contextvars.ContextVar[Optional["Board"]] = contextvars.ContextVar(
    "current_board", default=None)
current_boot: contextvars.ContextVar[int] = contextvars.ContextVar("current_boot", default=-1)


def board_or_none() -> Optional["Board"]:
    return current_board.get()


def get_board() -> "Board":
    """The board of the calling firmware code. Raises RuntimeError outside any board and
    BoardHalted when called from a boot that has already ended."""
    b = current_board.get()
    if b is None:
        raise RuntimeError(
            "no simulated board is current: hardware modules work only in firmware started "
            "by host_sim.Board.power_on() or inside `with board.active():`")
    boot = current_boot.get()
    if boot >= 0 and boot != b.generation:
        raise BoardHalted("%s: code from boot %d touched hardware after the boot ended"
                          % (b.name, boot))
    return b
