"""RTC-memory state with a checksum (portable; a fake RTC stands in for machine.RTC)."""

from wildcam.core.rtcstate import DEFAULTS, RtcState


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
