"""InfluxDB line-protocol encoding and the destination over an in-memory stream, under
CPython and real MicroPython: escaping, int/bool/float/string fields, nested flattening with
dots, sorted (deterministic) order, v1/v2 URLs and auth, outcome mapping."""

from fakenet import Connector, FakeStream
from portable_support import raises, run

from wildcam.dest.influx import (InfluxDest, auth_header, encode, escape_key,
                                 escape_measurement, field_value, flatten, item_line, line,
                                 quote_str, write_url)
from wildcam.core.errors import Permanent, Refused, Retry
from wildcam.net.http import HTTP

T = 1780000000


class It:
    def __init__(self, key, kind="detection", data=None, created=T, media=None, size=0,
                 sha256=None):
        self.key = key
        self.kind = kind
        self.data = data
        self.created = created
        self.media = media
        self.size = size
        self.sha256 = sha256


HEALTH = {"sys": {"up_s": 3600, "heap_free": 81234}, "power": {"battery_v": 3.75,
                                                                "temp_c": 21.5},
          "net": {"rssi": -67}, "queue": {"pending": 3},
          "sync": {"delivered": 10, "success_rate": 0.5, "last_error": None,
                   "state": "closed", "ok": True}}


def test_escaping_rules():
    assert escape_measurement("my m,x=1") == "my\\ m\\,x=1"  # '=' is fine in a measurement
    assert escape_key("a b,c=d") == "a\\ b\\,c\\=d"
    assert escape_key("line\nbreak\\x") == "line\\ break/x"
    assert quote_str('say "hi" \\ now') == '"say \\"hi\\" \\\\ now"'
    assert quote_str("a\r\nb") == '"a  b"'
    assert quote_str("x" * 300, 8) == '"xxxxxxxx"'


def test_field_values_by_type():
    assert field_value(12) == "12i" and field_value(-3) == "-3i"
    assert field_value(12, ints=False) == "12.0"
    assert field_value(True) == "true" and field_value(False) == "false"
    assert field_value(3.75) == "3.75" and field_value(-0.5) == "-0.5"
    assert field_value(float("nan")) is None and field_value(float("inf")) is None
    assert field_value(None) is None and field_value({"a": 1}) is None
    assert field_value("a b") == '"a b"'


def test_flatten_nested_with_dots_and_list_indexes():
    assert flatten({"a": {"b": 1, "c": {"d": "x"}}, "l": [2, {"z": 3}], "n": None}) == \
        {"a.b": 1, "a.c.d": "x", "l.0": 2, "l.1.z": 3, "n": None}


def test_line_sorted_and_timestamp():
    s = line("m", {"z": "1", "a": "x y", "empty": ""}, {"b": 2, "a": 1.5, "t": "q", "n": None},
             T)
    assert s == 'm,a=x\\ y,z=1 a=1.5,b=2i,t="q" %d' % T
    assert line("m", {}, {"time": 5}) == "m time_=5i"  # no timestamp, 'time' renamed
    assert isinstance(raises(ValueError, line, "m", {"a": "b"}, {"x": None}), ValueError)


def test_health_item_line_is_deterministic():
    item = It("hb-1", kind="health", data=HEALTH)
    expect = ('wildcam_health,device=wc-a1,kind=health key="hb-1",net.rssi=-67i,'
              'power.battery_v=3.75,power.temp_c=21.5,queue.pending=3i,sync.delivered=10i,'
              'sync.ok=true,sync.state="closed",sync.success_rate=0.5,sys.heap_free=81234i,'
              'sys.up_s=3600i %d' % T)
    assert item_line(item, "wc-a1") == expect
    # same data built in another order: same bytes
    rev = {}
    for k in sorted(HEALTH, reverse=True):
        rev[k] = HEALTH[k]
    assert item_line(It("hb-1", kind="health", data=rev), "wc-a1") == expect


