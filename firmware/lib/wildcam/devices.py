"""The composition root's builders for the board's own devices: the SD card, the camera and
the capture service, the motion detector, the pins held through deep sleep, and battery
power. A PIR wake needs only this half of the wiring before its first picture (wildcam.app
`start()`), so nothing of the network half (wildcam.wiring) is loaded by then.

Each builder takes the App, reads the config and what earlier builders made, and stores
what it makes on the App.

A PIR wake's first frame comes before this module is loaded (wildcam.capture.first);
`build_capture` adopts its camera.
"""

import time

from wildcam.core import clock


def mount_sd(app):
    """Mount the SD card once (the PIR wake's burst needs it before anything else)."""
    if app.has_sd is None:
        from wildcam.core import board

        app.has_sd = board.mount_sd(app.storage, app.log)
    return app.has_sd


def _camera(app):
    """The camera the config asks for, or the first shot's: adopted whatever the config
    says (its frame is the burst's first image and must stay valid), with the config's
    size, quality and settle frames from its next reconfiguration on; its pins are the
    record's until the next wake (the next sleep writes the config's)."""
    from wildcam.capture.cam import Camera
    from wildcam.core import presets

    cfg = app.config
    log = app.logs.get("cam")
    size, quality, settle = (cfg.get("capture.frame_size"), cfg.get("capture.jpeg_quality"),
                             cfg.get("capture.settle_frames"))
    cam = app.cam
    if cam is None:
        release_holds(app)  # the camera's power-down pin may still be held from deep sleep
        cam = Camera(log, frame_size=size, quality=quality, settle=settle,
                     pins=presets.from_config(cfg))
        rec = app.rtc.shot if app.rtc is not None else None
        if rec is not None:  # a quality lowered before the last sleep stays lowered
            cam.q = min(quality, rec["q"])
        return cam
    app.cam_log.replay(log)
    cam._log = log
    cam.frame_size, cam.settle = size, settle
    cam.quality = quality  # configured; the record's (perhaps lowered) quality is kept
    cam.q = min(cam.q, quality)
    return cam


def build_capture(app):
    from wildcam.capture.service import CaptureService
    from wildcam.core import presets
    from wildcam.capture.sdspace import SdSpace
    from wildcam.capture.sensors import Sensors

    cfg = app.config
    mount_sd(app)
    app.sensors = Sensors(*presets.battery_adc(cfg))  # the preset's divider by default
    app.sensors.read_battery()  # ADC2 pins only read before WiFi starts
    app.space = SdSpace(app.storage, cfg.get("storage.min_free_mb") * 1024 * 1024,
                        cfg.get("storage.full_policy"), app.logs.get("sd")) \
        if app.has_sd else None
    app.cam = _camera(app)
    app.capture = CaptureService(cfg, app.storage, app.cam, app.logs.get("capture"),
                                 app.boot.boots, app.device_id, sensors=app.sensors,
                                 space=app.space,
                                 detector=(lambda: build_detector(app))
                                 if cfg.get("detect.enabled") else None,
                                 on_image=app.on_image, on_event=app.on_event,
                                 boot_ms=app.t0)
    app.sup.add("capture", app.capture.run)
    if "timelapse" in cfg.get("capture.mode") or cfg.get("capture.timelapse_s"):
        app.sup.add("timelapse", app.capture.timelapse, critical=False)
    if app.rtc is not None:  # a battery camera: light level and reference across sleep
        from wildcam.power import Policy

        app.capture.reference_store = app.rtc
        app.policy = Policy(cfg.get("power.low_pct"), cfg.get("power.critical_pct"),
                            cfg.get("power.active_hours"), cfg.get("time.tz_offset_min"))
        tier = app.policy.tier(app.sensors.snapshot()["battery_pct"])
        app.capture.max_burst = app.policy.burst(cfg.get("capture.burst_count"), tier)
    return app.capture


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
    det = app.capture.judge.detector if app.capture is not None else None
    if det is None:
        return
    if app.rtc.reference:
        if not det.load_reference(app.rtc.reference):
            app.log.info("detector reference not used (%s): cold start", det.ref_problem)


