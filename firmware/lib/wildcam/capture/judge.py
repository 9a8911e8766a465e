"""Motion confirmation after the burst, and the light level the flash decision uses.

The capture service photographs first and asks afterwards (an animal crossing the view is
often gone in 1-2 s): `window()` runs after the burst on small grayscale frames, judged
against the detector's reference background (the view before the trigger, kept in RTC
memory across deep sleep), and answers whether the trigger was an animal.

Guarantees:
- `window()` returns (ambient, verdict): verdict a dict (motion seen: its box is where it
  was in the deciding grayscale frame, `frame` names that frame's size), False (no motion
  in `detect.frames` frames: a false trigger), or None when the camera failed (no verdict:
  the burst is kept, better a false trigger than a lost animal). It never raises.
- The window takes no look frame more than it needs: it ends at the first frame that
  confirms motion, and, with no motion, as soon as its first `detect.still_frames` frames
  all saw nothing change against the reference (`MotionDetector.quiet_lead`: a view that
  stayed as it was before the trigger; never in a cold window, whose first frames learn).
  Each look frame costs its frame time and the gap to the next at the awake current, and
  the LED's while it is lit (docs/POWER.md).
- The reference learns only from windows without motion (and time-lapse frames): an animal
  never fades into the view it is compared against.
- `ambient` is remembered with its time (and, through `store`, across deep sleep, in the
  RTC's own seconds, so a camera whose clock was never set keeps it too), so the next burst
  decides on the flash LED without waiting for a frame (a level younger than
  AMBIENT_MAX_AGE_S; `ambient()` is None when there is none).
Frames are read as unsigned bytes (`cam.unsigned`): the maintained driver's are signed.
"""

import asyncio
import time

from micropython import const

from wildcam.core import clock

AMBIENT_MAX_AGE_S = const(7200)


def level(frame):
    """Mean grey level 0..255 of an unsigned grayscale frame."""
    return sum(frame) // len(frame)


