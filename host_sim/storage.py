"""SimStorage: the firmware's `wildcam.core.storage.Storage` mapped onto host directories, with
capacity, wear counters, SD removal and power cuts.

Path mapping: "/sd" and "/sd/..." go to the SD filesystem, every other board path to flash.

Guarantees:
- Space and full disks as MicroPython's filesystems have them (`host_sim.fsmodel`, with the
  sources it follows): usage in whole blocks (clusters), directories included. The SD is
  FAT: a write that does not fit lands the bytes that fit and then raises OSError(28)
  (ENOSPC), a short write; mkdir on a full card raises OSError(13). Flash is LittleFS:
  copy-on-write; a write that does not fit lands nothing, raises ENOSPC and leaves the
  handle erred, so closing it keeps the file as it was at its last flush; mkdir needs two
  free blocks. `statvfs` and `block_size` report what the board's would.
- SD is FAT: rename onto an existing file raises OSError(17); flash (LittleFS) replaces.
- SD removed: every operation on /sd raises OSError(19) (ENODEV).
- Power cut: with `cut_after_bytes=N`, the write that would carry byte N+1 lands only the
  bytes up to N on disk (written unbuffered, so they really are there), then raises
  PowerCut; with `cut_after_ops=N` the first N ops (write() calls, rename, remove, mkdir,
  rmdir) succeed and op N+1 raises PowerCut having done nothing. Once cut, every operation on
  this storage (reads included) raises PowerCut. `on_cut` is called once at the cut.
  (Stricter than LittleFS, which keeps a cut file at its last sync: torn bytes are kept.)
"""
from __future__ import annotations

import os
from errno import errorcode
from typing import Callable, Optional

from . import install as _install
from .fsmodel import LFS, Volume

_install()  # firmware/lib on sys.path before the firmware import below
from wildcam.core.storage import Storage  # noqa: E402

from .constants import EEXIST, EINVAL, ENODEV, EXDEV
from .errors import PowerCut

_COUNTERS = ("writes", "bytes", "renames", "removes", "mkdirs", "enospc")


class Filesystem:
    """One filesystem of a board: host root folder, capacity, kind, presence, wear counters.
    Outlives boots (counters accumulate over the board's life)."""

    def __init__(self, name: str, root: str, capacity: int, *, kind: str = "lfs",
                 block_size: int = 4096) -> None:
        self.name = name
        self.root = root
        self.vol = Volume(kind, capacity, block_size)
        self.kind = kind
        self.block_size = block_size
        self.present = True
        self.counters = dict.fromkeys(_COUNTERS, 0)
        os.makedirs(root, exist_ok=True)
        self.used = self.scan_used()

    @property
    def capacity(self) -> int:
        return self.vol.capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        self.vol.capacity = int(value)

    @property
    def used(self) -> int:
        return self.vol.used

    @used.setter
    def used(self, value: int) -> None:
        self.vol.used = int(value)

    def blocks(self, size: int) -> int:
        return self.vol.blocks(size)

    def scan_used(self) -> int:
        """Usage of what is on the host folder now (files and directories)."""
        total = 0
        for d, dirs, files in os.walk(self.root):
            total += len(dirs) * self.vol.dir_bytes()
            for f in files:
                total += self.blocks(os.path.getsize(os.path.join(d, f)))
        return total

    def free(self) -> int:
        return self.vol.free()



def _host(fn, *args, **kw):
    """A host filesystem call with its error as MicroPython's VFS gives it: `OSError(errno)`,
    never a path (the host's own paths must not reach firmware texts: a heartbeat carrying
    one outgrew its record under a long TMPDIR)."""
    try:
        return fn(*args, **kw)
    except OSError as e:
        raise OSError(e.errno, errorcode.get(e.errno or 0, "EIO")) from None

