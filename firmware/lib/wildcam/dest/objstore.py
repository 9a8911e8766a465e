"""What the object-storage destinations (S3, Azure Blob, GCS, plain HTTP) share.

- `object_key(template, item, device)`: the object name from a template such as
  "{device}/{date}/{name}.{ext}" (fields: device, key, kind, name, ext, date (YYYYMMDD of
  `created`, "nodate" when the clock was unset), created). Unknown fields are an error at
  construction time (`check_template`).
- `metadata(item, limit)`: the item's fields and its sidecar (`item.data`, top-level scalars)
  as a SORTED list of (name, value) pairs fit for x-amz-meta-* / x-ms-meta-* / x-goog-meta-*
  headers: names lower-case [a-z0-9_], values printable ASCII, total under `limit` bytes.
- `content_type(ext)`; `item_json(item)` for items without media (events, health), named
  `<device>/events/<date>/<key>.json` or `<device>/health/...` with the default template
  (`object_key`).
- `Clock`: Unix time for signing, with an offset learnt from a server that said the board's
  clock is off (S3 RequestTimeTooSkewed, Azure/GCS 403 with a Date header).
"""

from wildcam.core import jsonutil

FIELDS = ("device", "key", "kind", "name", "ext", "date", "created")
TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "json": "application/json",
         "png": "image/png", "txt": "text/plain", "csv": "text/csv", "bin":
         "application/octet-stream"}


def check_template(template):
    """Raise ValueError when `template` names a field that does not exist."""
    i = 0
    while True:
        a = template.find("{", i)
        if a < 0:
            return template
        b = template.find("}", a)
        if b < 0:
            raise ValueError("key template %r: unclosed {" % template)
        if template[a + 1:b] not in FIELDS:
            raise ValueError("key template %r: unknown field {%s} (fields: %s)" % (
                template, template[a + 1:b], ", ".join(FIELDS)))
        i = b + 1


def _safe_part(s):
    out = []
    for ch in str(s):
        if ch.isalpha() and ord(ch) < 128 or ch.isdigit() or ch in "-_.":
            out.append(ch)
        else:
            out.append("_")
    return "".join(out) or "_"


def fields_of(item, device):
    media = item.media or ""
    base = media[media.rfind("/") + 1:] if media else ""
    if media and "." in base:
        name, ext = base[:base.rfind(".")], base[base.rfind(".") + 1:].lower()
    else:
        name, ext = (base or (item.key or "item")), ("bin" if media else "json")
    date = "nodate"
    if item.created:
        from wildcam.core.clock import ymd

        date = ymd(item.created)
    return {"device": _safe_part(device), "key": _safe_part(item.key or "item"),
            "kind": _safe_part(item.kind or "item"), "name": _safe_part(name), "ext": ext,
            "date": date, "created": str(item.created or 0)}


DEFAULT_TEMPLATE = "{device}/{date}/{name}.{ext}"  # cloud.key_template's default
DATA_TEMPLATE = "{device}/%s/{date}/{name}.json"  # items without media, default template


def object_key(template, item, device):
    """Fill `template` for `item` (see the module notes). Media items without `{ext}` in the
    template get nothing added. With the default template, items without media (events and
    health when no MQTT is configured: wildcam.wiring) are JSON objects under
    `<device>/health/` or `<device>/events/`, apart from the images; a template the user
    chose is used as it is (it may name `{kind}`)."""
    f = fields_of(item, device)
    out = template
    if not item.media and template == DEFAULT_TEMPLATE:
        out = DATA_TEMPLATE % ("health" if item.kind == "health" else "events")
    for k in FIELDS:
        tag = "{" + k + "}"
        if tag in out:
            out = out.replace(tag, f[k])
    return out.lstrip("/")


def content_type(ext):
    return TYPES.get(ext.lower(), "application/octet-stream")


def _meta_name(k):
    out = []
    for ch in str(k).lower():
        if "a" <= ch <= "z" or "0" <= ch <= "9" or ch == "_":
            out.append(ch)
        elif ch == "-":
            out.append("_")
    name = "".join(out)
    if name and "0" <= name[0] <= "9":
        name = "m_" + name  # Azure metadata names are C# identifiers
    return name


def _meta_value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        return jsonutil.dumps(v)
    s = str(v)
    out = []
    for ch in s:
        o = ord(ch)
        out.append(ch if 32 <= o < 127 else "?")
    return " ".join("".join(out).split())


def metadata(item, limit=1800):
    """Sorted [(name, value)] of the item's fields and its sidecar's top-level scalars."""
    d = {}
    if item.data and isinstance(item.data, dict):
        for k in item.data:
            v = item.data[k]
            if isinstance(v, (str, int, float, bool)):
                n = _meta_name(k)
                if n:
                    d[n] = _meta_value(v)
    d["key"] = _meta_value(item.key or "")
    d["kind"] = _meta_value(item.kind or "")
    if item.created:
        d["created"] = str(item.created)
    if item.sha256:
        d["sha256"] = item.sha256
    out = []
    total = 0
    for k in sorted(d):
        cost = len(k) + len(d[k]) + 16
        if total + cost > limit:
            continue  # keep what fits; the item fields are short
        total += cost
        out.append((k, d[k]))
    return out


def item_json(item, device=None):
    """JSON bytes of an item without media (sorted keys: same bytes on every interpreter)."""
    d = {"key": item.key, "kind": item.kind, "created": item.created or None}
    if device:
        d["device"] = device
    if item.data is not None:
        d["data"] = item.data
    if item.media:
        d["media"] = {"path": item.media, "size": item.size or 0, "sha256": item.sha256}
    return jsonutil.dumps(d).encode()


class Clock:
    """Unix seconds for signing: `now()` (wildcam.core.clock.now on the board) plus an offset
    learnt from a server. `time()` raises when the clock is unset (signatures need it)."""

    def __init__(self, now=None):
        self._now = now
        self.offset = 0

    def time(self):
        if self._now is None:
            from wildcam.core.clock import now

            t = now()
        else:
            t = self._now()
        if t is None:
            from wildcam.core.errors import Retry

            raise Retry("clock not set (NTP): signed requests need the time", 30000)
        return int(t) + self.offset

    def learn(self, server_t):
        """Adopt the server's time; returns the correction in seconds."""
        before = self.time() - self.offset
        self.offset = int(server_t) - before
        return self.offset


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(t):
    """RFC 1123 date ("Fri, 24 May 2013 00:00:00 GMT") of Unix seconds."""
    from wildcam.core.clock import civil_from_days

    t = int(t)
    days = t // 86400
    y, m, d = civil_from_days(days)
    s = t % 86400
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[(days + 3) % 7], d, _MONTHS[m - 1], y, s // 3600, s // 60 % 60, s % 60)


def parse_http_date(text):
    """Unix seconds of an RFC 1123 date, or None."""
    from wildcam.core.clock import days_from_civil

    try:
        parts = text.replace(",", " ").split()
        d, mon, y, hms = int(parts[1]), parts[2], int(parts[3]), parts[4]
        m = _MONTHS.index(mon[:1].upper() + mon[1:3].lower()) + 1
        hh, mm, ss = hms.split(":")
        return days_from_civil(y, m, d) * 86400 + int(hh) * 3600 + int(mm) * 60 + int(ss)
    except (ValueError, IndexError, AttributeError):
        return None
