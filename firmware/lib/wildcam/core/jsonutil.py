"""Deterministic JSON text.

MicroPython's `json.dumps` has no `sort_keys` and its dict order is not insertion order, so
anything that is compared, hashed, signed or shown to a person is written through `dumps`
here: keys sorted at every level, same bytes on every interpreter.
"""

import json

_QUOTE = 0x22
_BACKSLASH = 0x5C
_OPEN = (0x5B, 0x7B)  # [ {
_CLOSE = (0x5D, 0x7D)  # ] }
_SEP = (0x2C, 0x3A)  # , :


def check_shape(raw, max_depth, max_items):
    """Raise ValueError unless the JSON text `raw` (bytes) nests at most `max_depth` deep
    and has at most `max_items` containers and separators: run on untrusted bytes *before*
    json.loads, so a hostile message cannot exhaust the stack (MicroPython's is small) or
    the heap in the parser or in anything that walks the result. One pass, no allocation
    beyond the slices `find` makes none of; strings are skipped with `find`."""
    if isinstance(raw, str):
        raw = raw.encode()
    depth = items = 0
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == _QUOTE:
            j = i
            while True:
                j = raw.find(b'"', j + 1)
                if j < 0:
                    raise ValueError("unterminated string")
                k = j - 1
                while raw[k] == _BACKSLASH:
                    k -= 1
                if (j - 1 - k) % 2 == 0:  # an even run of backslashes: the quote ends it
                    break
            i = j + 1
            continue
        if c in _OPEN:
            depth += 1
            items += 1
            if depth > max_depth:
                raise ValueError("nested deeper than %d" % max_depth)
        elif c in _CLOSE:
            depth -= 1
        elif c in _SEP:
            items += 1
        if items > max_items:
            raise ValueError("more than %d items" % max_items)
        i += 1


def _ascii(text):
    """Escape non-ASCII characters as \\uXXXX, as CPython's json does by default (MicroPython
    writes them raw): the same object gives the same bytes everywhere, so signatures over
    canonical JSON made on a laptop verify on the board."""
    for ch in text:
        if ord(ch) > 127:
            break
    else:
        return text
    out = []
    for ch in text:
        o = ord(ch)
        if o < 128:
            out.append(ch)
        elif o < 0x10000:
            out.append("\\u%04x" % o)
        else:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
    return "".join(out)


def _scalar(v):
    text = json.dumps(v)
    return _ascii(text) if isinstance(v, str) else text


def dumps(obj, indent=None, _level=0):
    """JSON text of `obj` with sorted keys; `indent` spaces per level, or compact."""
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        keys = sorted(obj)
        if indent is None:
            return "{" + ",".join(_scalar(k) + ":" + dumps(obj[k]) for k in keys) + "}"
        pad = "\n" + " " * (indent * (_level + 1))
        items = [_scalar(k) + ": " + dumps(obj[k], indent, _level + 1) for k in keys]
        return "{" + pad + ("," + pad).join(items) + "\n" + " " * (indent * _level) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in obj) + "]" if indent is None else \
            "[" + ", ".join(dumps(v) for v in obj) + "]"
    return _scalar(obj)


def clip(obj, n):
    """A copy of `obj` with every string longer than `n` cut to `n` (ending in "..."): an
    error text of any length keeps a report within its record's size."""
    if isinstance(obj, str):
        return obj if len(obj) <= n else obj[:n - 3] + "..."
    if isinstance(obj, dict):
        return {k: clip(obj[k], n) for k in obj}
    if isinstance(obj, (list, tuple)):
        return [clip(v, n) for v in obj]
    return obj


def flatten(doc, prefix="", out=None):
    """{"a": {"b": 1}} -> {"a.b": 1}. Lists and scalars are leaves."""
    if out is None:
        out = {}
    for k in doc:
        v = doc[k]
        key = prefix + k
        if isinstance(v, dict):
            flatten(v, key + ".", out)
        else:
            out[key] = v
    return out


def unflatten(flat):
    """{"a.b": 1} -> {"a": {"b": 1}}."""
    doc = {}
    for key in flat:
        parts = key.split(".")
        node = doc
        for p in parts[:-1]:
            nxt = node.get(p)
            if not isinstance(nxt, dict):
                nxt = {}
                node[p] = nxt
            node = nxt
        node[parts[-1]] = flat[key]
    return doc
