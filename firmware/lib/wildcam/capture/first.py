"""The first shot: a PIR wake's first frame before the firmware is built.

Before a battery camera sleeps, `shot_record` leaves in RTC memory (core.rtcstate `shot`)
what its next PIR wake needs for the first frame: camera pins, frame size, JPEG quality,
settle frames, and the flash LED's decision from the light level the next boot's capture
service will judge by. `first_shot` (called by `App.start()` before anything else) takes
that frame with nothing loaded but this module, core.rtcstate, core.board and capture.cam:
no config, log, capture service or card yet. The App then builds those, adopts the camera
(wildcam.devices) and saves the frame as the burst's first image.

Guarantees:
- No record (the first wake after power-up, a record from other firmware, a field of the
  wrong type) or a last boot that did not end in a planned sleep: `first_shot` returns None
  and the ordinary path photographs, from the config. A wake in the last event's quiet
  period (`quiet_until`, power.Sleeper) takes no frame here either.
- It never raises: a camera that fails here is tried again by the ordinary path (the
  failure is logged once the log exists).
- The frame stays valid until the camera's next capture (the driver's frame buffer).
"""

import time

from wildcam.core import clock


class _Later:
    """The camera's log while there is no log yet (the first shot): kept, then replayed."""

    def __init__(self):
        self.lines = []

    def info(self, msg, *args):
        self.lines.append(("info", msg, args))

    def warning(self, msg, *args):
        self.lines.append(("warning", msg, args))

    def replay(self, log):
        for level, msg, args in self.lines:
            getattr(log, level)(msg, *args)
        self.lines = []


def shot_record(cfg, rtc, cam=None):
    """Before deep sleep: the next PIR wake's first-shot record, from the config in force,
    the light level the next boot's capture service will judge by (the RTC's) and the JPEG
    quality `cam` (capture.cam) uses now."""
    from wildcam.capture.judge import AMBIENT_MAX_AGE_S
    from wildcam.core import presets

    mode = cfg.get("capture.flash")
    q = cfg.get("capture.jpeg_quality")
    if cam is not None:  # a lowered quality (capture.cam) carries over to the next wake
        q = min(q, cam.q)
    rec = {"fs": cfg.get("capture.frame_size"), "q": q,
           "settle": cfg.get("capture.settle_frames"), "led": cfg.get("pins.flash_led"),
           "pins": presets.from_config(cfg), "lit_from": 0, "lit_until": 0,
           "lit": 0 if mode == "off" else 1, "lit_stale": 0 if mode == "off" else 1,
           "quiet_s": cfg.get("capture.quiet_s")}
    at = rtc.get("ambient_at")
    if mode == "auto" and at:  # as capture.judge ambient() will see it at the next boot
        rec["lit"] = 1 if rtc.get("ambient") < cfg.get("capture.dark_level") else 0
        rec["lit_from"], rec["lit_until"] = at, at + AMBIENT_MAX_AGE_S
    return rec


async def first_shot(app):
    """A PIR wake's first frame from the RTC record: (frame, ticks, lit) or None. Leaves
    on the App: `rtc` (loaded), `cam` and `cam_log` (what it logged) when it made one."""
    from wildcam.core.rtcstate import RtcState, in_quiet

    rtc = app.rtc = RtcState().load()
    rec = rtc.shot
    if rec is None or rtc.get("unstable"):  # the last boot did not end in a planned sleep
        return None
    if in_quiet(rtc, rec["quiet_s"]):  # no picture, as the capture service's wake_burst
        return None
    from wildcam.capture.cam import Camera
    from wildcam.core import board

    log = app.cam_log = _Later()
    try:
        board.release_holds(rec["pins"]["pwdn"], rec["led"])
        app.cam = Camera(log, frame_size=rec["fs"], quality=rec["q"], settle=rec["settle"],
                         pins=rec["pins"])
        now = clock.rtc_seconds()  # as capture.judge times the light level
        lit = rec["lit"] if rec["lit_from"] <= now < rec["lit_until"] else rec["lit_stale"]
        if lit and rec["led"] >= 0:
            import machine

            machine.Pin(rec["led"], machine.Pin.OUT, value=1)
        frame = await app.cam.capture()
    except Exception as e:  # noqa: BLE001 - the ordinary path tries again, from the config
        log.warning("first shot from the wake record failed: %s", e)
        return None
    return frame, time.ticks_ms(), bool(lit)
