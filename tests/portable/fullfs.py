"""A Storage that fills up like the board's filesystems (portable: both interpreters).

`FullStorage(root, capacity, kind="fat"|"lfs", block=512)` charges files and directories
in whole blocks and fails as `host_sim.fsmodel` says MicroPython's FAT (short write, then
ENOSPC; mkdir -> EACCES) and LittleFS (nothing lands, ENOSPC; an erred file falls back to
its last sync at close) do. The same model backs the simulator's SimStorage; under
MicroPython the gate copies host_sim/fsmodel.py next to this file.

`fill(leave)` takes all but `leave` bytes with a filler file; `unfill()` frees it again.
"""

import os

from portable_support import PrefixStorage

try:
    from host_sim.fsmodel import LFS, Volume
except ImportError:
    from fsmodel import LFS, Volume

FILLER = "/.filler"


def _size(real):
    try:
        return os.stat(real)[6]
    except OSError:
        return None


class _File:
    def __init__(self, owner, real, mode):
        self._o = owner
        self._real = real
        vol = owner.vol
        self._lfs = vol.kind == LFS
        old = _size(real)
        self._old = None  # LittleFS "w": the old content, until a sync
        if "w" in mode and old is not None:
            if self._lfs:
                with open(real, "rb") as f:
                    self._old = f.read()
            else:
                vol.release(old)
        self._append = "a" in mode
        self._f = open(real, mode)
        self._size = _size(real) or 0
        self._synced = self._size
        self._undo = []
        self._erred = False

    def write(self, data):
        data = bytes(data)
        vol = self._o.vol
        pos = self._size if self._append else self._f.tell()
        landed, err = vol.write(self._size, pos, len(data))
        if self._lfs:
            self._erred = bool(err) or (self._erred and not landed)
        if landed:
            if self._lfs and pos < self._synced:
                self._f.seek(pos)
                self._undo.append((pos, self._f.read(min(landed, self._synced - pos))))
                self._f.seek(pos)
            self._f.write(data[:landed])
            self._f.flush()
            self._size = max(self._size, pos + landed)
        if err:
            raise OSError(err)
        return landed

    def flush(self):
        self._f.flush()
        if self._lfs:
            self._sync()

    def _sync(self):
        if self._old is not None:
            self._o.vol.release(len(self._old))
            self._old = None
        self._undo = []
        self._synced = self._size
        self._erred = False

    def close(self):
        if self._f is None:
            return
        self._f.close()
        self._f = None
        if not self._lfs:
            return
        if not self._erred:
            self._sync()
            return
        vol = self._o.vol
        vol.used -= vol.blocks(self._size) - vol.blocks(self._synced)
        with open(self._real, "rb") as f:
            raw = bytearray(f.read())
        for pos, old in reversed(self._undo):
            raw[pos:pos + len(old)] = old
        raw = self._old if self._old is not None else bytes(raw[:self._synced])
        with open(self._real, "wb") as f:
            f.write(raw)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class FullStorage(PrefixStorage):
    def __init__(self, root, capacity, kind="fat", block=512):
        PrefixStorage.__init__(self, root)
        self.vol = Volume(kind, capacity, block)

    def open(self, path, mode="rb"):
        if "r" in mode and "+" not in mode:
            return PrefixStorage.open(self, path, mode)
        return _File(self, self.real(path), mode)

    def remove(self, path):
        size = _size(self.real(path))
        PrefixStorage.remove(self, path)
        if size is not None:
            self.vol.release(size)

    def rename(self, src, dst):
        old = _size(self.real(dst))
        PrefixStorage.rename(self, src, dst)
        if old is not None:
            self.vol.release(old)

    def mkdir(self, path):
        if self.exists(path):
            raise OSError(17)
        self.vol.mkdir()
        PrefixStorage.mkdir(self, path)

    def rmdir(self, path):
        PrefixStorage.rmdir(self, path)
        self.vol.rmdir()

    def statvfs(self, path):
        return self.vol.capacity, self.vol.free()

    def block_size(self, path):
        return self.vol.block

    def free(self):
        return self.vol.free()

    def fill(self, leave=0):
        """Let a filler file take all but `leave` bytes (rounded to blocks)."""
        self.unfill()
        n = max(0, self.vol.free() - leave)
        n -= n % self.vol.block
        with open(self.real(FILLER), "wb") as f:
            f.write(bytes(n))
        self.vol.used += n

    def unfill(self):
        size = _size(self.real(FILLER))
        if size is not None:
            os.remove(self.real(FILLER))
            self.vol.used -= self.vol.blocks(size)
