"""Staging an app bundle into a free A/B slot: on the flash when it has room for another
copy, else on the SD card (slot names and paths in wildcam.ota.boot).

Guarantees:
- Room is counted in the filesystem's own units before anything is written: every file
  costs ceil(size / block) blocks (LittleFS blocks of 4 KB on the flash, FAT clusters on
  the card), every folder two blocks on LittleFS and one cluster on FAT, plus the
  manifest, its signature and the staging mark; the flash also keeps `reserve` bytes for
  the log ring and config. A bundle that fits nowhere is refused up front with the
  figures, and nothing is written.
- Slots that are neither running nor the confirmed fallback can never boot: they are
  removed first (their space is the staging space), except an interrupted staging of the
  same manifest, which is resumed: verified files are kept, a partly downloaded file goes
  on from its last flushed byte (HTTP Range), so staging can span power cuts and wakes.
- A slot being staged holds the MARK file from before its first byte to after its last
  verified one; wildcam.ota.boot never boots a marked slot, whatever the pointer says.
- Each file is streamed in fixed chunks to `<path>.tmp`, hashed on the way, renamed into
  place only when whole and hashed again from the flash/card (read-back): a slot never
  holds a torn file under its real name. Files the running slot holds with the same hash
  are copied, not downloaded.
- A hash or read-back mismatch, or a file longer than the manifest says, removes the
  staging slot; a download that keeps failing keeps it (marked) for the next attempt. The
  running install and the pointer are untouched until the one atomic pointer write that
  makes the staged slot *pending* (wildcam.ota.boot).
"""

import asyncio
import hashlib
from binascii import hexlify

from micropython import const

from wildcam.core import jsonutil
from wildcam.core.storage import dirname
from wildcam.ota import boot as ota_boot
from wildcam.ota import OtaError

MARGIN_BLOCKS = const(4)  # blocks left free on the target filesystem after staging
FLUSH_EVERY = const(32768)  # bytes of a download between flushes (what a cut can cost)
TMP = ".tmp"


def hash_file(st, path, buf):
    """Hex SHA-256 of a board file, read through `buf`."""
    h = hashlib.sha256()
    _hash_into(st, path, buf, h)
    return hexlify(h.digest()).decode()


def _hash_into(st, path, buf, h):
    with st.open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(memoryview(buf)[:n])


def file_matches(st, path, size, sha, buf):
    try:
        if st.size(path) != size:
            return False
        return hash_file(st, path, buf) == sha
    except OSError:
        return False


def walk(st, root, rel=""):
    """Relative paths of the files under root (recursive)."""
    out = []
    d = root + ("/" + rel if rel else "")
    for name in st.listdir(d):
        r = rel + "/" + name if rel else name
        if st.is_dir(root + "/" + r):
            out.extend(walk(st, root, r))
        else:
            out.append(r)
    return out


def rmtree(st, path):
    if not st.is_dir(path):
        st.remove_quiet(path)
        return
    for name in st.listdir(path):
        rmtree(st, path + "/" + name)
    try:
        st.rmdir(path)
    except OSError:
        pass


def fs_of(slot):
    return "/sd" if ota_boot.on_sd(slot) else "/"


