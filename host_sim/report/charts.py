"""Inline SVG: per-camera timelines and the fleet's activity, latency and energy charts."""
from __future__ import annotations

import math

from .data import image_list
from .fmt import clock, duration, esc
from .style import KIND_STYLE, LANES


def _axis_hours(x0, width, hours, y, height, start_epoch):
    """Vertical grid lines and hour labels for a time axis."""
    step = 1 if hours <= 12 else 2 if hours <= 24 else 6 if hours <= 72 else 24
    out = []
    h = 0
    while h <= hours + 1e-9:
        x = x0 + width * h / hours
        out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + height}" '
                   f'stroke="#e3e7ea"/>')
        out.append(f'<text x="{x:.1f}" y="{y + height + 13}" font-size="11" fill="#5b6672" '
                   f'text-anchor="middle">{esc(clock(start_epoch, h * 3600, hours))}</text>')
        h += step
    return "".join(out)


def timeline_svg(b: dict, hours: float, start_epoch) -> str:
    """One camera's day: a lane per kind of happening, and its battery voltage below."""
    total = max(hours * 3600.0, 1.0)
    left, width, lane_h = 110, 1060, 18
    bat_h = 70
    lanes_y = 8
    bat_y = lanes_y + lane_h * len(LANES) + 10
    height = bat_y + bat_h + 22
    lane_index = {k: i for i, (k, _) in enumerate(LANES)}
    p = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" '
         f'height="{height}" role="img" aria-label="timeline of {esc(b.get("name"))}">']
    p.append(_axis_hours(left, width, hours, lanes_y, bat_y + bat_h - lanes_y, start_epoch))
    for i, (_, label) in enumerate(LANES):
        y = lanes_y + i * lane_h
        fill = "#f7f9f8" if i % 2 else "#fff"
        p.append(f'<rect x="{left}" y="{y}" width="{width}" height="{lane_h}" fill="{fill}" '
                 f'opacity="0.6"/><text x="{left - 6}" y="{y + 13}" font-size="12" '
                 f'text-anchor="end" fill="#36424e">{esc(label)}</text>')

    def xpos(t):
        return left + width * min(max(float(t), 0.0), total) / total

    spans, marks = [], []
    for e in b.get("timeline") or []:
        kind = e.get("kind")
        style = KIND_STYLE.get(kind)
        if style is None or e.get("t") is None:
            continue
        lane, colour, label = style
        y = lanes_y + lane_index[lane] * lane_h
        detail = e.get("detail") or {}
        tip = f"{label} at {clock(start_epoch, e['t'], hours)}"
        if e.get("end") is not None:
            tip += f" until {clock(start_epoch, e['end'], hours)}"
        if detail:
            tip += " — " + ", ".join(f"{k}: {v}" for k, v in list(detail.items())[:6])
        if e.get("end") is not None:
            x0, x1 = xpos(e["t"]), xpos(e["end"])
            spans.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1.2):.1f}" '
                         f'height="{lane_h - 6}" fill="{colour}" rx="2"><title>{esc(tip)}'
                         f'</title></rect>')
        else:
            x = xpos(e["t"])
            if kind == "powercut":
                marks.append(f'<line x1="{x:.1f}" y1="{lanes_y}" x2="{x:.1f}" '
                             f'y2="{bat_y + bat_h}" stroke="{colour}" stroke-width="1.5" '
                             f'stroke-dasharray="4 3"><title>{esc(tip)}</title></line>'
                             f'<path d="M{x - 5:.1f},{y + 2} L{x + 5:.1f},{y + 2} '
                             f'L{x:.1f},{y + lane_h - 2} Z" fill="{colour}"><title>{esc(tip)}'
                             f'</title></path>')
            elif kind == "ota":
                cy = y + lane_h / 2
                marks.append(f'<path d="M{x:.1f},{cy - 7} L{x + 6:.1f},{cy} L{x:.1f},{cy + 7} '
                             f'L{x - 6:.1f},{cy} Z" fill="{colour}"><title>{esc(tip)}</title>'
                             f'</path>')
            elif kind == "boot":
                marks.append(f'<circle cx="{x:.1f}" cy="{y + lane_h / 2}" r="3" '
                             f'fill="{colour}"><title>{esc(tip)}</title></circle>')
            else:
                marks.append(f'<line x1="{x:.1f}" y1="{y + 3}" x2="{x:.1f}" '
                             f'y2="{y + lane_h - 3}" stroke="{colour}" stroke-width="2">'
                             f'<title>{esc(tip)}</title></line>')
    p.extend(spans)
    p.extend(marks)

    # battery voltage
    pts = [(float(t), float(v)) for t, v in (b.get("battery") or [])
           if t is not None and v is not None]
    p.append(f'<rect x="{left}" y="{bat_y}" width="{width}" height="{bat_h}" fill="#fbfcfb" '
             f'stroke="#e3e7ea"/><text x="{left - 6}" y="{bat_y + bat_h / 2 + 4}" '
             f'font-size="12" text-anchor="end" fill="#36424e">battery (V)</text>')
    if pts:
        if len(pts) > 800:
            stride = math.ceil(len(pts) / 800)
            pts = pts[::stride] + [pts[-1]]
        lo, hi = min(v for _, v in pts), max(v for _, v in pts)
        if hi - lo < 0.05:
            lo, hi = lo - 0.05, hi + 0.05
        pad = (hi - lo) * 0.1
        lo, hi = lo - pad, hi + pad

        def ypos(v):
            return bat_y + bat_h - (v - lo) / (hi - lo) * bat_h

        line = " ".join(f"{xpos(t):.1f},{ypos(v):.1f}" for t, v in pts)
        p.append(f'<polyline points="{line}" fill="none" stroke="#2a7d2a" stroke-width="1.6"/>')
        for v in (hi - pad, lo + pad):
            p.append(f'<text x="{left + width + 4}" y="{ypos(v) + 4:.1f}" font-size="10" '
                     f'fill="#5b6672">{v:.2f}</text>')
    else:
        p.append(f'<text x="{left + 8}" y="{bat_y + bat_h / 2 + 4}" font-size="12" '
                 f'fill="#5b6672">no battery readings</text>')
    p.append("</svg>")
    return "".join(p)


