"""How MicroPython's two filesystems account for space and fail when they are full.

Portable (CPython and MicroPython): `host_sim.storage.SimStorage` uses it for the simulated
boards, and the portable tests' full-disk storage (tests/portable/fullfs.py) for runs under
the real interpreter, so both fail the same way. Sources (MicroPython 1.27 tree):

FAT, the SD card (extmod/vfs_fat_file.c `file_obj_write`; lib/oofatfs/ff.c `f_write`,
`f_mkdir`, `f_getfree`):
- space comes in clusters; a file owns ceil(size / cluster) of them, a directory one.
- `f_write` fills the file's last cluster and then allocates one cluster at a time; when
  none is left it stops (`clst == 0`, "disk full") and returns FR_OK with fewer bytes
  written. `file_obj_write` turns that into ENOSPC, and `stream.write` raises it after the
  bytes that fitted were written: a SHORT write. They stay in the file (close syncs them).
- overwriting bytes the file already owns never allocates, so it never fails for space.
- `mkdir` without a free cluster fails with FR_DENIED, i.e. EACCES (13), not ENOSPC.
- `open(path, "w")` frees the old clusters at once.
- statvfs: f_bsize = cluster size, f_bfree = free clusters.

LittleFS, the internal flash (extmod/vfs_lfsx_file.c; lib/littlefs/lfs2.c
`lfs2_file_flushedwrite`, `lfs2_ctz_extend`, `lfs2_file_sync_`, `lfs2_file_close_`):
- space comes in blocks (4096 B on the ESP32); a directory is a metadata pair (2 blocks).
- writes are copy-on-write: every write allocates new blocks from the block holding its
  first byte to the end of the file (an append to a part-filled block copies that block);
  the old blocks are released when the file is synced (flush or close).
- when `lfs2_alloc` finds no block the write returns LFS_ERR_NOSPC (ENOSPC, 28) and marks
  the file erred; `file_close` of an erred file does not sync, so the file stays as it was
  at its last sync: nothing of the failed write (nor of earlier unsynced writes through the
  same handle) reaches the disk. A later successful write clears the error.
- `open(path, "w")` truncates only in RAM until the file is synced: until then the old
  content (and its blocks) are still there.
- statvfs: f_bsize = block size, f_bfree = blocks not found by a traversal.

Simplifications (each makes the model stricter than the board, never more forgiving):
LittleFS inline files (up to ~128 B stored in the directory's metadata) are charged a
block; metadata commits and FAT directory growth cost nothing extra.
"""

FAT = "fat"
LFS = "lfs"
ENOSPC = 28
EACCES = 13


class Volume:
    """Space accounting and full-disk decisions of one filesystem."""

    def __init__(self, kind, capacity, block):
        if kind not in (FAT, LFS):
            raise ValueError("kind must be fat or lfs")
        self.kind = kind
        self.capacity = int(capacity)
        self.block = int(block)
        self.used = 0

    def blocks(self, size):
        """Bytes `size` bytes of file occupy (whole clusters or blocks)."""
        b = self.block
        return -(-size // b) * b

    def free(self):
        return max(0, self.capacity - self.used)

    def dir_bytes(self):
        return self.block * (1 if self.kind == FAT else 2)

    def mkdir(self):
        """Charge a new directory, or raise as the filesystem does when there is no room."""
        if self.dir_bytes() > self.free():
            if self.kind == FAT:
                raise OSError(EACCES, "FAT: no free cluster for a directory")
            raise OSError(ENOSPC, "LittleFS: no free blocks for a directory")
        self.used += self.dir_bytes()

    def rmdir(self):
        self.used -= self.dir_bytes()

    def release(self, size):
        """A file of `size` bytes is gone (removed, truncated, replaced)."""
        self.used -= self.blocks(size)

    def write(self, size, pos, n):
        """A write of `n` bytes at `pos` into a file now `size` bytes long: returns (bytes
        that land, errno raised after them or 0) and charges what landed."""
        if n <= 0:
            return 0, 0
        b = self.block
        if self.kind == FAT:
            room = self.blocks(size) + (self.free() // b) * b - pos
            landed = max(0, min(n, room))
        else:
            end = max(size, pos + n)
            need = (-(-end // b) - pos // b) * b  # copy-on-write from pos's block to the end
            landed = n if need <= (self.free() // b) * b else 0
        if landed:
            self.used += self.blocks(max(size, pos + landed)) - self.blocks(size)
        return landed, (ENOSPC if landed < n else 0)
