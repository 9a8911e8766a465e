"""Signed over-the-air updates: app A/B slots and the firmware partition, health-gated.

    up = Updater(storage, log)                       # keys from wildcam.ota.key
    r = await up.apply("https://updates.example/cam/manifest.json")
    if r["reboot"]: machine.reset()                  # the new version boots *pending*
    ...
    guard = Guard(up, log, healthy=lambda: link.last_ntp is not None)
    supervisor.add("ota", guard.run)                 # confirms after the health gate, or
                                                     # rolls back and resets

A bundle is a folder: `manifest.json` (canonical JSON: sorted keys, no spaces), its
signature `manifest.json.sig` (JSON {"alg", "key", "sig"}: RSA-2048 PKCS#1 v1.5 over
SHA-256 of the manifest's exact bytes, see wildcam.ota.rsa) and the files, each at
`<folder of the manifest URL>/<path>`. Manifest fields:

    {"kind": "app" | "firmware", "version": "1.2.0", "min_version": "1.0.0",
     "created": <unix s>, "rollback": false,
     "files": [{"path": "wildcam/app.mpy", "size": 1234, "sha256": "<64 hex>"}, ...]}

A firmware manifest has exactly one file: the MicroPython image for the next OTA partition.

Guarantees:
- Nothing is written before the signature checks out and the manifest is valid: paths are
  relative, inside the slot (no `..`, no absolute, no backslash, no control characters),
  sizes and hashes well formed, the version is not lower than the confirmed one unless the
  manifest is a signed rollback newer (`created`) than the confirmed install, and the
  running version is at least `min_version`.
- Files are streamed in fixed chunks (`chunk` bytes; peak heap does not depend on the
  bundle size) into the staging slot, hashed on the way, and read back after writing; a
  short, long or different file aborts the update and removes the staging slot. The
  running install and the pointer are untouched until the one atomic pointer write that
  makes the staged slot *pending* (wildcam.ota.boot).
- A download that breaks off resumes at its offset (`retries` times). Files the staging
  slot or the running slot already hold with the same hash are not downloaded again
  (a power cut in the middle of staging costs only what was not yet verified).
- Firmware images are written to `esp32.Partition.get_next_update()` in 4096-byte blocks
  as they arrive (one block buffer), hashed, read back and hashed again before
  `set_boot()`; `Guard` calls `mark_app_valid_cancel_rollback()` only after the health
  gate; the bootloader rolls back on any reset before that.
- While an update is pending no other update is accepted.

`fetch(url, offset)` returns an iterable of byte chunks of the resource from `offset`
(`make_fetch` gives one for http://, https:// and file:/board/path URLs); tests pass
their own.
"""

import asyncio
import hashlib
import json
import time
from binascii import hexlify, unhexlify

from micropython import const

from wildcam.core import jsonutil
from wildcam.ota import boot as ota_boot
from wildcam.core.storage import dirname, is_safe_name

CHUNK = const(4096)
BLOCK = const(4096)
MAX_MANIFEST = const(16384)
MAX_FILES = const(200)
MARGIN = const(16384)  # flash left free after staging
ALG = "rsa-pkcs1v15-sha256"
_HEX = "0123456789abcdef"
_RESERVED = ("manifest.json", "manifest.json.sig")


class OtaError(Exception):
    """An update refused or aborted (nothing of the running version was touched)."""

    def __init__(self, msg):
        super().__init__(msg)


# --- pure checks (portable tests) ------------------------------------------------------------
def parse_version(v):
    """"1.2.3" -> (1, 2, 3); raises OtaError on anything else."""
    if not isinstance(v, str) or not v or len(v) > 32:
        raise OtaError("bad version %r" % (v,))
    out = []
    for part in v.split("."):
        if not part or not part.isdigit():
            raise OtaError("bad version %r" % (v,))
        out.append(int(part))
    return tuple(out)


def check_path(path):
    """Raise OtaError unless `path` is a relative path that stays inside the slot."""
    if not isinstance(path, str) or not path or len(path) > 128:
        raise OtaError("bad path %r" % (path,))
    if path[0] == "/" or "\\" in path or ":" in path:
        raise OtaError("path %r is not relative" % path)
    parts = path.split("/")
    if len(parts) > 4:
        raise OtaError("path %r is too deep" % path)
    for p in parts:
        if p in ("", ".", "..") or not is_safe_name(p):
            raise OtaError("path %r leaves the slot" % path)
    if path in _RESERVED:
        raise OtaError("path %r is reserved" % path)


