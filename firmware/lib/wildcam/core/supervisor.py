"""Keeps the firmware's long-running tasks alive.

Guarantees:
- A task that raises is logged with its traceback, counted, and restarted after an
  exponential backoff (`RestartPolicy`); a task that ran for `stable_ms` earns a fresh start.
- A task that keeps failing (`max_failures` within `window_ms`) is escalated: `run()` raises
  `Escalation` after cancelling every child, so the app can flush logs and reset the board.
  Nothing ends silently: even a task that returns is logged and restarted.
- Cancellation (a BaseException on both CPython and MicroPython) is never swallowed.
- `progress(name)` / `stale(age)` tell the watchdog which critical task stopped making
  progress, so a hung task resets the board instead of leaving a zombie camera.
"""

import asyncio
import time


class Escalation(Exception):
    """A supervised task failed too often; the caller should reset the board."""


class RestartPolicy:
    """Backoff delays for one task; pure logic over ticks_ms values (easy to test)."""

    def __init__(self, base_ms=500, max_ms=60000, stable_ms=60000, max_failures=8,
                 window_ms=600000):
        self.base_ms = base_ms
        self.max_ms = max_ms
        self.stable_ms = stable_ms
        self.max_failures = max_failures
        self.window_ms = window_ms
        self._streak = 0
        self._start = None
        self._recent = []  # ticks of the last `max_failures` failures (bounded)

    def started(self, now):
        self._start = now

    def failed(self, now):
        """Delay in ms before the next start, or -1 to escalate."""
        if self._start is not None and time.ticks_diff(now, self._start) >= self.stable_ms:
            self._streak = 0
        self._streak += 1
        self._recent.append(now)
        if len(self._recent) > self.max_failures:
            self._recent.pop(0)
        if len(self._recent) >= self.max_failures and \
                time.ticks_diff(now, self._recent[0]) <= self.window_ms:
            return -1
        delay = self.base_ms
        for _ in range(self._streak - 1):
            delay *= 2
            if delay >= self.max_ms:
                return self.max_ms
        return delay


class _Child:
    def __init__(self, name, fn, critical, policy, restart):
        self.name = name
        self.fn = fn
        self.critical = critical
        self.policy = policy
        self.restart = restart
        self.restarts = 0
        self.last_error = None
        self.running = False
        self.progress_ms = time.ticks_ms()
        self.task = None


class Supervisor:
    def __init__(self, log, policy=RestartPolicy):
        self._log = log  # a wildcam.core.log.Logger
        self._policy = policy
        self._children = {}
        self.escalated = None

    def add(self, name, fn, critical=True, policy=None, restart=True):
        """Supervise `fn` (a callable returning a coroutine) under `name`.

        `restart=False` is for one-shot jobs: a normal return ends them quietly."""
        if name in self._children:
            raise ValueError("task %s exists" % name)
        self._children[name] = _Child(name, fn, critical, policy or self._policy(), restart)

    def progress(self, name):
        """Record that `name` is alive and making progress (feeds the watchdog logic)."""
        c = self._children.get(name)
        if c:
            c.progress_ms = time.ticks_ms()

    def beat(self, name):
        """A callable for task `name` to report progress with (hand it to the service)."""
        return lambda: self.progress(name)

    def stale(self, max_age_ms, now=None):
        """Names of critical running tasks with no progress for `max_age_ms`, sorted."""
        now = time.ticks_ms() if now is None else now
        return sorted(c.name for c in self._children.values() if c.critical and
                      time.ticks_diff(now, c.progress_ms) > max_age_ms)

    def stats(self):
        """{name: {"restarts", "running", "last_error"}} for health reports."""
        out = {}
        for c in self._children.values():
            out[c.name] = {"restarts": c.restarts, "running": c.running,
                           "last_error": c.last_error}
        return out

    def total_restarts(self):
        return sum(c.restarts for c in self._children.values())

    async def _keep(self, c):
        while True:
            now = time.ticks_ms()
            c.policy.started(now)
            c.progress_ms = now
            c.running = True
            err = None
            try:
                await c.fn()
                if not c.restart:
                    c.running = False
                    return
                self._log.warning("task %s returned; restarting it", c.name)
            except Exception as e:  # noqa: BLE001 - CancelledError is a BaseException
                err = e
                self._log.exc(e, "task %s crashed", c.name)
            c.running = False
            c.restarts += 1
            if err is not None:
                c.last_error = "%s: %s" % (type(err).__name__, err)
            delay = c.policy.failed(time.ticks_ms())
            if delay < 0:
                self.escalated = c.name
                self._log.error("task %s keeps failing (%d restarts): escalating",
                                c.name, c.restarts)
                raise Escalation(c.name)
            await asyncio.sleep_ms(delay)

    async def run(self):
        """Run every task until one escalates (raises Escalation) or run() is cancelled."""
        tasks = []
        for name in sorted(self._children):
            c = self._children[name]
            c.task = asyncio.create_task(self._keep(c))
            tasks.append(c.task)
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
