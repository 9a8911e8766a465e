"""Local-directory destination: the simulator's default sink, or an export folder.

Each item becomes `<root>/<device>/<key>.json` (its metadata, with `r` = when received)
plus `<key>.<ext>` for media, written to a temporary name and renamed, so a reader never
sees half an object; sending the same key again replaces the object (idempotent), and
`receipts.log` gets one line per delivery, so repeats can be counted. Media is copied in
chunks (yielding to the loop after each) and its SHA-256 checked against the outbox record.
"""

import asyncio
from binascii import hexlify

from wildcam.core import jsonutil
from wildcam.core.errors import Permanent
from wildcam.dest.media import MediaReader
from wildcam.core.storage import is_safe_name


class LocalDir:
    def __init__(self, storage, root, device, name="local", now=None):
        self.st = storage
        self.root = "%s/%s" % (root, device)
        self.name = name
        self._now = now  # () -> Unix seconds or None
        self._buf = bytearray(4096)
        self.st.makedirs(self.root)

    def _base(self, item):
        key = item.key or ""
        if not is_safe_name(key):
            import hashlib

            key = hexlify(hashlib.sha256(key.encode()).digest()).decode()[:32]
        return self.root + "/" + key

    async def has(self, item):
        """True when the object for this key is already here (skip re-uploading it)."""
        return self.st.exists(self._base(item) + ".json")

    async def send(self, item, src):
        base = self._base(item)
        sent = 0
        meta = item.as_dict()
        if item.media:
            ext = item.media[item.media.rfind(".") + 1:] if "." in item.media else "bin"
            tmp = base + ".part"
            r = MediaReader(src, item.media, item.size, item.sha256, buf=self._buf)
            with self.st.open(tmp, "wb") as f:
                for part in r.chunks():
                    f.write(part)
                    await asyncio.sleep_ms(0)  # a long copy must not hold the loop
            try:
                meta["h"] = r.verify()
            except Permanent:
                self.st.remove_quiet(tmp)
                raise
            self.st.remove_quiet(base + "." + ext)  # FAT will not rename onto a file
            self.st.rename(tmp, base + "." + ext)
            sent = r.read_bytes
        received = (self._now() if self._now else None) or 0
        meta["r"] = received  # when the sink received it, like a cloud's Last-Modified
        text = jsonutil.dumps(meta).encode()
        self.st.write_atomic(base + ".json", text)
        with self.st.open(self.root + "/receipts.log", "ab") as f:  # one line per delivery
            f.write(("%s %d\n" % (item.key, received)).encode())
        return sent + len(text)

    async def send_batch(self, items, src):
        n = 0
        for item in items:
            n += await self.send(item, src)
        return n
