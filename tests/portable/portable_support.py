"""Helpers for portable tests: the same file runs under CPython (pytest) and under real
MicroPython (the wasm build, via tools/mpyrun). No CPython-only imports at top level."""

import os
import sys

from wildcam.core.storage import Storage

MICROPYTHON = sys.implementation.name == "micropython"

_count = [0]


def tmpdir():
    """A fresh, empty directory (host path) for one test."""
    if not MICROPYTHON:
        try:
            import tempfile
            return tempfile.mkdtemp(prefix="wildcam-")
        except ImportError:
            pass
    try:
        os.mkdir("/tmp")
    except OSError:
        pass
    while True:
        _count[0] += 1
        path = "/tmp/wildcam-%d" % _count[0]
        try:
            os.mkdir(path)
            return path
        except OSError:
            continue  # left by an earlier run in the same filesystem


class PrefixStorage(Storage):
    """A Storage whose board path "/x/y" lives at root + "/x/y"."""

    def __init__(self, root):
        self.root = root.rstrip("/")

    def real(self, path):
        return self.root + path


def drain_keys(box):
    """Take every ready item of an Outbox, finishing each; their keys in order."""
    out = []
    while True:
        item = box.next()
        if item is None:
            return out
        out.append(item.key)
        box.done(item)


def run(coro):
    """Run a coroutine to completion and return its result (asyncio.run on both
    interpreters; under MicroPython the wasm gate's prelude provides asyncio.run)."""
    import asyncio
    return asyncio.run(coro)


def raises(exc_type, fn, *args, **kwargs):
    """Call fn(*args, **kwargs), require it to raise exc_type, and return the exception."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc_type.__name__, getattr(fn, "__name__", fn)))
