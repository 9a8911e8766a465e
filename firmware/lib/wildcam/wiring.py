"""The composition root's builders: each wires one group of services from the config.

`App.build()` (wildcam.app) calls them in order; each takes the App, reads the config and
what earlier builders made, and stores what it makes on the App. This is the only module
besides app.py that knows every part of the firmware; the parts themselves receive what
they need as arguments and never import each other sideways.
"""

import time

from wildcam.core import board, clock
from wildcam.core.version import VERSION

FLASH_KEEP_FREE = 256 * 1024  # without an SD card the outbox leaves this much flash free


def build_sync(app):
    """Outbox (on the SD card, else flash), WiFi link, destinations, sync engine."""
    from wildcam.queue.outbox import Outbox
    from wildcam.queue.sync import Route, SyncEngine

    cfg = app.config
    app.has_sd = board.mount_sd(app.storage, app.log)
    # keys carry the boot number; on flash the queue leaves room for logs, config, OTA
    app.outbox = Outbox(app.storage, "/sd/outbox" if app.has_sd else "/outbox",
                        max_bytes=cfg.get("sync.max_queue_mb") * 1024 * 1024, now=clock.now,
                        key_prefix=app.device_id + "-", boot=app.boot.boots,
                        keep_free=0 if app.has_sd else FLASH_KEEP_FREE)
    try:
        app.outbox.open()  # reports storage trouble itself; anything else: run on
    except Exception as e:  # noqa: BLE001 - a queue that opened in part still drains
        app.log.error("outbox: open failed (%s); running with what was read", e)
    st = app.outbox.stats()
    for problem in app.outbox.problems:
        app.log.warning("outbox: %s", problem)
    if st["pending"] or st["corrupt"] or st["torn"]:
        app.log.info("outbox: %d pending (%d bytes), %d damaged records skipped",
                     st["pending"], st["pending_bytes"], st["corrupt"] + st["torn"])
    app.link = None
    if cfg.get("wifi.ssid"):
        from wildcam.net.wifi import Link

        app.link = Link(cfg.get("wifi.ssid"), cfg.secret("wifi.password"),
                        app.logs.get("net"), cfg.get("wifi.connect_timeout_s"),
                        cfg.get("time.ntp_host"))
        app.sup.add("net", app.link.run)
    dests = []
    if cfg.get("sync.local_dir"):
        from wildcam.dest.local import LocalDir

        dests.append(LocalDir(app.storage, cfg.get("sync.local_dir"), app.device_id,
                              now=clock.now))
    local = [d.name for d in dests]
    if cfg.get("cloud.dests"):
        from wildcam.dest import build as clouds

        dests = clouds.build(cfg, app.storage, app.device_id, app.logs.get("cloud")) + dests
    media = [d.name for d in dests]
    app.metrics = False
    if cfg.get("influx.url"):
        from wildcam.dest import build as clouds

        influx = clouds.build_influx(cfg, app.storage, app.device_id, app.logs.get("cloud"))
        if influx is not None:
            dests.append(influx)
            app.metrics = True  # health and events are queued a second time for it
    mq = build_mqtt(app)
    if mq is not None:
        from wildcam.dest.mqtt import MqttDest

        dests.append(MqttDest(mq))
        app.sup.add("mqtt", mq.run, critical=False)  # keepalive and reconnects
    # images to storage; events to MQTT, falling back to storage when MQTT is down; with
    # neither MQTT nor a local folder, JSON objects in the bucket/container (dest/objstore)
    events = (["mqtt"] if mq is not None else []) + local or media
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
    app.sync = SyncEngine(app.outbox, routes, dests, app.logs.get("sync"),
                          link=app.link, defer_bytes=cfg.get("sync.defer_kb") * 1024,
                          now=clock.now,
                          window=(lambda: windows.is_open(spans, clock.now(), tz))
                          if spans else None, on_done=app.on_delivered)
    if app.link is not None:
        app.link.on_up = app.sync.kick
    app.sup.add("sync", app.sync.run)


