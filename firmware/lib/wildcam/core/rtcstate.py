"""State that survives deep sleep, kept in RTC memory (lost on power loss).

Layout: b"WC" + version(1) + length(2, LE) + crc32(4, LE) + JSON body. `load()` returns
defaults when the memory is empty, from another firmware, truncated or corrupted (and says
so in `problem`), so a bit flip never crashes a boot or feeds garbage to the policy.
"""

import json
import struct
from binascii import crc32

from wildcam.core import jsonutil

MAGIC = b"WC"
VERSION = 1
DEFAULTS = {"sleeps": 0, "last_hb": 0, "events": 0, "timelapse_at": 0,
            "slept_at": 0, "slept_pir": 0, "armed_s": 0, "blind_s": 0}


class RtcState:
    def __init__(self, rtc=None):
        if rtc is None:
            import machine

            rtc = machine.RTC()
        self._rtc = rtc
        self.problem = None
        self.data = dict(DEFAULTS)

    def load(self):
        self.data = dict(DEFAULTS)
        self.problem = None
        try:
            raw = bytes(self._rtc.memory())
        except (OSError, AttributeError) as e:
            self.problem = "RTC memory unreadable: %s" % e
            return self
        if not raw:
            return self  # first boot after power-up
        if len(raw) < 9 or raw[:2] != MAGIC or raw[2] != VERSION:
            self.problem = "RTC memory holds something else; starting fresh"
            return self
        n = struct.unpack("<H", raw[3:5])[0]
        body = raw[9:9 + n]
        if len(body) != n or crc32(body) & 0xFFFFFFFF != struct.unpack("<I", raw[5:9])[0]:
            self.problem = "RTC memory corrupted (CRC); starting fresh"
            return self
        try:
            d = json.loads(body)
            for k in DEFAULTS:
                v = d.get(k, DEFAULTS[k])
                self.data[k] = v if isinstance(v, int) and not isinstance(v, bool) else DEFAULTS[k]
        except ValueError:
            self.problem = "RTC memory not JSON; starting fresh"
        return self

    def save(self):
        body = jsonutil.dumps(self.data).encode()
        head = MAGIC + bytes((VERSION,)) + struct.pack("<HI", len(body), crc32(body) & 0xFFFFFFFF)
        self._rtc.memory(head + body)

    def get(self, key):
        return self.data[key]

    def set(self, key, value):
        self.data[key] = value
