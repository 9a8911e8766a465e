"""InfluxDB line-protocol destination: health and event metrics for Grafana.

    v1 = InfluxDest(http, "http://influx.lan:8086", db="wildcam", user="cam", password="...",
                    device="wc-a1b2c3")                                     # /write?db=
    v2 = InfluxDest(http, "https://eu-central-1-1.aws.cloud2.influxdata.com", org="me",
                    bucket="wildcam", token="...", device="wc-a1b2c3")      # /api/v2/write

- One item = one line. Health snapshots (kind "health") go to measurement `wildcam_health`,
  everything else (events, detections, media items) to `wildcam_event`. Tags: `device`,
  `kind`, the destination's fixed `tags`, and `media=<ext>` for a media item (its line then
  has `media.size`/`media.sha256` and the sidecar's fields, never the file: the image itself
  goes to an object store), so an image and its event never share a series and timestamp.
- Fields: the item's `data` flattened with dots ({"power": {"battery_v": 3.9}} ->
  `power.battery_v=3.9`, lists by index: `detection.box.0=12i`), plus `key` (the item key).
  int -> `12i` (or a float with `ints=False`, see below), bool -> true/false, float as is
  (NaN/inf dropped), str -> quoted (`"` and `\\` escaped, newlines become spaces, at most
  `max_str` characters); None is left out. A field named `time` (reserved in InfluxDB 1.x)
  is written as `time_`.
- Escaping per the line-protocol rules: measurement: comma and space; tag keys, tag values
  and field keys: comma, equals sign and space (a backslash there becomes "/", newlines
  spaces; an empty tag value drops the tag).
- Tags and fields in sorted order: the same item gives the same bytes on every interpreter.
- Timestamp: the item's `created` in seconds (`precision=s`); an item made before the clock
  was set (created 0) has none and gets the server's receive time.
- `send_batch(items, storage)`: many lines in one request (the sync engine batches small
  items on a slow link).
- Outcomes: 2xx (204) done; 408/429/5xx and network trouble -> Retry (Retry-After
  honoured); 401/403 (wrong password or token) -> Refused (kept, retried later); other 4xx
  (400 bad line protocol / field type conflict, 404 database not found) -> Permanent with
  the server's error text.

Type caveat: InfluxDB fixes a field's type on the first write in a shard; a field that is
an int in one line and a float in another is refused (400 field type conflict). With
`ints=False` every number is written as a float, which avoids that where a value may come
either way.
"""

import binascii

from wildcam.core.errors import Permanent
from wildcam.net.httpmsg import check, refused
from wildcam.net.url import quote

HEALTH = "wildcam_health"
EVENT = "wildcam_event"
MAX_STR = 256


# --- encoder (pure: portable tests) ---------------------------------------------------------
def _clean(s):
    s = str(s)
    if "\n" in s or "\r" in s:
        s = s.replace("\r", " ").replace("\n", " ")
    return s


def escape_measurement(s):
    return _clean(s).replace("\\", "/").replace(",", "\\,").replace(" ", "\\ ")


def escape_key(s):
    """A tag key, tag value or field key."""
    return _clean(s).replace("\\", "/").replace(",", "\\,").replace("=", "\\=") \
        .replace(" ", "\\ ")


