"""The sync engine: one task that drains the outbox through the destinations.

Routing: every lane has a route (its name after the priority, e.g. `1-media` -> `media`);
a route lists destinations and a mode:
- "failover": try them in order, the first that accepts the item finishes it;
- "replicate": every destination must accept it (progress for the head item is kept in RAM;
  after a reboot the item goes again everywhere and idempotency keys drop the repeats).

Per destination: a circuit breaker with full-jitter backoff (and `Retry-After`), an optional
byte-rate and request-rate cap, and error classification: `Retry` keeps the item for later,
`Permanent` sends it to the dead-letter ring with the server's words.

Link awareness: nothing is attempted while the link is down; media larger than
`defer_bytes` waits while the link is poor (alerts never wait); outside the sync windows only
alerts go. Small items on a slow link travel as one deflate-compressed batch when the
destination supports it.

Statistics (`stats()`): delivered, failed, retried, dead, bytes, success rate, and capture to
delivery latency percentiles from a bounded reservoir.
"""

import asyncio
import time

from wildcam.core.errors import Permanent, Refused, Retry
from wildcam.core.retry import STATE_NAMES, Breaker, TokenBucket

IDLE_MS = 30000
BATCH_MAX = 16
LATENCY_KEEP = 64


class Route:
    def __init__(self, name, dests, mode="failover"):
        if mode not in ("failover", "replicate"):
            raise ValueError("route %s: mode must be failover or replicate" % name)
        self.name = name
        self.dests = dests  # names, in order of preference
        self.mode = mode


class _Dest:
    """A destination with its breaker, rate caps and counters."""

    def __init__(self, dest, breaker=None, bytes_per_s=0, requests_per_s=0):
        self.dest = dest
        self.name = dest.name
        self.breaker = breaker or Breaker()
        self.bytes = TokenBucket(bytes_per_s, max(bytes_per_s, 16384) if bytes_per_s else None)
        self.requests = TokenBucket(requests_per_s, max(requests_per_s, 1))
        self.sent = 0
        self.failed = 0
        self.bytes_sent = 0
        self.last_error = None
        self.held = None  # why its configuration is refused (items held), until a success

    def wait_ms(self, now, size):
        """0 when a request of `size` bytes may go now, else how long to wait."""
        return max(self.breaker.wait_ms(now), self.requests.take(0, now),
                   self.bytes.take(0, now) if size else 0)