def build_mqtt(app):
    """The MQTT client from config, or None when mqtt.host is empty."""
    cfg = app.config
    if not cfg.get("mqtt.host"):
        return None
    from wildcam.net.mqtt import MQTT
    from wildcam.net.stream import tls_context

    tls = None
    if cfg.get("mqtt.tls"):
        real = app.storage.real
        try:
            tls = tls_context(real(cfg.get("mqtt.ca")) if cfg.get("mqtt.ca") else None,
                              real(cfg.get("mqtt.cert")) if cfg.get("mqtt.cert") else None,
                              real(cfg.get("mqtt.key")) if cfg.get("mqtt.key") else None)
        except (ValueError, OSError) as e:  # e.g. TLS without a CA file: say so, go on
            app.log.error("mqtt: TLS not usable (%s); MQTT disabled", e)
            return None
    app.mqtt = MQTT(cfg.get("mqtt.host"), cfg.get("mqtt.port"), client_id=app.device_id,
                    user=cfg.get("mqtt.user") or None,
                    password=cfg.secret("mqtt.password") or None, tls=tls,
                    keepalive_s=cfg.get("mqtt.keepalive_s"),
                    prefix=cfg.get("mqtt.topic_prefix"), device=app.device_id,
                    clean_session=False, log=app.logs.get("mqtt"))  # the broker keeps cmds
    return app.mqtt


def build_capture(app):
    from wildcam.capture.cam import Camera
    from wildcam.capture.service import CaptureService
    from wildcam.core import presets
    from wildcam.capture.sdspace import SdSpace
    from wildcam.capture.sensors import Sensors

    cfg = app.config
    app.sensors = Sensors(cfg.get("pins.battery_adc"), cfg.get("power.battery_divider"))
    app.sensors.read_battery()  # ADC2 pins only read before WiFi starts
    app.space = SdSpace(app.storage, cfg.get("storage.min_free_mb") * 1024 * 1024,
                        cfg.get("storage.full_policy"), app.logs.get("sd")) \
        if app.has_sd else None
    app.cam = Camera(app.logs.get("cam"), frame_size=cfg.get("capture.frame_size"),
                     quality=cfg.get("capture.jpeg_quality"),
                     settle=cfg.get("capture.settle_frames"), pins=presets.from_config(cfg))
    app.capture = CaptureService(cfg, app.storage, app.cam, app.logs.get("capture"),
                                 app.boot.boots, app.device_id, sensors=app.sensors,
                                 space=app.space, detector=build_detector(app),
                                 on_image=app.on_image, on_event=app.on_event)
    app.sup.add("capture", app.capture.run)
    if "timelapse" in cfg.get("capture.mode") or cfg.get("capture.timelapse_s"):
        app.sup.add("timelapse", app.capture.timelapse, critical=False)
    if board.woken_by_pir():
        app.capture.trigger("pir-wake")  # the event that woke us is not lost


def build_detector(app):
    cfg = app.config
    if not cfg.get("detect.enabled"):
        return None
    from wildcam.capture.cam import FRAME_SIZES
    from wildcam.capture.detect import MotionDetector

    w, h = FRAME_SIZES[cfg.get("detect.frame")]
    return MotionDetector(w, h, threshold=cfg.get("detect.threshold"),
                          min_area=cfg.get("detect.min_area"),
                          confirm=cfg.get("detect.confirm"),
                          roi=cfg.get("detect.roi") or None)


def keep_reference(app):
    """A battery camera keeps the detector's reference background in RTC memory: the next
    PIR wake judges its frames against the view before the animal came."""
    det = app.capture._detector if app.capture is not None else None
    if det is None:
        return
    app.capture.reference_store = app.rtc
    if app.rtc.reference:
        if not det.load_reference(app.rtc.reference):
            app.log.info("detector reference not used (%s): cold start", det.ref_problem)


