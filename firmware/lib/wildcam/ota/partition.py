"""Full-firmware OTA through `esp32.Partition`: the image goes to the next OTA partition.

Guarantees:
- The image is written to `get_next_update()` in 4096-byte blocks as it arrives (one
  block buffer), hashed, read back and hashed again before `set_boot()`; the first byte
  must be the ESP32 image magic 0xE9.
- The pointer records the pending image *before* `set_boot()`: a cut in between leaves a
  "pending" image that never runs, which `Updater.boot_check()` then records as failed.
- `Guard` calls `mark_app_valid_cancel_rollback()` only after the health gate; the
  bootloader rolls back on any reset before that.
"""

import asyncio
import hashlib
from binascii import hexlify

from micropython import const

from wildcam.ota import boot as ota_boot
from wildcam.ota import OtaError

BLOCK = const(4096)


def running(up):
    """The RUNNING partition (the test's stand-in when the updater was given one)."""
    if up._partition is not None:
        return up._partition
    import esp32

    return esp32.Partition(esp32.Partition.RUNNING)  # pyright: ignore[reportArgumentType]  # stub gap: Partition(id) typed str; RUNNING is an int


def running_label(up):
    """Label of the running partition, or None off a board."""
    if up._partition is not None:
        return up._partition.info()[4]
    try:
        import esp32

        return esp32.Partition(esp32.Partition.RUNNING).info()[4]  # pyright: ignore[reportArgumentType]  # stub gap: as above
    except (ImportError, AttributeError, OSError):
        return None


def mark_valid(up):
    if up._partition is not None:
        type(up._partition).mark_app_valid_cancel_rollback()
    else:
        import esp32

        esp32.Partition.mark_app_valid_cancel_rollback()


async def stage(up, m, base, p):
    """Write firmware manifest `m`'s image to the next partition and make it boot next."""
    f = m["files"][0]
    size, sha = f["size"], f["sha256"]
    run = running(up)
    nxt = run.get_next_update()
    bs = BLOCK
    if size == 0 or size > nxt.ioctl(4, 0) * bs:
        raise OtaError("image of %d bytes does not fit partition %s" % (size, nxt.info()[4]))
    up._set("downloading", version=m["version"], total=size, bytes=0)
    buf = bytearray(bs)
    state = [0, 0]  # bytes in buf, next block

    def sink(part):
        mv = memoryview(part)
        while len(mv):
            fill = state[0]
            if state[1] == 0 and fill == 0 and mv[0] != 0xE9:
                raise OtaError("not an ESP32 application image")
            n = min(bs - fill, len(mv))
            buf[fill:fill + n] = mv[:n]
            mv = mv[n:]
            state[0] = fill + n
            if state[0] == bs:
                nxt.writeblocks(state[1], buf)  # erases the block, then writes it
                up.flash_written += bs
                state[0] = 0
                state[1] += 1

    got = await up.stream(base + f["path"], size, sink, f["path"])
    if state[0]:
        for i in range(state[0], bs):
            buf[i] = 0xFF
        nxt.writeblocks(state[1], buf)
        up.flash_written += bs
    if got != sha:
        raise OtaError("image sha256 %s, manifest says %s" % (got[:12], sha[:12]))
    if await _read_back(nxt, size, buf) != sha:
        raise OtaError("image read-back differs")
    _switch(up, m, p, run, nxt)


async def _read_back(part, size, buf):
    h = hashlib.sha256()
    left = size
    blk = 0
    while left > 0:
        part.readblocks(blk, buf)
        n = min(len(buf), left)
        h.update(memoryview(buf)[:n])
        left -= n
        blk += 1
        await asyncio.sleep_ms(0)
    return hexlify(h.digest()).decode()


def _switch(up, m, p, run, nxt):
    label = nxt.info()[4]
    old = p.get("fw") if isinstance(p.get("fw"), dict) else {}
    q = {}
    for k in p:
        q[k] = p[k]
    q["gen"] = int(p.get("gen", 0)) + 1
    q["tries_max"] = up.tries_max
    q["fw"] = {"state": "pending", "version": m["version"], "created": m["created"],
               "label": label, "prev": run.info()[4],
               "good_version": old.get("good_version"),
               "good_created": old.get("good_created", 0)}
    ota_boot.save_pointer(up.st, q)  # first: see the module's guarantees
    try:
        nxt.set_boot()
    except OSError as e:
        q["fw"]["state"] = "failed"
        q["fw"]["why"] = "set_boot: %s" % e
        ota_boot.save_pointer(up.st, q)
        raise OtaError("the bootloader refused the image (%s)" % e)
