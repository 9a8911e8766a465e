"""Step accounting: how long each firmware step holds the asyncio loop, and whether it made a
blocking socket call.

A *step* is one callback the loop runs: a task step (the code of a coroutine between two
awaits) or a plain callback. `WatchedLoop` (mixed into host_sim's VirtualLoop, and into the
real-time loops tests/conftest.py gives every `asyncio.run`) runs each one through
`StepWatch.run`, which measures

- wall time (time.perf_counter) spent inside the step;
- virtual time: how far the world clock moved inside the step, which is what modelled
  blocking costs on a board (a camera frame, a WLAN scan, `time.sleep_ms`, the CPU part of a
  TLS handshake: host_sim/netcost.py);
- blocking socket calls made from inside the step, seen by an audit hook (`sys.addaudithook`):
  `socket.connect` on a socket that is not non-blocking, and `socket.getaddrinfo` (DNS, which
  blocks on a board; counted, and charged virtual time in a simulation, not a violation).

Why these three: wall time is what the issue asks and catches any real blocking (a blocking
recv on a dripping server holds the step for seconds), but on a loaded 2-core CI machine a
CPU-bound step can be slow for reasons that are not a regression, so its limit is generous
(WALL_LIMIT_MS). The blocking-call check is deterministic: it does not depend on the
machine's load at all, and it is what fails first when someone reintroduces a blocking
socket. Virtual time is deterministic too; it is reported (the worst steps, with where they
were), and can be bounded per test with `limits(virt_ms=...)`.

Only *firmware* steps can fail a test: a step whose task awaits code under firmware/lib
(test code may block on purpose). Reports name the task's coroutine and the innermost
coroutine where the step ended.
"""
from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from dataclasses import dataclass, field

from . import FIRMWARE_LIB

WALL_LIMIT_MS = float(os.environ.get("WILDCAM_STEP_WALL_MS", "2000"))
FIRMWARE_ROOTS = [FIRMWARE_LIB]  # code under these counts as firmware (tests may add one)
TOP = 5

_local = threading.local()  # .watch: the StepWatch whose step runs in this thread
_all: "list[StepWatch]" = []  # every watch made since the last reset (tests collect them)
_hooked = False


@dataclass
class Step:
    wall_ms: float
    virt_ms: float
    task: str
    where: str
    firmware: bool

    def __str__(self) -> str:
        return "%8.1f ms wall %8.1f ms virtual  %s (at %s)%s" % (
            self.wall_ms, self.virt_ms, self.task, self.where, "" if self.firmware else
            " [not firmware]")


@dataclass
class Blocking:
    event: str
    detail: str
    task: str
    where: str
    firmware: bool

    def __str__(self) -> str:
        return "%s %s from %s (at %s)" % (self.event, self.detail, self.task, self.where)


@dataclass
class StepWatch:
    clock: object = None  # a WorldClock, or None for a real-time loop
    wall_limit_ms: float = WALL_LIMIT_MS
    virt_limit_ms: float | None = None
    steps: int = 0
    max_wall_ms: float = 0.0
    max_virt_ms: float = 0.0
    slow: list = field(default_factory=list)  # the TOP worst steps by wall time
    virt_slow: list = field(default_factory=list)  # the TOP worst by virtual time
    over: list = field(default_factory=list)  # firmware steps over a limit
    blocking: list = field(default_factory=list)  # blocking socket calls (violations)
    dns: list = field(default_factory=list)  # lookups made from a step (counted)
    dns_cost_s: float = 0.0  # virtual seconds a lookup blocks for (simulations)

    def __post_init__(self) -> None:
        _install_hook()
        _all.append(self)
        self._cb = None
        self._asleep = 0.0

    # --- running steps ------------------------------------------------------------------
    def run(self, cb, *args):
        prev = getattr(_local, "watch", None)
        _local.watch = self
        self._cb = cb
        self._asleep = 0.0
        clock = self.clock
        v0 = clock.now if clock is not None else 0.0
        t0 = time.perf_counter()
        try:
            return cb(*args)
        finally:
            wall = (time.perf_counter() - t0) * 1000
            virt = (clock.now - v0 - self._asleep) * 1000 if clock is not None else 0.0
            _local.watch = prev
            self._cb = None
            self.steps += 1
            if wall > self.max_wall_ms:
                self.max_wall_ms = wall
            if virt > self.max_virt_ms:
                self.max_virt_ms = virt
            if (len(self.slow) < TOP or wall > self.slow[-1].wall_ms) or \
                    (virt and (len(self.virt_slow) < TOP or virt > self.virt_slow[-1].virt_ms)) \
                    or wall > self.wall_limit_ms:
                self._note(cb, wall, virt)

    def asleep(self, seconds: float) -> None:
        """The board slept `seconds` of this step's virtual time (machine.lightsleep: every
        task is paused with the CPU, by design): not time the step held the loop."""
        self._asleep += seconds

    def _note(self, cb, wall, virt) -> None:
        task, where, fw = describe(cb)
        s = Step(wall, virt, task, where, fw)
        if len(self.slow) < TOP or wall > self.slow[-1].wall_ms:
            self.slow = sorted(self.slow + [s], key=lambda x: -x.wall_ms)[:TOP]
        if virt and (len(self.virt_slow) < TOP or virt > self.virt_slow[-1].virt_ms):
            self.virt_slow = sorted(self.virt_slow + [s], key=lambda x: -x.virt_ms)[:TOP]
        over = wall > self.wall_limit_ms or (
            self.virt_limit_ms is not None and virt > self.virt_limit_ms)
        if over and fw:
            self.over.append(s)

    # --- the audit hook's side ----------------------------------------------------------
    def _audit(self, event, args) -> None:
        if event == "socket.connect":
            sock = args[0]
            try:
                t = sock.gettimeout()
            except OSError:
                return
            if t != 0.0:
                task, where, fw = describe(self._cb)
                self.blocking.append(Blocking(event, "%r (timeout %r)" % (args[1], t), task,
                                              where, fw))
        elif event == "socket.getaddrinfo":
            task, where, fw = describe(self._cb)
            self.dns.append(Blocking(event, repr(args[0]), task, where, fw))
            if self.clock is not None and self.dns_cost_s:
                self.clock.advance(self.dns_cost_s)

    # --- results ------------------------------------------------------------------------
    def violations(self) -> list:
        return [s for s in self.over if s.firmware] + \
            [b for b in self.blocking if b.firmware]

    def report(self) -> str:
        lines = ["%d steps; longest %.1f ms wall (limit %.0f), %.1f ms virtual" % (
            self.steps, self.max_wall_ms, self.wall_limit_ms, self.max_virt_ms)]
        lines += ["  slowest (wall):"] + ["    %s" % s for s in self.slow]
        if self.virt_slow:
            lines += ["  slowest (virtual):"] + ["    %s" % s for s in self.virt_slow]
        if self.blocking:
            lines += ["  blocking socket calls:"] + ["    %s" % b for b in self.blocking]
        if self.dns:
            lines.append("  DNS lookups from the loop: %d" % len(self.dns))
        return "\n".join(lines)