def build_ota(app):
    """Signed OTA: the updater, the health gate for a version on trial, the checks."""
    from wildcam.ota.fetch import make_fetch
    from wildcam.ota.guard import Guard, watch
    from wildcam.ota.updater import Updater

    cfg = app.config
    tls = None
    if cfg.get("ota.ca"):
        from wildcam.net.stream import tls_context

        tls = tls_context(app.storage.real(cfg.get("ota.ca")))
    log = app.logs.get("ota")
    opts = {}  # the fetch function, then whatever tests/tools hand the updater
    opts["fetch"] = make_fetch(app.storage, tls)
    # staging on the flash leaves room for the log ring to fill and for config writes
    opts["flash_reserve"] = cfg.get("log.files") * cfg.get("log.file_kb") * 1024 + 32768
    opts.update(app.ota_options)
    app.updater = Updater(app.storage, log, **opts)
    app.updater.boot_check()
    app.guard = Guard(
        app.updater, log,
        healthy=lambda: bool((app.link and app.link.last_ntp) or
                             (app.mqtt and app.mqtt.connected)),
        min_run_ms=cfg.get("ota.gate_min_s") * 1000,
        deadline_ms=cfg.get("ota.gate_deadline_s") * 1000, safe_mode=app.safe_mode,
        feed_wdt=not cfg.get("watchdog.timeout_s"), alive=app.sup.beat("ota"),
        reset=app.reset)
    app.sup.add("ota", app.guard.run)
    if cfg.get("ota.url") and cfg.get("ota.check_h"):
        app.sup.add("ota-check", lambda: watch(
            app.updater, cfg.get("ota.url"), cfg.get("ota.check_h") * 3600000,
            ready=lambda: app.link is None or app.link.up(), reboot=app.reset),
            critical=False)