def need_blocks(m, block, dir_blocks):
    """Blocks a slot holding manifest `m` occupies: files rounded up to whole blocks, every
    folder (the slot's own included), manifest + signature + staging mark."""
    n = 3 + dir_blocks
    dirs = {}
    for f in m["files"]:
        n += max(1, -(-f["size"] // block))
        d = dirname(f["path"])
        while d and d not in dirs:
            dirs[d] = 1
            d = dirname(d)
    return n + len(dirs) * dir_blocks


def _mark_of(st, slot):
    try:
        raw = st.read_atomic(ota_boot.slot_path(slot) + "/" + ota_boot.MARK)
        return raw.decode() if raw else None
    except (OSError, UnicodeError):
        return None


def choose(up, m, keep):
    """The slot to stage `m` into (see the module notes); raises OtaError when none has room."""
    st = up.st
    tag = "%s %d" % (m["version"], m["created"])
    sd = None
    free = []
    for s in ota_boot.FLASH_SLOTS + ota_boot.SD_SLOT_NAMES:
        if s in keep:
            continue
        if ota_boot.on_sd(s):
            if sd is None:
                sd = up.mount_sd()
            if not sd:
                continue
        if _mark_of(st, s) == tag:
            return s  # an interrupted staging of this very bundle: resume it
        free.append(s)
    for s in free:
        rmtree(st, ota_boot.slot_path(s))  # never bootable: its space is ours
    refusals = []
    tried = {}
    for s in free:
        fs = fs_of(s)
        if fs in tried:
            continue  # the other slot of a filesystem that has no room: same figures
        tried[fs] = 1
        try:
            block = st.block_size(fs)
            have = st.free_bytes(fs) // block
        except OSError as e:
            refusals.append("%s: %s" % (fs, e))
            continue
        dir_blocks = 1 if fs == "/sd" else 2
        need = need_blocks(m, block, dir_blocks) + MARGIN_BLOCKS
        if fs == "/":
            need += -(-up.flash_reserve // block)
        if need <= have:
            return s
        what = "flash" if fs == "/" else "the SD card"
        refusals.append("%s: needs %d blocks of %d KB (%d KB), %d free" % (
            what, need, block // 1024, need * block // 1024, have))
    if sd is False:
        refusals.append("no SD card to stage on")
    raise OtaError("no room for %s: %s" % (m["version"], "; ".join(refusals)))


async def stage(up, m, base, raw, sig, p):
    """Stage app manifest `m` (its bytes `raw`, signature `sig`) from `base` into a free
    slot, then switch the pointer to it (pending)."""
    cur = p["slot"]
    target = choose(up, m, (cur, p.get("good", "lib")))
    root = ota_boot.slot_path(target)
    st = up.st
    tag = "%s %d" % (m["version"], m["created"])
    wanted = {}
    for f in m["files"]:
        wanted[f["path"]] = f
    if _mark_of(st, target) != tag:
        rmtree(st, root)
        st.makedirs(root)
        up.write(root + "/" + ota_boot.MARK, tag.encode())  # before any file of the bundle
    else:  # resuming: drop what the manifest does not list (torn temporaries are resumed)
        for rel in walk(st, root):
            name = rel[:-len(TMP)] if rel.endswith(TMP) else rel
            if name not in wanted and rel != ota_boot.MARK:
                st.remove_quiet(root + "/" + rel)
    need = 0
    for f in m["files"]:
        need += f["size"]
    up.log.info("ota: staging %s into slot %s (%s)", m["version"], target, root)
    try:
        up._set("downloading", version=m["version"], total=need, bytes=0, slot=target)
        src = ota_boot.slot_path(cur)
        for f in m["files"]:
            await _stage_file(up, root, src, base, f)
        up.write(root + "/manifest.json", raw)
        up.write(root + "/manifest.json.sig", sig)
    except OtaError as e:
        if not getattr(e, "keep", False):
            rmtree(st, root)
        raise
    st.remove(root + "/" + ota_boot.MARK)  # complete: bootable from now on
    q = {}
    for k in p:
        q[k] = p[k]
    for k in ("failed", "why"):
        q.pop(k, None)
    q.update({"slot": target, "state": "pending", "version": m["version"],
              "created": m["created"], "good": cur, "good_version": p.get("version"),
              "good_created": p.get("created", 0), "gen": int(p.get("gen", 0)) + 1,
              "tries_max": up.tries_max})
    ota_boot.save_pointer(st, q)  # the atomic switch
    up.flash_written += len(jsonutil.dumps(q))


async def _stage_file(up, root, src_root, base, f):
    path, size, sha = f["path"], f["size"], f["sha256"]
    st = up.st
    buf = up.buffer()
    dst = root + "/" + path
    if file_matches(st, dst, size, sha, buf):
        return  # staged before a power cut or by an earlier attempt
    st.makedirs(dirname(dst))
    tmp = dst + TMP
    src = src_root + "/" + path
    h = hashlib.sha256()
    have = 0
    copy = file_matches(st, src, size, sha, buf)
    if not copy:
        try:
            have = st.size(tmp)
        except OSError:
            have = 0
        if have > size:
            have = 0
        if have:
            _hash_into(st, tmp, buf, h)  # what an earlier attempt flushed: go on from there
    out = st.open(tmp, "ab" if have else "wb")
    try:
        since = [0]

        def sink(part):
            out.write(part)
            up.flash_written += len(part)
            since[0] += len(part)
            if since[0] >= FLUSH_EVERY:  # what a cut or a sleep can cost
                out.flush()
                since[0] = 0

        if copy:  # unchanged: copy, do not download
            got = await _copy(st, src, sink, buf, h)
        else:
            up.progress["file"] = path
            if have:
                up.progress["bytes"] = up.progress.get("bytes", 0) + have
            got = await up.stream(base + path, size, sink, path, have, h)
    finally:
        out.close()
    if got != sha:
        st.remove_quiet(tmp)
        raise OtaError("%s: sha256 %s, manifest says %s" % (path, got[:12], sha[:12]))
    st.remove_quiet(dst)  # FAT refuses to rename onto a file
    st.rename(tmp, dst)
    if hash_file(st, dst, buf) != sha:  # read back what the flash holds
        st.remove_quiet(dst)
        raise OtaError("%s: read-back differs" % path)


async def _copy(st, src, sink, buf, h):
    with st.open(src, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            part = memoryview(buf)[:n]
            sink(part)
            h.update(part)
            await asyncio.sleep_ms(0)
    return hexlify(h.digest()).decode()
