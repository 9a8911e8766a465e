"""Formatting values for the page: escaping, numbers, durations, clock labels."""
from __future__ import annotations

import html
import time


def esc(v) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def num(v, digits=1, none="–") -> str:
    if v is None:
        return none
    if isinstance(v, float):
        if v != v:  # NaN
            return none
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else esc(v)


def duration(s) -> str:
    """Seconds as a short human duration: 12 s, 4.5 min, 2.1 h."""
    if s is None:
        return "–"
    s = float(s)
    if s < 90:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def clock(start_epoch, t, hours_total=24.0) -> str:
    """Wall-clock label (UTC) of simulated second `t`."""
    if t is None:
        return "–"
    if start_epoch is None:
        return f"+{float(t) / 3600:.2f} h"
    st = time.gmtime(start_epoch + float(t))
    day = int(float(t) // 86400)
    hm = time.strftime("%H:%M", st)
    return f"day {day + 1} {hm}" if hours_total > 24 else hm