def build_power(app):
    """Battery camera: radio only when useful, deep sleep when idle (wildcam.power)."""
    from wildcam.core import windows
    from wildcam.net.radiohold import RadioHold
    from wildcam.power import Sleeper

    cfg = app.config
    if app.rtc.problem:
        app.log.warning("%s", app.rtc.problem)
    keep_reference(app)
    tier = app.policy.tier(app.sensors.snapshot()["battery_pct"])
    spans = windows.parse(cfg.get("sync.windows"))
    tz = cfg.get("time.tz_offset_min")
    uploads = app.policy.uploads(tier)
    hold = RadioHold(app.rtc, app.log, spans, tz)

    def ota_radio():
        """The update check wants the radio: a version on trial needs its network answer, a
        check or download is under way, or a check is due and a window is open (battery
        tier permitting uploads)."""
        up = app.updater
        if app.guard.watching or up.busy():
            return True
        return up.wanted and uploads == "all" and windows.is_open(spans, clock.now(), tz)

    def mailbox():
        """The radio is up this wake: read the command mailbox before sleeping. The broker
        sends what it kept for our persistent session right after CONNACK, ahead of the
        SUBACK a connect waits for, so one completed connect has read it; then what came
        is run and answered (bounded by power.max_awake_s like uploads)."""
        m, mq = app.manage, app.mqtt
        if m is None or mq is None or app.link is None or not app.link.up():
            return False
        return not mq.counters["connects"] or m.busy()

    def radio_wanted():
        if hold.held() and not (app.guard.watching or app.updater.busy()):
            return False  # the network was unreachable: not before the hold ends
        if ota_radio() or mailbox():
            return True
        if uploads == "none" or not app.outbox.pending():
            return False
        if app.outbox.depth()["alert"]:
            return True
        return uploads == "all" and windows.is_open(spans, clock.now(), tz)

    def draining():
        """Uploads (or the update check) are due and possible: stay up (connecting counts)
        to send them, at most power.max_awake_s; a staging cut short resumes next wake.
        A connect that failed ends it (wildcam.net.radiohold)."""
        if hold.check(app.link):
            return False
        if app.link is not None and (ota_radio() or mailbox()):
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
                              cfg.get("pins.pir"), next_due=next_due,
                              quiesce=lambda: _quiesce(app), hold=lambda: _hold(app),
                              before=lambda secs: _say_asleep(app, secs))
    s.tier = tier
    s.account()  # the sleep that ended with this boot, for the heartbeat
    from wildcam.manage.health import sleep_source

    slept = sleep_source(app.rtc)

    def sleep_state():
        """`wake_at`: the timer wake if it slept now (a PIR wake may come first); `radio_at`:
        the next wake that brings the radio up (commands are read, state published): the
        next sync window's start (an alert may come sooner)."""
        d, now = slept(), clock.now()
        d["state"] = "awake"
        if now is not None:
            d["wake_at"] = now + s.plan(now)[0]
            d["radio_at"] = now + windows.minutes_to_next_start(spans, now, tz) * 60 \
                if spans else d["wake_at"]
        return d

    app.health.sources["sleep"] = sleep_state
    if app.manage is not None:
        s.maintenance = lambda: app.manage.maintenance
    s.may_sleep = app.guard.may_sleep
    app.capture.on_done = s.event_done
    app.sync.on_done = _chain(app.sync.on_done, lambda items: s.activity())
    app.log.info("battery mode: tier %s, uploads %s", tier, uploads)
    app.sup.add("sleep", s.run, critical=False)


async def _say_asleep(app, secs):
    """Before a deep sleep by design, when MQTT is up: the retained state says asleep and
    when the timer wakes us, the status topic says `asleep` (Home Assistant keeps showing
    the camera: wildcam.manage.health), and the clean DISCONNECT drops the last will, so the
    broker never calls a camera asleep by design `offline`. A PIR may wake it sooner."""
    mq = app.mqtt
    if mq is None or not mq.connected:
        return
    snap = app.health.snapshot()
    now = clock.now()
    sl = snap["sleep"] = snap.get("sleep") or {}
    sl["state"] = "asleep"
    if now is not None:
        sl["wake_at"] = now + secs
        sl["radio_at"] = max(sl.get("radio_at") or 0, now + secs)
    if app.manage is not None:
        await app.manage.publish_state(snap)
    await mq.disconnect(b"asleep")


def _power_pins(cfg):
    from wildcam.core import presets

    return presets.from_config(cfg)["pwdn"], cfg.get("pins.flash_led")


def _quiesce(app):
    """Before deep sleep: the next wake's first-shot record (saved by the Sleeper next),
    camera driver off, radio off, SD card unmounted."""
    from wildcam.core import board

    if app.rtc is not None:
        from wildcam.capture.first import shot_record

        try:
            app.rtc.shot = shot_record(app.config, app.rtc, app.cam) \
                if app.capture is not None else None
        except Exception as e:  # noqa: BLE001 - the next wake takes the ordinary path
            app.rtc.shot = None
            app.log.warning("first-shot record: %s", e)
    if app.cam is not None:
        app.cam.deinit()
    if app.link is not None:
        app.link.off()
    if app.has_sd:
        board.unmount_sd()


def _hold(app):
    from wildcam.core import board

    try:
        board.hold_pins(*_power_pins(app.config))
    except (ValueError, OSError):  # a bad pin in the config must not stop the sleep
        pass


def release_holds(app):
    """At boot, before the camera starts: the pins the last deep sleep held are let go."""
    from wildcam.core import board

    try:
        board.release_holds(*_power_pins(app.config))
    except (ValueError, OSError) as e:  # a bad pin in the config: the camera says the rest
        app.log.warning("pin holds: %s", e)


def _chain(first, second):
    def both(items):
        if first:
            first(items)
        second(items)
    return both
