"""Signed over-the-air updates: app A/B slots and the firmware partition, health-gated.

    up = Updater(storage, log)                       # keys from wildcam.ota.key
    r = await up.apply("https://updates.example/cam/manifest.json")
    if r["reboot"]: machine.reset()                  # the new version boots *pending*
    ...
    guard = Guard(up, log, healthy=lambda: link.last_ntp is not None)   # wildcam.ota.guard
    supervisor.add("ota", guard.run)                 # confirms after the health gate, or
                                                     # rolls back and resets

The parts: `manifest` (bundle format, signature, policy), `fetch` (where bytes come from),
`slot` (staging an app bundle), `partition` (a firmware image), `guard` (the health gate),
`boot` (boot.py's slot choice and trial-boot counting).

Guarantees:
- Nothing is written before the signature checks out and the manifest is valid and allowed
  by the policy (wildcam.ota.manifest).
- Files are streamed in fixed chunks (`chunk` bytes; peak heap does not depend on the
  bundle size). A download that breaks off resumes at its offset (`retries` times).
- The running install and the pointer are untouched until the one atomic pointer write
  that makes the staged slot or image *pending* (wildcam.ota.slot, wildcam.ota.partition).
- While an update is pending no other update is accepted.
- `apply()` never raises: every failure is a result {"ok": False, "error": ...}, logged.
- The time of the last check that got an answer (a manifest was read and decided on) is
  kept on the flash (CHECKED), so it survives deep sleep and power loss: `due(every_s)`
  tells a battery board's next radio wake whether to check. A check cut short (no
  manifest, a download given up: `resume` in the result) is not recorded, so the next
  wake tries again, resuming the staged part.
"""

import asyncio
import hashlib
from binascii import hexlify

from wildcam.core.errors import Retry
from wildcam.ota import MAX_MANIFEST, OtaError
from wildcam.ota import boot as ota_boot
from wildcam.ota.fetch import CHUNK, chunks_of, make_fetch

FLASH_RESERVE = 96 * 1024  # the log ring's 64 KB and room for config writes
CHECKED = "/slots/checked"  # Unix seconds of the last answered check


def _clock_now():
    try:
        from wildcam.core import clock

        return clock.now()
    except Exception:  # noqa: BLE001 - no machine.RTC here (tests): time unknown, check
        return None


