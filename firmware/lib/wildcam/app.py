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

from wildcam.core import clock
from wildcam.core.bootstate import BootState
from wildcam.core.config import Config
from wildcam.core.log import INFO, LEVELS, Log
from wildcam.core.storage import Storage
from wildcam.core.supervisor import Escalation, Supervisor
from wildcam.core.version import VERSION

HOUSEKEEPING_MS = 10000
FLASH_KEEP_FREE = 256 * 1024  # without an SD card the outbox leaves this much flash free
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
    def __init__(self, storage=None, ota_options=None):
        self.storage = storage if storage is not None else Storage()
        # tests and tools may hand the updater its keys, fetch and partition
        self.ota_options = ota_options or {}
        self.sup = None
        self.capture = None
        self.cam = None
        self.space = None
        self.has_sd = False
        self.mqtt = None

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
            self.log.error("%d boots in a row crashed: safe mode (camera off, network, "
                           "commands and OTA on); fix it remotely or call "
                           "wildcam.leave_safe_mode()", self.boot.unstable - 1)
        self._build_sync()
        self._build_ota()
        if not self.safe_mode:
            self._build_capture()
        self._build_management()
        if self.safe_mode:
            return self
        if cfg.get("power.mode") == "battery":
            self._build_power()
        return self

    def _build_sync(self):
        """Outbox (on the SD card, else flash), WiFi link, destinations, sync engine."""
        from wildcam.capture import sdcard
        from wildcam.queue.outbox import Outbox
        from wildcam.queue.sync import Route, SyncEngine

        cfg = self.config
        self.has_sd = sdcard.mount(self.storage, self.log)
        # keys carry the boot number; on flash the queue leaves room for logs, config, OTA
        self.outbox = Outbox(self.storage, "/sd/outbox" if self.has_sd else "/outbox",
                             max_bytes=cfg.get("sync.max_queue_mb") * 1024 * 1024, now=clock.now,
                             key_prefix=self.device_id + "-", boot=self.boot.boots,
                             keep_free=0 if self.has_sd else FLASH_KEEP_FREE)
        try:
            self.outbox.open()  # reports storage trouble itself; anything else: run on
        except Exception as e:  # noqa: BLE001 - a queue that opened in part still drains
            self.log.error("outbox: open failed (%s); running with what was read", e)
        st = self.outbox.stats()
        for problem in self.outbox.problems:
            self.log.warning("outbox: %s", problem)
        if st["pending"] or st["corrupt"] or st["torn"]:
            self.log.info("outbox: %d pending (%d bytes), %d damaged records skipped",
                          st["pending"], st["pending_bytes"], st["corrupt"] + st["torn"])
        self.link = None
        if cfg.get("wifi.ssid"):
            from wildcam.net.wifi import Link

            self.link = Link(cfg.get("wifi.ssid"), cfg.secret("wifi.password"),
                             self.logs.get("net"), cfg.get("wifi.connect_timeout_s"),
                             cfg.get("time.ntp_host"))
            self.sup.add("net", self.link.run)
        dests = []
        if cfg.get("sync.local_dir"):
            from wildcam.dest.local import LocalDir

            dests.append(LocalDir(self.storage, cfg.get("sync.local_dir"), self.device_id,
                                  now=clock.now))
        local = [d.name for d in dests]
        if cfg.get("cloud.dests"):
            from wildcam.dest import build as clouds

            dests = clouds.build(cfg, self.storage, self.device_id, self.logs.get("cloud")) + dests
        media = [d.name for d in dests]
        self.metrics = False
        if cfg.get("influx.url"):
            from wildcam.dest import build as clouds

            influx = clouds.build_influx(cfg, self.storage, self.device_id, self.logs.get("cloud"))
            if influx is not None:
                dests.append(influx)
                self.metrics = True  # health and events are queued a second time for it
        mq = self._build_mqtt()
        if mq is not None:
            from wildcam.dest.mqtt import MqttDest

            dests.append(MqttDest(mq))
            self.sup.add("mqtt", mq.run, critical=False)  # blocking steps are bounded
        # images to storage; events to MQTT, falling back to storage when MQTT is down
        events = (["mqtt"] if mq is not None else []) + local
        routes = [Route("media", media, cfg.get("cloud.mode") if len(media) > 1 else "failover"),
                  Route("events", events), Route("default", events),
                  Route("metrics", ["influx"])]  # its own lane: an InfluxDB outage holds up
        # nothing else
        from wildcam.core import windows

        rate = cfg.get("sync.rate_kbps") * 1024 // 8  # bytes per second, 0 = no cap
        if rate:
            dests = [SyncEngine.wrap(d, bytes_per_s=rate) for d in dests]
        spans = windows.parse(cfg.get("sync.windows"))  # validated by the config already
        tz = cfg.get("time.tz_offset_min")
        self.sync = SyncEngine(self.outbox, routes, dests, self.logs.get("sync"),
                               link=self.link, defer_bytes=cfg.get("sync.defer_kb") * 1024,
                               now=clock.now,
                               window=(lambda: windows.is_open(spans, clock.now(), tz))
                               if spans else None, on_done=self._delivered)
        if self.link is not None:
            self.link.on_up = self.sync.kick
        self.sup.add("sync", self.sync.run)

    def _build_mqtt(self):
        """The MQTT client from config, or None when mqtt.host is empty."""
        cfg = self.config
        if not cfg.get("mqtt.host"):
            return None
        from wildcam.net.mqtt import MQTT
        from wildcam.net.stream import tls_context

        tls = None
        if cfg.get("mqtt.tls"):
            real = self.storage.real
            try:
                tls = tls_context(real(cfg.get("mqtt.ca")) if cfg.get("mqtt.ca") else None,
                                  real(cfg.get("mqtt.cert")) if cfg.get("mqtt.cert") else None,
                                  real(cfg.get("mqtt.key")) if cfg.get("mqtt.key") else None)
            except (ValueError, OSError) as e:  # e.g. TLS without a CA file: say so, go on
                self.log.error("mqtt: TLS not usable (%s); MQTT disabled", e)
                return None
        self.mqtt = MQTT(cfg.get("mqtt.host"), cfg.get("mqtt.port"), client_id=self.device_id,
                         user=cfg.get("mqtt.user") or None,
                         password=cfg.secret("mqtt.password") or None, tls=tls,
                         keepalive_s=cfg.get("mqtt.keepalive_s"),
                         prefix=cfg.get("mqtt.topic_prefix"), device=self.device_id,
                         log=self.logs.get("mqtt"))
        return self.mqtt

    def _queue(self, kind, route, **kw):
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
        self._queue(self._kind(meta), "media", media=path, size=size, sha256=sha256,
                    key="%s-%s-%s" % (self.device_id, path.split("/")[-2], name), data=meta)

    def on_event(self, meta):
        self._queue(self._kind(meta), "events", data=meta, key=meta["event"] + "-ev")

    def _delivered(self, items):
        self.guard.note("delivered")  # the network answered: good news for a version on trial
        for item in items:
            if item.media and self.space is not None:
                self.space.note_uploaded(item.media)

    def _build_capture(self):
        from wildcam.capture.cam import Camera
        from wildcam.capture.service import CaptureService
        from wildcam.capture.sdspace import SdSpace
        from wildcam.capture.sensors import Sensors

        cfg = self.config
        self.sensors = Sensors(cfg.get("pins.battery_adc"), cfg.get("power.battery_divider"))
        self.sensors.read_battery()  # ADC2 pins only read before WiFi starts
        self.space = SdSpace(self.storage, cfg.get("storage.min_free_mb") * 1024 * 1024,
                             cfg.get("storage.full_policy"), self.logs.get("sd")) \
            if self.has_sd else None
        self.cam = Camera(self.logs.get("cam"), frame_size=cfg.get("capture.frame_size"),
                          quality=cfg.get("capture.jpeg_quality"),
                          settle=cfg.get("capture.settle_frames"))
        self.capture = CaptureService(cfg, self.storage, self.cam, self.logs.get("capture"),
                                      self.boot.boots, self.device_id, sensors=self.sensors,
                                      space=self.space, detector=self._build_detector(),
                                      on_image=self.on_image, on_event=self.on_event)
        self.sup.add("capture", self.capture.run)
        if "timelapse" in cfg.get("capture.mode") or cfg.get("capture.timelapse_s"):
            self.sup.add("timelapse", self.capture.timelapse, critical=False)
        if self._woken_by_pir():
            self.capture.trigger("pir-wake")  # the event that woke us is not lost

    def _build_ota(self):
        """Signed OTA: the updater, the health gate for a version on trial, the checks."""
        from wildcam.ota import updater as ota

        cfg = self.config
        tls = None
        if cfg.get("ota.ca"):
            from wildcam.net.stream import tls_context

            tls = tls_context(self.storage.real(cfg.get("ota.ca")))
        log = self.logs.get("ota")
        opts = {"fetch": ota.make_fetch(self.storage, tls)}
        opts.update(self.ota_options)
        self.updater = ota.Updater(self.storage, log, **opts)
        self.updater.boot_check()
        self.guard = ota.Guard(
            self.updater, log,
            healthy=lambda: bool((self.link and self.link.last_ntp) or
                                 (self.mqtt and self.mqtt.connected)),
            min_run_ms=cfg.get("ota.gate_min_s") * 1000,
            deadline_ms=cfg.get("ota.gate_deadline_s") * 1000, safe_mode=self.safe_mode,
            feed_wdt=not cfg.get("watchdog.timeout_s"), alive=self.sup.beat("ota"),
            reset=self._reset)
        self.sup.add("ota", self.guard.run)
        if cfg.get("ota.url") and cfg.get("ota.check_h"):
            self.sup.add("ota-check", lambda: ota.watch(
                self.updater, cfg.get("ota.url"), cfg.get("ota.check_h") * 3600000,
                ready=lambda: self.link is None or self.link.up(), reboot=self._reset),
                critical=False)

    def _reset(self):
        self.logs.flush()
        import machine

        machine.reset()

    def _build_management(self):
        """Health reports, the watchdog, and (with MQTT and a key) remote commands."""
        from wildcam.manage.health import Health, Watchdog, system_source

        cfg, sup = self.config, self.sup
        if self.capture is not None:
            self.capture.alive = sup.beat("capture")
        self.sync.alive = sup.beat("sync")
        if self.link is not None:
            self.link.alive = sup.beat("net")
        sources = {"sys": system_source(self.boot, reset_cause_name(), VERSION,
                                        self.updater.status().get("slot") or "lib"),
                   "queue": self.outbox.stats, "sync": self._sync_summary,
                   "tasks": lambda: {"restarts": sup.total_restarts()},
                   "storage": self._storage_summary, "ota": self.updater.status}
        if self.capture is not None:
            sources["power"] = self.sensors.snapshot
            sources["capture"] = self._capture_summary
        if self.link is not None:
            sources["net"] = self.link.stats
        self.health = Health(sources, self.logs.get("health"))
        self.manage = None
        if self.mqtt is not None:
            self._build_commands()
        publish = self.manage.publish_state if self.manage is not None else None
        sup.add("health", lambda: self.health.heartbeat(
            cfg.get("health.interval_s"), self._queue_health, publish, sup.beat("health"),
            self._health_due))
        if cfg.get("watchdog.timeout_s"):
            t = cfg.get("watchdog.timeout_s") * 1000
            self.watchdog = Watchdog(sup, self.logs.get("wdt"), timeout_ms=t,
                                     stale_ms=t * 3 // 4, feed_ms=min(5000, t // 4))
            sup.add("watchdog", self.watchdog.run, critical=False)

    def _build_commands(self):
        from wildcam.manage.commands import Commands
        from wildcam.manage.remote import Management

        cfg = self.config
        cmds = Commands(self.storage, cfg.secret("cmd.hmac_key"), self.device_id,
                        self.logs.get("cmd"), now=clock.now)
        self.manage = m = Management(cfg, self.storage, self.logs.get("manage"), self.logs,
                                     self.mqtt, cmds, self.device_id, VERSION)
        m.register_basics(self.capture, self.sync, self.health)
        m.register_ota(self.updater)
        if cfg.secret("cmd.hmac_key"):
            self.sup.add("commands", lambda: m.run(self.sup.beat("commands")))
        self.sup.add("probation", lambda: m.probation(), critical=False, restart=False)
        if cfg.get("hass.discovery"):
            self.mqtt.on_connect = m.announce
            if self.capture is not None:
                self.capture.on_thumb = m.publish_thumb

    def _queue_health(self, snap):
        self._queue("health", "events", data=snap)
        if getattr(self, "rtc", None) is not None and clock.now():
            self.rtc.set("last_hb", clock.now())

    def _health_due(self):
        """Always on mains; on battery only when the (tier-stretched) interval has passed."""
        if getattr(self, "rtc", None) is None:
            return True
        now = clock.now()
        every = self.policy.heartbeat_s(self.config.get("health.interval_s"), self.sleeper.tier)
        return now is None or now - self.rtc.get("last_hb") >= every

    def _build_power(self):
        """Battery camera: radio only when useful, deep sleep when idle (wildcam.power)."""
        from wildcam.core import windows
        from wildcam.power import Policy, Sleeper
        from wildcam.core.rtcstate import RtcState

        cfg = self.config
        self.rtc = RtcState().load()
        if self.rtc.problem:
            self.log.warning("%s", self.rtc.problem)
        self.policy = Policy(cfg.get("power.low_pct"), cfg.get("power.critical_pct"),
                             cfg.get("power.active_hours"), cfg.get("time.tz_offset_min"))
        tier = self.policy.tier(self.sensors.snapshot()["battery_pct"])
        self.capture.max_burst = self.policy.burst(cfg.get("capture.burst_count"), tier)
        spans = windows.parse(cfg.get("sync.windows"))
        tz = cfg.get("time.tz_offset_min")
        uploads = self.policy.uploads(tier)

        def radio_wanted():
            if uploads == "none" or not self.outbox.pending():
                return False
            if self.outbox.depth()["alert"]:
                return True
            return uploads == "all" and windows.is_open(spans, clock.now(), tz)

        def draining():
            """Uploads are due and possible: stay up (connecting counts) to send them."""
            if self.link is None or not self.outbox.pending() or not radio_wanted():
                return False
            if not self.link.up():
                return True  # still connecting (bounded by power.max_awake_s)
            return self.outbox.next(lambda lane: self.sync._ready(lane, time.ticks_ms())) \
                is not None

        def next_due():
            now = clock.now()
            due = []
            if now is not None:
                every = self.policy.heartbeat_s(cfg.get("health.interval_s"), tier)
                due.append(max(0, self.rtc.get("last_hb") + every - now))
                if spans and uploads == "all":  # drained in this window: wake for the next
                    due.append(windows.minutes_to_next_start(spans, now, tz) * 60)
            if cfg.get("capture.timelapse_s"):
                due.append(cfg.get("capture.timelapse_s"))
            return min(due) if due else None

        if self.link is not None:
            self.link.want = radio_wanted
        s = self.sleeper = Sleeper(cfg, self.policy, self.rtc, self.logs.get("power"),
                                   self.logs, self.boot, lambda: self.capture.busy, draining,
                                   cfg.get("pins.pir"), next_due=next_due)
        s.tier = tier
        if self.manage is not None:
            s.maintenance = lambda: self.manage.maintenance
        s.may_sleep = self.guard.may_sleep
        self.capture.on_done = s.event_done
        self.sync.on_done = self._chain(self.sync.on_done, lambda items: s.activity())
        self.log.info("battery mode: tier %s, uploads %s", tier, uploads)
        self.sup.add("sleep", s.run, critical=False)

    @staticmethod
    def _chain(first, second):
        def both(items):
            if first:
                first(items)
            second(items)
        return both

    def _sync_summary(self):
        s = self.sync.stats()
        return {"delivered": s["delivered"], "failed": s["failed"], "dead": s["dead"],
                "success_rate": s["success_rate"], "last_sync": s["last_sync"],
                "latency_p95_s": s["latency_p95_s"]}

    def _capture_summary(self):
        c = dict(self.capture.counters)
        c["camera_errors"] = self.cam.errors
        c["camera_reinits"] = self.cam.reinits
        return c

    def _storage_summary(self):
        out = {}
        for name, path in (("flash", "/"), ("sd", "/sd")):
            try:
                total, free = self.storage.statvfs(path)
                out[name] = {"total_kb": total // 1024, "free_kb": free // 1024}
            except OSError:
                out[name] = None
        return out

    def _build_detector(self):
        cfg = self.config
        if not cfg.get("detect.enabled"):
            return None
        from wildcam.capture.cam import FRAME_SIZES
        from wildcam.capture.detect import MotionDetector

        w, h = FRAME_SIZES[cfg.get("detect.frame")]
        return MotionDetector(w, h, threshold=cfg.get("detect.threshold"),
                              min_area=cfg.get("detect.min_area"),
                              confirm=cfg.get("detect.confirm"),
                              roi=cfg.get("detect.roi") or None)

    def _woken_by_pir(self):
        import machine

        try:
            return machine.reset_cause() == machine.DEEPSLEEP_RESET and \
                machine.wake_reason() in (machine.EXT0_WAKE, machine.EXT1_WAKE)
        except AttributeError:
            return False

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
