"""Deterministic JSON text.

MicroPython's `json.dumps` has no `sort_keys` and its dict order is not insertion order, so
anything that is compared, hashed, signed or shown to a person is written through `dumps`
here: keys sorted at every level, same bytes on every interpreter.
"""

import json


def dumps(obj, indent=None, _level=0):
    """JSON text of `obj` with sorted keys; `indent` spaces per level, or compact."""
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        keys = sorted(obj)
        if indent is None:
            return "{" + ",".join(json.dumps(k) + ":" + dumps(obj[k]) for k in keys) + "}"
        pad = "\n" + " " * (indent * (_level + 1))
        items = [json.dumps(k) + ": " + dumps(obj[k], indent, _level + 1) for k in keys]
        return "{" + pad + ("," + pad).join(items) + "\n" + " " * (indent * _level) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in obj) + "]" if indent is None else \
            "[" + ", ".join(dumps(v) for v in obj) + "]"
    return json.dumps(obj)


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
