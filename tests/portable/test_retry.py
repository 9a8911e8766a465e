"""Backoff with full jitter, circuit breaker, token bucket (portable)."""

from wildcam.core.retry import CLOSED, HALF_OPEN, OPEN, Breaker, TokenBucket, full_jitter


def test_full_jitter_stays_under_the_exponential_ceiling():
    top = lambda: 0.999999  # noqa: E731
    assert [full_jitter(a, 100, 1000, top) for a in (1, 2, 3, 4, 5, 9)] == \
        [99, 199, 399, 799, 999, 999]
    assert full_jitter(7, 100, 1000, lambda: 0.0) == 0


def test_breaker_opens_after_threshold_and_half_opens_after_the_delay():
    b = Breaker(threshold=3, base_ms=1000, cap_ms=60000, rand=lambda: 0.5)
    for now in (0, 10):
        b.failure(now)
        assert b.state == CLOSED and b.allow(now)
    b.failure(20)
    assert b.state == OPEN and not b.allow(100)
    assert b.wait_ms(100) == 420  # 20 + 500 - 100
    assert b.allow(520) and b.state == HALF_OPEN
    b.failure(530)  # the trial failed: open again, longer
    assert b.state == OPEN and b.retry_at == 1530
    assert b.allow(1530)
    b.success()
    assert b.state == CLOSED and b.failures == 0 and b.openings == 0


def test_retry_after_opens_the_breaker_at_once_for_at_least_that_long():
    b = Breaker(threshold=5, base_ms=10, rand=lambda: 0.1)
    b.failure(0, after_ms=30000)
    assert b.state == OPEN and b.wait_ms(0) == 30000


def test_token_bucket_paces_bytes():
    tb = TokenBucket(rate=1000, burst=1000)  # 1000 units/s
    assert tb.take(600, 0) == 0
    wait = tb.take(600, 0)
    assert 190 <= wait <= 210
    assert tb.take(600, 200) == 0
    assert TokenBucket(0).take(10 ** 9, 0) == 0  # unlimited


def test_token_bucket_lets_a_large_request_through_when_full_then_waits():
    tb = TokenBucket(rate=100, burst=100)
    assert tb.take(500, 0) == 0  # larger than the burst: allowed, runs into debt
    assert tb.take(1, 1000) > 0  # the debt is paid back first
    assert tb.take(1, 5000) == 0


def test_spending_goes_into_debt_so_a_cap_holds_on_average():
    tb = TokenBucket(rate=1000, burst=1000)
    tb.spend(5000, 0)  # a 5 KB upload on a 1 KB/s cap
    assert tb.take(0, 0) > 0  # nothing more may go now...
    assert tb.take(0, 3900) > 0 and tb.take(0, 4100) == 0  # ...until the debt is paid
