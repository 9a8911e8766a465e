"""The sync engine over a real outbox and fake destinations (portable)."""

import asyncio
import time

from portable_support import PrefixStorage, run, tmpdir

from wildcam.dest.local import LocalDir
from wildcam.core.errors import Permanent, Refused, Retry
from wildcam.dest.media import sha256_file
from wildcam.queue.outbox import Outbox
from wildcam.core.retry import Breaker
from wildcam.queue.sync import Route, SyncEngine


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(m % a)

    warning = error = debug = info


class Fake:
    """A destination that fails as scripted: a list of outcomes consumed per attempt."""

    def __init__(self, name, script=()):
        self.name = name
        self.script = list(script)
        self.got = []

    async def send(self, item, src):
        outcome = self.script.pop(0) if self.script else "ok"
        if outcome == "retry":
            raise Retry("503 busy")
        if outcome == "later":
            raise Retry("429", after_ms=60000)
        if outcome == "perm":
            raise Permanent("400 InvalidArgument")
        if outcome == "refused":
            raise Refused("403 SignatureDoesNotMatch")
        if outcome == "oserror":
            raise OSError(110)
        self.got.append(item.key)
        return 100


class Link:
    def __init__(self, up=True, poor=False, slow=False):
        self._up, self._poor, self._slow = up, poor, slow
        self.noted = 0

    def up(self):
        return self._up

    def poor(self):
        return self._poor

    def slow(self):
        return self._slow

    def note(self, n, ms):
        self.noted += n


def _engine(dests, routes=None, link=None, **kw):
    st = PrefixStorage(tmpdir())
    box = Outbox(st, root="/q").open()
    routes = routes or [Route("default", [d.name for d in dests])]
    wrapped = [SyncEngine.wrap(d, breaker=Breaker(threshold=2, base_ms=1000, rand=lambda: 0.5))
               for d in dests]
    return box, SyncEngine(box, routes, wrapped, Log(), link=link, **kw)


def test_drains_in_priority_order():
    dest = Fake("a")
    box, eng = _engine([dest])
    box.put("timelapse", key="t")
    box.put("alert", key="a")
    box.put("detection", key="d")
    assert run(eng.drain()) == 3
    assert dest.got == ["a", "d", "t"]
    assert eng.stats()["delivered"] == 3 and eng.stats()["success_rate"] == 1.0


def test_retryable_failures_keep_the_item_and_open_the_breaker():
    dest = Fake("a", ["retry", "oserror"])
    box, eng = _engine([dest])
    box.put("detection", key="x")
    assert run(eng.drain()) == 2  # two attempts, both failed
    s = eng.stats()
    assert s["retried"] == 2 and s["delivered"] == 0
    assert s["destinations"]["a"]["state"] == "open"
    assert box.pending() == 1
    eng.dests["a"].breaker.retry_at = 0  # backoff over
    assert run(eng.drain()) == 1 and dest.got == ["x"] and box.pending() == 0


def test_permanent_failure_dead_letters_with_the_servers_words():
    dest = Fake("a", ["perm"])
    box, eng = _engine([dest])
    box.put("detection", key="bad")
    box.put("detection", key="good")
    run(eng.drain())
    assert dest.got == ["good"]
    assert box.dead_letters()[0]["r"] == "a: 400 InvalidArgument"
    assert eng.stats()["dead"] == 1


def test_refused_credentials_keep_every_item_queued_and_hold_off():
    """A wrong secret is the destination's fault, not the items': nothing is dead-lettered,
    the breaker waits REFUSED_RETRY_MS, and the queue goes out once the secret works."""
    dest = Fake("a", ["refused", "refused"])
    box, eng = _engine([dest])
    box.put("detection", key="one")
    box.put("detection", key="two")
    run(eng.drain())
    s = eng.stats()
    assert box.pending() == 2 and s["dead"] == 0 and not box.dead_letters()
    assert "SignatureDoesNotMatch" in s["destinations"]["a"]["last_error"]
    assert len(s["alarms"]) == 1 and "a held" in s["alarms"][0], s["alarms"]
    assert "SignatureDoesNotMatch" in s["alarms"][0]  # the health alarm names the cause
    assert eng.dests["a"].breaker.wait_ms(time.ticks_ms()) > 590000  # one try per 10 min
    eng.dests["a"].breaker.retry_at = 0  # the secret was fixed; the backoff is over
    dest.script = []
    assert run(eng.drain()) == 2 and dest.got == ["one", "two"] and box.pending() == 0
    assert eng.stats()["alarms"] == []


def test_failover_to_the_next_destination():
    a, b = Fake("a", ["retry"] * 10), Fake("b")
    box, eng = _engine([a, b], routes=[Route("default", ["a", "b"])])
    for i in range(3):
        box.put("detection", key="k%d" % i)
    run(eng.drain())
    assert b.got == ["k0", "k1", "k2"] and a.got == []
    assert eng.stats()["destinations"]["a"]["state"] == "open"