def _is_hex(s, n):
    if not isinstance(s, str) or len(s) != n:
        return False
    for ch in s:
        if ch not in _HEX:
            return False
    return True


def validate(m):
    """Check the structure of a parsed manifest; returns it. Raises OtaError."""
    if not isinstance(m, dict):
        raise OtaError("manifest is not an object")
    kind = m.get("kind")
    if kind not in ("app", "firmware"):
        raise OtaError("manifest kind %r unknown" % (kind,))
    parse_version(m.get("version"))
    parse_version(m.get("min_version"))
    if not isinstance(m.get("created"), int) or isinstance(m.get("created"), bool):
        raise OtaError("manifest created must be an integer")
    if not isinstance(m.get("rollback", False), bool):
        raise OtaError("manifest rollback must be true or false")
    files = m.get("files")
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise OtaError("manifest files must be a list of 1..%d entries" % MAX_FILES)
    seen = {}
    for f in files:
        if not isinstance(f, dict):
            raise OtaError("file entry is not an object")
        check_path(f.get("path"))
        size = f.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise OtaError("file %s: bad size" % f["path"])
        if not _is_hex(f.get("sha256"), 64):
            raise OtaError("file %s: bad sha256" % f["path"])
        if f["path"] in seen:
            raise OtaError("file %s listed twice" % f["path"])
        seen[f["path"]] = 1
    if kind == "firmware":
        if len(files) != 1:
            raise OtaError("a firmware manifest has exactly one image")
    elif "wildcam/app.mpy" not in seen and "wildcam/app.py" not in seen:
        raise OtaError("an app bundle must contain wildcam/app")
    return m


def verify_signature(raw, sig_raw, keys):
    """Check the detached signature of the manifest bytes `raw`; returns the key id."""
    from wildcam.ota import rsa as ota_rsa

    if not keys:
        raise OtaError("this build trusts no OTA key (wildcam/ota/key.py is empty)")
    try:
        s = json.loads(sig_raw)
        alg, kid, sig = s["alg"], s["key"], unhexlify(s["sig"])
    except (ValueError, KeyError, TypeError):
        raise OtaError("signature file unreadable")
    if alg != ALG:
        raise OtaError("signature algorithm %r not accepted" % (alg,))
    for k in keys:
        if k[0] == kid:
            if ota_rsa.verify(k[1], sig, hashlib.sha256(raw).digest()):
                return kid
            raise OtaError("bad signature")
    raise OtaError("signed by an unknown key %r" % (kid,))


def parse(raw, sig_raw, keys):
    """Verify, then parse and validate a manifest. Raises OtaError."""
    if len(raw) > MAX_MANIFEST:
        raise OtaError("manifest too large")
    verify_signature(raw, sig_raw, keys)
    try:
        m = json.loads(raw)
    except ValueError:
        raise OtaError("manifest is not JSON")
    return validate(m)


def policy(m, confirmed, confirmed_created=0, failed=None, force=False):
    """Whether a valid manifest may be installed over the `confirmed` version: returns
    "install" or "current" (already running it); raises OtaError when refused."""
    v = parse_version(m["version"])
    if confirmed is not None:
        have = parse_version(confirmed)
        if have < parse_version(m["min_version"]):
            raise OtaError("%s needs at least %s; this is %s" % (m["version"], m["min_version"],
                                                                 confirmed))
        if v < have:
            if not m.get("rollback"):
                raise OtaError("downgrade from %s to %s refused (not a signed rollback)" % (
                    confirmed, m["version"]))
            if m["created"] <= (confirmed_created or 0):
                raise OtaError("rollback manifest older than the installed one (replay?)")
        elif v == have and not force:
            return "current"
    if failed is not None and failed == m["version"] and not force:
        raise OtaError("%s already failed its health gate here (force to retry)" % failed)
    return "install"


def base_url(url):
    """The folder of a manifest URL (query string dropped), ending in '/'."""
    q = url.find("?")
    if q >= 0:
        url = url[:q]
    return url[:url.rfind("/") + 1]


# --- fetching --------------------------------------------------------------------------------
def file_chunks(storage, path, offset=0, chunk=CHUNK):
    """Chunks of a board file from `offset` (one buffer, reused)."""
    buf = bytearray(chunk)
    mv = memoryview(buf)
    f = storage.open(path, "rb")
    try:
        if offset:
            f.seek(offset)
        while True:
            n = f.readinto(buf)
            if not n:
                return
            yield mv[:n]
    finally:
        f.close()