class SyncEngine:
    def __init__(self, outbox, routes, dests, log, link=None, window=None, defer_bytes=65536,
                 now=None, on_done=None):
        self.outbox = outbox
        self.routes = {}
        for r in routes:
            self.routes[r.name] = r
        self.dests = {}
        for d in dests:
            self.dests[d.name] = d if isinstance(d, _Dest) else _Dest(d)
        self.log = log
        self.link = link  # wildcam.net.wifi.Link-like: up(), poor(), slow(), note(bytes, ms)
        self.window = window  # () -> True when a sync window is open (None: always)
        self.defer_bytes = defer_bytes
        self._now = now  # () -> Unix seconds or None (for latency)
        self.on_done = on_done  # (items) after the outbox has recorded them as delivered
        self._wake = asyncio.Event()
        self._partial = None  # (item key, set of destination names done) for replication
        self.counters = {"delivered": 0, "failed": 0, "retried": 0, "dead": 0, "bytes": 0,
                         "batches": 0, "deferred": 0, "already": 0}
        self._latency = []
        self.last_sync = None
        self.alive = lambda: None  # progress report for the watchdog (set by the App)

    @staticmethod
    def wrap(dest, **kw):
        """A destination with non-default breaker or caps for the constructor's `dests`."""
        return _Dest(dest, **kw)

    def kick(self):
        """Something was queued (or the link came up): look again now."""
        self._wake.set()

    # --- choosing -------------------------------------------------------------------------
    def _route(self, lane):
        return self.routes.get(lane.name[2:]) or self.routes.get("default")

    def _ready(self, lane, now):
        route = self._route(lane)
        if route is None:
            return False
        if lane.prio > 0:  # alerts ignore windows and poor links
            if self.window is not None and not self.window():
                return False
            head = lane.peek()
            if head is not None and head.size > self.defer_bytes and self.link is not None \
                    and self.link.poor():
                self.counters["deferred"] += 1
                return False
        done = ()
        if route.mode == "replicate" and self._partial is not None:
            head = lane.peek()
            if head is not None and head.key == self._partial[0]:
                done = self._partial[1]
        for name in route.dests:
            d = self.dests.get(name)
            if name not in done and d is not None and d.wait_ms(now, 1) == 0:
                return True
        return False

    def _sleep_ms(self, now):
        """How long to idle: until the earliest destination may go again, at most IDLE_MS."""
        best = IDLE_MS
        for d in self.dests.values():
            w = d.wait_ms(now, 1)  # breaker and rate caps alike
            if 0 < w < best:
                best = w
        return best

    # --- running --------------------------------------------------------------------------
    async def run(self):
        """Drain forever. Never raises for a delivery problem (those are classified)."""
        while True:
            await self.step()
            self.alive()

    async def step(self):
        """Deliver one item (or batch) if one is ready, else wait for a kick or a timer."""
        now = time.ticks_ms()
        if self.link is not None and not self.link.up():
            await self._idle(IDLE_MS)
            return False
        item = self.outbox.next(lambda lane: self._ready(lane, now))
        if item is None:
            await self._idle(self._sleep_ms(now))
            return False
        if not await self._deliver(item):
            await self._idle(self._sleep_ms(now))
            return False
        return True

    async def _idle(self, ms):
        self._wake.clear()
        try:
            await asyncio.wait_for_ms(self._wake.wait(), ms)
        except asyncio.TimeoutError:
            pass

    async def drain(self, max_items=100000):
        """Deliver until nothing is ready (for tests, REPL `sync now` and sync windows)."""
        n = 0
        while n < max_items:
            now = time.ticks_ms()
            if self.link is not None and not self.link.up():
                break
            item = self.outbox.next(lambda lane: self._ready(lane, now))
            if item is None:
                break
            if not await self._deliver(item):
                break
            n += 1
        return n

    async def _deliver(self, item):
        """Try `item` (or a batch from it); False when no destination could be tried."""
        route = self._route(item.lane)
        if route.mode == "replicate":
            return await self._replicate(item, route)
        batch = self._batch(item, route)
        tried = False
        for name in route.dests:
            d = self.dests.get(name)
            if d is None or d.wait_ms(time.ticks_ms(), 1):
                continue
            tried = True
            ok = await self._attempt(d, batch)
            if ok:
                self._finish(batch)
                break
            if ok is None:  # permanent: dead-lettered
                break
        return tried

    def _batch(self, item, route):
        if item.media or self.link is None or not self.link.slow():
            return [item]
        first = self.dests.get(route.dests[0])
        if first is None or not hasattr(first.dest, "send_batch"):
            return [item]
        run = self.outbox.batch(item.lane, BATCH_MAX)
        return [i for i in run if not i.media] or [item]

    async def _replicate(self, item, route):
        if self._partial is None or self._partial[0] != item.key:
            self._partial = (item.key, set())
        done = self._partial[1]
        tried = False
        for name in route.dests:
            d = self.dests.get(name)
            if name in done or d is None or d.wait_ms(time.ticks_ms(), 1):
                continue
            tried = True
            ok = await self._attempt(d, [item])
            if ok is None:
                self._partial = None
                return True
            if ok:
                done.add(name)
        if len(done) == len(route.dests):
            self._partial = None
            self._finish([item])
        return tried

    async def _attempt(self, d, items):
        """True: accepted. False: retry later. None: permanent failure (dead-lettered)."""
        size = sum(i.size or 0 for i in items)
        t0 = time.ticks_ms()
        d.requests.spend(1, t0)  # paid whatever the balance: caps hold on average
        d.bytes.spend(size, t0)
        try:
            if len(items) == 1 and items[0].media and hasattr(d.dest, "has") and \
                    await d.dest.has(items[0]):
                self.counters["already"] += 1  # e.g. delivered just before a power cut
                d.breaker.success()
                return True
            if len(items) > 1:
                sent = await d.dest.send_batch(items, self.outbox.st)
                self.counters["batches"] += 1
            else:
                sent = await d.dest.send(items[0], self.outbox.st)
        except Permanent as e:
            d.failed += 1
            d.last_error = str(e)
            self.counters["failed"] += 1
            stuck = False
            for i in items:
                self.log.warning("%s refused %s for good: %s", d.name, i.key, e)
                if self.outbox.dead(i, "%s: %s" % (d.name, e)):
                    self.counters["dead"] += 1
                else:  # no room for the dead letter: the item stays, try again later
                    stuck = True
            if stuck:
                d.breaker.failure(time.ticks_ms(), 0)
                return False
            return None
        except Exception as e:  # noqa: BLE001 - Retry, OSError, timeouts: all retry later
            after = e.after_ms if isinstance(e, Retry) else 0
            d.failed += 1
            d.last_error = "%s: %s" % (type(e).__name__, e)
            d.breaker.failure(time.ticks_ms(), after)
            self.counters["failed"] += 1
            self.counters["retried"] += 1
            if isinstance(e, Refused):  # the secret is wrong: say so loudly, keep the items
                d.held = str(e)[:120]
                self.log.error("%s refused the credentials (%s stays queued, next try in %d s):"
                               " %s", d.name, items[0].key, after // 1000, e)
            else:
                self.log.info("%s: %s will be retried (%s)", d.name, items[0].key,
                              d.last_error)
            return False
        ms = time.ticks_diff(time.ticks_ms(), t0)
        d.breaker.success()
        d.held = None
        d.sent += len(items)
        d.bytes_sent += sent or 0
        self.counters["bytes"] += sent or 0
        if self.link is not None and sent:
            self.link.note(sent, ms)
        return True

    def _finish(self, items):
        self.outbox.done(*items)
        self.counters["delivered"] += len(items)
        if self.on_done is not None:
            self.on_done(items)
        now = self._now() if self._now else None
        if now:
            self.last_sync = now
            for i in items:
                if i.created:
                    self._latency.append(now - i.created)
            while len(self._latency) > LATENCY_KEEP:
                self._latency.pop(0)

    # --- reporting ------------------------------------------------------------------------
    def latency(self, pct):
        """Capture-to-delivery latency percentile (seconds) over the recent deliveries."""
        if not self._latency:
            return None
        s = sorted(self._latency)
        return s[min(len(s) - 1, len(s) * pct // 100)]

    def stats(self):
        c = self.counters
        attempts = c["delivered"] + c["failed"]
        out = {}  # counters plus figures of other types
        out.update(c)
        out["success_rate"] = round(c["delivered"] / attempts, 4) if attempts else None
        out["latency_p50_s"] = self.latency(50)
        out["latency_p95_s"] = self.latency(95)
        out["last_sync"] = self.last_sync
        out["queue"] = self.outbox.depth()
        dests = {}
        for name in sorted(self.dests):
            d = self.dests[name]
            dests[name] = {"sent": d.sent, "failed": d.failed, "bytes": d.bytes_sent,
                           "state": STATE_NAMES[d.breaker.state], "last_error": d.last_error}
        out["destinations"] = dests
        out["alarms"] = self.alarms()
        return out

    def alarms(self):
        """One line per destination whose configuration is refused (credentials, bucket,
        certificate): what a person must fix; its items stay queued meanwhile."""
        return ["%s held: %s" % (n, self.dests[n].held) for n in sorted(self.dests)
                if self.dests[n].held]