def note_asleep(seconds: float) -> None:
    """Tell the step running in this thread (if any) that the board slept `seconds`."""
    watch = getattr(_local, "watch", None)
    if watch is not None:
        watch.asleep(seconds)


def _in_firmware(filename: str) -> bool:
    return any(filename.startswith(r) for r in FIRMWARE_ROOTS)


def describe(cb) -> "tuple[str, str, bool]":
    """(task's coroutine, innermost coroutine's file:line, firmware?) for a step callback."""
    task = getattr(cb, "__self__", None)
    if not isinstance(task, asyncio.Future) or not hasattr(task, "get_coro"):
        name = getattr(cb, "__qualname__", None) or type(cb).__name__
        code = getattr(cb, "__code__", None)
        f = code.co_filename if code is not None else ""
        return name, f, _in_firmware(f)
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", repr(coro))
    fw = False
    where = inner = ""
    c = coro
    for _ in range(64):
        code = getattr(c, "cr_code", None) or getattr(c, "gi_code", None)
        if code is None:
            break
        frame = getattr(c, "cr_frame", None) or getattr(c, "gi_frame", None)
        here = "%s:%s" % (os.path.relpath(code.co_filename),
                          frame.f_lineno if frame is not None else code.co_firstlineno)
        if _in_firmware(code.co_filename) or not fw:
            where = here  # the innermost firmware frame (else the innermost one)
            inner = getattr(c, "__qualname__", "")
        if _in_firmware(code.co_filename):
            fw = True
        c = getattr(c, "cr_await", None) or getattr(c, "gi_yieldfrom", None)
        if c is None:
            break
    if inner and inner != name:
        name = "%s > %s" % (name, inner)
    return name, where, fw


def _hook(event, args) -> None:
    if event not in ("socket.connect", "socket.getaddrinfo"):
        return
    w = getattr(_local, "watch", None)
    if w is not None:
        w._audit(event, args)


def _install_hook() -> None:
    global _hooked
    if not _hooked:
        sys.addaudithook(_hook)  # process-wide and permanent: it only looks at _local
        _hooked = True


class WatchedLoop:
    """Mixin for an asyncio event loop: every callback runs through `self.watch`."""

    watch: StepWatch

    def call_soon(self, callback, *args, context=None):
        return super().call_soon(self.watch.run, callback, *args, context=context)

    def call_at(self, when, callback, *args, context=None):
        return super().call_at(when, self.watch.run, callback, *args, context=context)


class RealTimeLoop(WatchedLoop, asyncio.SelectorEventLoop):
    """A plain selector loop (real time) whose steps are watched: what tests/conftest.py
    makes every `asyncio.run` / `new_event_loop` use."""

    def __init__(self) -> None:
        self.watch = StepWatch()
        super().__init__()


class WatchedPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        return RealTimeLoop()


# --- for tests ---------------------------------------------------------------------------
def reset() -> None:
    """Forget every watch made so far (the start of a test)."""
    _all.clear()


def watches() -> "list[StepWatch]":
    return list(_all)


def violations() -> list:
    out = []
    for w in _all:
        out += w.violations()
    return out


def report() -> str:
    return "\n".join(w.report() for w in _all if w.steps)