def timeline_legend() -> str:
    items = []
    for kind in ("pir", "event", "image", "upload", "outage", "sleep", "boot", "powercut", "ota"):
        _, colour, label = KIND_STYLE[kind]
        items.append(f'<span><i style="background:{colour}"></i>{esc(label)}</span>')
    items.append('<span><i style="background:#2a7d2a;height:3px"></i>battery voltage</span>')
    return '<div class="legend">' + "".join(items) + "</div>"


def bar_chart(title, bins, series, hours, start_epoch, unit="per hour"):
    """Grouped bars per hour bin. series: [(label, colour, counts list)]."""
    left, width, height, top = 50, 1060, 160, 24
    n = len(bins)
    peak = max([1] + [c for _, _, counts in series for c in counts])
    p = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 30}" '
         f'height="{top + height + 40}" role="img" aria-label="{esc(title)}">',
         f'<text x="{left}" y="15" font-size="13" font-weight="600">{esc(title)}</text>']
    for frac in (0, 0.5, 1):
        y = top + height - frac * height
        p.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" '
                 f'stroke="#e3e7ea"/><text x="{left - 5}" y="{y + 4:.1f}" font-size="10" '
                 f'text-anchor="end" fill="#5b6672">{peak * frac:.0f}</text>')
    slot = width / max(n, 1)
    bw = slot * 0.8 / max(len(series), 1)
    for si, (label, colour, counts) in enumerate(series):
        for i, c in enumerate(counts):
            if not c:
                continue
            h = c / peak * height
            x = left + i * slot + slot * 0.1 + si * bw
            p.append(f'<rect x="{x:.1f}" y="{top + height - h:.1f}" width="{bw:.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{esc(label)} '
                     f'{esc(clock(start_epoch, bins[i], hours))}: {c}</title></rect>')
    p.append(_axis_hours(left, width, hours, top + height, 0, start_epoch))
    x = left + width - 10
    for label, colour, _ in reversed(series):
        p.append(f'<rect x="{x - 10}" y="6" width="10" height="10" fill="{colour}"/>'
                 f'<text x="{x - 14}" y="15" font-size="12" text-anchor="end">{esc(label)}'
                 f'</text>')
        x -= 16 + 8 * len(label) + 20
    p.append(f'<text x="{left + width}" y="{top + height + 32}" font-size="11" '
             f'text-anchor="end" fill="#5b6672">{esc(unit)}</text></svg>')
    return "".join(p)


