"""Times, errors and the Camtrap DP 1.0 URLs shared by the export modules."""
from __future__ import annotations

import datetime as dt

PROFILE = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0/camtrap-dp-profile.json"
SCHEMA = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0/{}-table-schema.json"
CAMERA_MODEL = "AI-Thinker-ESP32-CAM-OV2640"


class ExportError(Exception):
    """A refusal the user can act on (printed as `error: ...`, exit status 1)."""


def tz(offset_min: int | None) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=offset_min or 0))


def iso(t: float, offset_min: int | None = 0) -> str:
    """ISO 8601 with the UTC offset of the camera's local time: 2026-06-01T04:00:01+02:00
    (the Camtrap DP datetime format %Y-%m-%dT%H:%M:%S%z, with a colon in the offset)."""
    return dt.datetime.fromtimestamp(int(t), tz(offset_min)).isoformat()


def parse_iso(text: str) -> tuple[float, int]:
    """(Unix seconds, offset minutes) of an ISO 8601 date-time that carries its offset."""
    try:
        d = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ExportError(f"{text!r} is not an ISO 8601 date-time") from None
    if d.tzinfo is None:
        raise ExportError(f"{text!r} has no UTC offset (write e.g. 2026-06-01T08:00:00+02:00)")
    return d.timestamp(), int(d.utcoffset().total_seconds() // 60)


def day(t: float, offset_min: int | None = 0) -> str:
    return iso(t, offset_min)[:10]
