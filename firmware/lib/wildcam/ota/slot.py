"""Staging an app bundle into the other A/B slot (/slots/a or /slots/b).

Guarantees:
- Files are streamed in fixed chunks into the staging slot, hashed on the way, and read
  back after writing; a short, long or different file aborts the update and removes the
  staging slot. The running install and the pointer are untouched until the one atomic
  pointer write that makes the staged slot *pending* (wildcam.ota.boot).
- Files the staging slot or the running slot already hold with the same hash are not
  downloaded again (a power cut in the middle of staging costs only what was not yet
  verified); leftovers of an older staging that the manifest does not list are removed.
- Staging needs the bundle's size plus MARGIN free on the filesystem, checked first.
"""

import asyncio
import hashlib
from binascii import hexlify

from micropython import const

from wildcam.core import jsonutil
from wildcam.core.storage import dirname
from wildcam.ota import boot as ota_boot
from wildcam.ota import OtaError

MARGIN = const(16384)  # flash left free after staging


def hash_file(st, path, buf):
    """Hex SHA-256 of a board file, read through `buf`."""
    h = hashlib.sha256()
    with st.open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(memoryview(buf)[:n])
    return hexlify(h.digest()).decode()


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


def slot_bytes(st, root):
    n = 0
    for rel in walk(st, root):
        try:
            n += st.size(root + "/" + rel)
        except OSError:
            pass
    return n


async def stage(up, m, base, raw, sig, p):
    """Stage app manifest `m` (its bytes `raw`, signature `sig`) from `base` into the slot
    that is neither running nor confirmed, then switch the pointer to it (pending)."""
    cur = p["slot"]
    target = "b" if "a" in (cur, p.get("good")) else "a"
    root = ota_boot.slot_path(target)
    st = up.st
    st.makedirs(root)
    st.remove_quiet(root + "/manifest.json")
    wanted = {}
    for f in m["files"]:
        wanted[f["path"]] = f
    for rel in walk(st, root):  # leftovers of an older staging
        if rel not in wanted:
            st.remove_quiet(root + "/" + rel)
    try:
        need = 0
        for f in m["files"]:
            need += f["size"]
        have = st.free_bytes("/")
        if need + MARGIN > have + slot_bytes(st, root):
            raise OtaError("needs %d bytes, %d free" % (need, have))
        up._set("downloading", version=m["version"], total=need, bytes=0)
        src = ota_boot.slot_path(cur)
        for f in m["files"]:
            await _stage_file(up, root, src, base, f)
        up.write(root + "/manifest.json", raw)
        up.write(root + "/manifest.json.sig", sig)
    except OtaError:
        rmtree(st, root)
        raise
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
    src = src_root + "/" + path
    out = st.open(dst, "wb")
    try:
        def sink(part):
            out.write(part)
            up.flash_written += len(part)

        if file_matches(st, src, size, sha, buf):  # unchanged: copy, do not download
            got = await _copy(st, src, sink, buf)
        else:
            up.progress["file"] = path
            got = await up.stream(base + path, size, sink, path)
    finally:
        out.close()
    if got != sha:
        st.remove_quiet(dst)
        raise OtaError("%s: sha256 %s, manifest says %s" % (path, got[:12], sha[:12]))
    if hash_file(st, dst, buf) != sha:  # read back what the flash holds
        st.remove_quiet(dst)
        raise OtaError("%s: read-back differs" % path)


async def _copy(st, src, sink, buf):
    h = hashlib.sha256()
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
