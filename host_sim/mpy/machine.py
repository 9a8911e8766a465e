"""Simulated `machine` module (esp32 port API). Every call acts on the current board
(host_sim.context.current_board); see docs/HOST_SIM.md.

Signatures follow the esp32 port's C bindings (ports/esp32/machine_*.c, extmod/machine_*.c),
which take most arguments positionally only; tests/test_board_contract.py holds them to
micropython-esp32-stubs and lists where the esp32 port and the (all-port) stubs differ."""
from host_sim import constants as _C
from host_sim.context import get_board as _board
from host_sim.errors import DeepSleepRequest as _DeepSleep
from host_sim.errors import ResetRequest as _Reset
from host_sim.hw import pins as _P
from host_sim.hw.rtc import MEMORY_MAX as _RTC_MEM_MAX
from host_sim.lifecycle import Halt as _Halt

PWRON_RESET = _C.PWRON_RESET
HARD_RESET = _C.HARD_RESET
WDT_RESET = _C.WDT_RESET
DEEPSLEEP_RESET = _C.DEEPSLEEP_RESET
SOFT_RESET = _C.SOFT_RESET
PIN_WAKE = _C.PIN_WAKE
EXT0_WAKE = _C.EXT0_WAKE
EXT1_WAKE = _C.EXT1_WAKE
TIMER_WAKE = _C.TIMER_WAKE
TOUCHPAD_WAKE = _C.TOUCHPAD_WAKE
ULP_WAKE = _C.ULP_WAKE
SLEEP = 2
DEEPSLEEP = 4


class Pin:
    IN = _P.IN
    OUT = _P.OUT
    OPEN_DRAIN = _P.OPEN_DRAIN
    PULL_UP = _P.PULL_UP
    PULL_DOWN = _P.PULL_DOWN
    IRQ_RISING = _P.IRQ_RISING
    IRQ_FALLING = _P.IRQ_FALLING
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0, DRIVE_1, DRIVE_2, DRIVE_3 = 0, 1, 2, 3

    def __init__(self, id, /, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        self._board = _board()
        self.id = int(id)
        self._st = self._board.pins.get(self.id)
        self.init(mode, pull, value=value, drive=drive, hold=hold)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        st = self._st
        if mode != -1 and mode is not None:
            st.mode = mode
            rec = self._board.pwm.get(self.id)
            if rec is not None and rec["routed"] and mode in (_P.OUT, _P.OPEN_DRAIN):
                rec["routed"] = False  # gpio_output_enable: the pad leaves the LEDC channel
                self._board.output_changed(self.id, st.level())
        if pull != -1:
            st.pull = pull
        if value is not None:
            self.value(value)
        if hold is not None and self.id not in _P.INPUT_ONLY:
            # machine_pin.c: gpio_hold_dis() (outstanding changes reach the pad), then
            # gpio_hold_en() again when hold is true
            st.set_hold(bool(hold))
            if st.mode in (_P.OUT, _P.OPEN_DRAIN):
                self._board.output_changed(self.id, st.level())
        return None

    def value(self, x=None, /):
        st = self._st
        if x is None:
            return st.level()
        st.out = 1 if x else 0
        if st.mode in (_P.OUT, _P.OPEN_DRAIN):
            self._board.output_changed(self.id, st.level())
        return None

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, wake=None):
        """As ports/esp32/machine_pin.c: handler, trigger, wake (no hard=, no priority=)."""
        st = self._st
        st.handler = handler
        st.trigger = trigger if handler is not None else 0
        st.pin_obj = self
        return self

    def __repr__(self):
        return "Pin(%d)" % self.id


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT, WIDTH_10BIT, WIDTH_11BIT, WIDTH_12BIT = 9, 10, 11, 12
    _FULL_SCALE = (0.95, 1.25, 1.75, 2.45)  # volts per attenuation (ESP-IDF figures)
    _ADC2 = (0, 2, 4, 12, 13, 14, 15, 25, 26, 27)

    def __init__(self, id, /, *, atten=ATTN_0DB):
        self._board = _board()
        self._gpio = id.id if isinstance(id, Pin) else int(id)
        self._atten = atten

    def atten(self, atten, /):
        self._atten = atten

    def width(self, bits, /):
        pass

    def _volts(self):
        b = self._board
        if self._gpio in self._ADC2 and b.sta.active:
            raise OSError(_C.ETIMEDOUT, "ADC2 is in use by WiFi")
        if self._gpio == b.battery_pin:
            b.account_energy()
            v = b.battery.pin_voltage()
        else:
            v = 3.3 if b.pins.get(self._gpio).level() else 0.0
        return min(v, self._FULL_SCALE[self._atten])

    def read_uv(self):
        return int(self._volts() * 1_000_000)

    def read_u16(self):
        return int(self._volts() / self._FULL_SCALE[self._atten] * 65535)

    def read(self):
        return self.read_u16() >> 4


