"""Virtual time: a world clock and an asyncio loop that jumps it forward instead of sleeping.

Guarantees:
- `loop.time()` is the world clock (seconds since the simulation started).
- When nothing is ready, the selector first polls real file descriptors with timeout 0 (so
  real sockets and `call_soon_threadsafe` still work); if none is ready it advances the world
  clock to the next timer. Only when no timer exists at all does it wait for real (briefly).
- Optional `io_grace`: while a real reply is expected — a firmware connection
  (host_sim/netcost.py) wrote since it last received, or a real socket not made through
  `create_connection` is registered — wait up to that many real seconds for it before jumping
  time, so a real server's reply is not overtaken by a virtual timeout. An idle connection
  (a kept-alive MQTT link) does not slow virtual time. 0 (default) means pure virtual time.
- Optional pacing (`pace(speed)`): the world clock then never runs ahead of
  `speed` x the real time since pacing began, so processes whose clocks run at that rate
  (servers under libfaketime, see host_sim/servers.py) agree with the boards. An idle jump
  becomes a real wait of (jump / speed) seconds, during which real sockets still wake the
  loop (and move the clock to the paced time). When the host falls behind (CPU work does
  not move virtual time), due timers run at once until it has caught up; `lag_max` records
  the worst lag in virtual seconds. With `io_grace`, a reply a firmware connection waits
  for holds virtual time for up to that much real time (a server's own processing time is
  not link time: at speed 500 a 10 ms answer would otherwise be 5 virtual seconds, past the
  firmware's timeouts); the lag this adds is caught up afterwards.
- A task factory files every task under the board of the context it was created in, so a
  board can cancel all of its own tasks on reset.
- Every step is watched (host_sim/stepwatch.py): wall time and world-clock time spent
  inside it, blocking socket calls made from it (`loop.watch`).
- A board's connection needs its WiFi station connected (else OSError 113 EHOSTUNREACH,
  as lwIP answers without a route). Network connections cost virtual time (host_sim/netcost.py): `create_connection` (what
  asyncio.open_connection uses) pays a round trip, TLS pays its round trips and blocks for
  its arithmetic, and the streams are paced at the board's rates. The model is the current
  board's `net`, else the loop's (`VirtualLoop(net=None)` turns it off).
"""
from __future__ import annotations

import asyncio
import selectors
import time

from .constants import DEFAULT_EPOCH
from .context import current_board
from .netcost import NetModel, paced_connection
from .stepwatch import StepWatch, WatchedLoop


class WorldClock:
    """Seconds since the simulation start (`now`), and true UTC wall time (`wall()`)."""

    def __init__(self, epoch: float = DEFAULT_EPOCH) -> None:
        self.epoch = float(epoch)
        self.now = 0.0

    def wall(self) -> float:
        return self.epoch + self.now

    def advance(self, dt: float) -> None:
        if dt > 0:
            self.now += dt

    def advance_to(self, t: float) -> None:
        if t > self.now:
            self.now = t


