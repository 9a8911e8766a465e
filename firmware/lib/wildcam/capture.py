"""PIR-triggered capture to the SD card.

Guarantees:
- The PIR interrupt handler only sets a flag; all work happens in the asyncio task.
- A frame is written from the driver's buffer in fixed-size chunks (never copied whole) to
  a temporary name and renamed when complete: an image under its final name is whole.
- Folder names never come from an unset clock: with no valid time, images go to
  `/sd/DCIM/B<boot number>/` and file names carry seconds since boot instead.
- After a burst the trigger is ignored for `capture.quiet_s` seconds (counted as
  suppressed), like commercial camera traps' "quiet period".
"""

import asyncio
import hashlib
import time
from binascii import hexlify

from wildcam import clock

CHUNK = 4096
DCIM = "/sd/DCIM"


class CaptureService:
    def __init__(self, config, storage, cam, log, boot_no, on_image=None, on_event=None):
        self._cfg = config
        self._st = storage
        self._cam = cam
        self._log = log
        self._boot_no = boot_no
        self._on_image = on_image  # (path, size, sha256 hex, meta) once an image is whole
        self._on_event = on_event  # (meta) once a burst is over
        self._flag = asyncio.ThreadSafeFlag()
        self._pir = None
        self._boot_ms = time.ticks_ms()
        self.triggers = 0
        self.suppressed = 0
        self.images = 0
        self.failures = 0
        self._seq = 0

    def _irq(self, pin):
        self.triggers += 1
        self._flag.set()

    def trigger(self):
        """Ask for a capture now (remote command, REPL, wake from deep sleep)."""
        self.triggers += 1
        self._flag.set()

    def attach_pir(self):
        import machine

        self._pir = machine.Pin(self._cfg.get("pins.pir"), machine.Pin.IN, machine.Pin.PULL_DOWN)
        self._pir.irq(handler=self._irq, trigger=machine.Pin.IRQ_RISING)

    async def run(self):
        """Wait for triggers forever; one burst per trigger, then the quiet period."""
        if self._pir is None:
            self.attach_pir()
        while True:
            await self._flag.wait()
            await self.burst("pir")
            before = self.triggers
            await asyncio.sleep(self._cfg.get("capture.quiet_s"))
            self.suppressed += self.triggers - before
            self._flag.clear()  # a trigger during the quiet period is dropped, not deferred

    async def burst(self, trigger):
        """Capture `capture.burst_count` JPEGs; returns the paths written."""
        n = self._cfg.get("capture.burst_count")
        gap = self._cfg.get("capture.burst_interval_ms")
        paths = []
        event = "%s-%d-%d" % (self._cfg.get("device.id") or "cam", self._boot_no, self._seq + 1)
        for i in range(n):
            try:
                frame = self._cam.capture()
                path, size, digest = self.save(frame)
            except Exception as e:  # noqa: BLE001 - one bad frame must not end the burst
                self.failures += 1
                self._log.warning("capture %d/%d failed: %s", i + 1, n, e)
                continue
            paths.append(path)
            self.images += 1
            self._log.info("image %s (%d bytes, %s %d/%d)", path, size, trigger, i + 1, n)
            if self._on_image:
                self._on_image(path, size, digest, {"trigger": trigger, "seq": i + 1, "of": n,
                                                    "event": event})
            if i + 1 < n:
                await asyncio.sleep_ms(gap)
        if self._on_event:
            self._on_event({"event": event, "trigger": trigger, "images": len(paths),
                            "time": clock.now() or 0})
        return paths

    def next_path(self):
        """A unique path for the next image; never based on an unset clock."""
        self._seq += 1
        ts = clock.now()
        if ts is None:
            folder = "%s/B%05d" % (DCIM, self._boot_no)
            up = time.ticks_diff(time.ticks_ms(), self._boot_ms) // 1000
            name = "U%06d_%04d.jpg" % (up, self._seq)
        else:
            folder = "%s/%s" % (DCIM, clock.ymd(ts))
            rem = int(ts) % 86400
            name = "%02d%02d%02d_B%05d_%04d.jpg" % (
                rem // 3600, rem // 60 % 60, rem % 60, self._boot_no, self._seq)
        return folder, name

    def save(self, frame):
        """Stream `frame` to the SD card, hashing it on the way; returns
        (path, size, sha256 hex). Only a whole file gets the final name."""
        folder, name = self.next_path()
        self._st.makedirs(folder)
        path = folder + "/" + name
        tmp = path + ".part"
        mv = memoryview(frame)
        size = len(mv)
        h = hashlib.sha256()
        with self._st.open(tmp, "wb") as f:
            for off in range(0, size, CHUNK):
                part = mv[off:off + CHUNK]
                h.update(part)
                f.write(part)
        self._st.rename(tmp, path)
        return path, size, hexlify(h.digest()).decode()
