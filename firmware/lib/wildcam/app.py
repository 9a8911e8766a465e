"""The composition root: builds every service from the config and runs them in one loop.

Data flows one way: drivers (camera, pins, storage) -> services (capture, ...) -> app.
Only this module knows all the services; they receive what they need as arguments.

Guarantees:
- `build()` never fails because of a bad config file: the config reports its problems and
  defaults apply; a crash loop is detected by `BootState` and leads to safe mode.
- `run()` never returns silently: if the supervisor escalates or stops, the reason is logged
  and flushed to flash, then the board is reset.
"""

import asyncio
import time

from wildcam import clock
from wildcam.bootstate import BootState
from wildcam.config import Config
from wildcam.log import INFO, LEVELS, Log
from wildcam.storage import Storage
from wildcam.supervisor import Escalation, Supervisor
from wildcam.version import VERSION

HOUSEKEEPING_MS = 10000
STABLE_MS = 300000  # a boot that ran this long is no longer part of a crash loop

_RESET_NAMES = ("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET")


def reset_cause_name():
    import machine

    cause = machine.reset_cause()
    for name in _RESET_NAMES:
        if getattr(machine, name, None) == cause:
            return name[:-6].lower()
    return "unknown(%d)" % cause


def default_device_id():
    import binascii

    import machine

    return "wc-" + binascii.hexlify(machine.unique_id()).decode()[-6:]


class App:
    def __init__(self, storage=None):
        self.storage = storage if storage is not None else Storage()
        self.sup = None
        self.capture = None
        self.cam = None

    def build(self):
        """Construct every service (no task runs yet)."""
        st = self.storage
        self.config = cfg = Config(st).load()
        self.logs = Log(st, files=cfg.get("log.files"), file_bytes=cfg.get("log.file_kb") * 1024,
                        level=LEVELS.get(cfg.get("log.level"), INFO), clock=clock.now)
        self.log = self.logs.get("app")
        self.boot = BootState(st).begin()
        self.device_id = cfg.get("device.id") or default_device_id()
        self.safe_mode = self.boot.safe_mode
        self.log.info("WildCAM %s on %s: boot %d, reset cause %s, config from %s%s",
                      VERSION, self.device_id, self.boot.boots, reset_cause_name(), cfg.source,
                      ", SAFE MODE" if self.safe_mode else "")
        for note in cfg.notes:
            self.log.info("config: %s", note)
        for err in cfg.errors:
            self.log.warning("config: %s", err)
        self.sup = Supervisor(self.logs.get("sup"))
        self.sup.add("housekeeping", self._housekeeping)
        if self.safe_mode:
            self.log.error("%d boots in a row crashed: safe mode (camera off); fix and "
                           "call wildcam.leave_safe_mode()", self.boot.unstable - 1)
            return self
        self._build_capture()
        return self

    def _build_capture(self):
        from wildcam.cam import Camera
        from wildcam.capture import CaptureService

        cfg = self.config
        self.cam = Camera(self.logs.get("cam"), frame_size=cfg.get("capture.frame_size"),
                          quality=cfg.get("capture.jpeg_quality"))
        self.capture = CaptureService(cfg, self.storage, self.cam, self.logs.get("capture"),
                                      self.boot.boots)
        self.sup.add("capture", self.capture.run)

    async def _housekeeping(self):
        """Flush logs; after STABLE_MS of running (outside safe mode), end the crash-loop
        count and remember the config as good."""
        start = time.ticks_ms()
        stable = False
        while True:
            await asyncio.sleep_ms(HOUSEKEEPING_MS)
            self.logs.flush()
            # safe mode stays until someone leaves it: its boots never count as stable
            if not stable and not self.safe_mode and \
                    time.ticks_diff(time.ticks_ms(), start) >= STABLE_MS:
                stable = True
                self.boot.mark_stable()
                if self.config.mark_good():
                    self.log.info("config marked good")

    async def run(self):
        """Run every service until the board resets; never returns normally."""
        if self.sup is None:
            self.build()
        try:
            await self.sup.run()
            self.log.error("all tasks ended")
        except Escalation as e:
            self.log.error("task %s escalated: resetting", e)
        finally:
            self.logs.flush()
        import machine

        machine.reset()


def main():
    """Entry point called by main.py on the board."""
    import sys

    try:
        asyncio.run(App().run())
    except Exception as e:  # noqa: BLE001 - last resort: show it, then start again
        sys.print_exception(e)
    import machine

    time.sleep_ms(3000)  # leave the traceback on a connected console for a moment
    machine.reset()
