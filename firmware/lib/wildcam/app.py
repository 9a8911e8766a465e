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

from wildcam.core import board, clock
from wildcam.core.storage import Storage

# The rest is imported where it is first used (build_core, build_capture): a PIR wake's
# first shot (wildcam.capture.first) comes before it.

HOUSEKEEPING_MS = 10000
STABLE_MS = 300000  # a boot that ran this long is no longer part of a crash loop
HEALTH_FIT = 1800  # bytes of heartbeat JSON an outbox record (2,048 B body) surely holds
HEALTH_TEXT_MAX = 100  # characters of any one text in a heartbeat that would not fit

# True only for the type checker (pyrightconfig.json "defineConstant"): the imports below
# give App's parts their types; on a board this is False and nothing is imported.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from wildcam.capture.cam import Camera
    from wildcam.capture.service import CaptureService
    from wildcam.ota.guard import Guard
    from wildcam.power import Policy, Sleeper
    from wildcam.queue.outbox import Outbox
    from wildcam.queue.sync import SyncEngine
    from wildcam.core.rtcstate import RtcState
    from wildcam.core.supervisor import Supervisor


class App:
    def __init__(self, storage=None, ota_options=None):
        self.t0 = time.ticks_ms()  # the firmware's start: images' uptime counts from here
        self.storage = storage if storage is not None else Storage()
        # tests and tools may hand the updater its keys, fetch and partition
        self.ota_options = ota_options or {}
        self.sup = None  # type: Supervisor | None
        # the parts wildcam.wiring and wildcam.devices build (None until then, or when not configured)
        self.outbox = None  # type: Outbox | None
        self.sync = None  # type: SyncEngine | None
        self.guard = None  # type: Guard | None
        self.capture = None  # type: CaptureService | None
        self.cam = None  # type: Camera | None
        self.rtc = None  # type: RtcState | None
        self.policy = None  # type: Policy | None
        self.sleeper = None  # type: Sleeper | None
        self.space = None
        self.has_sd = None  # mounted by devices.mount_sd: True / False
        self.mqtt = None
        self.camera_problem = None
        self.cam_log = None  # the first shot's camera log until the log exists

    def build(self):
        """Construct every service (no task runs yet)."""
        self.build_core()
        return self.build_rest()

    def build_core(self, wake=False):
        """What any boot needs first: config, log, boot count, the supervisor. With `wake`
        (a PIR wake) nothing here writes to flash: the boot is counted in RTC memory and
        written by `build_rest()`, after the burst."""
        from wildcam.core.bootstate import BootState
        from wildcam.core.config import Config
        from wildcam.core.log import INFO, LEVELS, Log
        from wildcam.core.supervisor import Supervisor
        from wildcam.core.version import VERSION

        st = self.storage
        self.config = cfg = Config(st).load()
        self.logs = Log(st, files=cfg.get("log.files"), file_bytes=cfg.get("log.file_kb") * 1024,
                        level=LEVELS.get(cfg.get("log.level"), INFO), clock=clock.now)
        self.log = self.logs.get("app")
        if cfg.get("power.mode") != "battery":
            self.rtc = None
        elif self.rtc is None:  # (the first shot loaded it)
            from wildcam.core import rtcstate

            self.rtc = rtcstate.RtcState().load()  # across deep sleep: boot count, reference
        self.boot = BootState(st).begin(self.rtc, defer=wake)
        self.device_id = cfg.get("device.id") or board.default_device_id()
        self.safe_mode = self.boot.safe_mode
        self.log.info("WildCAM %s on %s: boot %d, reset cause %s, config from %s%s",
                      VERSION, self.device_id, self.boot.boots, board.reset_cause_name(),
                      cfg.source, ", SAFE MODE" if self.safe_mode else "")
        for note in cfg.notes:
            self.log.info("config: %s", note)
        for err in cfg.errors:
            self.log.warning("config: %s", err)
        self.sup = Supervisor(self.logs.get("sup"))
        self.sup.add("housekeeping", self._housekeeping)
        if self.safe_mode:
            self.log.error("%d boots in a row crashed: safe mode (camera off, network, "
                           "commands and OTA on); fix it remotely or call "
                           "wildcam.leave_safe_mode()", self.boot.unstable - 1)
        self.camera_problem = None if board.psram_bytes() else board.NO_PSRAM
        if self.camera_problem:
            self.log.error("%s", self.camera_problem)
        return self

    def can_capture(self):
        return not self.safe_mode and not self.camera_problem

    def build_rest(self):
        """Everything else: queue, network, destinations, OTA, management, power."""
        from wildcam import devices, wiring  # wiring: the network half, after a wake's burst

        self.boot.commit()
        wiring.build_sync(self)
        wiring.build_ota(self)
        if self.capture is None and self.can_capture():
            cap = devices.build_capture(self)
            if board.woken_by_pir():
                cap.trigger("pir-wake")  # the event that woke us is not lost
        wiring.build_management(self)
        if self.safe_mode:
            return self
        if self.config.get("power.mode") == "battery" and self.capture is not None:
            devices.build_power(self)
        return self

    async def start(self):
        """Build the firmware; on a PIR wake photograph first: the first frame from what the
        last sleep left in RTC memory (wildcam.capture.first), then the config, the
        card and the rest of the burst (capture.service), then everything else."""
        wake = board.woken_by_pir()
        first = None
        if wake:
            from wildcam.capture.first import first_shot

            first = await first_shot(self)
        self.build_core(wake=wake)
        if wake and self.can_capture():
            from wildcam import devices

            await devices.build_capture(self).wake_burst("pir-wake", first)
        self.build_rest()

    def queue(self, kind, route, **kw):
        """Put an item in the outbox; a full queue is logged, never raised."""
        from wildcam.queue.outbox import QueueFull

        ttl = self.config.get("sync.item_ttl_h") * 3600
        try:
            self.outbox.put(kind, route=route, ttl_s=ttl, **kw)
            if route == "events" and getattr(self, "metrics", False):
                key = kw.get("key")
                self.outbox.put(kind, route="metrics", ttl_s=ttl, data=kw.get("data"),
                                key=(key + "-m") if key else None)
            self.sync.kick()
        except (QueueFull, OSError, ValueError) as e:
            self.log.warning("not queued (%s %s): %s", kind, route, e)

    @staticmethod
    def _kind(meta):
        return "timelapse" if meta.get("trigger") == "timelapse" else "detection"

    def on_image(self, path, size, sha256, meta):
        name = path[path.rfind("/") + 1:path.rfind(".")]
        self.queue(self._kind(meta), "media", media=path, size=size, sha256=sha256,
                   key="%s-%s-%s" % (self.device_id, path.split("/")[-2], name), data=meta)

    def on_event(self, meta):
        self.queue(self._kind(meta), "events", data=meta, key=meta["event"] + "-ev")

    def on_delivered(self, items):
        self.guard.note("delivered")  # the network answered: good news for a version on trial
        for item in items:
            if item.media and self.space is not None:
                self.space.note_uploaded(item.media)

    def reset(self):
        self.logs.flush()
        import machine

        machine.reset()

    def queue_health(self, snap):
        """The heartbeat; when it would not fit one outbox record, its texts are clipped (a
        long error or deployment comment must not cost the heartbeat: survey effort is
        proven by them)."""
        from wildcam.core import jsonutil

        if len(jsonutil.dumps(snap)) > HEALTH_FIT:
            snap = jsonutil.clip(snap, HEALTH_TEXT_MAX)
        self.queue("health", "events", data=snap)
        if getattr(self, "rtc", None) is not None and clock.now():
            self.rtc.set("last_hb", clock.now())

    def health_due(self):
        """Always on mains; on battery only when the (tier-stretched) interval has passed."""
        if getattr(self, "rtc", None) is None:
            return True
        now = clock.now()
        every = self.policy.heartbeat_s(self.config.get("health.interval_s"), self.sleeper.tier)
        return now is None or now - self.rtc.get("last_hb") >= every

    def sync_summary(self):
        s = self.sync.stats()
        return {"delivered": s["delivered"], "failed": s["failed"], "dead": s["dead"],
                "success_rate": s["success_rate"], "last_sync": s["last_sync"],
                "latency_p95_s": s["latency_p95_s"], "alarms": s["alarms"]}

    def capture_summary(self):
        c = dict(self.capture.counters)
        c["camera_errors"] = self.cam.errors
        c["camera_reinits"] = self.cam.reinits
        return c

    def storage_summary(self):
        out = {}
        for name, path in (("flash", "/"), ("sd", "/sd")):
            try:
                total, free = self.storage.statvfs(path)
                out[name] = {"total_kb": total // 1024, "free_kb": free // 1024}
            except OSError:
                out[name] = None
        return out

    async def _housekeeping(self):
        """Flush logs; after STABLE_MS of running (outside safe mode), end the crash-loop
        count and remember the config as good."""
        start = time.ticks_ms()
        stable = False
        while True:
            await asyncio.sleep_ms(HOUSEKEEPING_MS)
            self.sup.progress("housekeeping")
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
            await self.start()
        from wildcam.core.supervisor import Escalation

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
