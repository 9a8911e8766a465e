"""Battery voltage and chip temperature, read cheaply and never fatally.

The battery is read through a resistor divider on an ADC pin (`pins.battery_adc`,
`power.battery_divider`). ESP32 ADC2 pins cannot be read while WiFi is on (the driver
raises OSError): readings are cached, so read at boot, before the radio starts, and the
last good value is reported afterwards.

Temperature is the chip's own sensor (the die, warmer than the air). The ESP32-S2/S3/C3
have `esp32.mcu_temperature()` (degrees Celsius). The classic ESP32 of the ESP32-CAM has only
`esp32.raw_temperature()`: an uncalibrated reading in degrees Fahrenheit, converted here as
(F - 32) / 1.8 and reported with `temp_approx: true`; 128 is what it reads when the sensor
gives nothing (ESPHome's internal_temperature treats it so), reported as None.
"""

# Li-ion single cell: open-circuit volts -> percent (rough, piecewise linear)
_CURVE = ((3.30, 0), (3.50, 5), (3.65, 15), (3.75, 35), (3.85, 55), (3.95, 70),
          (4.05, 85), (4.20, 100))


def percent(volts):
    """Estimated state of charge (0..100) of a Li-ion cell at `volts`, or None."""
    if volts is None:
        return None
    if volts <= _CURVE[0][0]:
        return 0
    for (v0, p0), (v1, p1) in zip(_CURVE, _CURVE[1:]):
        if volts <= v1:
            return int(p0 + (p1 - p0) * (volts - v0) / (v1 - v0) + 0.5)
    return 100


class Sensors:
    def __init__(self, battery_pin=-1, divider=2.0):
        self._pin = battery_pin
        self._divider = divider
        self._adc = None
        self.battery_v = None
        self.errors = 0

    def read_battery(self):
        """Battery volts (cached on failure), or None without a battery pin."""
        if self._pin < 0:
            return None
        try:
            if self._adc is None:
                import machine

                self._adc = machine.ADC(machine.Pin(self._pin), atten=machine.ADC.ATTN_11DB)
            self.battery_v = round(self._adc.read_uv() * self._divider / 1000000, 3)
        except (OSError, ValueError, AttributeError, TypeError):
            self.errors += 1
        return self.battery_v

    def temperature(self):
        """(°C rounded to 0.1 or None, approximate?) from the chip's sensor."""
        try:
            import esp32
        except ImportError:
            return None, False
        try:
            read = getattr(esp32, "mcu_temperature", None)
            if read is not None:  # ESP32-S2/S3/C3: calibrated, Celsius
                return round(read(), 1), False
            raw = getattr(esp32, "raw_temperature", None)
            if raw is None:
                return None, False
            f = raw()  # classic ESP32: uncalibrated Fahrenheit
            if f == 128:
                return None, False
            return round((f - 32) / 1.8, 1), True
        except OSError:
            return None, False

    def temperature_c(self):
        """The chip's temperature in °C, or None when the port cannot say."""
        return self.temperature()[0]

    def snapshot(self):
        t, approx = self.temperature()
        out = {"battery_v": self.battery_v, "battery_pct": percent(self.battery_v),
               "temp_c": t}
        if approx:
            out["temp_approx"] = True
        return out
