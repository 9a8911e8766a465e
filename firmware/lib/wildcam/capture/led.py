"""The flash/IR LED: fully on for the pictures, dimmed for the motion check's look frames.

The look frames after a night burst only need enough light for the detector to compare
them with a reference taken under the same light; the LED draws ~250 mA fully on
(docs/POWER.md), so they are lit at `detect.led_pct` of it by PWM: the LED's mean current
is the duty's share of the full current and a frame's exposure (milliseconds at night)
spans many PWM periods, so the frame sees the mean light, not bands.

Guarantees:
- `set(pct)`: 0 off and 100 fully on are a plain output level (no LEDC channel in use);
  in between a PWM at that duty (`PWM_HZ`), but only where the board preset allows it
  (`power.led_pwm`): on the classic ESP32 MicroPython's PWM takes its LEDC channels from the
  high-speed group and the camera's XCLK runs in the low-speed one; on chips with only the
  low-speed group a PWM would take the XCLK's channel and stop the camera (docs/FIDELITY.md).
  Without it, any share above 0 is fully on.
- Before a plain level is written the PWM is released (`deinit`), so the pad is the GPIO
  output's again; creating the pin does not change its level (a first shot's lit LED stays
  lit until the burst decides).
- It never raises: a pin that will not switch is logged (the capture goes on); a PWM that
  will not start leaves the LED fully on instead (look frames lit too brightly cost charge,
  dark ones cost the verdict) and is not tried again.
"""

from micropython import const

PWM_HZ = const(5000)  # as the ESP32 CameraWebServer's LED intensity (ledcSetup 5 kHz)


class Led:
    def __init__(self, pin, log, pwm_ok=False):
        self.pin = pin
        self._log = log
        self.pwm_ok = pwm_ok
        self._out = None  # machine.Pin once used
        self._pwm = None  # machine.PWM while dimmed
        self.level = 0  # percent now

    def set(self, pct):
        if self.pin < 0:
            return
        pct = max(0, min(100, pct))
        if 0 < pct < 100 and not self.pwm_ok:
            pct = 100
        try:
            import machine

            if 0 < pct < 100 and not self._dim(machine, pct):
                pct = 100
            if not 0 < pct < 100:
                if self._pwm is not None:  # the pad back to the GPIO output register
                    self._pwm.deinit()
                    self._pwm = self._out = None
                if self._out is None:  # as an output: routed to the GPIO register
                    self._out = machine.Pin(self.pin, machine.Pin.OUT)
                self._out.value(1 if pct else 0)
            self.level = pct
        except (OSError, ValueError) as e:
            self._log.warning("flash LED: %s", e)

    def _dim(self, machine, pct):
        """The PWM at `pct`; False when it will not start (then never again)."""
        try:
            if self._pwm is None:
                self._pwm = machine.PWM(machine.Pin(self.pin), freq=PWM_HZ,
                                        duty_u16=pct * 65535 // 100)
                self._out = None  # the pad is the LEDC channel's now
            else:
                self._pwm.duty_u16(pct * 65535 // 100)
            return True
        except Exception as e:  # noqa: BLE001 - no PWM: full light rather than none
            self._log.warning("flash LED: no PWM (%s): fully on", e)
            self.pwm_ok = False
            self._pwm = None
            return False
