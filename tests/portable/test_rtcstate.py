"""RTC-memory state with a checksum (portable; a fake RTC stands in for machine.RTC)."""

from wildcam.core.rtcstate import DEFAULTS, HEAD, JSON_BUDGET, RTC_MAX, RtcState


class FakeRtc:
    def __init__(self, data=b""):
        self.mem = bytearray(data)

    def memory(self, data=None):
        if data is None:
            return bytes(self.mem)
        self.mem = bytearray(data)


def test_round_trip():
    rtc = FakeRtc()
    s = RtcState(rtc).load()
    assert s.problem is None and s.get("sleeps") == 0
    s.set("sleeps", 7)
    s.set("last_hb", 1780315200)
    s.save()
    again = RtcState(rtc).load()
    assert again.get("sleeps") == 7 and again.get("last_hb") == 1780315200


def test_every_single_bit_flip_is_caught_or_harmless():
    rtc = FakeRtc()
    s = RtcState(rtc).load()
    s.set("events", 3)
    s.save()
    good = bytes(rtc.mem)
    for i in range(len(good)):
        for bit in (0, 7):
            bad = bytearray(good)
            bad[i] ^= 1 << bit
            t = RtcState(FakeRtc(bad)).load()
            assert t.problem is not None, (i, bit)
            assert t.data == DEFAULTS


def test_truncated_foreign_and_wrong_types():
    assert "something else" in RtcState(FakeRtc(b"hello world")).load().problem
    rtc = FakeRtc()
    s = RtcState(rtc).load()
    s.save()
    assert RtcState(FakeRtc(bytes(rtc.mem)[:-3])).load().problem.startswith("RTC memory corrupted")
    s.set("sleeps", "many")
    s.save()
    assert RtcState(rtc).load().get("sleeps") == 0  # wrong type -> default


def test_the_detector_reference_rides_along():
    rtc = FakeRtc()
    s = RtcState(rtc).load()
    assert s.reference is None
    ref = bytes(range(256)) * 5 + b"\x01\x02"          # 1282 opaque bytes
    s.set("sleeps", 2)
    s.reference = ref
    s.save()
    assert rtc.mem[:3] == b"WC\x02" and len(rtc.mem) <= RTC_MAX
    again = RtcState(rtc).load()
    assert again.problem is None and again.reference == ref and again.get("sleeps") == 2
    bad = bytearray(rtc.mem)
    bad[-1] ^= 0x10                                    # a flip inside the reference
    t = RtcState(FakeRtc(bad)).load()
    assert t.problem.startswith("RTC memory corrupted") and t.reference is None


def test_a_reference_that_does_not_fit_is_dropped_not_the_state():
    rtc = FakeRtc()
    s = RtcState(rtc).load()
    s.set("events", 9)
    s.reference = b"\xaa" * 2100                       # more than RTC memory holds
    s.save()
    assert len(rtc.mem) <= RTC_MAX and "reference dropped" in s.problem
    again = RtcState(rtc).load()
    assert again.get("events") == 9 and again.reference is None
    # the budget: header, the JSON state's reserve and a 160x120 reference fit
    assert HEAD + JSON_BUDGET + 1514 <= RTC_MAX


def test_version_1_state_still_loads():
    import struct
    from binascii import crc32
    body = b'{"sleeps": 4, "last_hb": 5, "events": 6, "timelapse_at": 7}'
    raw = b"WC\x01" + struct.pack("<HI", len(body), crc32(body) & 0xFFFFFFFF) + body
    s = RtcState(FakeRtc(raw)).load()
    assert s.problem is None and s.get("events") == 6 and s.reference is None


SHOT = {"fs": "VGA", "q": 85, "settle": 2, "led": 4, "lit": 1, "lit_stale": 1,
        "lit_from": 1780272000, "lit_until": 1780279200, "quiet_s": 30,
        "pins": {"data": [5, 18, 19, 21, 36, 39, 34, 35], "pclk": 22, "vsync": 25, "href": 23,
                 "sda": 26, "scl": 27, "xclk": 0, "xclk_hz": 20000000, "pwdn": 32,
                 "reset": -1}}


def test_the_first_shot_record_round_trips_beside_the_state_and_a_reference():
    rtc = FakeRtc()
    s = RtcState(rtc).load()
    s.set("events", 2)
    s.shot = SHOT
    s.reference = b"\x55" * 1514  # a QQVGA reference still fits beside it
    s.save()
    again = RtcState(rtc).load()
    assert again.problem is None and again.shot == SHOT and again.get("events") == 2
    assert again.reference == s.reference
    assert len(rtc.mem) - HEAD - 1514 <= JSON_BUDGET


def test_a_first_shot_record_with_a_wrong_field_is_not_used():
    import json
    for change in ({"q": "85"}, {"lit": True}, {"fs": 10}, {"pins": {"data": [1, 2]}},
                   {"settle": None}, {"pins": None}):
        bad = json.loads(json.dumps(SHOT))
        bad.update(change)
        rtc = FakeRtc()
        s = RtcState(rtc).load()
        s.shot = bad
        s.save()
        again = RtcState(rtc).load()
        assert again.problem is None and again.shot is None, change
    for missing in ("led", "lit_until"):
        bad = json.loads(json.dumps(SHOT))
        del bad[missing]
        rtc = FakeRtc()
        s = RtcState(rtc).load()
        s.shot = bad
        s.save()
        assert RtcState(rtc).load().shot is None, missing


def test_the_state_at_its_largest_still_leaves_room_for_a_qqvga_reference():
    """Every counter at a year's worth, every timestamp 10 digits, the first-shot record and
    the radio hold: the JSON stays within JSON_BUDGET and the reference is kept."""
    rtc = FakeRtc()
    s = RtcState(rtc).load()
    for k in DEFAULTS:
        s.set(k, 1780272000)
    for k in ("boots", "sleeps", "events"):
        s.set(k, 99999)
    for k in ("armed_s", "blind_s"):
        s.set(k, 99999999)
    s.set("unstable", 9)
    s.set("slept_pir", 1)
    s.set("ambient", 255)
    s.set("rn", 1780272000 // 60)
    shot = dict(SHOT)
    shot["quiet_s"] = 3600
    s.shot = shot
    s.reference = b"\x55" * 1514
    s.save()
    again = RtcState(rtc).load()
    assert again.problem is None and again.reference == s.reference
    assert len(rtc.mem) - HEAD - 1514 <= JSON_BUDGET
