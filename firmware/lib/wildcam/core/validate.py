"""Checks configuration values against `wildcam.core.schema` and says what is wrong in words a
person understands: `wifi.ssid: required`, `sync.max_queue_mb: must be 1..1024, got 0`,
`capture.burts: unknown key (did you mean capture.burst_count?)`.

Secret values never appear in a message.
"""
# pyright: reportOperatorIssue=false, reportGeneralTypeIssues=false, reportCallIssue=false, reportArgumentType=false
# (schema rows are heterogeneous tuples: pyright types `rule` as the union of every row's, and
# check() branches on the row's type letter, which it cannot follow. No board API here.)

from wildcam.core import schema


def _near(a, b):
    """Edit distance between two short strings (for "did you mean")."""
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        prev = cur
    return prev[len(b)]


def _split(key):
    i = key.rfind(".")
    return key[:i] if i >= 0 else "", key[i + 1:]


def suggest(key):
    """The closest known key, or None when nothing is close."""
    sec, leaf = _split(key)
    best, best_d = None, 4
    for k in schema.keys():
        ksec, kleaf = _split(k)
        # a typo in the leaf, or a leaf cut short ("burts" for "burst_count")
        d = min(_near(leaf, kleaf), _near(leaf, kleaf[:len(leaf)]) + 1)
        d += 0 if ksec == sec else _near(sec, ksec) + 1
        if d < best_d:
            best, best_d = k, d
    return best


def _show(key, value):
    if schema.is_secret(key):
        return "(hidden)"
    if isinstance(value, str):
        return '"%s"' % value
    return repr(value)


def _num(x):
    """`1024` not `1024.0` for whole numbers in messages."""
    return str(int(x)) if x == int(x) else str(x)


def check(key, value):
    """None when `value` is valid for `key`, else the message for a person."""
    r = schema.row(key)
    if r is None:
        near = suggest(key)
        return "%s: unknown key%s" % (key, " (did you mean %s?)" % near if near else "")
    _, typ, default, rule, flags = r
    if value is None:
        return "%s: required" % key if default is None else None
    got = _show(key, value)
    if typ == "s":
        if not isinstance(value, str):
            return "%s: must be text, got %s" % (key, got)
        if flags & schema.E:
            if value not in rule:
                return "%s: must be one of %s; got %s" % (key, ", ".join(rule), got)
        elif rule:
            if len(value) == 0 and rule[0] > 0:
                return "%s: required" % key
            if not rule[0] <= len(value) <= rule[1]:
                return "%s: must be %d..%d characters long, got %d" % (
                    key, rule[0], rule[1], len(value))
        if key == "detect.roi" and value:
            from wildcam.core.roi import parse_roi

            try:
                parse_roi(value, 20, 15)
            except ValueError as e:
                return "%s: %s" % (key, e)
        if key == "camera.pins" and value:
            from wildcam.core.presets import parse_pins

            try:
                parse_pins(value)
            except ValueError as e:
                return "%s: %s" % (key, e)
        if key in ("sync.windows", "power.active_hours"):
            from wildcam.core import windows

            try:
                windows.parse(value)
            except ValueError as e:
                return "%s: %s" % (key, e)
        return None
    if typ == "b":
        return None if isinstance(value, bool) else "%s: must be true or false, got %s" % (key, got)
    if typ == "l":
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            return "%s: must be a list of text, got %s" % (key, got)
        if rule and not rule[0] <= len(value) <= rule[1]:
            return "%s: must have %d..%d entries, got %d" % (key, rule[0], rule[1], len(value))
        return None
    # numbers; bool is an int in Python but never a valid number here
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (typ == "i" and not isinstance(value, int)):
        return "%s: must be %s, got %s" % (key, schema.TYPE_NAMES[typ], got)
    if rule and not rule[0] <= value <= rule[1]:
        return "%s: must be %s..%s, got %s" % (key, _num(rule[0]), _num(rule[1]), got)
    return None


def parse_text(key, text):
    """Turn REPL/command text into the key's type (`"5"` -> 5 for an int key).

    Returns the converted value, or `text` unchanged when it cannot be converted (so that
    `check` then reports the problem in the usual words)."""
    r = schema.row(key)
    if r is None or not isinstance(text, str):
        return text
    typ = r[1]
    t = text.strip()
    try:
        if typ == "i":
            return int(t)
        if typ == "f":
            return float(t)
    except ValueError:
        return text
    if typ == "b":
        low = t.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
    if typ == "l":
        return [p.strip() for p in t.split(",") if p.strip()]
    return text


def validate(flat, require=True):
    """All problems of a flat {key: value} document, sorted, one message each.

    With `require`, keys without a default that are missing are reported too."""
    errors = []
    for key in sorted(flat):
        msg = check(key, flat[key])
        if msg:
            errors.append(msg)
    if require:
        for r in schema.SCHEMA:
            if r[2] is None and r[0] not in flat:
                errors.append("%s: required" % r[0])
    errors.sort()
    return errors
