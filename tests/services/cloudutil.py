"""Helpers for the object-storage tests: items, media files, a board-path storage."""
import asyncio
import hashlib
import os
import time

from portable_support import PrefixStorage


class It:
    """What the sync engine hands a destination (wildcam.queue.outbox.Item's fields)."""

    def __init__(self, key, media=None, size=0, sha256=None, kind="detection", data=None,
                 created=None):
        self.key = key
        self.kind = kind
        self.created = int(time.time()) if created is None else created
        self.media = media
        self.size = size
        self.sha256 = sha256
        self.data = data


def make_media(root, name, size, seed=0):
    """Write /sd/DCIM/T/<name> of `size` pseudo-random bytes under root; (It, bytes)."""
    path = "/sd/DCIM/T/" + name
    real = root + path
    os.makedirs(os.path.dirname(real), exist_ok=True)
    h = hashlib.sha256()
    block = hashlib.sha256(b"%d" % seed).digest() * 2048  # 64 KB pattern
    with open(real, "wb") as f:
        left = size
        i = 0
        while left > 0:
            part = block[:min(left, len(block))]
            part = bytes([(i + seed) & 0xFF]) + part[1:] if part else part
            f.write(part)
            h.update(part)
            left -= len(part)
            i += 1
    return path, h.hexdigest()


def media_item(root, key, size, seed=0, data=None):
    path, digest = make_media(root, key + ".jpg", size, seed)
    return It(key, media=path, size=size, sha256=digest, data=data or {"score": 0.91,
                                                                        "trigger": "pir"})


def read_real(root, path):
    with open(root + path, "rb") as f:
        return f.read()


def storage(root):
    return PrefixStorage(root)


_loop = []


def run(coro):
    """Run `coro` on one event loop kept for the whole session: like the board's single
    loop, so a kept-alive connection made by one call is still usable by the next."""
    if not _loop or _loop[0].is_closed():
        _loop[:] = [asyncio.new_event_loop()]
    return _loop[0].run_until_complete(coro)
