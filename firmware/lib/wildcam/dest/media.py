"""Streams a media file from storage in fixed-size chunks, hashing as it goes.

Peak RAM is one preallocated chunk buffer whatever the file size. `verify()` after the
last chunk raises `Permanent` when the file is shorter, longer or different from what the
outbox recorded (so a damaged image is dead-lettered instead of retried forever).
"""

import hashlib
from binascii import hexlify

from wildcam.core.errors import Permanent

CHUNK = 4096


class MediaReader:
    def __init__(self, storage, path, size=None, sha256=None, chunk=CHUNK, buf=None):
        self._st = storage
        self.path = path
        self.size = size
        self.sha256 = sha256
        self._buf = buf if buf is not None else bytearray(chunk)
        self._mv = memoryview(self._buf)
        self._hash = hashlib.sha256()
        self.read_bytes = 0

    def chunks(self):
        """Yield memoryviews of successive chunks (valid until the next one)."""
        try:
            f = self._st.open(self.path, "rb")
        except OSError as e:
            raise Permanent("media missing: %s (%s)" % (self.path, e))
        try:
            while True:
                n = f.readinto(self._buf)
                if not n:
                    break
                part = self._mv[:n]
                self._hash.update(part)
                self.read_bytes += n
                yield part
        finally:
            f.close()

    def verify(self):
        if self.size is not None and self.read_bytes != self.size:
            raise Permanent("media %s is %d bytes, expected %d" % (self.path, self.read_bytes,
                                                                   self.size))
        digest = hexlify(self._hash.digest()).decode()
        if self.sha256 and digest != self.sha256:
            raise Permanent("media %s changed (sha256 %s, expected %s)" % (
                self.path, digest[:12], self.sha256[:12]))
        return digest


def sha256_file(storage, path, chunk=CHUNK):
    """(size, hex sha256) of a file, streamed."""
    r = MediaReader(storage, path, chunk=chunk)
    for _ in r.chunks():
        pass
    return r.read_bytes, r.verify()
