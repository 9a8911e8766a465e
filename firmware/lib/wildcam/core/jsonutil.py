"""Deterministic JSON text.

MicroPython's `json.dumps` has no `sort_keys` and its dict order is not insertion order, so
anything that is compared, hashed, signed or shown to a person is written through `dumps`
here: keys sorted at every level, same bytes on every interpreter.
"""

import json


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
