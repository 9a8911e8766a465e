"""The virtual board's `machine`: the esp32 port's API (as host_sim/mpy/machine.py models it,
held to micropython-esp32-stubs 1.29 by tests/test_board_contract.py) for a board with
nothing wired to it, running in the wasm MicroPython behind tools/vboard.py.

What it models (docs/FIDELITY.md, "Virtual board"):
- reset_cause(): PWRON_RESET at the first boot, HARD_RESET after reset(), SOFT_RESET after a
  soft reset (Ctrl-D, soft_reset()), WDT_RESET after the watchdog bit, DEEPSLEEP_RESET after
  deepsleep(ms) (the board comes back after ms, wake_reason() TIMER_WAKE);
- RTC: starts at 2000-01-01 00:00:00 at power-on, runs on the host's clock, survives every
  reset of the node process; memory() keeps up to 2048 bytes across resets;
- WDT(timeout=ms): once started it cannot be stopped; not fed within the timeout, the board
  resets (WDT_RESET). It bites when the interpreter is idle, between REPL inputs or while
  asyncio sleeps — not in the middle of a busy Python loop (the wasm build runs one thread);
- Pin: levels of outputs; inputs read their pull (PULL_UP 1, else 0); irq() is stored and
  never fires (nothing drives the pins);
- ADC: reads 0 V (nothing is connected);
- unique_id(), freq().
State kept by the node side (`_vboard`): reset cause, RTC offset and memory, the watchdog.
"""
import time

import _vboard

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6
_RTC_MEM_MAX = 2048
_EPOCH_2000 = 946684800  # Unix seconds of 2000-01-01T00:00:00Z


def reset():
    _vboard.reset(HARD_RESET, 0)
    raise SystemExit


def soft_reset():
    _vboard.reset(SOFT_RESET, 0)
    raise SystemExit


def deepsleep(time_ms=0):
    _vboard.reset(DEEPSLEEP_RESET, int(time_ms))
    raise SystemExit


def lightsleep(time_ms=0):
    if time_ms:
        time.sleep_ms(time_ms)


def reset_cause():
    return _vboard.cause()


def wake_reason():
    return TIMER_WAKE if _vboard.cause() == DEEPSLEEP_RESET else 0


def unique_id():
    return b"\x24\x0a\xc4\x00\x00\x01"


_FREQS = (20000000, 40000000, 80000000, 160000000, 240000000)
_freq = [240000000]


def freq(hz=None):
    if hz is None:
        return _freq[0]
    if hz not in _FREQS:
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    _freq[0] = hz


def idle():
    pass


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0, DRIVE_1, DRIVE_2, DRIVE_3 = 0, 1, 2, 3
    _levels = {}

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        self.id = int(id)
        self._mode, self._pull, self._handler = -1, -1, None
        self.init(mode, pull, value=value, drive=drive, hold=hold)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if mode != -1 and mode is not None:
            self._mode = mode
        if pull != -1:
            self._pull = pull
        if value is not None:
            self.value(value)

    def value(self, x=None):
        if x is None:
            if self._mode in (Pin.OUT, Pin.OPEN_DRAIN):
                return Pin._levels.get(self.id, 0)
            return 1 if self._pull == Pin.PULL_UP else 0
        Pin._levels[self.id] = 1 if x else 0
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, wake=None):
        self._handler = handler
        return self


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT, WIDTH_10BIT, WIDTH_11BIT, WIDTH_12BIT = 9, 10, 11, 12

    def __init__(self, id, *, atten=ATTN_0DB):
        self._atten = atten

    def atten(self, atten):
        self._atten = atten

    def width(self, bits):
        pass

    def read_uv(self):
        return 0

    def read_u16(self):
        return 0

    def read(self):
        return 0


class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        _vboard.wdt(int(timeout))

    def feed(self):
        _vboard.feed()


def _days(y, m, d):
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


class RTC:
    """esp32 port: RTC() takes no arguments; datetime()/init() take an 8-tuple."""

    def __init__(self):
        pass

    def datetime(self, datetimetuple=None):
        if datetimetuple is None:
            secs = _vboard.rtc_s()  # since 2000-01-01, kept by the node side
            t = time.gmtime(_EPOCH_2000 + secs)
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], int(_vboard.rtc_sub_ms()) * 1000)
        self.init(datetimetuple)

    def init(self, datetime):
        if len(datetime) != 8:
            raise ValueError("tuple/list has wrong length")
        y, mo, d, _, h, mi, s, us = datetime
        secs = (_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) - _EPOCH_2000
        _vboard.rtc_set(secs, us // 1000)

    def memory(self, data=None):
        import binascii

        if data is None:
            return binascii.unhexlify(_vboard.kv_get("rtcmem") or "")
        if len(data) > _RTC_MEM_MAX:
            raise ValueError("buffer too long")
        _vboard.kv_set("rtcmem", binascii.hexlify(bytes(data)).decode())
