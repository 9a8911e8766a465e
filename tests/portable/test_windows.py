"""Sync windows (portable)."""

from portable_support import raises

from wildcam.core import windows

MIDNIGHT = 1780272000  # 2026-06-01T00:00:00Z


def test_parse_and_errors():
    assert windows.parse("05:30-06:00, 18:00-18:45") == [(330, 360), (1080, 1125)]
    assert windows.parse("") == []
    e = raises(ValueError, windows.parse, "5-6")
    assert "bad sync window '5-6'" in str(e)
    raises(ValueError, windows.parse, "25:00-26:00")


def test_open_and_closed_including_wrap_and_time_zone():
    w = windows.parse("05:30-06:00,22:00-02:00")
    assert windows.is_open(w, MIDNIGHT + 5 * 3600 + 45 * 60)
    assert not windows.is_open(w, MIDNIGHT + 6 * 3600)
    assert windows.is_open(w, MIDNIGHT + 1 * 3600)  # inside 22:00-02:00
    assert windows.is_open(w, MIDNIGHT + 23 * 3600)
    assert not windows.is_open(w, MIDNIGHT + 12 * 3600)
    # 04:45 UTC is 05:45 at UTC+1
    assert windows.is_open(w, MIDNIGHT + 4 * 3600 + 45 * 60, tz_offset_min=60)


def test_unknown_time_or_no_windows_means_open():
    assert windows.is_open([], MIDNIGHT)
    assert windows.is_open(windows.parse("05:00-06:00"), None)


def test_minutes_to_the_next_window():
    w = windows.parse("05:30-06:00,18:00-18:45")
    assert windows.minutes_to_open(w, MIDNIGHT + 5 * 3600) == 30
    assert windows.minutes_to_open(w, MIDNIGHT + 19 * 3600) == 10 * 60 + 30
    assert windows.minutes_to_open(w, MIDNIGHT + 5 * 3600 + 40 * 60) == 0


def test_minutes_to_the_next_start_skips_the_window_we_are_in():
    w = windows.parse("06:00-06:30")
    assert windows.minutes_to_next_start(w, MIDNIGHT + 6 * 3600 + 10 * 60) == 1440 - 10
    assert windows.minutes_to_next_start(w, MIDNIGHT + 5 * 3600) == 60