class Updater:
    def __init__(self, storage, log, keys=None, fetch=None, version=None, chunk=CHUNK,
                 retries=3, tries_max=ota_boot.TRIES_MAX, partition=None, backoff_ms=1000,
                 flash_reserve=FLASH_RESERVE, mount_sd=None, now=None):
        self.st = storage
        self.log = log
        if keys is None:
            from wildcam.ota.key import KEYS as keys
        self.keys = keys
        self.fetch = fetch or make_fetch(storage)
        if version is None:
            from wildcam.core.version import VERSION as version
        self.factory_version = version  # what /lib holds when no pointer exists
        self.chunk = chunk
        self.retries = retries
        self.backoff_ms = backoff_ms
        self.tries_max = tries_max
        self._partition = partition  # esp32.Partition-like RUNNING partition (tests)
        self.flash_reserve = flash_reserve  # bytes of flash staging leaves to logs/config
        self._mount_sd = mount_sd  # () -> True when /sd is usable (default: mount it)
        self._now = now or _clock_now  # () -> Unix seconds or None (clock not set)
        self._answered = False  # this apply() read a manifest (the server answered)
        self.wanted = False  # a periodic check is due (wildcam.ota.guard.watch sets it)
        self._buf = None
        self.progress = {}  # state, then figures of other types
        self.progress["state"] = "idle"
        self.flash_written = 0  # bytes written to the filesystem and partitions (wear)

    # --- state ---------------------------------------------------------------------------------
    def pointer(self):
        p = ota_boot.load_pointer(self.st)
        if p is None:
            p = {"slot": "lib", "state": "confirmed", "version": self.factory_version,
                 "created": 0, "good": "lib", "good_version": self.factory_version,
                 "good_created": 0, "gen": 0}
        for k, slot in (("version", "slot"), ("good_version", "good")):
            if p.get(k) is None and p.get(slot, "lib") == "lib":
                p[k] = self.factory_version  # back on the factory install
        return p

    def mount_sd(self):
        """True when the SD card is usable for an app slot."""
        if self._mount_sd is not None:
            return bool(self._mount_sd())
        from wildcam.core import board

        return board.mount_sd(self.st)

    def pending(self):
        """True while an app slot or a firmware image awaits confirmation."""
        p = self.pointer()
        fw = p.get("fw")
        return p.get("state") == "pending" or (isinstance(fw, dict) and
                                               fw.get("state") == "pending")

    def status(self):
        """For the health report: what runs, what is pending, the last outcome."""
        p = self.pointer()
        out = {"version": p.get("version"), "slot": p.get("slot"), "state": p.get("state"),
               "confirmed": p.get("good_version"), "progress": self.progress}
        for k in ("failed", "why"):
            if p.get(k):
                out[k] = p[k]
        if isinstance(p.get("fw"), dict):
            out["fw"] = p["fw"]
        return out

    def busy(self):
        """True while a check or a download is under way (a battery board stays up)."""
        return self.progress.get("state") in ("checking", "downloading")

    def last_check(self):
        """Unix seconds of the last answered check (kept on flash), or None."""
        try:
            raw = self.st.read_atomic(CHECKED)
            return int(raw) if raw else None
        except (OSError, ValueError):
            return None

    def due(self, every_s):
        """True when a check is due: never checked, `every_s` passed since the last answered
        one, or the clock is not set / went back (then checking is the safe side)."""
        last = self.last_check()
        now = self._now()
        return last is None or now is None or now < last or now - last >= every_s

    def _checked(self):
        now = self._now()
        if now is not None:
            try:
                self.st.makedirs(ota_boot.SLOTS)
                self.st.write_atomic(CHECKED, str(now).encode())
            except OSError as e:
                self.log.warning("ota: cannot record the check: %s", e)

    def _set(self, state, **kw):
        self.progress = {}
        self.progress["state"] = state
        for k in kw:
            self.progress[k] = kw[k]

    # --- apply ---------------------------------------------------------------------------------
    async def apply(self, url=None, manifest=None, sig=None, force=False):
        """Check and stage an update. Returns {"ok", "reboot", "version", "error"|"note"};
        after ok+reboot the caller flushes its logs and resets the board."""
        self._answered = False
        try:
            self._set("checking", url=url)
            if manifest is None:
                if not url:
                    raise OtaError("no manifest URL")
                manifest = await self._small(url)
                sig = await self._small(url + ".sig")
            if sig is None:
                raise OtaError("no signature")
            from wildcam.ota.manifest import base_url, parse, policy  # only when updating

            self._answered = True  # from here on the outcome is this manifest's
            m = parse(manifest, sig, self.keys)
            p = self.pointer()
            if self.pending():
                raise OtaError("an update is awaiting confirmation")
            if m["kind"] == "firmware":
                fw = p.get("fw") if isinstance(p.get("fw"), dict) else {}
                what = policy(m, fw.get("good_version"), fw.get("good_created", 0),
                              fw.get("failed"), force)
            else:
                what = policy(m, p.get("good_version"), p.get("good_created", 0),
                              p.get("failed"), force)
            if what == "current":
                self._checked()
                self._set("idle", note="already at %s" % m["version"])
                return {"ok": True, "reboot": False, "version": m["version"],
                        "note": "up to date"}
            base = base_url(url) if url else ""
            self.log.info("ota: installing %s %s (%d files)", m["kind"], m["version"],
                          len(m["files"]))
            if m["kind"] == "firmware":
                from wildcam.ota import partition

                await partition.stage(self, m, base, p)
            else:
                from wildcam.ota import slot

                await slot.stage(self, m, base, manifest, sig, p)
            # (not recorded: the pointer switch is the last write of an install; the check
            # after the trial answers "up to date" and is recorded then)
            self._set("staged", version=m["version"])
            self.log.info("ota: %s %s staged; reboot to try it", m["kind"], m["version"])
            return {"ok": True, "reboot": True, "version": m["version"]}
        except OtaError as e:
            return self._failed(str(e), e.keep)
        except Exception as e:  # noqa: BLE001 - whatever a download provokes: a result
            return self._failed("%s %s" % (type(e).__name__, e), not self._answered)
        finally:
            self._buf = None

    def _failed(self, msg, resume=False):
        """`resume`: cut short (no answer from the server, or a download given up with its
        part kept): the check is not recorded, the next radio wake tries again. Any other
        refusal (HTTP 4xx, signature, policy) is this check's answer."""
        if not resume:
            self._checked()
        self.log.error("ota: %s", msg)
        self._set("failed", error=msg)
        r = {"ok": False, "reboot": False, "error": msg}
        if resume:
            r["resume"] = True
        return r

    async def _small(self, url):
        """A small resource (manifest, signature) in RAM, resuming after breaks."""
        out = bytearray()
        fails = 0
        while True:
            src = None
            try:
                src = chunks_of(self.fetch(url, len(out)))
                while True:
                    part = await src.next()
                    if part is None:
                        break
                    out += part
                    if len(out) > MAX_MANIFEST:
                        raise OtaError("%s is too large" % url)
                return bytes(out)
            except (OSError, Retry) as e:  # a break, a stall, a reply not HTTP
                what = "download of %s failed: %s %s" % (url, type(e).__name__, e)
                if isinstance(e, OSError) and e.args and e.args[0] == 2:
                    raise OtaError(what)  # a file: URL naming no file: an answer
                fails += 1
                if fails > self.retries:
                    raise OtaError(what, keep=True)  # no answer: the next wake tries again
            finally:
                if src is not None:
                    src.close()

    def buffer(self):
        """The one chunk buffer of this update (freed when apply() returns)."""
        if self._buf is None:
            self._buf = bytearray(self.chunk)
        return self._buf

    async def stream(self, url, size, sink, what, start=0, h=None):
        """Feed `size` bytes of `url` to sink(memoryview) resuming after breaks; returns
        the hex SHA-256 of what was fed. `start` bytes are had already (their hash in
        `h`): the download begins there. Giving up raises OtaError with `keep` (what was
        flushed so far is worth resuming)."""
        if h is None:
            h = hashlib.sha256()
        got = start
        if got == size:  # all of it was had (a cut between the last byte and the rename)
            return hexlify(h.digest()).decode()
        fails = 0
        while True:
            src = None
            try:
                src = chunks_of(self.fetch(url, got))
                while True:
                    part = await src.next()
                    if part is None:
                        break
                    n = len(part)
                    if got + n > size:
                        raise OtaError("%s is longer than the manifest says" % what)
                    sink(part)
                    h.update(part)
                    got += n
                    self.progress["bytes"] = self.progress.get("bytes", 0) + n
                    await asyncio.sleep_ms(0)  # a flash write per chunk: let others run
                if got == size:
                    return hexlify(h.digest()).decode()
                err = "truncated at %d of %d bytes" % (got, size)
            except (OSError, Retry) as e:  # a break, a stall, a reply not HTTP
                err = "%s %s" % (type(e).__name__, e)
            finally:
                if src is not None:
                    src.close()
            fails += 1
            if fails > self.retries:
                raise OtaError("download of %s failed: %s" % (what, err), keep=True)
            self.log.warning("ota: %s: %s; resuming at %d", what, err, got)
            await asyncio.sleep_ms(self.backoff_ms * fails)

    def write(self, path, data):
        """A small file of the bundle, atomically; counted as flash written."""
        self.st.write_atomic(path, data)
        self.flash_written += len(data)

    # --- after the reboot ----------------------------------------------------------------------
    def boot_check(self):
        """At start-up: notice a firmware image the bootloader already rolled back."""
        p = ota_boot.load_pointer(self.st)
        fw = p.get("fw") if p else None
        if isinstance(fw, dict) and fw.get("state") == "pending":
            from wildcam.ota import partition

            running = partition.running_label(self)
            if running is not None and running != fw.get("label"):
                fw["state"] = "failed"
                fw["failed"] = fw.get("version")
                fw["why"] = "the bootloader rolled back to %s" % running
                ota_boot.save_pointer(self.st, p)
                self.log.error("ota: firmware %s was rolled back", fw.get("version"))

    def confirm(self):
        """The health gate passed: keep what runs (pointer, bootloader)."""
        p = ota_boot.load_pointer(self.st)
        if p is None:
            return False
        changed = False
        if p.get("state") == "pending":
            p["state"] = "confirmed"
            p["good"] = p["slot"]
            p["good_version"] = p.get("version")
            p["good_created"] = p.get("created", 0)
            p.pop("failed", None)
            p.pop("why", None)
            changed = True
            self.log.info("ota: %s confirmed", p.get("version"))
        fw = p.get("fw")
        if isinstance(fw, dict) and fw.get("state") == "pending":
            from wildcam.ota import partition

            partition.mark_valid(self)
            fw["state"] = "confirmed"
            fw["good_version"] = fw.get("version")
            fw["good_created"] = fw.get("created", 0)
            changed = True
            self.log.info("ota: firmware %s confirmed", fw.get("version"))
        if changed:
            ota_boot.save_pointer(self.st, p)
        self._set("confirmed" if changed else "idle")
        return changed

    def reject(self, why):
        """The health gate failed: point back at the confirmed install; the caller resets
        (the bootloader then also undoes a pending firmware image)."""
        p = ota_boot.load_pointer(self.st)
        if p is None:
            return False
        self.log.error("ota: rejecting %s: %s", p.get("version"), why)
        fw = p.get("fw")
        if isinstance(fw, dict) and fw.get("state") == "pending":
            fw["state"] = "failed"
            fw["failed"] = fw.get("version")
            fw["why"] = why
            if p.get("state") != "pending":
                ota_boot.save_pointer(self.st, p)
        if p.get("state") == "pending":
            ota_boot.rollback(self.st, p, why)
        self._set("rejected", why=why)
        return True