def activity_chart(boards, hours, start_epoch) -> str:
    nb = max(1, math.ceil(hours))
    ups, imgs, evs = [0] * nb, [0] * nb, [0] * nb
    for b in boards:
        for e in b.get("timeline") or []:
            t = e.get("t")
            if t is None:
                continue
            i = min(nb - 1, max(0, int(float(t) // 3600)))
            k = e.get("kind")
            if k == "upload":
                ups[i] += 1
            elif k == "image":
                imgs[i] += 1
            elif k == "event":
                evs[i] += 1
    if not any(ups) and not any(imgs):  # no timeline: fall back to the image list
        for b in boards:
            for im in image_list(b):
                if im.get("t") is not None:
                    imgs[min(nb - 1, max(0, int(float(im["t"]) // 3600)))] += 1
    bins = [i * 3600 for i in range(nb)]
    return bar_chart("Fleet activity per hour", bins,
                     [("events", "#2a7d2a", evs), ("images saved", "#1f5fbf", imgs),
                      ("uploads delivered", "#0a9396", ups)], hours, start_epoch)


def latency_chart(boards) -> str:
    """Per camera: p50, p95 and max capture→delivery latency on a log time axis."""
    rows = [(b.get("name"), b.get("latency_s") or {}) for b in boards]
    rows = [(n, l) for n, l in rows if any(l.get(k) is not None for k in ("p50", "p95", "max"))]
    if not rows:
        return '<p class="note">No latency figures in this run.</p>'
    left, width, row_h, top = 90, 700, 18, 28
    vals = [float(l[k]) for _, l in rows for k in ("p50", "p95", "max") if l.get(k) is not None]
    lo = 10 ** math.floor(math.log10(max(min(vals), 0.1)))
    hi = 10 ** math.ceil(math.log10(max(max(vals), lo * 10)))

    def xpos(v):
        v = max(float(v), lo)
        return left + width * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    height = top + row_h * len(rows) + 30
    p = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" '
         f'height="{height}" role="img" aria-label="latency per camera">',
         f'<text x="{left}" y="15" font-size="13" font-weight="600">Capture → delivered '
         f'latency per camera (log scale)</text>']
    d = lo
    while d <= hi * 1.0001:
        x = xpos(d)
        p.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
                 f'y2="{top + row_h * len(rows)}" stroke="#e3e7ea"/><text x="{x:.1f}" '
                 f'y="{top + row_h * len(rows) + 14}" font-size="10" text-anchor="middle" '
                 f'fill="#5b6672">{esc(duration(d))}</text>')
        d *= 10
    marks = (("p50", "#0a9396", 5), ("p95", "#e9a23b", 5), ("max", "#ae2012", 4))
    for i, (name, lat) in enumerate(rows):
        y = top + i * row_h + row_h / 2
        p.append(f'<text x="{left - 6}" y="{y + 4}" font-size="11" text-anchor="end">'
                 f'{esc(name)}</text>')
        present = [lat.get(k) for k, _, _ in marks if lat.get(k) is not None]
        if len(present) > 1:
            p.append(f'<line x1="{xpos(min(present)):.1f}" y1="{y}" '
                     f'x2="{xpos(max(present)):.1f}" y2="{y}" stroke="#9aa5b1"/>')
        for k, colour, r in marks:
            if lat.get(k) is not None:
                p.append(f'<circle cx="{xpos(lat[k]):.1f}" cy="{y}" r="{r}" fill="{colour}">'
                         f'<title>{esc(name)} {k}: {esc(duration(lat[k]))}</title></circle>')
    x = left + width - 150
    for k, colour, _ in marks:
        p.append(f'<circle cx="{x}" cy="{10}" r="5" fill="{colour}"/><text x="{x + 8}" y="14" '
                 f'font-size="12">{k}</text>')
        x += 50
    p.append("</svg>")
    return "".join(p)


def energy_chart(boards) -> str:
    """Per camera: mAh/day split by power state (stacked bar)."""
    rows = [(b.get("name"), (b.get("energy") or {}).get("by_state") or {}) for b in boards]
    rows = [(n, s) for n, s in rows if s]
    if not rows:
        return ""
    palette = ["#1f5fbf", "#0a9396", "#e9a23b", "#ae2012", "#8a2be2", "#2a7d2a", "#94d2bd",
               "#555"]
    states = sorted({k for _, s in rows for k in s},
                    key=lambda k: -sum((s.get(k) or {}).get("mah", 0) or 0 for _, s in rows))
    colour = {k: palette[i % len(palette)] for i, k in enumerate(states)}
    left, width, row_h, top = 90, 700, 18, 30
    peak = max(sum((v or {}).get("mah", 0) or 0 for v in s.values()) for _, s in rows) or 1
    p = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" '
         f'height="{top + row_h * len(rows) + 12}" role="img" aria-label="energy per camera">',
         '<text x="90" y="15" font-size="13" font-weight="600">Battery use per day by '
         'state (mAh)</text>']
    for i, (name, s) in enumerate(rows):
        y = top + i * row_h
        x = left
        p.append(f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
                 f'{esc(name)}</text>')
        total = 0.0
        for k in states:
            mah = float((s.get(k) or {}).get("mah", 0) or 0)
            w = width * mah / peak
            total += mah
            if w > 0:
                p.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" '
                         f'fill="{colour[k]}"><title>{esc(name)} {esc(k)}: {mah:.1f} mAh'
                         f'</title></rect>')
            x += w
        p.append(f'<text x="{x + 4:.1f}" y="{y + 12}" font-size="11">{total:.1f}</text>')
    p.append("</svg>")
    legend = "".join(f'<span><i style="background:{colour[k]}"></i>{esc(k.replace("_", " "))}'
                     f'</span>' for k in states)
    return "".join(p) + f'<div class="legend">{legend}</div>'
