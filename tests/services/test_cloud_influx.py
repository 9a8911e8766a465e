"""InfluxDB line-protocol destination against Debian's real InfluxDB 1.6 (`influxd`, auth on):
points written with the v1 `/write` endpoint (Basic auth) and read back with `/query`:
field types (ints, floats, bools, strings with quotes), escaped tags, nested fields with
dots, second timestamps, one request for a batch, the sync engine batching health items on
a slow link; wrong password -> Refused (kept and retried later); missing database, bad lines
and type conflicts -> Permanent with InfluxDB's words; server down -> Retry.

InfluxDB 1.6 has no `/api/v2/write` (1.8 added it): the v2 form (URL, `Token` header) is
covered by tests/portable/test_dest_influx.py over an in-memory stream.
"""
import time

import pytest

from wildcam.dest.influx import InfluxDest
from wildcam.core.errors import Permanent, Refused, Retry
from wildcam.net.http import HTTP
from wildcam.queue.outbox import Outbox
from wildcam.queue.sync import Route, SyncEngine

from .cloudutil import It, make_media, storage
from .influxsrv import ADMIN, ADMIN_PW

pytestmark = pytest.mark.services

T = 1780000000
HEALTH = {"sys": {"up_s": 3600, "heap_free": 81234}, "power": {"battery_v": 3.75,
                                                                "temp_c": 21.5},
          "net": {"rssi": -67}, "queue": {"pending": 3},
          "sync": {"delivered": 10, "state": "closed", "ok": True, "last_error": None}}
EVENT = {"event": "wc-a1-3-7", "trigger": "pir", "images": 3, "ambient": 41.5, "flash": False,
         "time": T + 2, "note": 'say "hi", a=b \\ ok',
         "detection": {"score": 0.75, "box": [10, 20, 30, 40], "reason": "travel"}}


@pytest.fixture
def db(live_influx, request):
    name = "wc_" + request.node.name[5:40]
    live_influx.query('DROP DATABASE "%s"' % name)
    live_influx.query('CREATE DATABASE "%s"' % name)
    live_influx.query("DROP USER cam") if _has_user(live_influx, "cam") else None
    live_influx.query("CREATE USER cam WITH PASSWORD 'cam-pw'")
    live_influx.query('GRANT WRITE ON "%s" TO cam' % name)
    return name


def _has_user(srv, name):
    res = srv.query("SHOW USERS")["results"][0]
    return any(row[0] == name for s in res.get("series", []) for row in s["values"])


def dest(srv, db, **kw):
    args = dict(db=db, user="cam", password="cam-pw", device="wc a1",
                tags={"site": "north,gate"})
    args.update(kw)
    return InfluxDest(HTTP(timeout_s=5), srv.url, **args)


def test_health_and_event_points_read_back(live_influx, db, tmp_path):
    root = str(tmp_path)
    http = HTTP(timeout_s=5)
    d = dest(live_influx, db)
    d.http = http
    path, digest = make_media(root, "0004.jpg", 5000)
    items = [It("hb-1", kind="health", data=HEALTH, created=T),
             It("hb-2", kind="health", data=dict(HEALTH, sys={"up_s": 7200, "heap_free": 80000}),
                created=T + 60),
             It("wc-a1-3-7-ev", kind="detection", data=EVENT, created=T),
             It("k-4", kind="detection", data={"event": "wc-a1-3-7", "score": 0.5},
                media=path, size=5000, sha256=digest, created=T)]
    sent = run_(d.send_batch(items, storage(root)))
    assert sent > 0 and http.counters["requests"] == 1  # one request for the batch

    rows = live_influx.points(db, "SELECT * FROM wildcam_health ORDER BY time")
    assert [r["time"] for r in rows] == ["2026-05-28T20:26:40Z", "2026-05-28T20:27:40Z"]
    h = rows[0]
    assert h["device"] == "wc a1" and h["kind"] == "health" and h["site"] == "north,gate"
    assert h["sys.up_s"] == 3600 and h["sys.heap_free"] == 81234 and h["net.rssi"] == -67
    assert h["power.battery_v"] == 3.75 and h["power.temp_c"] == 21.5
    assert h["sync.ok"] is True and h["sync.state"] == "closed" and h["key"] == "hb-1"
    assert "sync.last_error" not in h or h["sync.last_error"] is None
    assert rows[1]["sys.up_s"] == 7200

    # field types as InfluxDB stored them: ints stayed integers
    keys = live_influx.query("SHOW FIELD KEYS FROM wildcam_health", db=db)
    types = dict(keys["results"][0]["series"][0]["values"])
    assert types["sys.up_s"] == "integer" and types["power.battery_v"] == "float"
    assert types["sync.ok"] == "boolean" and types["sync.state"] == "string"

    ev = live_influx.points(db, "SELECT * FROM wildcam_event WHERE media = ''")
    assert len(ev) == 1
    e = ev[0]
    assert e["note"] == 'say "hi", a=b \\ ok' and e["trigger"] == "pir"
    assert e["detection.box.2"] == 30 and e["detection.score"] == 0.75
    assert e["flash"] is False and e["images"] == 3 and e["time_"] == T + 2
    m = live_influx.points(db, "SELECT * FROM wildcam_event WHERE media = 'jpg'")
    assert len(m) == 1 and m[0]["media.size"] == 5000 and m[0]["media.sha256"] == digest
    assert m[0]["media.name"] == "0004.jpg" and m[0]["score"] == 0.5
    # a repeat (power cut after the write, before the outbox knew) overwrites, no duplicate
    run_(d.send(items[0], storage(root)))
    assert len(live_influx.points(db, "SELECT * FROM wildcam_health")) == 2


