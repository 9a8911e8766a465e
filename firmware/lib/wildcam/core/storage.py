"""The firmware's only door to the filesystems (internal flash at `/`, SD card at `/sd`).

Every file the firmware reads or writes goes through one `Storage` object, so that:
- the simulator can map board paths onto host directories and cut power at any written byte
  (host_sim subclasses this class; firmware never knows);
- atomic replacement is implemented once, correctly for both LittleFS (rename replaces the
  target atomically) and FAT on the SD card (rename refuses an existing target).

Paths are board paths: absolute, `/`-separated, no `..`.
"""

import os

ENOENT = 2
EEXIST = 17
ENOSPC = 28

_TMP = ".tmp"
_NEW = ".new"


def join(*parts):
    """Join board path parts with single slashes (MicroPython has no os.path)."""
    out = ""
    for p in parts:
        if not p:
            continue
        if out and not out.endswith("/"):
            out += "/"
        out += p if not out else p.lstrip("/")
    return out


def dirname(path):
    i = path.rfind("/")
    if i <= 0:
        return "/" if i == 0 else ""
    return path[:i]


def basename(path):
    return path[path.rfind("/") + 1:]


def is_safe_name(name):
    """True when `name` is one path component that cannot escape its folder."""
    if not name or name in (".", "..") or len(name) > 64:
        return False
    for ch in name:
        if ch == "/" or ch == "\\" or ord(ch) < 32:
            return False
    return True


class Storage:
    """Filesystem access by board path.

    On a board `real(path)` is the identity. Subclasses (host_sim) override `real` and
    wrap `open` to count bytes, enforce capacity and inject power cuts; nothing else here
    touches the OS, so those overrides see every write.
    """

    def real(self, path):
        return path

    # --- primitives: the only methods that touch `os` or `open` --------------------------
    def open(self, path, mode="rb"):
        return open(self.real(path), mode)

    def rename(self, src, dst):
        os.rename(self.real(src), self.real(dst))

    def remove(self, path):
        os.remove(self.real(path))

    def mkdir(self, path):
        os.mkdir(self.real(path))

    def rmdir(self, path):
        os.rmdir(self.real(path))

    def listdir(self, path):
        """Names in `path`, sorted (ordering differs between filesystems)."""
        names = os.listdir(self.real(path))
        names.sort()
        return names

    def iter_names(self, path):
        """Names in `path`, unsorted, one at a time: O(1) RAM however many there are."""
        ilist = getattr(os, "ilistdir", None)
        if ilist is not None:
            for entry in ilist(self.real(path)):
                yield entry[0]
        else:  # CPython
            with os.scandir(self.real(path)) as it:
                for entry in it:
                    yield entry.name

    def stat(self, path):
        return os.stat(self.real(path))

    def statvfs(self, path):
        """(total_bytes, free_bytes) of the filesystem holding `path`."""
        st = os.statvfs(self.real(path))
        return st[0] * st[2], st[0] * st[3]

    def block_size(self, path):
        """Allocation unit of the filesystem holding `path` (FAT cluster, LittleFS block):
        a file's size on disk is a multiple of it."""
        return os.statvfs(self.real(path))[0]

    # --- derived helpers ------------------------------------------------------------------
    def exists(self, path):
        try:
            self.stat(path)
            return True
        except OSError:
            return False

    def is_dir(self, path):
        try:
            return self.stat(path)[0] & 0x4000 != 0
        except OSError:
            return False

    def size(self, path):
        return self.stat(path)[6]

    def makedirs(self, path):
        """Create `path` and missing parents; existing folders are fine."""
        if not path or path == "/" or self.is_dir(path):
            return
        self.makedirs(dirname(path))
        try:
            self.mkdir(path)
        except OSError:
            if not self.is_dir(path):
                raise

    def remove_quiet(self, path):
        try:
            self.remove(path)
            return True
        except OSError:
            return False

    def read(self, path):
        with self.open(path, "rb") as f:
            return f.read()

    def write_atomic(self, path, data):
        """Replace `path` with `data` so that a power cut at any byte leaves either the old
        or the new content at `path` (after `recover(path)`), never a mixture.

        Protocol: write `path.tmp` completely and flush it, then rename it to `path`. FAT
        refuses to rename onto an existing file, so there the temp is first renamed to
        `path.new` (a complete file), the old one removed, and `.new` renamed into place;
        `recover` finishes an interrupted switch.
        """
        with self.open_atomic(path) as f:
            f.write(data)
        self.commit_atomic(path)

    def open_atomic(self, path):
        """Open `path.tmp` for writing the next content of `path` piece by piece (for files
        too big to hold in RAM); `commit_atomic(path)` then switches it in atomically."""
        if self.exists(path + _NEW):
            # An interrupted switch left a complete `.new`: finish it first, or the next
            # recover() would roll that stale `.new` over the data written now.
            self.recover(path)
        return self.open(path + _TMP, "wb")

    def commit_atomic(self, path):
        """Make the complete, closed `path.tmp` the content of `path` (see write_atomic)."""
        tmp = path + _TMP
        try:
            self.rename(tmp, path)
        except OSError:
            new = path + _NEW
            self.remove_quiet(new)
            self.rename(tmp, new)
            self.remove_quiet(path)
            self.rename(new, path)

    def recover(self, path):
        """Finish or undo an interrupted `write_atomic` of `path`. Returns True if `path`
        exists afterwards. Safe to call at every boot."""
        new = path + _NEW
        if self.exists(new):
            # `.new` is only ever a complete file: roll the switch forward.
            self.remove_quiet(path)
            self.rename(new, path)
        self.remove_quiet(path + _TMP)  # a temp is never trusted
        return self.exists(path)

    def read_atomic(self, path):
        """Content of a file written with `write_atomic`, or None when there is none."""
        if not self.recover(path):
            return None
        return self.read(path)

    def free_bytes(self, path="/"):
        return self.statvfs(path)[1]