class _WriteFile:
    """An unbuffered host file that reports every write() to its SimStorage first, and on
    LittleFS keeps what it needs to fall back to its last sync."""

    def __init__(self, storage: "SimStorage", fs: Filesystem, real: str, mode: str):
        self._st = storage
        self._fs = fs
        self._text = "b" not in mode
        self._lfs = fs.kind == LFS
        self._undo: list = []  # LittleFS: (pos, old bytes) overwritten since the last sync
        self._held = 0  # LittleFS: blocks of the old content of a file opened with "w"
        old = os.path.getsize(real) if os.path.isfile(real) else None
        if "w" in mode and old is not None:
            if self._lfs:  # truncated only once synced
                with open(real, "rb") as f:
                    self._undo.append((0, f.read()))
                self._held = fs.blocks(old)
            else:
                fs.vol.release(old)
        raw_mode = mode.replace("t", "").replace("b", "") + "b"
        self._f = _host(open, real, raw_mode, buffering=0)
        self._size = os.fstat(self._f.fileno()).st_size
        self._synced = self._size  # content size at the last sync
        self._restore = old if self._held else self._size  # file size after a fallback
        self._erred = False

    def write(self, data) -> int:
        if self._text and isinstance(data, str):
            data = data.encode()
        data = bytes(data)
        pos = self._f.tell() if not self._f.mode.startswith("a") else self._size
        return self._st._write(self, data, pos)

    def _raw_write(self, data: bytes, pos: int) -> int:
        if self._lfs and pos < self._synced:
            self._f.seek(pos)
            self._undo.append((pos, os.pread(self._f.fileno(), min(len(data),
                                                                     self._synced - pos), pos)))
            self._f.seek(pos)
        self._size = max(self._size, pos + len(data))
        n = self._f.write(data)
        return len(data) if n is None else n

    def read(self, n=-1):
        self._st._check(self._fs)
        data = self._f.read(n)
        return data.decode() if self._text else data

    def readinto(self, buf):
        self._st._check(self._fs)
        return self._f.readinto(buf)

    def seek(self, *a):
        return self._f.seek(*a)

    def tell(self):
        return self._f.tell()

    def flush(self):
        self._st._check(self._fs)
        if self._lfs:
            self._sync()

    def _sync(self):
        self._fs.used -= self._held
        self._held = 0
        self._undo = []
        self._synced = self._restore = self._size
        self._erred = False

    def _fall_back(self):
        """LittleFS closing an erred file: back to the content of its last sync."""
        fs = self._fs
        fs.used -= fs.blocks(self._size) - fs.blocks(self._synced)
        for pos, old in reversed(self._undo):
            os.pwrite(self._f.fileno(), old, pos)
        os.ftruncate(self._f.fileno(), self._restore)

    def close(self):
        if not self._f.closed and self._lfs and not self._st.dead:
            if self._erred:
                self._fall_back()
            else:
                self._sync()
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SimStorage(Storage):
    """See the module docstring. One instance per boot; a cut one stays dead."""

    def __init__(self, flash, sd, *, cut_after_bytes: Optional[int] = None,
                 cut_after_ops: Optional[int] = None,
                 on_cut: Optional[Callable[[], None]] = None,
                 flash_capacity: int = 960 * 1024, sd_capacity: int = 64 * 2**20,
                 mounts: Optional[dict] = None) -> None:
        # extra filesystems by first path component, e.g. {"cloud": Filesystem(...)} maps
        # "/cloud/..." to a folder shared by a fleet (the simulator's local-directory sink)
        self.mounts = dict(mounts or {})
        self.flash = flash if isinstance(flash, Filesystem) else Filesystem(
            "flash", str(flash), flash_capacity, kind="lfs")
        self.sd = sd if isinstance(sd, Filesystem) else Filesystem(
            "sd", str(sd), sd_capacity, kind="fat")
        self.cut_after_bytes = cut_after_bytes
        self.cut_after_ops = cut_after_ops
        self.on_cut = on_cut
        self.bytes_written = 0
        self.ops = 0
        self.short_writes = 0  # ENOSPC after part of the data landed (FAT)
        self.dead = False

    # --- mapping ---------------------------------------------------------------------------
    def _split(self, path: str):
        if not path.startswith("/"):
            raise OSError(EINVAL, "board paths are absolute: %r" % path)
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise OSError(EINVAL, "no . or .. in board paths: %r" % path)
        if parts and parts[0] == "sd":
            return self.sd, parts[1:]
        if parts and parts[0] in self.mounts:
            return self.mounts[parts[0]], parts[1:]
        return self.flash, parts

    def real(self, path: str) -> str:
        fs, parts = self._split(path)
        return os.path.join(fs.root, *parts)

    def _fs_real(self, path: str):
        fs, parts = self._split(path)
        self._check(fs)
        return fs, os.path.join(fs.root, *parts)

    # --- cut bookkeeping --------------------------------------------------------------------
    def _check(self, fs: Filesystem) -> None:
        if self.dead:
            raise PowerCut("storage is dead after a power cut")
        if not fs.present:
            raise OSError(ENODEV, "%s not present" % fs.name)

    def _cut(self):
        self.dead = True
        if self.on_cut is not None:
            cb, self.on_cut = self.on_cut, None
            cb()
        return PowerCut("power cut after %d ops, %d bytes" % (self.ops, self.bytes_written))

    def _op(self, fs: Filesystem) -> None:
        """Count one op; raise PowerCut instead if the power budget is spent."""
        self._check(fs)
        if self.cut_after_ops is not None and self.ops >= self.cut_after_ops:
            raise self._cut()
        if self.cut_after_bytes is not None and self.bytes_written >= self.cut_after_bytes:
            raise self._cut()
        self.ops += 1

    def _write(self, f: _WriteFile, data: bytes, pos: int) -> int:
        fs = f._fs
        self._op(fs)
        landed, err = fs.vol.write(f._size, pos, len(data))
        if fs.kind == LFS and err:
            f._erred = True
        elif landed == len(data):
            f._erred = False
        budget = None
        if self.cut_after_bytes is not None:
            budget = self.cut_after_bytes - self.bytes_written
        torn = budget is not None and landed > budget
        if torn:
            fs.used -= fs.blocks(max(f._size, pos + landed)) - fs.blocks(
                max(f._size, pos + budget))
            landed = budget
        n = f._raw_write(data[:landed], pos) if landed else 0
        self.bytes_written += n
        fs.counters["writes"] += 1
        fs.counters["bytes"] += n
        if torn:
            raise self._cut()
        if err:
            fs.counters["enospc"] += 1
            self.short_writes += n > 0
            raise OSError(err, "no space left on %s (%d of %d bytes written)"
                          % (fs.name, n, len(data)))
        return n

    # --- primitives ---------------------------------------------------------------------------
    def open(self, path: str, mode: str = "rb"):
        fs, real = self._fs_real(path)
        if any(c in mode for c in "wax+"):
            return _WriteFile(self, fs, real, mode)
        return _host(open, real, mode)

    def rename(self, src: str, dst: str) -> None:
        fs, rs = self._fs_real(src)
        fs2, rd = self._fs_real(dst)
        if fs is not fs2:
            raise OSError(EXDEV, "rename across filesystems")
        if not os.path.exists(rs):
            raise FileNotFoundError(2, "no such file", src)
        if fs.kind == "fat" and os.path.exists(rd):
            raise OSError(EEXIST, "FAT: rename target exists", dst)
        self._op(fs)
        old = os.path.getsize(rd) if os.path.isfile(rd) else None
        _host(os.rename, rs, rd)
        if old is not None:
            fs.used -= fs.blocks(old)
        fs.counters["renames"] += 1

    def remove(self, path: str) -> None:
        fs, real = self._fs_real(path)
        size = os.path.getsize(real) if os.path.isfile(real) else None
        if size is None:
            _host(os.remove, real)  # the error for a missing file or a folder
        self._op(fs)
        _host(os.remove, real)
        fs.used -= fs.blocks(size)
        fs.counters["removes"] += 1

    def mkdir(self, path: str) -> None:
        fs, real = self._fs_real(path)
        if os.path.exists(real):
            raise OSError(EEXIST, "exists", path)
        self._op(fs)
        fs.vol.mkdir()
        _host(os.mkdir, real)
        fs.counters["mkdirs"] += 1

    def rmdir(self, path: str) -> None:
        fs, real = self._fs_real(path)
        if not os.path.isdir(real):
            _host(os.rmdir, real)
        self._op(fs)
        _host(os.rmdir, real)
        fs.vol.rmdir()
        fs.counters["removes"] += 1

    def listdir(self, path: str):
        _fs, real = self._fs_real(path)
        names = _host(os.listdir, real)
        names.sort()
        return names

    def stat(self, path: str):
        _fs, real = self._fs_real(path)
        return _host(os.stat, real)

    def statvfs(self, path: str):
        fs, _real = self._fs_real(path)
        return fs.capacity, fs.free()

    def block_size(self, path: str) -> int:
        fs, _real = self._fs_real(path)
        return fs.block_size

    # --- reports --------------------------------------------------------------------------------
    def stats(self) -> dict:
        """Wear and usage per filesystem: {"flash": {...}, "sd": {...}}."""
        return {fs.name: dict(fs.counters, used=fs.used, capacity=fs.capacity)
                for fs in (self.flash, self.sd)}