def test_wrong_password_refused_missing_db_bad_lines_permanent(live_influx, db, tmp_path):
    st = storage(str(tmp_path))
    item = It("hb", kind="health", data=HEALTH, created=T)
    e = pytest.raises(Refused, run_, dest(live_influx, db, password="nope").send(item, st))
    assert "401" in str(e.value) and "authorization failed" in str(e.value)
    e = pytest.raises(Permanent, run_, dest(live_influx, "nosuchdb", user=ADMIN,
                                            password=ADMIN_PW).send(item, st))
    assert "404" in str(e.value) and "database not found" in str(e.value)
    d = dest(live_influx, db)
    run_(d.send(It("a", data={"x": 1}, created=T), st))
    # the same field as a float now: InfluxDB refuses the line (type conflict), for good
    e = pytest.raises(Permanent, run_, d.send(It("b", data={"x": 1.5}, created=T + 1), st))
    assert "400" in str(e.value) and "conflict" in str(e.value)
    # with ints=False numbers are floats from the start: no conflict either way
    f = dest(live_influx, db, ints=False)
    run_(f.send(It("c", data={"y": 1}, created=T), st))
    run_(f.send(It("d", data={"y": 1.5}, created=T + 1), st))
    assert [r["y"] for r in live_influx.points(db, "SELECT y FROM wildcam_event")] == [1, 1.5]


def test_server_down_is_retry(live_influx, db, tmp_path):
    d = dest(live_influx, db)
    live_influx.stop()
    try:
        e = pytest.raises(Retry, run_, d.send(It("a", data={"x": 1}, created=T),
                                              storage(str(tmp_path))))
        assert "connect" in str(e.value)
    finally:
        live_influx.start()
    run_(d.send(It("a", data={"x": 1}, created=T), storage(str(tmp_path))))
    assert len(live_influx.points(db, "SELECT * FROM wildcam_event")) == 1


class _Log:
    def info(self, m, *a):
        pass

    warning = error = debug = info


class _SlowLink:
    def up(self):
        return True

    def poor(self):
        return False

    def slow(self):
        return True

    def note(self, n, ms):
        pass


def test_sync_engine_batches_health_on_a_slow_link(live_influx, db, tmp_path):
    root = str(tmp_path)
    clock = [T]

    def now():
        clock[0] += 60  # a snapshot a minute
        return clock[0]

    box = Outbox(storage(root), root="/q", now=now).open()
    for i in range(20):
        box.put("health", route="events", data=dict(HEALTH, sys={"up_s": i * 60,
                                                                  "heap_free": 80000 + i}))
    http = HTTP(timeout_s=5)
    d = dest(live_influx, db)
    d.http = http
    eng = SyncEngine(box, [Route("events", ["influx"])], [d], _Log(), link=_SlowLink())
    run_(eng.drain())
    assert eng.counters["delivered"] == 20 and eng.counters["dead"] == 0
    assert eng.counters["batches"] >= 2 and http.counters["requests"] < 20
    rows = live_influx.points(db, 'SELECT "sys.up_s" FROM wildcam_health ORDER BY time')
    assert [r["sys.up_s"] for r in rows] == [i * 60 for i in range(20)]


def run_(coro):
    from .cloudutil import run

    return run(coro)  # one loop for the session: a kept-alive connection stays usable
