"""Supervisor: restart with backoff, escalation, progress tracking (portable)."""

import asyncio

from portable_support import raises, run

from wildcam.core.supervisor import Escalation, RestartPolicy, Supervisor


class ListLog:
    def __init__(self):
        self.lines = []

    def info(self, msg, *a):
        self.lines.append(("I", msg % a))

    def warning(self, msg, *a):
        self.lines.append(("W", msg % a))

    def error(self, msg, *a):
        self.lines.append(("E", msg % a))

    def exc(self, e, msg, *a):
        self.lines.append(("X", msg % a, "%s: %s" % (type(e).__name__, e)))


def test_backoff_doubles_up_to_the_cap():
    p = RestartPolicy(base_ms=100, max_ms=1000, max_failures=100)
    p.started(0)
    assert [p.failed(10) for _ in range(6)] == [100, 200, 400, 800, 1000, 1000]


def test_a_stable_run_resets_the_backoff():
    p = RestartPolicy(base_ms=100, stable_ms=5000, max_failures=100)
    p.started(0)
    assert p.failed(10) == 100
    p.started(20)
    assert p.failed(30) == 200
    p.started(40)
    assert p.failed(6000) == 100  # ran 5.96 s: a fresh start


def test_escalates_after_too_many_failures_in_the_window():
    p = RestartPolicy(base_ms=1, max_failures=3, window_ms=1000)
    p.started(0)
    assert p.failed(100) > 0
    assert p.failed(200) > 0
    assert p.failed(300) == -1


def test_failures_spread_over_time_do_not_escalate():
    p = RestartPolicy(base_ms=1, max_failures=3, window_ms=1000)
    for t in (0, 2000, 4000, 6000, 8000):
        p.started(t)
        assert p.failed(t + 1) > 0


def test_crashing_task_is_restarted_logged_and_counted():
    log = ListLog()
    sup = Supervisor(log, policy=lambda: RestartPolicy(base_ms=1, max_failures=50))
    runs = []

    async def flaky():
        runs.append(1)
        if len(runs) < 3:
            raise ValueError("attempt %d" % len(runs))
        await asyncio.sleep_ms(10000)

    sup.add("flaky", flaky)

    async def main():
        t = asyncio.create_task(sup.run())
        for _ in range(200):
            await asyncio.sleep_ms(2)
            if len(runs) >= 3:
                break
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            pass

    run(main())
    assert len(runs) == 3
    st = sup.stats()["flaky"]
    assert st["restarts"] == 2
    assert st["last_error"] == "ValueError: attempt 2"
    crashes = [l for l in log.lines if l[0] == "X"]
    assert crashes == [("X", "task flaky crashed", "ValueError: attempt 1"),
                       ("X", "task flaky crashed", "ValueError: attempt 2")]


def test_escalation_ends_run_and_cancels_the_other_tasks():
    log = ListLog()
    sup = Supervisor(log, policy=lambda: RestartPolicy(base_ms=1, max_failures=3))
    cancelled = []

    async def always_fails():
        raise RuntimeError("broken")

    async def healthy():
        try:
            await asyncio.sleep_ms(100000)
        except asyncio.CancelledError:
            cancelled.append(1)
            raise

    sup.add("bad", always_fails)
    sup.add("good", healthy)

    async def main():
        try:
            await sup.run()
        except Escalation as e:
            await asyncio.sleep_ms(5)  # let the cancellation reach the healthy task
            return e
        return None

    e = run(main())
    assert isinstance(e, Escalation) and str(e) == "bad"
    assert sup.escalated == "bad"
    assert sup.stats()["bad"]["restarts"] == 3
    assert any(l[0] == "E" and "escalating" in l[1] for l in log.lines)
    assert cancelled == [1]


def test_one_shot_task_ends_quietly_and_a_returning_service_is_restarted():
    log = ListLog()
    sup = Supervisor(log, policy=lambda: RestartPolicy(base_ms=1, max_failures=50))
    counts = {"once": 0, "svc": 0}

    async def once():
        counts["once"] += 1

    async def svc():
        counts["svc"] += 1
        if counts["svc"] > 2:
            await asyncio.sleep_ms(100000)

    sup.add("once", once, restart=False)
    sup.add("svc", svc)

    async def main():
        t = asyncio.create_task(sup.run())
        await asyncio.sleep_ms(50)
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            pass

    run(main())
    assert counts == {"once": 1, "svc": 3}
    assert sup.stats()["once"]["restarts"] == 0
    assert sup.stats()["svc"]["restarts"] == 2
    assert [l[1] for l in log.lines if l[0] == "W"] == ["task svc returned; restarting it"] * 2


def test_stale_lists_critical_tasks_without_progress():
    sup = Supervisor(ListLog())

    async def idle():
        pass

    sup.add("capture", idle)
    sup.add("sync", idle)
    sup.add("extra", idle, critical=False)
    import time

    now = time.ticks_ms()
    sup.progress("capture")
    assert sup.stale(60000, now) == []
    later = time.ticks_add(now, 120000)
    assert sup.stale(60000, later) == ["capture", "sync"]
    raises(ValueError, sup.add, "sync", idle)