class Judge:
    """`detector`: a wildcam.capture.detect.MotionDetector, None (no detection), or a
    function that builds one: it is called on first use, after the burst, so a PIR wake
    does not import the detector's modules before its first picture."""

    def __init__(self, config, cam, detector, log):
        self._cfg = config
        self._cam = cam
        self._det = detector
        self.enabled = detector is not None
        self._log = log
        self.store = None  # has .reference and .get/.set (RTC state of a battery camera)
        self.reason = "?"  # why the last window said no
        self.decided_ms = None  # ticks of the frame that decided the last window
        self.looked = 0  # look frames the last window took
        self._ambient = None
        self._ambient_ms = 0  # ticks when it was measured
        self.light_ms = None  # ticks of the last light frame taken (None: none yet)

    @property
    def detector(self):
        d = self._det
        if d is not None and not hasattr(d, "refresh"):
            d = self._det = d()  # the factory: build it now
        return d

    # --- light ----------------------------------------------------------------------------
    def note_ambient(self, value):
        if value is None:
            return
        self._ambient = value
        self._ambient_ms = time.ticks_ms()
        if self.store is not None:  # across deep sleep, timed by the RTC's own seconds
            self.store.set("ambient", value)  # (they run whether or not the clock is set)
            self.store.set("ambient_at", clock.rtc_seconds())

    def flash_wanted(self, ambient):
        """Light the burst? `capture.flash` on/off, or auto: when `ambient` (the level
        `ambient()` gave) is below `capture.dark_level`, or unknown."""
        mode = self._cfg.get("capture.flash")
        if mode == "on":
            return True
        if mode == "off":
            return False
        if ambient is None:  # no fresh level: light it (a lit daytime burst costs ~0.1 mAh,
            return True      # an unlit night burst costs the animal; the next one knows)
        return ambient < self._cfg.get("capture.dark_level")

    def ambient(self):
        """The freshest ambient level known, or None (see the module notes)."""
        if self._ambient is not None and \
                time.ticks_diff(time.ticks_ms(), self._ambient_ms) < AMBIENT_MAX_AGE_S * 1000:
            return self._ambient
        if self.store is not None:
            at = self.store.get("ambient_at")
            if at and 0 <= clock.rtc_seconds() - at < AMBIENT_MAX_AGE_S:
                return self.store.get("ambient")
        return None

    # --- the window after the burst -------------------------------------------------------
    async def window(self, lit, set_led):
        """Judge the trigger from grayscale frames taken now (after the burst); `lit`: the
        LED lit the burst and lights the window (the detector needs light) at
        `detect.led_pct` (set_led(percent); capture.led dims it by PWM), switched on after
        the switch to grayscale (a sensor restart, not worth lighting; its settle frames see
        the lit view), off at the end. Between the burst and the window it is off."""
        det = self.detector
        cam = self._cam
        try:
            cam.configure(gray=True, frame_size=self._cfg.get("detect.frame"))
            if lit:
                set_led(self._cfg.get("detect.led_pct"))
            det.begin()
            gap = 1000 // self._cfg.get("detect.fps")
            n = self._cfg.get("detect.frames")
            still = self._cfg.get("detect.still_frames")
            r = None
            ambient = None
            self.looked = 0
            for i in range(n):
                t = time.ticks_ms()
                frame = cam.unsigned(await cam.capture())
                self.looked = i + 1
                if ambient is None:
                    ambient = level(frame)
                r = det.update(frame)
                self.decided_ms = time.ticks_ms()
                if r.motion:  # confirmed: the window ends here
                    det.end(learn=False)
                    self._keep_reference()
                    verdict = r.as_dict()
                    verdict["frame"] = self._cfg.get("detect.frame")
                    return self._lit_level(ambient, lit), verdict
                if still and det.quiet_lead >= still:
                    break  # nothing changed in the first `still` frames: nothing came
                if i + 1 < n:  # frames `gap` apart (the protocol's rate), not gap + frame time
                    await asyncio.sleep_ms(max(0, gap - time.ticks_diff(time.ticks_ms(), t)))
            det.end(learn=True)  # nothing moved: what stayed still refreshes the reference
            self._keep_reference()
            self.reason = r.reason if r else "?"
            return self._lit_level(ambient, lit), False
        except Exception as e:  # noqa: BLE001 - no verdict: the burst is kept
            self._log.warning("motion check failed: %s", e)
            return None, None
        finally:
            if lit:
                set_led(0)

    @staticmethod
    def _lit_level(ambient, lit):
        """A level measured with the LED on says nothing about the scene's own light."""
        return None if lit else ambient

    async def light(self, after_led=False):
        """The scene's own light now: one small grayscale frame (LED off); None if the
        camera failed. For a PIR event, after its burst: it was not worth waiting for.
        `after_led`: the LED was on until now; with GRAB_LATEST the sensor streams on, so
        the newest frame may have been exposed under it: one frame is dropped first."""
        cam = self._cam
        try:
            size = self._cfg.get("detect.frame") if self.enabled else "96X96"
            cam.configure(gray=True, frame_size=size)
            if after_led:
                await cam.capture()
            ambient = level(cam.unsigned(await cam.capture()))
            self.light_ms = time.ticks_ms()
            self.note_ambient(ambient)
            return ambient
        except Exception as e:  # noqa: BLE001 - the sidecar goes without a light level
            self._log.warning("light frame failed: %s", e)
            return None

    async def refresh(self):
        """A time-lapse event: one detection frame refreshes the reference (the view while
        nothing is expected to move); returns the ambient level, or None."""
        cam = self._cam
        try:
            if not self.enabled:
                cam.configure(gray=True, frame_size="96X96")
                ambient = level(cam.unsigned(await cam.capture()))
            else:
                cam.configure(gray=True, frame_size=self._cfg.get("detect.frame"))
                frame = cam.unsigned(await cam.capture())
                ambient = level(frame)
                self.detector.refresh(frame)
                self._keep_reference()
            self.note_ambient(ambient)
            return ambient
        except Exception as e:  # noqa: BLE001 - a time-lapse image without a refresh
            self._log.warning("light/reference frame failed: %s", e)
            return None

    def _keep_reference(self):
        """Hand the detector's reference to whatever keeps it across deep sleep."""
        if self.store is not None:
            det = self.detector
            self.store.reference = det.save_reference() if det.ref.count else None