def http_chunks(url, offset=0, chunk=CHUNK, timeout_s=10, tls=None, connect=None):
    """A streamed HTTP/1.1 GET from `offset` (Range); needs a Content-Length. Raises
    OSError on network trouble or a 5xx (worth retrying), OtaError on other statuses."""
    from wildcam.net.http import host_header, parse_head, urlsplit

    scheme, host, port, target = urlsplit(url)
    if connect is None:
        from wildcam.net.stream import open_stream as connect
    c = connect(host, port, timeout_s, tls if scheme == "https" else None)
    try:
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: wildcam-ota\r\n" \
            % (target, host_header(scheme, host, port))
        if offset:
            req += "Range: bytes=%d-\r\n" % offset
        c.write((req + "\r\n").encode())
        head = bytearray()
        while bytes(head[-4:]) != b"\r\n\r\n":
            b = c.read(1)
            if not b:
                raise OSError(104, "connection closed in the response head")
            head += b
            if len(head) > 2048:
                raise OSError(7, "response head too long")
        _, status, reason, headers = parse_head(head[:-4])
        if status >= 500 or status in (408, 429):
            raise OSError(5, "HTTP %d %s" % (status, reason))
        if status not in (200, 206):
            raise OtaError("GET %s: HTTP %d %s" % (url, status, reason))
        if "content-length" not in headers:
            raise OSError(5, "no Content-Length")
        left = int(headers["content-length"])
        skip = offset if status == 200 else 0  # a server ignoring Range sends it all
        buf = bytearray(chunk)
        mv = memoryview(buf)
        while left > 0:
            n = min(chunk, left)
            if c.readinto(mv[:n]) != n:
                raise OSError(104, "connection closed in the body")
            left -= n
            if skip >= n:
                skip -= n
                continue
            yield mv[skip:n]
            skip = 0
    finally:
        c.close()


def make_fetch(storage=None, tls=None, timeout_s=10, chunk=CHUNK):
    """fetch(url, offset) for http(s):// URLs and file:/board/path (an SD card bundle)."""

    def fetch(url, offset=0):
        if url.startswith("file:"):
            path = url[5:]
            while path.startswith("//"):
                path = path[1:]
            return file_chunks(storage, path, offset, chunk)
        return http_chunks(url, offset, chunk, timeout_s, tls)

    return fetch


# --- the updater -----------------------------------------------------------------------------
def _running_label():
    try:
        import esp32

        return esp32.Partition(esp32.Partition.RUNNING).info()[4]
    except (ImportError, AttributeError, OSError):
        return None