class PWM:
    """esp32 port (ports/esp32/machine_pwm.c): an LEDC channel routed to the pad, which shows
    its duty (the flash LED lights by it: Board.led_level). A new channel starts at 50 %
    duty when none is given (configure_channel); duty_u16 outside 0..65535 and freq outside
    1 Hz..40 MHz are ValueErrors. deinit() stops the channel (ledc_stop, idle level 0) and
    gives the pad back to its GPIO output register (gpio_matrix_out SIG_GPIO_OUT_IDX), as
    configuring the pin as an output does (ESP-IDF gpio_output_enable connects
    SIG_GPIO_OUT_IDX; the channel keeps running, unseen). Channels are taken in index order
    over all speed modes (find_channel, ANY_MODE): on the classic ESP32 the high-speed
    group first, apart from the camera's XCLK (esp32-camera target/xclk.c: LEDC low-speed
    mode; cnadler86 modcamera.c: LEDC_TIMER_3, LEDC_CHANNEL_0). Chips with the low-speed
    group only (S2, S3, C3) take low-speed channel 0, the XCLK's: the camera gets no frame
    until it is initialised again (Board.xclk_lost)."""

    def __init__(self, dest, /, *, freq=5000, duty_u16=None, duty=None, duty_ns=None,
                 invert=False):
        b = self._board = _board()
        self._gpio = dest.id if isinstance(dest, Pin) else int(dest)
        self._check_freq(freq)
        rec = b.pwm.get(self._gpio)
        if rec is None or not rec["active"]:
            rec = b.pwm[self._gpio] = {"freq": freq, "duty_u16": 32768, "active": True,
                                       "routed": True}
            if b.chip != "esp32":
                b.xclk_lost = True
        self._rec = rec
        rec["freq"], rec["routed"] = freq, True
        if duty_u16 is not None:
            self.duty_u16(duty_u16)
        elif duty is not None:
            self.duty_u16(duty * 64)
        else:
            b.output_changed(self._gpio, 1)

    @staticmethod
    def _check_freq(value):
        if not 1 <= value <= 40_000_000:
            raise ValueError("freqency must be from 1Hz to 40MHz")  # (sic) machine_pwm.c

    def freq(self, value=None, /):
        if value is None:
            return self._rec["freq"]
        self._check_freq(value)
        self._rec["freq"] = value

    def duty_u16(self, value=None, /):
        if value is None:
            return self._rec["duty_u16"]
        if not 0 <= value <= 65535:
            raise ValueError("duty_u16 must be from 0 to 65535")
        self._rec["duty_u16"] = int(value)
        self._board.output_changed(self._gpio, 1 if value else 0)

    def duty(self, value=None, /):
        if value is None:
            return self._rec["duty_u16"] >> 6
        self.duty_u16(int(value) << 6)

    def deinit(self):
        rec = self._rec
        if rec["active"]:
            rec["active"] = rec["routed"] = False
            self._board.output_changed(self._gpio, 0)


class WDT:
    def __init__(self, id=0, timeout=5000):
        self._board = _board()
        self._board.wdt_start(timeout)

    def feed(self):
        self._board.wdt_feed()


class RTC:
    """esp32 port (ports/esp32/machine_rtc.c): RTC() takes no arguments; datetime() and
    init() take an 8-tuple (another length is a ValueError); memory() up to 2048 bytes."""

    def __init__(self):
        self._board = _board()

    def datetime(self, datetimetuple=None, /):
        if datetimetuple is None:
            return self._board.rtc.datetime()
        self.init(datetimetuple)

    def init(self, datetime, /):
        if len(datetime) != 8:
            raise ValueError("tuple/list has wrong length")
        self._board.rtc.set_datetime(tuple(datetime))

    def memory(self, data=None, /):
        if data is None:
            return self._board.rtc.memory
        if len(data) > _RTC_MEM_MAX:
            raise ValueError("buffer too long")
        self._board.rtc.set_memory(data)


def reset_cause():
    return _board().reset_cause


def wake_reason():
    return _board().wake_reason


def unique_id():
    return _board().unique_id


def freq(hz=None, /):
    b = _board()
    if hz is None:
        return b.cpu_freq
    if hz not in (20_000_000, 40_000_000, 80_000_000, 160_000_000, 240_000_000):
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    b.cpu_freq = hz


def reset():
    b = _board()
    b.request_halt(_Halt("reset"))
    raise _Reset("machine.reset()")


def soft_reset():
    b = _board()
    b.request_halt(_Halt("soft"))
    raise _Reset("machine.soft_reset()")


def deepsleep(time_ms=0, /):
    b = _board()
    b.request_halt(_Halt("deepsleep", ms=int(time_ms) if time_ms else None))
    raise _DeepSleep("machine.deepsleep(%r)" % (time_ms,))


def lightsleep(time_ms=None, /):
    """As ports/esp32/modmachine.c machine_sleep_helper: the board pauses until the timer
    (time_ms given) or the ext0/ext1 wake armed with esp32.wake_on_ext0/ext1 (which serve
    light and deep sleep alike); wake_reason() then says which (host_sim/board.py
    Board.light_sleep; docs/FIDELITY.md)."""
    _board().light_sleep(None if time_ms is None else int(time_ms))


def idle():
    pass


def disable_irq():
    return 0


def enable_irq(state, /):
    pass
