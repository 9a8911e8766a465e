"""Simulation: one world clock + one virtual-time loop that many boards share."""
from __future__ import annotations

import asyncio
import datetime as _dt
from typing import Any, Coroutine, Optional, Union

from .constants import DEFAULT_EPOCH
from .vloop import VirtualLoop, WorldClock

StartTime = Union[None, int, float, _dt.datetime]
_DEFAULT = object()


def to_epoch(start: StartTime) -> float:
    """Unix seconds for `start` (None = 2026-06-01T00:00:00Z; naive datetimes are UTC)."""
    if start is None:
        return float(DEFAULT_EPOCH)
    if isinstance(start, _dt.datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=_dt.timezone.utc)
        return start.timestamp()
    return float(start)


class Simulation:
    """Owns the world clock and the loop. Boards attach to it; `run()` drives a coroutine.

    `sim.run(coro)` may be called repeatedly (state persists between calls); `close()` (or
    leaving a `with` block) cancels whatever still runs and closes the loop.
    """

    def __init__(self, start: StartTime = None, *, io_grace: float = 0.0,
                 speed: Optional[float] = None, net=_DEFAULT) -> None:
        """`net`: the network cost model (host_sim.netcost.NetModel) of boards that set
        none; None makes connections free (only for tests of the simulator itself).
        `speed`: pace the world clock against real time (see `pace`)."""
        self.clock = WorldClock(to_epoch(start))
        kw = {} if net is _DEFAULT else {"net": net}
        self.loop = VirtualLoop(self.clock, io_grace=io_grace, **kw)
        if speed:
            self.pace(speed)
        self.loop.sim = self
        self.boards: list = []

    @property
    def now(self) -> float:
        """Seconds since the simulation started."""
        return self.clock.now

    def wall(self) -> float:
        """True UTC wall time (Unix seconds)."""
        return self.clock.wall()

    def pace(self, speed: Optional[float], lead: float = 0.0) -> None:
        """From now on the world clock follows real time x `speed` (virtual seconds per real
        second; None: jump freely, the default), the present virtual time falling `lead`
        real seconds from now (`wait_anchor()` sleeps until then). Servers started with
        `clock=sim` (host_sim.servers) keep the same time as the boards."""
        self.loop._selector.pace(speed, lead)

    def wait_anchor(self) -> float:
        """Sleep until the paced clock reaches the present virtual time (see `pace`);
        returns how many real seconds too late that already was."""
        return self.loop._selector.wait_anchor()

    @property
    def speed(self) -> Optional[float]:
        return self.loop._selector.speed

    def paced_wall(self) -> float:
        """UTC time real time says it is on the simulation's clock (pacing on), else
        `wall()`: what a server started on this clock reads now."""
        return self.clock.epoch + self.loop._selector.paced_now()

    @property
    def lag_max(self) -> float:
        """Worst lag of the world clock behind paced real time (virtual seconds)."""
        return self.loop._selector.lag_max

    @property
    def watch(self):
        """The loop's step accounting (host_sim/stepwatch.py): `watch.report()`."""
        return self.loop.watch

    @staticmethod
    def current() -> Optional["Simulation"]:
        loop = asyncio._get_running_loop()
        return getattr(loop, "sim", None)

    def run(self, coro: Coroutine) -> Any:
        asyncio.set_event_loop(self.loop)
        try:
            return self.loop.run_until_complete(coro)
        finally:
            asyncio.set_event_loop(None)

    def run_for(self, seconds: float) -> None:
        """Advance the simulation by `seconds` of virtual time."""
        self.run(asyncio.sleep(seconds))

    def run_until(self, predicate, *, timeout: float, step: float = 1.0) -> bool:
        """Run until predicate() is true (checked every `step` virtual seconds) or `timeout`
        virtual seconds pass. Returns the predicate's last value."""
        async def wait():
            end = self.clock.now + timeout
            while not predicate():
                if self.clock.now >= end:
                    return False
                await asyncio.sleep(step)
            return True
        return self.run(wait())

    def close(self) -> None:
        loop = self.loop
        if loop.is_closed():
            return
        for b in self.boards:
            b._closing = True
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            self.run(asyncio.gather(*pending, return_exceptions=True))
        self.run(loop.shutdown_asyncgens())
        loop.close()

    def __enter__(self) -> "Simulation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run(coro: Coroutine, *, start: StartTime = None, io_grace: float = 0.0) -> Any:
    """Run `coro` in a fresh Simulation (wall time starting at `start`) and close it."""
    with Simulation(start, io_grace=io_grace) as sim:
        return sim.run(coro)