class Updater:
    def __init__(self, storage, log, keys=None, fetch=None, version=None, chunk=CHUNK,
                 retries=3, tries_max=ota_boot.TRIES_MAX, partition=None, backoff_ms=1000):
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
        self._buf = None
        self.progress = {"state": "idle"}
        self.flash_written = 0  # bytes written to the filesystem and partitions (wear)

    # --- state ---------------------------------------------------------------------------------
    def pointer(self):
        p = ota_boot.load_pointer(self.st)
        if p is None:
            p = {"slot": "lib", "state": "confirmed", "version": self.factory_version,
                 "created": 0, "good": "lib", "good_version": self.factory_version,
                 "good_created": 0, "gen": 0}
        return p

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

    def _set(self, state, **kw):
        self.progress = {"state": state}
        for k in kw:
            self.progress[k] = kw[k]

    # --- apply ---------------------------------------------------------------------------------
    async def apply(self, url=None, manifest=None, sig=None, force=False):
        """Check and stage an update. Returns {"ok", "reboot", "version", "error"|"note"};
        after ok+reboot the caller flushes its logs and resets the board."""
        try:
            self._set("checking", url=url)
            if manifest is None:
                if not url:
                    raise OtaError("no manifest URL")
                manifest = self._small(url)
                sig = self._small(url + ".sig")
            if sig is None:
                raise OtaError("no signature")
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
                self._set("idle", note="already at %s" % m["version"])
                return {"ok": True, "reboot": False, "version": m["version"],
                        "note": "up to date"}
            base = base_url(url) if url else ""
            self.log.info("ota: installing %s %s (%d files)", m["kind"], m["version"],
                          len(m["files"]))
            if m["kind"] == "firmware":
                await self._apply_firmware(m, base, p)
            else:
                await self._apply_app(m, base, manifest, sig, p)
            self._set("staged", version=m["version"])
            self.log.info("ota: %s %s staged; reboot to try it", m["kind"], m["version"])
            return {"ok": True, "reboot": True, "version": m["version"]}
        except OtaError as e:
            return self._failed(str(e))
        except (OSError, ValueError, MemoryError) as e:
            return self._failed("%s %s" % (type(e).__name__, e))
        finally:
            self._buf = None

    def _failed(self, msg):
        self.log.error("ota: %s", msg)
        self._set("failed", error=msg)
        return {"ok": False, "reboot": False, "error": msg}

    def _small(self, url):
        """A small resource (manifest, signature) in RAM, resuming after breaks."""
        out = bytearray()
        fails = 0
        while True:
            try:
                for part in self.fetch(url, len(out)):
                    out += part
                    if len(out) > MAX_MANIFEST:
                        raise OtaError("%s is too large" % url)
                return bytes(out)
            except OSError as e:
                fails += 1
                if fails > self.retries:
                    raise OtaError("download of %s failed: %s %s" % (url, type(e).__name__, e))

    def _buffer(self):
        if self._buf is None:
            self._buf = bytearray(self.chunk)
        return self._buf

    async def _stream(self, url, size, sink, what):
        """Feed `size` bytes of `url` to sink(memoryview) resuming after breaks; returns
        the hex SHA-256 of what was fed."""
        h = hashlib.sha256()
        got = 0
        fails = 0
        while True:
            try:
                for part in self.fetch(url, got):
                    n = len(part)
                    if got + n > size:
                        raise OtaError("%s is longer than the manifest says" % what)
                    sink(part)
                    h.update(part)
                    got += n
                    self.progress["bytes"] = self.progress.get("bytes", 0) + n
                    await asyncio.sleep_ms(0)
                if got == size:
                    return hexlify(h.digest()).decode()
                err = "truncated at %d of %d bytes" % (got, size)
            except OSError as e:
                err = "%s %s" % (type(e).__name__, e)
            fails += 1
            if fails > self.retries:
                raise OtaError("download of %s failed: %s" % (what, err))
            self.log.warning("ota: %s: %s; resuming at %d", what, err, got)
            await asyncio.sleep_ms(self.backoff_ms * fails)

    # --- app slots -----------------------------------------------------------------------------
    def _file_matches(self, path, size, sha):
        try:
            if self.st.size(path) != size:
                return False
            return self._hash_file(path) == sha
        except OSError:
            return False

    def _hash_file(self, path):
        h = hashlib.sha256()
        buf = self._buffer()
        with self.st.open(path, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                h.update(memoryview(buf)[:n])
        return hexlify(h.digest()).decode()

    def _walk(self, root, rel=""):
        """Relative paths of the files under root (recursive)."""
        out = []
        d = root + ("/" + rel if rel else "")
        for name in self.st.listdir(d):
            r = rel + "/" + name if rel else name
            if self.st.is_dir(root + "/" + r):
                out.extend(self._walk(root, r))
            else:
                out.append(r)
        return out

    def _rmtree(self, path):
        if not self.st.is_dir(path):
            self.st.remove_quiet(path)
            return
        for name in self.st.listdir(path):
            self._rmtree(path + "/" + name)
        try:
            self.st.rmdir(path)
        except OSError:
            pass

    async def _apply_app(self, m, base, raw, sig, p):
        cur = p["slot"]
        target = "b" if "a" in (cur, p.get("good")) else "a"
        root = ota_boot.slot_path(target)
        st = self.st
        st.makedirs(root)
        st.remove_quiet(root + "/manifest.json")
        wanted = {}
        for f in m["files"]:
            wanted[f["path"]] = f
        for rel in self._walk(root):  # leftovers of an older staging
            if rel not in wanted:
                st.remove_quiet(root + "/" + rel)
        try:
            need = 0
            for f in m["files"]:
                need += f["size"]
            have = st.free_bytes("/")
            if need + MARGIN > have + self._slot_bytes(root):
                raise OtaError("needs %d bytes, %d free" % (need, have))
            self._set("downloading", version=m["version"], total=need, bytes=0)
            src = ota_boot.slot_path(cur)
            for f in m["files"]:
                await self._stage_file(root, src, base, f)
            self._write(root + "/manifest.json", raw)
            self._write(root + "/manifest.json.sig", sig)
        except OtaError:
            self._rmtree(root)
            raise
        q = {}
        for k in p:
            q[k] = p[k]
        for k in ("failed", "why"):
            q.pop(k, None)
        q.update({"slot": target, "state": "pending", "version": m["version"],
                  "created": m["created"], "good": cur, "good_version": p.get("version"),
                  "good_created": p.get("created", 0), "gen": int(p.get("gen", 0)) + 1,
                  "tries_max": self.tries_max})
        ota_boot.save_pointer(st, q)  # the atomic switch
        self.flash_written += len(jsonutil.dumps(q))

    def _slot_bytes(self, root):
        n = 0
        for rel in self._walk(root):
            try:
                n += self.st.size(root + "/" + rel)
            except OSError:
                pass
        return n

    def _write(self, path, data):
        self.st.write_atomic(path, data)
        self.flash_written += len(data)

    async def _stage_file(self, root, src_root, base, f):
        path, size, sha = f["path"], f["size"], f["sha256"]
        dst = root + "/" + path
        if self._file_matches(dst, size, sha):
            return  # staged before a power cut or by an earlier attempt
        st = self.st
        st.makedirs(dirname(dst))
        src = src_root + "/" + path
        out = st.open(dst, "wb")
        try:
            def sink(part):
                out.write(part)
                self.flash_written += len(part)

            if self._file_matches(src, size, sha):  # unchanged: copy, do not download
                got = await self._copy(src, sink)
            else:
                self.progress["file"] = path
                got = await self._stream(base + path, size, sink, path)
        finally:
            out.close()
        if got != sha:
            st.remove_quiet(dst)
            raise OtaError("%s: sha256 %s, manifest says %s" % (path, got[:12], sha[:12]))
        if self._hash_file(dst) != sha:  # read back what the flash holds
            st.remove_quiet(dst)
            raise OtaError("%s: read-back differs" % path)

    async def _copy(self, src, sink):
        h = hashlib.sha256()
        buf = self._buffer()
        with self.st.open(src, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                part = memoryview(buf)[:n]
                sink(part)
                h.update(part)
                await asyncio.sleep_ms(0)
        return hexlify(h.digest()).decode()

    # --- firmware partition --------------------------------------------------------------------
    def _running(self):
        if self._partition is not None:
            return self._partition
        import esp32

        return esp32.Partition(esp32.Partition.RUNNING)

    async def _apply_firmware(self, m, base, p):
        f = m["files"][0]
        size, sha = f["size"], f["sha256"]
        run = self._running()
        nxt = run.get_next_update()
        bs = BLOCK
        if size == 0 or size > nxt.ioctl(4, 0) * bs:
            raise OtaError("image of %d bytes does not fit partition %s" % (size, nxt.info()[4]))
        self._set("downloading", version=m["version"], total=size, bytes=0)
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
                    self.flash_written += bs
                    state[0] = 0
                    state[1] += 1

        got = await self._stream(base + f["path"], size, sink, f["path"])
        if state[0]:
            for i in range(state[0], bs):
                buf[i] = 0xFF
            nxt.writeblocks(state[1], buf)
            self.flash_written += bs
        if got != sha:
            raise OtaError("image sha256 %s, manifest says %s" % (got[:12], sha[:12]))
        h = hashlib.sha256()  # read back what the partition now holds
        left = size
        blk = 0
        while left > 0:
            nxt.readblocks(blk, buf)
            n = min(bs, left)
            h.update(memoryview(buf)[:n])
            left -= n
            blk += 1
            await asyncio.sleep_ms(0)
        if hexlify(h.digest()).decode() != sha:
            raise OtaError("image read-back differs")
        label = nxt.info()[4]
        old = p.get("fw") if isinstance(p.get("fw"), dict) else {}
        q = {}
        for k in p:
            q[k] = p[k]
        q["gen"] = int(p.get("gen", 0)) + 1
        q["tries_max"] = self.tries_max
        q["fw"] = {"state": "pending", "version": m["version"], "created": m["created"],
                   "label": label, "prev": run.info()[4],
                   "good_version": old.get("good_version"),
                   "good_created": old.get("good_created", 0)}
        # the pointer first: a cut before set_boot() leaves a "pending" image that never
        # runs, which boot_check() then records as failed
        ota_boot.save_pointer(self.st, q)
        try:
            nxt.set_boot()
        except OSError as e:
            q["fw"]["state"] = "failed"
            q["fw"]["why"] = "set_boot: %s" % e
            ota_boot.save_pointer(self.st, q)
            raise OtaError("the bootloader refused the image (%s)" % e)

    # --- after the reboot ----------------------------------------------------------------------
    def boot_check(self):
        """At start-up: notice a firmware image the bootloader already rolled back."""
        p = ota_boot.load_pointer(self.st)
        fw = p.get("fw") if p else None
        if isinstance(fw, dict) and fw.get("state") == "pending":
            running = self._running().info()[4] if self._partition is not None \
                else _running_label()
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
            if self._partition is not None:
                type(self._partition).mark_app_valid_cancel_rollback()
            else:
                import esp32

                esp32.Partition.mark_app_valid_cancel_rollback()
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


# --- the health gate -------------------------------------------------------------------------
class Guard:
    """Confirms a pending install after the health gate, or rolls it back.

    While something is pending it feeds the watchdog that boot.py started (a blocked loop
    therefore resets the board, which counts as a failed boot), unless `feed_wdt` is False
    because the App's own progress watchdog (wildcam.manage.health.Watchdog) feeds it. The gate passes when the
    firmware has run `min_run_ms` and the network answered at least once (`note()` from
    the App, or `healthy()` returning True); after `deadline_ms` without that the install
    is rejected and `reset()` called. Once confirmed the watchdog is still fed (an ESP32
    watchdog cannot be stopped)."""

    def __init__(self, updater, log, healthy=None, min_run_ms=120000, deadline_ms=900000,
                 wdt_ms=ota_boot.WDT_MS, feed_ms=5000, safe_mode=False, reset=None,
                 feed_wdt=True, alive=None):
        self.up = updater
        self.log = log
        self.healthy = healthy
        self.min_run_ms = min_run_ms
        self.deadline_ms = deadline_ms
        self.wdt_ms = wdt_ms
        self.feed_ms = feed_ms
        self.safe_mode = safe_mode
        self._reset = reset
        self.feed_wdt = feed_wdt  # False when the App's own watchdog (health.Watchdog) runs
        self.alive = alive  # progress report for the supervisor (sup.beat("ota"))
        self._ok = False
        self._t0 = time.ticks_ms()
        self.watching = False

    def note(self, what="network"):
        """The App saw the network answer (broker round trip, outbox drained, NTP)."""
        self._ok = True

    def may_sleep(self):
        """Deep sleep would end the trial boot early: wait for the verdict."""
        return not self.watching

    def _healthy(self):
        if self._ok:
            return True
        try:
            return bool(self.healthy and self.healthy())
        except Exception:  # noqa: BLE001 - a broken check is a failed check
            return False

    def _do_reset(self):
        if self._reset is not None:
            self._reset()
        else:
            import machine

            machine.reset()

    async def run(self):
        up = self.up
        up.boot_check()
        self.watching = up.pending()
        if not self.watching:
            while True:
                if self.alive is not None:
                    self.alive()
                await asyncio.sleep_ms(self.feed_ms)
        wdt = None
        if self.feed_wdt:
            import machine

            wdt = machine.WDT(timeout=self.wdt_ms)
        if self.safe_mode:
            up.reject("safe mode")
            self._do_reset()
        self.log.info("ota: trial boot; health gate after %d s", self.min_run_ms // 1000)
        while True:
            if wdt is not None:
                wdt.feed()
            if self.alive is not None:
                self.alive()
            if self.watching:
                ran = time.ticks_diff(time.ticks_ms(), self._t0)
                if ran >= self.min_run_ms and self._healthy():
                    up.confirm()
                    self.watching = False
                elif ran >= self.deadline_ms:
                    up.reject("health gate: no network answer in %d s" % (ran // 1000))
                    self._do_reset()
            await asyncio.sleep_ms(self.feed_ms)


async def watch(updater, url, every_ms, ready=None, reboot=None):
    """Periodic check of a manifest URL (when `ready()`); resets after staging."""
    while True:
        if not updater.pending() and (ready is None or ready()):
            r = await updater.apply(url)
            if r.get("reboot"):
                if reboot is not None:
                    reboot()
                else:
                    import machine

                    machine.reset()
        await asyncio.sleep_ms(every_ms)