def test_replication_needs_every_destination():
    a, b = Fake("a"), Fake("b", ["retry", "retry"])  # opens b's breaker (threshold 2)
    box, eng = _engine([a, b], routes=[Route("default", ["a", "b"], mode="replicate")])
    box.put("detection", key="k")
    run(eng.drain())
    assert a.got == ["k"] and b.got == [] and box.pending() == 1
    eng.dests["b"].breaker.state = 0
    run(eng.drain())
    assert a.got == ["k"] and b.got == ["k"] and box.pending() == 0


def test_routes_by_lane_and_retry_after():
    media, events = Fake("s3", ["later"]), Fake("mqtt")
    box, eng = _engine([media, events], routes=[Route("media", ["s3"]), Route("events", ["mqtt"])])
    box.put("detection", route="media", key="img")
    box.put("detection", route="events", key="evt")
    run(eng.drain())
    assert events.got == ["evt"] and media.got == []
    assert eng.dests["s3"].breaker.wait_ms(0) >= 59000  # Retry-After honoured


def test_nothing_moves_while_the_link_is_down_and_big_media_waits_on_a_poor_link():
    dest = Fake("a")
    link = Link(up=False)
    box, eng = _engine([dest], link=link, defer_bytes=1000)
    box.put("detection", key="big", media="/sd/x.jpg", size=50000)
    box.put("alert", key="alarm", media="/sd/y.jpg", size=50000)
    assert run(eng.drain()) == 0
    link._up, link._poor = True, True
    run(eng.drain())
    assert dest.got == ["alarm"]  # alerts never wait
    assert eng.stats()["deferred"] >= 1
    link._poor = False
    run(eng.drain())
    assert dest.got == ["alarm", "big"]


def test_sync_window_holds_all_but_alerts():
    dest = Fake("a")
    open_ = [False]
    box, eng = _engine([dest], window=lambda: open_[0])
    box.put("health", key="h")
    box.put("alert", key="a")
    run(eng.drain())
    assert dest.got == ["a"]
    open_[0] = True
    run(eng.drain())
    assert dest.got == ["a", "h"]


def test_run_wakes_up_when_kicked():
    dest = Fake("a")
    box, eng = _engine([dest])

    async def main():
        task = asyncio.create_task(eng.run())
        await asyncio.sleep_ms(5)
        box.put("alert", key="now")
        eng.kick()
        for _ in range(50):
            await asyncio.sleep_ms(2)
            if dest.got:
                break
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    run(main())
    assert dest.got == ["now"]


def test_local_dir_copies_media_verified_and_is_idempotent():
    st = PrefixStorage(tmpdir())
    st.makedirs("/sd/DCIM")
    with st.open("/sd/DCIM/a.jpg", "wb") as f:
        f.write(b"\xff\xd8" + b"pixels" * 3000 + b"\xff\xd9")
    size, digest = sha256_file(st, "/sd/DCIM/a.jpg")
    box = Outbox(st, root="/q").open()
    sink = LocalDir(st, "/sink", "cam-1")
    eng = SyncEngine(box, [Route("default", ["local"])], [sink], Log())
    box.put("detection", key="IMG1", media="/sd/DCIM/a.jpg", size=size, sha256=digest)
    box.put("detection", key="IMG1", media="/sd/DCIM/a.jpg", size=size, sha256=digest)
    box.put("detection", key="IMG2", media="/sd/DCIM/a.jpg", size=size, sha256="00" * 32)
    run(eng.drain())
    assert st.read("/sink/cam-1/IMG1.jpg") == st.read("/sd/DCIM/a.jpg")
    assert sorted(st.listdir("/sink/cam-1")) == ["IMG1.jpg", "IMG1.json", "receipts.log"]
    assert st.read("/sink/cam-1/receipts.log").count(b"IMG1 ") == 1  # the repeat was skipped (has)
    assert "changed" in box.dead_letters()[0]["r"]
    assert eng.stats()["delivered"] == 2 and eng.stats()["dead"] == 1


def test_media_the_destination_already_holds_is_not_sent_again():
    st = PrefixStorage(tmpdir())
    st.makedirs("/sd")
    with st.open("/sd/a.jpg", "wb") as f:
        f.write(b"\xff\xd8" + b"x" * 5000)
    size, digest = sha256_file(st, "/sd/a.jpg")
    box = Outbox(st, root="/q").open()
    sink = LocalDir(st, "/sink", "cam-1")
    eng = SyncEngine(box, [Route("default", ["local"])], [sink], Log())
    box.put("detection", key="IMG1", media="/sd/a.jpg", size=size, sha256=digest)
    run(eng.drain())
    box.put("detection", key="IMG1", media="/sd/a.jpg", size=size, sha256=digest)  # a repeat
    written = sink.st.size("/sink/cam-1/IMG1.jpg")
    run(eng.drain())
    s = eng.stats()
    assert s["delivered"] == 2 and s["already"] == 1 and box.pending() == 0
    assert sink.st.size("/sink/cam-1/IMG1.jpg") == written