def build_management(app):
    """Health reports, the watchdog, and (with MQTT and a key) remote commands."""
    from wildcam.manage.health import Deployment, Health, Watchdog, system_source

    cfg, sup = app.config, app.sup
    app.deployment = Deployment(app.storage)
    if app.capture is not None:
        app.capture.alive = sup.beat("capture")
        app.capture.deployment = app.deployment
    app.sync.alive = sup.beat("sync")
    if app.link is not None:
        app.link.alive = sup.beat("net")
    sources = {"sys": system_source(app.boot, board.reset_cause_name(), VERSION,
                                    app.updater.status().get("slot") or "lib"),
               "queue": app.outbox.stats, "sync": app.sync_summary,
               "tasks": lambda: {"restarts": sup.total_restarts()},
               "storage": app.storage_summary, "ota": app.updater.status}
    sources["deploy"] = app.deployment.record
    if app.capture is not None:
        sources["power"] = app.sensors.snapshot
        sources["capture"] = app.capture_summary
    if app.camera_problem:
        sources["camera"] = lambda: {"error": app.camera_problem}
    if app.link is not None:
        sources["net"] = app.link.stats
    app.health = Health(sources, app.logs.get("health"))
    app.manage = None
    if app.mqtt is not None:
        build_commands(app)
    publish = app.manage.publish_state if app.manage is not None else None
    sup.add("health", lambda: app.health.heartbeat(
        cfg.get("health.interval_s"), app.queue_health, publish, sup.beat("health"),
        app.health_due))
    if cfg.get("watchdog.timeout_s"):
        t = cfg.get("watchdog.timeout_s") * 1000
        app.watchdog = Watchdog(sup, app.logs.get("wdt"), timeout_ms=t,
                                stale_ms=t * 3 // 4, feed_ms=min(5000, t // 4))
        sup.add("watchdog", app.watchdog.run, critical=False)


def build_commands(app):
    from wildcam.manage.commands import Commands
    from wildcam.manage.remote import Management

    cfg = app.config
    cmds = Commands(app.storage, cfg.secret("cmd.hmac_key"), app.device_id,
                    app.logs.get("cmd"), now=clock.now, set_clock=clock.set_unix)
    app.manage = m = Management(cfg, app.storage, app.logs.get("manage"), app.logs,
                                app.mqtt, cmds, app.device_id, VERSION)
    m.register_basics(app.capture, app.sync, app.health)
    m.register_ota(app.updater)

    def requeue(args):  # dead letters back in the queue once their cause is fixed
        from wildcam.queue.deadletters import requeue

        r = requeue(app.outbox, args.get("limit", 100))
        app.sync.kick()
        return r

    cmds.register("requeue", requeue, check=lambda a: None if isinstance(
        a.get("limit", 100), int) and 0 < a.get("limit", 100) <= 400 else "limit: 1..400")
    if cfg.secret("cmd.hmac_key"):
        app.mqtt.listen(app.mqtt.topic("cmd"), m.on_message)  # before the first connect
        app.sup.add("commands", lambda: m.run(app.sup.beat("commands")))
    app.sup.add("probation", lambda: m.probation(), critical=False, restart=False)
    if cfg.get("hass.discovery"):
        app.mqtt.on_connect = m.announce
        if app.capture is not None:
            app.capture.on_thumb = m.publish_thumb


def build_power(app):
    """Battery camera: radio only when useful, deep sleep when idle (wildcam.power)."""
    from wildcam.core import windows
    from wildcam.power import Policy, Sleeper
    from wildcam.core.rtcstate import RtcState

    cfg = app.config
    app.rtc = RtcState().load()
    if app.rtc.problem:
        app.log.warning("%s", app.rtc.problem)
    keep_reference(app)
    app.policy = Policy(cfg.get("power.low_pct"), cfg.get("power.critical_pct"),
                        cfg.get("power.active_hours"), cfg.get("time.tz_offset_min"))
    tier = app.policy.tier(app.sensors.snapshot()["battery_pct"])
    app.capture.max_burst = app.policy.burst(cfg.get("capture.burst_count"), tier)
    spans = windows.parse(cfg.get("sync.windows"))
    tz = cfg.get("time.tz_offset_min")
    uploads = app.policy.uploads(tier)

    def ota_radio():
        """The update check wants the radio: a version on trial needs its network answer, a
        check or download is under way, or a check is due and a window is open (battery
        tier permitting uploads)."""
        up = app.updater
        if app.guard.watching or up.busy():
            return True
        return up.wanted and uploads == "all" and windows.is_open(spans, clock.now(), tz)

    def radio_wanted():
        if ota_radio():
            return True
        if uploads == "none" or not app.outbox.pending():
            return False
        if app.outbox.depth()["alert"]:
            return True
        return uploads == "all" and windows.is_open(spans, clock.now(), tz)

    def draining():
        """Uploads (or the update check) are due and possible: stay up (connecting counts)
        to send them, at most power.max_awake_s; a staging cut short resumes next wake."""
        if app.link is not None and ota_radio():
            return True
        if app.link is None or not app.outbox.pending() or not radio_wanted():
            return False
        if not app.link.up():
            return True  # still connecting (bounded by power.max_awake_s)
        return app.outbox.next(lambda lane: app.sync._ready(lane, time.ticks_ms())) \
            is not None

    def next_due():
        now = clock.now()
        due = []
        if now is not None:
            every = app.policy.heartbeat_s(cfg.get("health.interval_s"), tier)
            due.append(max(0, app.rtc.get("last_hb") + every - now))
            if spans and uploads == "all":  # drained in this window: wake for the next
                due.append(windows.minutes_to_next_start(spans, now, tz) * 60)
        if cfg.get("capture.timelapse_s"):
            due.append(cfg.get("capture.timelapse_s"))
        return min(due) if due else None

    if app.link is not None:
        app.link.want = radio_wanted
    s = app.sleeper = Sleeper(cfg, app.policy, app.rtc, app.logs.get("power"),
                              app.logs, app.boot, lambda: app.capture.busy, draining,
                              cfg.get("pins.pir"), next_due=next_due)
    s.tier = tier
    s.account()  # the sleep that ended with this boot, for the heartbeat
    from wildcam.manage.health import sleep_source

    slept = sleep_source(app.rtc)

    def sleep_state():  # `wake_at`: the timer wake if it slept now (a PIR wake may come first)
        d, now = slept(), clock.now()
        if now is not None:
            d["wake_at"] = now + s.plan(now)[0]
        return d

    app.health.sources["sleep"] = sleep_state
    if app.manage is not None:
        s.maintenance = lambda: app.manage.maintenance
    s.may_sleep = app.guard.may_sleep
    app.capture.on_done = s.event_done
    app.sync.on_done = _chain(app.sync.on_done, lambda items: s.activity())
    app.log.info("battery mode: tier %s, uploads %s", tier, uploads)
    app.sup.add("sleep", s.run, critical=False)


def _chain(first, second):
    def both(items):
        if first:
            first(items)
        second(items)
    return both
