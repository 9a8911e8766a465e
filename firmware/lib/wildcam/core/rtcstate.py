"""State that survives deep sleep, kept in RTC memory (lost on power loss).

Layout (version 2): b"WC" + version(1) + JSON length(2, LE) + reference length(2, LE) +
crc32 of both(4, LE) + JSON body + the motion detector's reference background (opaque
bytes, capture.reference; it carries its own geometry check and CRC-32). Version 1 (no
reference) still loads. `load()` returns defaults when the memory is empty, from another
firmware, truncated or corrupted (and says so in `problem`), so a bit flip never crashes a
boot or feeds garbage to the policy or the detector.

Byte budget: MicroPython's ESP32 `RTC.memory()` holds at most 2048 bytes. Header 11, the
JSON state ~150 with real timestamps and the first-shot record ~260 (`JSON_BUDGET` 523
reserved for both: 523 with every counter at a year's worth and 10-digit timestamps), the
reference 1514 at QQVGA with 8-pixel blocks (734 at 96x96): 11 + 523 + 1514 = 2048. `rn` is
the radio hold (wildcam.net.radiohold) in RTC minutes, to fit. `save()` never writes more
than `RTC_MAX`: when the whole would not fit, it drops the reference (the detector then
starts its next window cold) and says so in `problem`.

`shot`: what the next PIR wake needs for its first frame before the config is read (camera
pins, frame size, quality, settle frames, the flash LED's decision), written by the battery
camera just before it sleeps (wildcam.capture.first `shot_record`; ~260 bytes of the
JSON). It is None unless every field has the type it must have, so a wake with a record
from other firmware falls back to the ordinary path.
"""

import json
import struct
from binascii import crc32

from micropython import const

MAGIC = b"WC"
VERSION = 2
RTC_MAX = const(2048)
JSON_BUDGET = const(523)
HEAD = const(11)
DEFAULTS = {"sleeps": 0, "last_hb": 0, "events": 0, "timelapse_at": 0,
            "slept_at": 0, "slept_pir": 0, "armed_s": 0, "blind_s": 0,
            "ambient": 0, "ambient_at": 0, "boots": 0, "unstable": 0, "quiet_until": 0,
            "rn": 0}
SHOT_INTS = ("q", "settle", "led", "lit", "lit_stale", "lit_from", "lit_until", "quiet_s")
PIN_INTS = ("pclk", "vsync", "href", "sda", "scl", "xclk", "xclk_hz", "pwdn", "reset")


def in_quiet(store, quiet_s):
    """True within the last event's quiet period (`quiet_until` in `store`, an RtcState, in
    RTC seconds); an end further away than `quiet_s` is from a clock set back: stale."""
    from wildcam.core import clock

    left = store.get("quiet_until") - clock.rtc_seconds()
    return 0 < left <= quiet_s


def check_shot(rec):
    """`rec` when it is a complete first-shot record (types checked), else None."""
    try:
        for k in SHOT_INTS:
            if type(rec[k]) is not int:
                return None
        pins = rec["pins"]
        for k in PIN_INTS:
            if type(pins[k]) is not int:
                return None
        data = pins["data"]
        if type(rec["fs"]) is not str or len(data) != 8 or \
                [1 for v in data if type(v) is not int]:
            return None
    except (KeyError, TypeError, IndexError):
        return None
    return rec


class RtcState:
    def __init__(self, rtc=None):
        if rtc is None:
            import machine

            rtc = machine.RTC()
        self._rtc = rtc
        self.problem = None
        self.data = dict(DEFAULTS)
        self.reference = None      # the detector's reference background (bytes) or None
        self.shot = None           # the next PIR wake's first-shot record (see above)

    def load(self):
        self.data = dict(DEFAULTS)
        self.reference = None
        self.shot = None
        self.problem = None
        try:
            raw = bytes(self._rtc.memory())
        except (OSError, AttributeError) as e:
            self.problem = "RTC memory unreadable: %s" % e
            return self
        if not raw:
            return self  # first boot after power-up
        if len(raw) < 9 or raw[:2] != MAGIC or raw[2] not in (1, VERSION):
            self.problem = "RTC memory holds something else; starting fresh"
            return self
        if raw[2] == 1:
            n, m = struct.unpack("<H", raw[3:5])[0], 0
            crc, body_at = struct.unpack("<I", raw[5:9])[0], 9
        elif len(raw) < HEAD:
            self.problem = "RTC memory corrupted (short); starting fresh"
            return self
        else:
            n, m, crc = struct.unpack("<HHI", raw[3:HEAD])
            body_at = HEAD
        body = raw[body_at:body_at + n + m]
        if len(body) != n + m or crc32(body) & 0xFFFFFFFF != crc:
            self.problem = "RTC memory corrupted (CRC); starting fresh"
            return self
        try:
            d = json.loads(body[:n])
            for k in DEFAULTS:
                v = d.get(k, DEFAULTS[k])
                self.data[k] = v if isinstance(v, int) and not isinstance(v, bool) else DEFAULTS[k]
            self.shot = check_shot(d.get("shot"))
        except ValueError:
            self.problem = "RTC memory not JSON; starting fresh"
            return self
        if m:
            self.reference = body[n:]
        return self

    def save(self):
        from wildcam.core import jsonutil

        data = self.data
        if self.shot is not None:
            data = dict(data)
            data["shot"] = self.shot
        body = jsonutil.dumps(data).encode()
        ref = self.reference or b""
        if HEAD + len(body) + len(ref) > RTC_MAX:
            self.problem = "RTC memory full (%d B state, %d B reference): reference dropped" % (
                len(body), len(ref))
            ref = b""
        blob = body + ref
        head = MAGIC + bytes((VERSION,)) + struct.pack("<HHI", len(body), len(ref),
                                                       crc32(blob) & 0xFFFFFFFF)
        self._rtc.memory(head + blob)

    def get(self, key):
        return self.data[key]

    def set(self, key, value):
        self.data[key] = value