def quote_str(s, max_str=MAX_STR):
    s = _clean(s)
    if max_str and len(s) > max_str:
        s = s[:max_str]
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def field_value(v, ints=True, max_str=MAX_STR):
    """Line-protocol text of a field value, or None when it cannot be written."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return ("%di" % v) if ints else ("%d.0" % v)
    if isinstance(v, float):
        if v - v != 0:  # NaN or +/-inf: not representable
            return None
        return repr(v)
    if isinstance(v, str):
        return quote_str(v, max_str)
    return None


def flatten(data, prefix="", out=None):
    """{"a": {"b": 1}, "l": [2, 3]} -> {"a.b": 1, "l.0": 2, "l.1": 3}."""
    if out is None:
        out = {}
    if isinstance(data, dict):
        for k in data:
            flatten(data[k], prefix + str(k) + ".", out)
    elif isinstance(data, (list, tuple)):
        for i in range(len(data)):
            flatten(data[i], prefix + str(i) + ".", out)
    elif prefix:
        out[prefix[:-1]] = data
    return out


def line(measurement, tags, fields, t=None, ints=True, max_str=MAX_STR):
    """One line (str, no newline): `measurement,tag=v field=v t`; tags and fields sorted.
    Raises ValueError when no field can be written."""
    parts = [escape_measurement(measurement)]
    for k in sorted(tags):
        v = tags[k]
        if v is None or str(v) == "":
            continue
        parts.append("," + escape_key(k) + "=" + escape_key(v))
    fs = []
    for k in sorted(fields):
        text = field_value(fields[k], ints, max_str)
        if text is None or k == "":
            continue
        fs.append(escape_key("time_" if k == "time" else k) + "=" + text)
    if not fs:
        raise ValueError("no writable field for %s" % measurement)
    parts.append(" " + ",".join(fs))
    if t:
        parts.append(" %d" % int(t))
    return "".join(parts)


def item_line(item, device, tags=None, ints=True, max_str=MAX_STR):
    """The line of an outbox item (see the module notes)."""
    kind = item.kind or "item"
    tg = {}
    if tags:
        for k in tags:
            tg[k] = tags[k]
    tg["device"] = device
    tg["kind"] = kind
    fields = {}
    if isinstance(item.data, (dict, list, tuple)):
        flatten(item.data, "", fields)
    elif item.data is not None:
        fields["value"] = item.data
    if item.media:
        m = item.media
        base = m[m.rfind("/") + 1:]
        tg["media"] = base[base.rfind(".") + 1:].lower() if "." in base else "bin"
        fields["media.name"] = base
        fields["media.size"] = item.size or 0
        if item.sha256:
            fields["media.sha256"] = item.sha256
    if item.key:
        fields["key"] = item.key
    return line(HEALTH if kind == "health" else EVENT, tg, fields, item.created or None,
                ints, max_str)


def encode(items, device, tags=None, ints=True, max_str=MAX_STR):
    """The request body (bytes) for `items`: one line each, newline-terminated."""
    out = []
    for it in items:
        try:
            out.append(item_line(it, device, tags, ints, max_str))
        except ValueError as e:
            raise Permanent("influx: item %s: %s" % (it.key, e))
    return ("\n".join(out) + "\n").encode()


def write_url(url, db=None, org=None, bucket=None, rp=None):
    """The write endpoint: v2 `/api/v2/write?org=&bucket=&precision=s` when a bucket is
    given, else v1 `/write?db=&precision=s` (`rp`: a retention policy)."""
    base = url.rstrip("/")
    if bucket:
        q = "bucket=%s&precision=s" % quote(bucket)
        if org:
            q = "org=%s&%s" % (quote(org), q)
        return base + "/api/v2/write?" + q
    if not db:
        raise ValueError("influx: needs db (v1) or bucket (v2)")
    q = "db=%s&precision=s" % quote(db)
    if rp:
        q += "&rp=" + quote(rp)
    return base + "/write?" + q


def auth_header(token=None, user=None, password=None):
    """`Token <token>` (v2, and 1.8+ with `user:password` as the token) or HTTP Basic."""
    if token:
        return "Token " + token
    if user:
        raw = ("%s:%s" % (user, password or "")).encode()
        return "Basic " + binascii.b2a_base64(raw).decode().strip()
    return None


# --- the destination --------------------------------------------------------------------------
class InfluxDest:
    def __init__(self, http, url, db=None, org=None, bucket=None, token=None, user=None,
                 password=None, rp=None, device="cam", tags=None, ints=True,
                 max_str=MAX_STR, name="influx"):
        self.http = http
        self.url = write_url(url, db, org, bucket, rp)
        self.auth = auth_header(token, user, password)
        self.device = device
        self.tags = tags or {}
        self.ints = ints
        self.max_str = max_str
        self.name = name

    def body(self, items):
        return encode(items, self.device, self.tags, self.ints, self.max_str)

    async def send(self, item, storage=None):
        return await self.send_batch([item], storage)

    async def send_batch(self, items, storage=None):
        data = self.body(items)
        h = {"Content-Type": "text/plain; charset=utf-8"}
        if self.auth:
            h["Authorization"] = self.auth
        r = await self.http.request("POST", self.url, h, data)
        if r.status >= 300:
            err = r.header("x-influxdb-error")
            if err and r.status < 500 and r.status not in (408, 429) and not refused(r):
                raise Permanent("%s write (%d lines): HTTP %d %s" % (
                    self.name, len(items), r.status, err[:200]))
        check(r, "%s write (%d lines)" % (self.name, len(items)))
        return len(data)