class VirtualSelector(selectors.BaseSelector):
    """A real selector whose idle waits become jumps of the world clock."""

    def __init__(self, clock: WorldClock, *, io_grace: float = 0.0, idle_wait: float = 0.05):
        self._real = selectors.DefaultSelector()
        self.clock = clock
        self.io_grace = io_grace
        self.idle_wait = idle_wait
        self.loop: asyncio.AbstractEventLoop | None = None
        self.speed: float | None = None  # virtual seconds per real second (None: unpaced)
        self._anchor = (0.0, 0.0)  # (real monotonic, virtual now) when pacing began
        self.lag_max = 0.0

    def pace(self, speed: float | None, lead: float = 0.0) -> None:
        """Tie the world clock to real time at `speed` (None or 0: jump freely again), the
        present virtual time falling on real time `lead` seconds from now (servers can be
        started on the clock meanwhile; `wait_anchor()` then waits for that moment)."""
        self.speed = float(speed) if speed else None
        self._anchor = (time.monotonic() + lead, self.clock.now)
        self.lag_max = 0.0

    def wait_anchor(self) -> float:
        """Sleep until the anchor of `pace(lead=...)`; returns how late it is already (real
        seconds, 0 when on time)."""
        left = self._anchor[0] - time.monotonic()
        if left > 0:
            time.sleep(left)
        return max(0.0, -left)

    def paced_now(self) -> float:
        """The virtual time real time says it is (pacing on), else the world clock."""
        if self.speed is None:
            return self.clock.now
        real0, v0 = self._anchor
        return v0 + (time.monotonic() - real0) * self.speed  # before the anchor: below v0

    # delegation -------------------------------------------------------------------------
    def register(self, fileobj, events, data=None):
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj):
        return self._real.unregister(fileobj)

    def modify(self, fileobj, events, data=None):
        return self._real.modify(fileobj, events, data)

    def get_key(self, fileobj):
        return self._real.get_key(fileobj)

    def get_map(self):
        return self._real.get_map()

    def close(self):
        self._real.close()

    # the virtual part -------------------------------------------------------------------
    def _real_io_expected(self, target: float) -> bool:
        """A real answer may be due before the clock reaches `target`: a real socket not
        paced by netcost, or a paced connection awaiting an answer that could be delivered
        by then (before its reply_due nothing could arrive, so jumping there waits for no
        one: an upload's own pacing ticks run at full speed)."""
        paced = getattr(self.loop, "paced", ())
        others = len(self._real.get_map()) - 1 - len(paced)  # the self-pipe is always there
        return others > 0 or any(p.awaiting and target >= p.reply_due() for p in paced)

    def select(self, timeout=None):
        if self.speed is not None:
            return self._select_paced(timeout)
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            return self._real.select(self.idle_wait)
        target = self._target(timeout)
        if self.io_grace > 0 and self._real_io_expected(target):
            ready = self._real.select(min(timeout, self.io_grace))
            if ready:
                return ready
        self.clock.advance_to(target)
        return []

    def _target(self, timeout: float) -> float:
        target = self.clock.now + timeout
        sched = getattr(self.loop, "_scheduled", None)
        if sched:  # land exactly on the timer, not a float hair before it
            when = sched[0]._when
            if target < when <= target + 1e-6:
                target = when
        return target

    def _select_paced(self, timeout):
        """Virtual time that follows real time x speed (see the module notes)."""
        clock = self.clock
        if timeout is None:  # no timer at all: time still flows
            ready = self._real.select(self.idle_wait)
            clock.advance_to(self.paced_now())
            return ready
        target = self._target(timeout)
        ready = self._real.select(0)
        paced = self.paced_now()
        lag = paced - clock.now
        if lag > self.lag_max:
            self.lag_max = lag
        if ready or timeout == 0:
            clock.advance_to(min(paced, target))
            return ready
        if self.io_grace > 0 and self._real_io_expected(target):
            # a firmware connection waits for a real server: its own processing time is no
            # part of the simulated link (netcost charges that), so virtual time waits for
            # the reply (up to io_grace of real time) instead of running `speed` times
            # faster into the firmware's timeouts; the clock catches up afterwards (lag)
            ready = self._real.select(self.io_grace)
            if ready:
                return ready
            paced = self.paced_now()
        if paced < target:  # ahead of real time: wait for it (or for a socket)
            ready = self._real.select((target - paced) / self.speed)
            if ready:
                clock.advance_to(min(self.paced_now(), target))
                return ready
        clock.advance_to(target)
        return []


def board_task_factory(loop, coro, context=None, **kw):
    """Create the task and file it under the board of the context it will run in."""
    task = asyncio.Task(coro, loop=loop, context=context, **kw)
    board = context.get(current_board) if context is not None else current_board.get()
    if board is not None:
        board.adopt_task(task)
    return task


_DEFAULT = object()


class VirtualLoop(WatchedLoop, asyncio.SelectorEventLoop):
    """SelectorEventLoop running on a WorldClock. `loop.sim` is set by Simulation."""

    def __init__(self, clock: WorldClock | None = None, *, io_grace: float = 0.0,
                 idle_wait: float = 0.05, net=_DEFAULT) -> None:
        self.clock = clock if clock is not None else WorldClock()
        self.sim = None
        self.net = NetModel() if net is _DEFAULT else net
        self.paced: set = set()  # open firmware connections (netcost.PacedProtocol)
        self.watch = StepWatch(clock=self.clock,
                               dns_cost_s=self.net.dns_s if self.net is not None else 0.0)
        selector = VirtualSelector(self.clock, io_grace=io_grace, idle_wait=idle_wait)
        super().__init__(selector)
        selector.loop = self
        self.set_task_factory(board_task_factory)

    def time(self) -> float:
        return self.clock.now

    def net_model(self):
        board = current_board.get()
        model = getattr(board, "net", _DEFAULT) if board is not None else _DEFAULT
        return self.net if model is _DEFAULT else model

    async def create_connection(self, protocol_factory, host=None, port=None, **kw):
        board = current_board.get()
        sta = getattr(board, "sta", None)
        if sta is not None and not sta.isconnected(board.now):
            # no station link, no route: lwIP refuses at once (MicroPython issue #2890:
            # a connect before the WLAN is up is OSError 113 EHOSTUNREACH)
            raise OSError(113, "EHOSTUNREACH")
        model = self.net_model()
        if model is None or kw.get("sock") is not None:
            return await super().create_connection(protocol_factory, host, port, **kw)
        return await paced_connection(self, super().create_connection, model,
                                      protocol_factory, host, port, **kw)
