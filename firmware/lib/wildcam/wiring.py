"""The composition root's builders for the queue, the network and what runs over it (sync,
MQTT, OTA, management, commands); the board's own devices are built in wildcam.devices.

`App.build()` (wildcam.app) calls them in order; each takes the App, reads the config and
what earlier builders made, and stores what it makes on the App. This is the only module
besides app.py that knows every part of the firmware; the parts themselves receive what
they need as arguments and never import each other sideways.
"""


from wildcam import devices
from wildcam.core import board, clock
from wildcam.core.version import VERSION

FLASH_KEEP_FREE = 256 * 1024  # without an SD card the outbox leaves this much flash free


def build_sync(app):
    """Outbox (on the SD card, else flash), WiFi link, destinations, sync engine."""
    from wildcam.queue.outbox import Outbox
    from wildcam.queue.sync import Route, SyncEngine

    cfg = app.config
    devices.mount_sd(app)
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
        app.sup.add("mqtt", lambda: _linked(app.link, mq.run), critical=False)  # keepalive
    # images to storage; events to MQTT, falling back to storage when MQTT is down; with
    # neither MQTT nor a local folder, JSON objects in the bucket/container (dest/objstore)
    # (mqtt.events off: MQTT carries commands and the retained state only)
    events = (["mqtt"] if mq is not None and cfg.get("mqtt.events") else []) + local or media
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


async def _linked(link, run):
    """`run()` (MQTT's keepalive and reconnects) once WiFi is up: a battery camera's radio
    is off for most wakes, and a connect without a route only fails (EHOSTUNREACH)."""
    import asyncio

    while link is not None and not link.up():
        await asyncio.sleep_ms(500)
    await run()


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


def build_ota(app):
    """Signed OTA: the updater, the health gate for a version on trial, the checks."""
    from wildcam.ota.fetch import make_fetch
    from wildcam.ota.guard import Guard, watch
    from wildcam.ota.updater import Updater

    cfg = app.config
    log = app.logs.get("ota")
    tls = ota_tls(cfg, app.storage.real, log)
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


def ota_tls(cfg, real, log):
    """The TLS context for https:// OTA URLs: verifying against `ota.ca`; without one, none
    (an https URL is then refused) unless `ota.insecure` is set, which is said loudly at
    every boot. Integrity never rests on TLS (the manifest is signed, every file hashed):
    verification keeps a network attacker from reading what the camera fetches and from
    feeding it junk to download."""
    from wildcam.net.stream import tls_context

    if cfg.get("ota.ca"):
        try:
            return tls_context(real(cfg.get("ota.ca")))
        except (OSError, ValueError) as e:
            log.error("ota: CA file %s not usable (%s): https updates refused",
                      cfg.get("ota.ca"), e)
            return None
    if cfg.get("ota.insecure"):
        log.error("ota: ota.insecure is set: https updates are fetched WITHOUT verifying the "
                  "server (set ota.ca to a CA file to verify)")
        return tls_context(verify=False)
    return None


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
    app.health.sources["cmd"] = m.stats  # refusals are counted where the user looks
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
