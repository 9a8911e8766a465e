"""Wall-clock time, independent of the port's epoch.

MicroPython ports disagree on `time.time()`'s epoch (2000 on older ESP32 builds, 1970 on
newer ones and on unix/wasm), so the firmware reads the RTC's calendar fields and converts
them itself: every timestamp the firmware writes is Unix seconds (UTC), and a clock that was
never set (RTC still in 2000 after a power loss) is reported as unset instead of producing
names like `20000101` or `19700101`.
"""

# An RTC earlier than this was never set since power-on (it starts at 2000-01-01).
MIN_VALID_YEAR = 2024


def days_from_civil(y, m, d):
    """Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(year, month, day) for days since 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def unix_from_rtc(dt):
    """Unix seconds from an RTC.datetime() tuple (y, mo, d, weekday, h, mi, s, subsec)."""
    return days_from_civil(dt[0], dt[1], dt[2]) * 86400 + dt[4] * 3600 + dt[5] * 60 + dt[6]


def rtc_from_unix(ts):
    """RTC.datetime() tuple for Unix seconds (weekday 0 = Monday, as on the esp32 port)."""
    days, rem = divmod(int(ts), 86400)
    y, m, d = civil_from_days(days)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    return (y, m, d, weekday, rem // 3600, (rem // 60) % 60, rem % 60, 0)


def now():
    """Unix seconds (UTC) from the RTC, or None when the clock was never set."""
    import machine  # late: keeps the pure functions usable without hardware

    dt = machine.RTC().datetime()
    if dt[0] < MIN_VALID_YEAR:
        return None
    return unix_from_rtc(dt)


def rtc_seconds():
    """The RTC's seconds whether or not the clock was ever set: good for differences across
    deep sleep (the RTC runs on), not for dates."""
    import machine

    return unix_from_rtc(machine.RTC().datetime())


def is_set():
    return now() is not None


def set_unix(ts):
    """Set the RTC from Unix seconds (e.g. from an NTP or server Date header)."""
    import machine

    machine.RTC().datetime(rtc_from_unix(ts))


def iso(ts):
    """`2026-06-01T12:00:03Z` for Unix seconds."""
    y, m, d, _, hh, mm, ss, _ = rtc_from_unix(ts)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, hh, mm, ss)


def ymd(ts):
    """`20260601` for Unix seconds (folder names)."""
    y, m, d = civil_from_days(int(ts) // 86400)
    return "%04d%02d%02d" % (y, m, d)
