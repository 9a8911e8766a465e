"""Images on the SD card: names, EXIF, streamed writes, sidecars, the pending-burst marker.

Guarantees:
- Only whole files get final names: a JPEG is streamed to `<name>.part` in fixed chunks
  (yielding after each: a long SD write never holds the loop) and renamed when complete;
  its sidecar is written atomically after it.
- Names never come from an unset clock: `/sd/DCIM/YYYYMMDD/HHMMSS_B<boot>_<n>.jpg` when the
  clock is set, `/sd/DCIM/B<boot>/U<uptime>_<n>.jpg` when it is not (the sidecar says which);
  an existing name is never overwritten (a repeated boot number gets the next free `n`).
- `PENDING` lists the images of a burst taken but not yet handed to the outbox (a PIR wake
  photographs before the outbox exists, and a verdict follows the burst): a reset in
  between leaves it, and the next boot hands those images over (`take_pending`).
"""

import asyncio
import hashlib
import json
import time
from binascii import hexlify

from wildcam.capture import exif
from wildcam.core import clock, jsonutil
from wildcam.core.version import VERSION

CHUNK = 4096
DCIM = "/sd/DCIM"
PENDING = DCIM + "/pending.json"


class Store:
    def __init__(self, config, storage, log, boot_no, device_id, boot_ms=None):
        self._cfg = config
        self._st = storage
        self._log = log
        self._earlier = None  # marker entries of earlier boots (None: not read yet)
        self._mine = []  # this boot's burst awaiting its verdict
        self._boot_no = boot_no
        self.device_id = device_id
        self._boot_ms = time.ticks_ms() if boot_ms is None else boot_ms  # uptime from here
        self.count = 0  # images saved this boot (the `n` of their names)
        self.deployment = None  # wildcam.manage.health.Deployment (set by the App)

    def next_path(self, ts):
        """(folder, file name) for the next image; never based on an unset clock."""
        while True:
            self.count += 1
            if ts is None:
                folder = "%s/B%05d" % (DCIM, self._boot_no)
                up = time.ticks_diff(time.ticks_ms(), self._boot_ms) // 1000
                name = "U%06d_%04d.jpg" % (up, self.count)
            else:
                rem = int(ts) % 86400
                folder = "%s/%s" % (DCIM, clock.ymd(ts))
                name = "%02d%02d%02d_B%05d_%04d.jpg" % (rem // 3600, rem // 60 % 60, rem % 60,
                                                         self._boot_no, self.count)
            if not self._st.exists(folder + "/" + name):
                return folder, name

    def _exif(self, ts, meta):
        if not self._cfg.get("storage.exif"):
            return b""
        when = None
        tz = self._cfg.get("time.tz_offset_min")
        if ts is not None:
            local = clock.rtc_from_unix(ts + tz * 60)
            when = "%04d:%02d:%02d %02d:%02d:%02d" % (local[0], local[1], local[2],
                                                       local[4], local[5], local[6])
        lat, lon = self._cfg.get("device.lat"), self._cfg.get("device.lon")
        return exif.segment(when, serial=self.device_id, description=meta.get("event"),
                            lat=lat, lon=lon, software="WildCAM " + VERSION, offset_min=tz)

    async def save(self, frame, meta=None):
        """Stream `frame` to the SD card with EXIF, hashing it on the way, then write its
        sidecar; returns (path, size, sha256 hex)."""
        meta = meta or {}
        ts = clock.now()
        folder, name = self.next_path(ts)
        self._st.makedirs(folder)
        path = folder + "/" + name
        tmp = path + ".part"
        h = hashlib.sha256()
        app1 = self._exif(ts, meta)
        size = 0
        with self._st.open(tmp, "wb") as f:
            if app1:
                parts = exif.jpeg_parts(frame, app1, CHUNK)
            else:
                mv = memoryview(frame)
                parts = (mv[off:off + CHUNK] for off in range(0, len(mv), CHUNK))
            for part in parts:
                h.update(part)
                f.write(part)
                size += len(part)
                await asyncio.sleep_ms(0)
        self._st.rename(tmp, path)
        digest = hexlify(h.digest()).decode()
        self._write_sidecar(path, name, size, digest, ts, meta)
        return path, size, digest

    def _write_sidecar(self, path, name, size, digest, ts, meta):
        side = {"device": self.device_id, "firmware": VERSION, "file": name, "size": size,
                "sha256": digest, "time": ts, "time_iso": clock.iso(ts) if ts else None,
                "clock": "rtc" if ts is not None else "unset", "boot": self._boot_no,
                "uptime_s": time.ticks_diff(time.ticks_ms(), self._boot_ms) // 1000,
                "tz_offset_min": self._cfg.get("time.tz_offset_min")}
        dep = self.deployment.id() if self.deployment is not None else None
        if dep:
            side["deployment"] = dep
        for k in meta:
            side[k] = meta[k]
        self._sidecar(path, side)

    def _sidecar(self, path, side):
        try:
            self._st.write_atomic(path[:-4] + ".json", jsonutil.dumps(side).encode())
        except OSError as e:  # the image is whole; a missing sidecar is reported, not fatal
            self._log.warning("sidecar for %s: %s", path, e)

    def update_sidecar(self, path, changes):
        """Merge `changes` into an image's sidecar (the verdict that follows the burst)."""
        raw = self._st.read_atomic(path[:-4] + ".json")
        try:
            side = json.loads(raw) if raw else {}
        except ValueError:
            side = {}
        for k in changes:
            side[k] = changes[k]
        self._sidecar(path, side)

    def remove(self, path):
        """Delete an image and its sidecar (a trigger the detector rejected)."""
        self._st.remove_quiet(path)
        self._st.remove_quiet(path[:-4] + ".json")

    # --- the pending-burst marker ---------------------------------------------------------
    def mark_pending(self, shots):
        """Remember a burst not yet handed to the outbox: [(path, size, sha256), ...]. What
        an earlier boot left in the marker stays in it until `take_pending` hands it over."""
        if self._earlier is None:
            self._earlier = self._read_pending()
        self._mine = [list(s) for s in shots]
        self._write_pending()

    def clear_pending(self):
        """This boot's burst is handed over (or deleted)."""
        self._mine = []
        self._write_pending()

    def take_pending(self):
        """Images of bursts an earlier boot took and never handed over: [(path, size,
        sha256, sidecar dict)] of those still on the card; they leave the marker."""
        earlier = self._read_pending() if self._earlier is None else self._earlier
        mine = [s[0] for s in self._mine]
        out = []
        for path, size, digest in earlier:
            if path in mine or not self._st.exists(path):
                continue
            try:
                side = self._st.read_atomic(path[:-4] + ".json")
                out.append((path, size, digest, json.loads(side) if side else {}))
            except (OSError, ValueError):
                out.append((path, size, digest, {}))
        self._earlier = []
        self._write_pending()
        return out

    def _read_pending(self):
        raw = self._st.read_atomic(PENDING) if self._st.exists(PENDING) else None
        out = []
        try:
            for path, size, digest in json.loads(raw) if raw else ():
                if isinstance(path, str) and path.endswith(".jpg"):
                    out.append([path, size, digest])
        except (ValueError, TypeError):
            self._log.warning("pending burst marker unreadable: ignored")
        return out

    def _write_pending(self):
        keep = (self._earlier or []) + self._mine
        try:
            if keep:
                self._st.write_atomic(PENDING, jsonutil.dumps(keep).encode())
            else:
                self._st.remove_quiet(PENDING)
        except OSError as e:
            self._log.warning("pending burst not recorded: %s", e)
