"""Exceptions that end a board's current boot.

All derive from BaseException so firmware's `except Exception:` cannot swallow them (on a
real board these events never return to the code that caused them). The board is told
*before* the exception is raised, so even a bare `except:` in firmware cannot stop the
reboot: the board's life-cycle task cancels every firmware task anyway.
"""


class BoardHalted(BaseException):
    """The boot this code belongs to has ended (reset, deep sleep, power cut)."""


class PowerCut(BoardHalted):
    """Power was cut: the storage is dead until the board reboots with a fresh one."""


class ResetRequest(BoardHalted):
    """machine.reset()/soft_reset() or the watchdog ended the boot."""


class DeepSleepRequest(BoardHalted):
    """machine.deepsleep() ended the boot; the board wakes later with DEEPSLEEP_RESET."""
