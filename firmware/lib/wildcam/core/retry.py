"""Retry policy for destinations: exponential backoff with full jitter, a circuit breaker,
and a token bucket for bandwidth and request-rate caps.

All three are pure logic over `time.ticks_ms()` values passed in, so they are tested
without waiting, and they keep O(1) state.
"""

import random
import time

CLOSED = 0
OPEN = 1
HALF_OPEN = 2
STATE_NAMES = ("closed", "open", "half-open")


def full_jitter(attempt, base_ms, cap_ms, rand=random.random):
    """Delay before retry number `attempt` (1-based): uniform in [0, min(cap, base*2^(a-1))]
    ("full jitter": spreads a fleet's retries so they do not hit a server together)."""
    ceiling = base_ms
    for _ in range(attempt - 1):
        ceiling *= 2
        if ceiling >= cap_ms:
            ceiling = cap_ms
            break
    return int(rand() * min(ceiling, cap_ms))


class Breaker:
    """Circuit breaker per destination.

    closed -> open after `threshold` consecutive failures; open -> half-open after the
    backoff delay (grows with each consecutive opening, with jitter); half-open lets one
    attempt through: success closes, failure re-opens. A server's `Retry-After` can push
    the next attempt later (`failure(now, after_ms)`)."""

    def __init__(self, threshold=3, base_ms=2000, cap_ms=600000, rand=random.random):
        self.threshold = threshold
        self.base_ms = base_ms
        self.cap_ms = cap_ms
        self._rand = rand
        self.state = CLOSED
        self.failures = 0  # consecutive
        self.openings = 0  # consecutive openings (drives the backoff)
        self.retry_at = 0
        self.total_failures = 0
        self.total_successes = 0

    def allow(self, now):
        """May a request go out at ticks `now`? (moves open -> half-open when due)"""
        if self.state == OPEN and time.ticks_diff(now, self.retry_at) >= 0:
            self.state = HALF_OPEN
        return self.state != OPEN

    def wait_ms(self, now):
        """How long until `allow` can become true (0 when it is)."""
        if self.state != OPEN:
            return 0
        return max(0, time.ticks_diff(self.retry_at, now))

    def success(self):
        self.state = CLOSED
        self.failures = 0
        self.openings = 0
        self.total_successes += 1

    def failure(self, now, after_ms=0):
        self.failures += 1
        self.total_failures += 1
        if self.state == HALF_OPEN or self.failures >= self.threshold or after_ms:
            self.openings += 1
            delay = max(after_ms, full_jitter(self.openings, self.base_ms, self.cap_ms,
                                              self._rand))
            self.state = OPEN
            self.retry_at = time.ticks_add(now, delay)


class TokenBucket:
    """At most `rate` units per second on average, bursts up to `burst` units.

    `take(n, now)` returns 0 when `n` units may go now (and takes them), else the ms to wait.
    A request larger than the burst is allowed once the bucket is full (it then runs into
    debt), so large uploads are paced rather than refused. rate 0 = unlimited."""

    def __init__(self, rate, burst=None):
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1)
        self.tokens = self.burst
        self._last = None

    def _refill(self, now):
        if self._last is not None:
            self.tokens = min(self.burst, self.tokens +
                              time.ticks_diff(now, self._last) * self.rate / 1000)
        self._last = now

    def spend(self, n, now):
        """Record `n` units used now, whatever the balance (the bucket may go into debt,
        which later `take`/`wait` calls pay back)."""
        if self.rate:
            self._refill(now)
            self.tokens -= n

    def take(self, n, now):
        if not self.rate:
            return 0
        self._refill(now)
        if self.tokens >= min(n, self.burst):
            self.tokens -= n
            return 0
        need = min(n, self.burst) - self.tokens
        return int(need * 1000 / self.rate) + 1
