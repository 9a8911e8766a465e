"""Sync windows: the times of day when a battery camera may use its radio for routine
uploads, e.g. "05:30-06:00,18:00-18:45" (UTC plus `time.tz_offset_min`). Alerts ignore
them. With the clock unset every window counts as open, so a camera whose clock was
lost still delivers rather than hoarding forever.
"""


def parse(text):
    """[(start_min, end_min), ...] from "HH:MM-HH:MM,..."; raises ValueError with the
    offending part. An end before the start wraps past midnight ("22:00-02:00")."""
    out = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            a, b = part.split("-")
            out.append((_minutes(a), _minutes(b)))
        except ValueError:
            raise ValueError("bad sync window %r: use HH:MM-HH:MM" % part)
    return out


def _minutes(hhmm):
    h, m = hhmm.strip().split(":")
    h, m = int(h), int(m)
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 1440:
        raise ValueError(hhmm)
    return h * 60 + m


def is_open(windows, unix_time, tz_offset_min=0):
    """True when `unix_time` falls in a window (or there are none, or the time is unknown)."""
    if not windows or unix_time is None:
        return True
    minute = (int(unix_time) // 60 + tz_offset_min) % 1440
    for a, b in windows:
        if (a <= minute < b) if a <= b else (minute >= a or minute < b):
            return True
    return False


def minutes_to_next_start(windows, unix_time, tz_offset_min=0):
    """Minutes until a window next *starts* (a full day when the only one just started):
    for waking up at the next window when the current one's work is done."""
    minute = (int(unix_time) // 60 + tz_offset_min) % 1440
    return min(((a - minute) % 1440) or 1440 for a, _ in windows)


def minutes_to_open(windows, unix_time, tz_offset_min=0):
    """Minutes until the next window opens (0 when open now)."""
    if is_open(windows, unix_time, tz_offset_min):
        return 0
    minute = (int(unix_time) // 60 + tz_offset_min) % 1440
    return min((a - minute) % 1440 for a, _ in windows)
