"""clock, jsonutil, validate, bootstate: small pure pieces everything else leans on."""

from portable_support import PrefixStorage, tmpdir

from wildcam.core import clock, jsonutil, validate
from wildcam.core.bootstate import PATH, SAFE_AFTER, BootState


def test_civil_dates_round_trip_and_known_values():
    assert clock.days_from_civil(1970, 1, 1) == 0
    assert clock.days_from_civil(2000, 1, 1) == 10957
    assert clock.days_from_civil(2024, 2, 29) == 19782
    for days in range(10000, 30000, 37):
        assert clock.days_from_civil(*clock.civil_from_days(days)) == days


def test_rtc_tuple_conversion_and_formatting():
    ts = 1780315203  # 2026-06-01T12:00:03Z, a Monday
    dt = clock.rtc_from_unix(ts)
    assert dt == (2026, 6, 1, 0, 12, 0, 3, 0)
    assert clock.unix_from_rtc(dt) == ts
    assert clock.iso(ts) == "2026-06-01T12:00:03Z"
    assert clock.ymd(ts) == "20260601"


def test_json_is_deterministic_with_sorted_keys():
    d = {}
    for k in ("zeta", "alpha", "mid", "b", "a"):
        d[k] = {"y": 1, "x": [1, "two"]}
    text = jsonutil.dumps(d)
    assert text.index('"a"') < text.index('"alpha"') < text.index('"b"') < text.index('"zeta"')
    assert text == jsonutil.dumps(jsonutil.unflatten(jsonutil.flatten(d)))
    assert jsonutil.dumps({"b": {"d": 1, "c": 2}, "a": True}, 1) == \
        '{\n "a": true,\n "b": {\n  "c": 2,\n  "d": 1\n }\n}'


def test_flatten_and_unflatten():
    doc = {"wifi": {"ssid": "x", "opts": {"n": 1}}, "list": [1, 2]}
    flat = jsonutil.flatten(doc)
    assert sorted(flat) == ["list", "wifi.opts.n", "wifi.ssid"]
    assert jsonutil.unflatten(flat) == doc


def test_validate_reports_every_problem_sorted():
    errs = validate.validate({"mqtt.port": 0, "capture.mode": "x", "log.levle": "info"})
    assert errs == [
        'capture.mode: must be one of pir, timelapse, motion, pir+timelapse; got "x"',
        "log.levle: unknown key (did you mean log.level?)",
        "mqtt.port: must be 1..65535, got 0",
        "wifi.ssid: required",
    ]
    assert validate.validate({"wifi.ssid": "ok"}) == []


def test_text_is_converted_to_the_key_type():
    assert validate.parse_text("mqtt.port", " 8883 ") == 8883
    assert validate.parse_text("device.lat", "-1.5") == -1.5
    assert validate.parse_text("mqtt.tls", "off") is False
    assert validate.parse_text("mqtt.port", "lots") == "lots"
    assert validate.check("mqtt.port", True) == "mqtt.port: must be a whole number, got True"


def test_boot_counter_and_crash_loop_detection():
    st = PrefixStorage(tmpdir())
    for n in range(1, SAFE_AFTER + 1):
        b = BootState(st).begin()
        assert b.boots == n and not b.safe_mode
    assert BootState(st).begin().safe_mode
    b = BootState(st).begin()
    b.mark_stable()
    again = BootState(st).begin()
    assert again.boots == SAFE_AFTER + 3 and again.unstable == 1 and not again.safe_mode


def test_corrupt_boot_state_counts_as_a_fresh_start():
    st = PrefixStorage(tmpdir())
    st.makedirs("/state")
    with st.open(PATH, "wb") as f:
        f.write(b"{not json")
    b = BootState(st).begin()
    assert b.boots == 1 and b.unstable == 1
