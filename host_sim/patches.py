"""MicroPython extras added to CPython's own modules (never replacing what CPython has).

time: ticks_ms/ticks_us/ticks_cpu/ticks_add/ticks_diff (period 2**30 as on a board),
      sleep_ms/sleep_us.
gc: mem_free/mem_alloc (simulated heap figures of the current board).
asyncio: sleep_ms, wait_for_ms, ThreadSafeFlag.
sys: print_exception.
socket.socket: MicroPython's stream methods read/readinto/write (see `_socket_stream`).
asyncio.StreamReader: MicroPython's `Stream.readinto(buf)` (`_reader_readinto`).

Time source: the current board's virtual clock (ms since its boot); else the running
simulation's world clock; else the host's monotonic clock.
"""
from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import traceback

from .context import board_or_none

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
_HALF = TICKS_PERIOD // 2

# Heap figures used when no board is current (an ESP32-CAM with PSRAM).
_DEFAULT_HEAP = 4_000_000
_DEFAULT_ALLOC = 40_000


def ticks_add(ticks: int, delta: int, /) -> int:
    """(ticks + delta) on the 2**30 ring, like MicroPython."""
    return (ticks + delta) & TICKS_MAX


def ticks_diff(ticks1: int, ticks2: int, /) -> int:
    """Signed distance ticks1 - ticks2 on the ring, in -2**29 .. 2**29-1."""
    return ((ticks1 - ticks2 + _HALF) & TICKS_MAX) - _HALF


def _sim_clock():
    loop = asyncio._get_running_loop()
    return getattr(loop, "clock", None)


def _elapsed_us() -> int:
    b = board_or_none()
    if b is not None:
        return b.uptime_us()
    clock = _sim_clock()
    if clock is not None:
        return int(clock.now * 1_000_000)
    return time.monotonic_ns() // 1000


def ticks_ms() -> int:
    return (_elapsed_us() // 1000) & TICKS_MAX


def ticks_us() -> int:
    return _elapsed_us() & TICKS_MAX


def ticks_cpu() -> int:
    return _elapsed_us() & TICKS_MAX


def _block(seconds: float) -> None:
    """A blocking sleep: in a simulation the whole world clock moves (the loop is blocked,
    as the board's would be); outside it, a real sleep."""
    if seconds <= 0:
        return
    b = board_or_none()
    clock = b.sim.clock if b is not None and b.sim is not None else _sim_clock()
    if clock is not None:
        clock.advance(seconds)
    else:
        time.sleep(seconds)


def sleep_ms(ms, /) -> None:
    _block(ms / 1000)


def sleep_us(us, /) -> None:
    _block(us / 1_000_000)


def mem_free() -> int:
    b = board_or_none()
    return b.heap_free() if b is not None else _DEFAULT_HEAP - _DEFAULT_ALLOC


def mem_alloc() -> int:
    b = board_or_none()
    return b.heap_alloc() if b is not None else _DEFAULT_ALLOC


async def sleep_ms_async(delay, /) -> None:
    await asyncio.sleep(delay / 1000)


async def wait_for_ms(aw, timeout):
    return await asyncio.wait_for(aw, None if timeout is None else timeout / 1000)


class ThreadSafeFlag:
    """MicroPython's asyncio.ThreadSafeFlag: `set()` may be called from an IRQ handler (or
    another thread); one task `await flag.wait()`s, which returns once set and clears it."""

    def __init__(self) -> None:
        self._flag = False
        self._waiter: asyncio.Future | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    def set(self) -> None:
        loop = self._loop
        if loop is not None and self._thread != threading.get_ident() and not loop.is_closed():
            loop.call_soon_threadsafe(self._set)
        else:
            self._set()

    def _set(self) -> None:
        self._flag = True
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def clear(self) -> None:
        self._flag = False

    async def wait(self) -> None:
        if not self._flag:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.get_ident()
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        self._flag = False


def print_exception(exc, file=None, /) -> None:
    """MicroPython's sys.print_exception (traceback of `exc` to `file`, default stdout)."""
    if file is None:
        file = sys.stdout
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=file)


def _would_block_types():
    import ssl
    return (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def _sock_readinto(self, buf, n=None):
    """MicroPython `socket.readinto(buf[, n])`: bytes read (0 at EOF), None when a
    non-blocking socket has nothing yet; a timeout raises OSError (TimeoutError)."""
    mv = memoryview(buf)
    if n is not None:
        mv = mv[:n]
    try:
        return self.recv_into(mv)
    except _would_block_types():
        return None


def _sock_read(self, n=-1):
    """MicroPython `socket.read([n])`: up to n bytes (all until EOF when n < 0); None when
    nothing is available on a non-blocking socket."""
    try:
        if n is None or n < 0:
            parts = []
            while True:
                b = self.recv(4096)
                if not b:
                    return b"".join(parts)
                parts.append(b)
        return self.recv(n)
    except _would_block_types():
        return None


def _sock_write(self, buf, n=None):
    """MicroPython `socket.write(buf)`: bytes written (may be fewer than asked), None when a
    non-blocking socket cannot take any now."""
    mv = memoryview(buf)
    if n is not None:
        mv = mv[:n]
    try:
        return self.send(mv)
    except _would_block_types():
        return None


def _socket_stream() -> None:
    """Give CPython's plain `socket.socket` the stream methods MicroPython sockets have, so
    firmware (wildcam.net.stream) uses one API on both. `ssl.SSLSocket` keeps its own read/write
    (they take precedence) and inherits readinto."""
    import socket
    for name, fn in (("read", _sock_read), ("readinto", _sock_readinto),
                     ("write", _sock_write)):
        if not hasattr(socket.socket, name):
            setattr(socket.socket, name, fn)


async def _reader_readinto(self, buf):
    """MicroPython's `asyncio.Stream.readinto(buf)` (extmod/asyncio/stream.py): waits until
    something has arrived, then reads up to len(buf) bytes into buf and returns how many
    (0 at EOF)."""
    mv = memoryview(buf)
    data = await self.read(len(mv))
    n = len(data)
    mv[:n] = data
    return n


def _add(module, name, value) -> None:
    if not hasattr(module, name):
        setattr(module, name, value)


# (module, name, value): what apply() adds; tests/test_board_contract.py holds each to the
# micropython-esp32-stubs signature of that name
EXTRAS = (
    ("time", "ticks_ms", ticks_ms), ("time", "ticks_us", ticks_us),
    ("time", "ticks_cpu", ticks_cpu), ("time", "ticks_add", ticks_add),
    ("time", "ticks_diff", ticks_diff), ("time", "sleep_ms", sleep_ms),
    ("time", "sleep_us", sleep_us), ("gc", "mem_free", mem_free),
    ("gc", "mem_alloc", mem_alloc), ("asyncio", "sleep_ms", sleep_ms_async),
    ("asyncio", "wait_for_ms", wait_for_ms), ("asyncio", "ThreadSafeFlag", ThreadSafeFlag),
    ("sys", "print_exception", print_exception),
)
_MODULES = {"time": time, "gc": gc, "asyncio": asyncio, "sys": sys}


def apply() -> None:
    """Add the extras; idempotent, never overwrites an existing attribute."""
    for mod, name, value in EXTRAS:
        _add(_MODULES[mod], name, value)
    _add(asyncio.StreamReader, "readinto", _reader_readinto)
    _socket_stream()