def test_event_and_media_lines():
    ev = {"event": "wc-a1-3-7", "trigger": "pir", "images": 3, "ambient": 41.5,
          "flash": False, "time": T + 2,
          "detection": {"score": 0.75, "box": [10, 20, 30, 40], "reason": "travel"}}
    s = item_line(It("wc-a1-3-7-ev", data=ev), "wc a1", tags={"site": "north,gate"})
    assert s == ('wildcam_event,device=wc\\ a1,kind=detection,site=north\\,gate '
                 'ambient=41.5,detection.box.0=10i,detection.box.1=20i,detection.box.2=30i,'
                 'detection.box.3=40i,detection.reason="travel",detection.score=0.75,'
                 'event="wc-a1-3-7",flash=false,images=3i,key="wc-a1-3-7-ev",'
                 'time_=%di,trigger="pir" %d' % (T + 2, T))
    media = It("k-1", data={"event": "e1"}, media="/sd/DCIM/100/0004.JPG", size=51234,
               sha256="ab" * 32)
    s = item_line(media, "wc-a1")
    assert s.startswith("wildcam_event,device=wc-a1,kind=detection,media=jpg ")
    assert 'media.name="0004.JPG",media.sha256="%s",media.size=51234i' % ("ab" * 32) in s
    assert item_line(It("k", data={"a": 1}, created=0), "d") == 'wildcam_event,device=d,' \
        'kind=detection a=1i,key="k"'


def test_encode_batch_and_urls():
    body = encode([It("a", data={"x": 1}), It("b", data={"x": 2})], "d")
    assert body == ('wildcam_event,device=d,kind=detection key="a",x=1i %d\n'
                    'wildcam_event,device=d,kind=detection key="b",x=2i %d\n' % (T, T)).encode()
    assert write_url("http://h:8086/", db="wild cam") == \
        "http://h:8086/write?db=wild%20cam&precision=s"
    assert write_url("http://h", db="w", rp="week") == "http://h/write?db=w&precision=s&rp=week"
    assert write_url("https://h", org="my org", bucket="b") == \
        "https://h/api/v2/write?org=my%20org&bucket=b&precision=s"
    assert isinstance(raises(ValueError, write_url, "http://h"), ValueError)
    assert auth_header(token="T0k") == "Token T0k"
    assert auth_header(user="cam", password="pw") == "Basic Y2FtOnB3"
    assert auth_header() is None


NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def test_dest_posts_lines_with_auth_and_maps_outcomes():
    bad = (b"HTTP/1.1 400 Bad Request\r\nX-Influxdb-Error: unable to parse 'x': bad\r\n"
           b"Content-Length: 2\r\n\r\n{}")
    busy = b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nContent-Length: 4\r\n\r\nbusy"
    text = b'{"error":"token is invalid"}'
    auth = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: %d\r\n\r\n" % len(text) + text
    s = FakeStream([NO_CONTENT, NO_CONTENT, bad, busy, auth], keep_written=True)
    d = InfluxDest(HTTP(connect=Connector(s)), "http://h:8086", org="o", bucket="b",
                   token="secret", device="wc-1")
    items = [It("a", data={"x": 1}), It("b", data={"x": 2})]
    n = run(d.send_batch(items))
    sent = bytes(s.data)
    assert sent.startswith(b"POST /api/v2/write?org=o&bucket=b&precision=s HTTP/1.1\r\n")
    assert b"Authorization: Token secret\r\n" in sent
    body = encode(items, "wc-1")
    assert sent.endswith(b"\r\n\r\n" + body) and n == len(body)
    assert run(d.send(It("c", data={"y": True}))) > 0
    e = raises(Permanent, run, d.send(It("d", data={"x": 1})))
    assert "400" in str(e) and "unable to parse" in str(e)
    e = raises(Retry, run, d.send(It("e", data={"x": 1})))
    assert e.after_ms == 7000 and "503" in str(e)
    e = raises(Refused, run, d.send(It("f", data={"x": 1})))  # kept, retried later
    assert "401" in str(e) and "token is invalid" in str(e)
    # an item with nothing writable is Permanent before any request
    e = raises(Permanent, run, d.send(It(None, data={"n": None})))
    assert "no writable field" in str(e)
