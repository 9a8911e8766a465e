"""One self-contained `report.html` for a simulated fleet run (`python -m host_sim`).

    from host_sim.report import write_report
    path = write_report(summary, out_dir)       # -> out_dir / "report.html"

`summary` is the dict `host_sim.demo` writes to `<out>/summary.json` (format in
docs/REPORT.md). Everything is inline: CSS, a few lines of JavaScript (table sorting and a
gallery filter; the page reads fine without it), SVG charts and timelines, and the
thumbnails as base64 JPEG data URIs (downscaled with Pillow). No external URL is referenced,
so the file can be mailed or opened offline in the field.

Missing keys are tolerated (an older or partial summary still gives a report); images whose
file is missing are listed without a picture.
"""
from __future__ import annotations

import base64
import html
import io
import math
import time
from pathlib import Path

THUMB_W, THUMB_H = 240, 180
MAX_THUMBS = 240          # whole report
PER_CAMERA_THUMBS = 12    # at most, per camera
DET_COLOUR = "#ff7a00"    # detection box (what the camera found)
TRUTH_COLOUR = "#00c2ff"  # ground-truth box (where the simulated animal really was)

KIND_STYLE = {  # timeline lane, colour, label
    "boot": ("power", "#555", "boot"),
    "powercut": ("power", "#d00", "power cut"),
    "ota": ("power", "#8a2be2", "OTA update"),
    "pir": ("pir", "#999", "PIR pulse"),
    "event": ("event", "#2a7d2a", "event (kept trigger)"),
    "image": ("image", "#1f5fbf", "image saved"),
    "upload": ("upload", "#0a9396", "upload delivered"),
    "outage": ("net", "#e76f51", "WiFi outage"),
    "sleep": ("sleep", "#c9d6ea", "deep sleep"),
}
LANES = (("power", "power / OTA"), ("pir", "PIR"), ("event", "events"), ("image", "images"),
         ("upload", "uploads"), ("net", "network"), ("sleep", "sleep"))

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2733;
 background:#f5f7f4}
header{background:#24452f;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:24px} header p{margin:2px 0;opacity:.9}
main{padding:8px 28px 40px;max-width:1500px}
h2{margin:28px 0 8px;border-bottom:2px solid #24452f33;padding-bottom:4px}
h3{margin:18px 0 6px}
.verdict{display:inline-block;padding:8px 14px;border-radius:6px;font-weight:600;margin:12px 0}
.good{background:#d8f0dc;color:#14532d}.bad{background:#fde2e1;color:#8b1a14}
.note{color:#5b6672;font-size:14px;max-width:1000px}
table.fleet{border-collapse:collapse;background:#fff;font-size:13px;box-shadow:0 1px 3px #0002}
table.fleet th,table.fleet td{padding:4px 6px;border-bottom:1px solid #e3e7ea;text-align:right;
 white-space:nowrap}
table.fleet th{background:#e8efe9;cursor:pointer;white-space:normal;vertical-align:bottom}
.scroll{overflow-x:auto;max-width:100%}
table.fleet td:first-child,table.fleet th:first-child{text-align:left}
table.fleet tr.total td{font-weight:700;background:#f0f4f1}
td.alarm{background:#f8b4b0;color:#7a0b05;font-weight:700}
td.warn{background:#ffe8a8}
.cards{display:flex;flex-wrap:wrap;gap:18px}
.card{background:#fff;padding:10px 14px;border-radius:6px;box-shadow:0 1px 3px #0002}
.legend span{display:inline-flex;align-items:center;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:5px;border-radius:2px}
.timeline{background:#fff;border-radius:6px;box-shadow:0 1px 3px #0002;margin:6px 0 14px;
 padding:6px}
.gallery{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;padding:6px;border-radius:6px;box-shadow:0 1px 3px #0002;
 width:240px;font-size:12px}
figure svg{display:block}
figcaption b{font-size:13px}
.tag{display:inline-block;padding:1px 6px;border-radius:8px;font-size:11px;margin:2px 2px 0 0}
.t-animal{background:#d8f0dc}.t-false{background:#fde2e1}.t-missed{background:#ffe8a8}
.t-lapse{background:#e3e7ea}.t-up{background:#d3ecf5}.t-notup{background:#f8b4b0}
.nopic{width:240px;height:180px;display:flex;align-items:center;justify-content:center;
 background:#e3e7ea;color:#5b6672}
.filters button{margin-right:6px;padding:4px 10px;border:1px solid #24452f55;background:#fff;
 border-radius:4px;cursor:pointer}
.filters button.on{background:#24452f;color:#fff}
details>summary{cursor:pointer;font-weight:600;font-size:17px;margin:10px 0 4px}
dl.glossary dt{font-weight:600;margin-top:6px} dl.glossary dd{margin-left:18px;color:#36424e}
"""

JS = """
document.querySelectorAll('table.fleet th').forEach(function(th, col){
  th.title='click to sort';
  th.addEventListener('click', function(){
    var tb=th.closest('table').tBodies[0], rows=[].slice.call(tb.rows), asc=th.dataset.asc!=='1';
    th.dataset.asc=asc?'1':'0';
    rows.sort(function(a,b){
      var x=a.cells[col].dataset.v||a.cells[col].textContent,
          y=b.cells[col].dataset.v||b.cells[col].textContent,
          nx=parseFloat(x), ny=parseFloat(y);
      var r=(isNaN(nx)||isNaN(ny))?x.localeCompare(y):nx-ny; return asc?r:-r;});
    rows.forEach(function(r){tb.appendChild(r);});
  });
});
document.querySelectorAll('.filters button').forEach(function(b){
  b.addEventListener('click', function(){
    document.querySelectorAll('.filters button').forEach(function(o){o.classList.remove('on');});
    b.classList.add('on');
    var f=b.dataset.f;
    document.querySelectorAll('.gallery figure').forEach(function(fig){
      fig.style.display=(f==='all'||fig.dataset.cls===f)?'':'none';});
  });
});
"""


# --- small helpers ------------------------------------------------------------------------
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


def _rel_box(box, img_w=None, img_h=None):
    """(x, y, w, h) relative 0..1 from a relative or pixel box; None if unusable."""
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    if max(x, y, w, h) > 1.5:  # pixels
        if not img_w or not img_h:
            return None
        x, w = x / img_w, w / img_w
        y, h = y / img_h, h / img_h
    return x, y, w, h


def thumbnail(path: Path):
    """(data URI, width, height, original width, original height) or None."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            ow, oh = im.size
            im = im.convert("RGB")
            im.thumbnail((THUMB_W, THUMB_H))
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=72, optimize=True)
            w, h = im.size
    except Exception:  # noqa: BLE001 - a missing or broken file: listed without a picture
        return None
    return ("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode(), w, h, ow, oh)


def image_list(b: dict) -> list:
    """A board's picture records. The format names both the count and the list "images"
    (in JSON the later one wins); "image_list"/"pictures" are accepted too."""
    for key in ("image_list", "pictures", "images"):
        v = b.get(key)
        if isinstance(v, list):
            return [i for i in v if isinstance(i, dict)]
    return []


def image_count(b: dict):
    """Pictures saved on the SD card: the count when given, else the list's length."""
    for key in ("images", "image_count", "images_saved"):
        v = b.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    lst = image_list(b)
    return len(lst) if lst or isinstance(b.get("images"), list) else None


# --- classification -----------------------------------------------------------------------
def image_class(img: dict) -> str:
    """animal / false / missed / lapse: what this picture is, against the ground truth."""
    truth = img.get("truth") or []
    det = img.get("detection") or {}
    if img.get("trigger") in ("timelapse", "time-lapse", "schedule"):
        return "lapse"
    if truth:
        return "missed" if det and det.get("motion") is False else "animal"
    return "false"


CLASS_TEXT = {"animal": ("animal in frame", "t-animal"), "false": ("no animal", "t-false"),
              "missed": ("animal, not detected", "t-missed"), "lapse": ("time-lapse", "t-lapse")}


# --- sections -----------------------------------------------------------------------------
FLEET_COLS = (
    ("name", "camera", "Camera name"),
    ("boots", "boots", "Times the camera started (wake from deep sleep included)"),
    ("crashes", "crashes", "Firmware crashes (should be 0)"),
    ("power_cuts", "power cuts", "Simulated power losses"),
    ("animal_visits", "animal visits", "Animals that really walked past (ground truth)"),
    ("pir_pulses", "PIR pulses", "Motion-sensor pulses (animals, wind, ...)"),
    ("events", "events", "Triggers the camera kept and photographed"),
    ("true_triggers", "true", "Events with an animal in view"),
    ("false_triggers", "false", "Events without an animal (wind, light)"),
    ("rejected_triggers", "rejected",
     "PIR triggers the on-camera motion detector dropped (no photo kept)"),
    ("missed_visits", "missed", "Animal visits with no event"),
    ("images", "images", "Pictures written to the SD card"),
    ("delivered", "delivered", "Pictures that reached the cloud"),
    ("lost", "lost", "Pictures that will never arrive (must be 0)"),
    ("duplicates", "dupl.", "Pictures delivered more than once (harmless, dropped by key)"),
    ("lat", "latency p50 · p95 · max",
     "Time from capture to arrival in the cloud: half of the pictures (p50), 95% of them "
     "(p95), the slowest (max)"),
    ("mah", "mAh/day", "Battery charge used per day"),
    ("days", "battery days", "Days on a 7,000 mAh pack at this rate"),
)


def _row_values(b: dict) -> dict:
    lat = b.get("latency_s") or {}
    en = b.get("energy") or {}
    v = {k: b.get(k) for k, _, _ in FLEET_COLS}
    v.update(images=image_count(b), lat=(lat.get("p50"), lat.get("p95"), lat.get("max")),
             mah=en.get("mah_per_day"), days=en.get("battery_days_7000mah"))
    return v


def fleet_table(boards: list) -> str:
    head = "".join(f'<th title="{esc(tip)}">{esc(label)}</th>' for _, label, tip in FLEET_COLS)
    rows = []
    totals: dict = {}
    for b in boards:
        v = _row_values(b)
        cells = []
        for key, _, _ in FLEET_COLS:
            val = v.get(key)
            cls = ""
            if key == "lost" and val:
                cls = "alarm"
            elif key in ("crashes", "duplicates") and val:
                cls = "warn"
            if key == "lat":
                text = " · ".join(duration(x) for x in val)
                val = val[1]
            elif key == "mah":
                text = num(val, 1)
            elif key == "days":
                text = num(val, 0)
            else:
                text = num(val)
            sort = "" if val is None else f' data-v="{esc(val)}"'
            cells.append(f'<td class="{cls}"{sort}>{text}</td>')
            if isinstance(val, (int, float)) and not isinstance(val, bool) and \
                    key not in ("name", "lat", "days"):
                totals[key] = totals.get(key, 0) + val
        rows.append("<tr>" + "".join(cells) + "</tr>")
    tot = ['<td>fleet total</td>']
    for key, _, _ in FLEET_COLS[1:]:
        val = totals.get(key)
        if key == "mah" and val is not None and boards:
            text = num(val / len(boards), 1) + " avg"
        else:
            text = "" if val is None else num(round(val, 1) if isinstance(val, float) else val)
        cls = "alarm" if key == "lost" and val else ""
        tot.append(f'<td class="{cls}">{text}</td>')
    return (f'<div class="scroll"><table class="fleet"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            f'</tbody><tfoot><tr class="total">{"".join(tot)}</tr></tfoot></table></div>')


def verdict(boards: list) -> str:
    lost = sum(b.get("lost") or 0 for b in boards)
    images = sum(image_count(b) or 0 for b in boards)
    delivered = sum(b.get("delivered") or 0 for b in boards)
    crashes = sum(b.get("crashes") or 0 for b in boards)
    if lost:
        return (f'<div class="verdict bad">{lost} picture(s) LOST — {delivered} of {images} '
                f'delivered. Lost pictures are a bug: please report this run.</div>')
    pending = images - delivered
    msg = f"No picture lost: {delivered} of {images} delivered"
    if pending > 0:
        msg += f", {pending} still queued on the cameras at the end of the run"
    if crashes:
        msg += f" ({crashes} firmware crash(es), recovered)"
    return f'<div class="verdict good">{esc(msg)}.</div>'


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


def _pick(images: list, n: int) -> list:
    """Up to n images spread over the day, favouring the first frame of each event."""
    if len(images) <= n:
        return images
    firsts, seen = [], set()
    for im in images:
        ev = im.get("event")
        if ev not in seen:
            seen.add(ev)
            firsts.append(im)
    pool = firsts if len(firsts) >= n else images
    step = len(pool) / n
    return [pool[int(i * step)] for i in range(n)]


def figure(img: dict, out_root: Path, alt_root: Path | None, start_epoch, hours) -> str:
    rel = img.get("file") or ""
    path = out_root / rel
    if not path.exists() and alt_root is not None:
        path = alt_root / rel
    th = thumbnail(path) if rel else None
    cls = image_class(img)
    cls_text, cls_css = CLASS_TEXT[cls]
    det = img.get("detection") or {}
    truth = img.get("truth") or []
    if th:
        uri, w, h, ow, oh = th
        rects = []
        for box in truth:
            r = _rel_box(box, ow, oh)
            if r:
                rects.append(f'<rect x="{r[0] * w:.1f}" y="{r[1] * h:.1f}" width="{r[2] * w:.1f}" '
                             f'height="{r[3] * h:.1f}" fill="none" stroke="{TRUTH_COLOUR}" '
                             f'stroke-width="2" stroke-dasharray="5 3"><title>ground truth'
                             f'</title></rect>')
        if det.get("bbox"):
            r = _rel_box(det["bbox"], ow, oh)
            if r:
                rects.append(f'<rect x="{r[0] * w:.1f}" y="{r[1] * h:.1f}" width="{r[2] * w:.1f}" '
                             f'height="{r[3] * h:.1f}" fill="none" stroke="{DET_COLOUR}" '
                             f'stroke-width="2.5"><title>detected, score '
                             f'{esc(det.get("score"))}</title></rect>')
        pic = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
               f'viewBox="0 0 {w} {h}"><image href="{uri}" width="{w}" height="{h}"/>'
               f'{"".join(rects)}</svg>')
    else:
        pic = '<div class="nopic">picture not found</div>'
    up = img.get("uploaded")
    up_tag = ('<span class="tag t-up">uploaded</span>' if up else
              '<span class="tag t-notup">not uploaded</span>' if up is not None else "")
    score = det.get("score")
    det_text = (f"detector: motion, score {score:.2f}" if det.get("motion") and
                isinstance(score, (int, float)) else "detector: motion" if det.get("motion")
                else "detector: no motion" if det else "no detection data")
    name = rel.rsplit("/", 1)[-1]
    return (f'<figure data-cls="{cls}">{pic}<figcaption><b>'
            f'{esc(clock(start_epoch, img.get("t"), hours))}</b> · {esc(img.get("trigger") or "")}'
            f'<br><span class="tag {cls_css}">{esc(cls_text)}</span>{up_tag}<br>'
            f'{esc(det_text)}<br><span style="color:#5b6672">{esc(name)}</span>'
            f'</figcaption></figure>')


def gallery(boards, out_root, alt_root, start_epoch, hours) -> str:
    per = max(2, min(PER_CAMERA_THUMBS, MAX_THUMBS // max(len(boards), 1)))
    counts = {"animal": 0, "false": 0, "missed": 0, "lapse": 0}
    parts = []
    for b in boards:
        imgs = image_list(b)
        shown = _pick(imgs, per)
        for im in shown:
            counts[image_class(im)] += 1
        figs = "".join(figure(im, out_root, alt_root, start_epoch, hours) for im in shown)
        note = f"{len(shown)} of {len(imgs)} pictures" if imgs else "no pictures"
        parts.append(f'<h3>{esc(b.get("name"))} <span class="note">({note})</span></h3>'
                     f'<div class="gallery">{figs}</div>')
    buttons = ['<button class="on" data-f="all">all</button>']
    for k, (text, _) in CLASS_TEXT.items():
        if counts[k]:
            buttons.append(f'<button data-f="{k}">{esc(text)} ({counts[k]})</button>')
    legend = (f'<div class="legend"><span><i style="background:{DET_COLOUR}"></i>detected by '
              f'the camera (solid)</span><span><i style="background:{TRUTH_COLOUR}"></i>where '
              f'the animal really was: ground truth (dashed)</span></div>')
    return legend + f'<div class="filters">{"".join(buttons)}</div>' + "".join(parts)


GLOSSARY = """
<dl class="glossary">
<dt>event</dt><dd>The motion sensor (PIR) fired and the camera decided to keep it: it took a
 short burst of pictures. "true" events had an animal in view, "false" ones were wind or
 light changes (we know, because the simulated scene knows where every animal is).</dd>
<dt>missed</dt><dd>An animal walked past and no event was recorded.</dd>
<dt>delivered / lost / duplicates</dt><dd>Pictures wait on the SD card until the network
 allows an upload. Delivered means the cloud confirmed it. Lost must always be 0; a duplicate
 is a picture sent twice (e.g. after a power cut) and is dropped by its unique key.</dd>
<dt>latency</dt><dd>Time from taking a picture to its arrival in the cloud. Long latencies
 usually mean the WiFi was down or uploads wait for the daily sync window to save battery.</dd>
<dt>mAh/day, battery days</dt><dd>Charge used per simulated day, and how many days a
 7,000 mAh battery pack would last at that rate.</dd>
</dl>
"""


def render(summary: dict, out_dir: Path) -> str:
    boards = [b for b in summary.get("boards") or [] if isinstance(b, dict)]
    hours = float(summary.get("simulated_hours") or 24.0) or 24.0
    start = summary.get("start_epoch")
    out_root = Path(out_dir)
    alt = Path(summary["out"]) if summary.get("out") else None
    when = (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(start)) if start is not None
            else "start of simulation")
    sub = (f"{len(boards)} camera(s) · {hours:g} simulated hours from {when} · "
           f"simulated in {num(summary.get('wall_seconds'), 1)} s of real time")
    timelines = []
    for i, b in enumerate(boards):
        svg = timeline_svg(b, hours, start)
        facts = (f'{num(b.get("events"))} events, {num(image_count(b))} pictures, '
                 f'{num(b.get("delivered"))} delivered, {num(b.get("power_cuts"))} power cut(s)')
        opened = " open" if i < 8 else ""
        timelines.append(f'<details{opened}><summary>{esc(b.get("name"))} '
                         f'<span class="note">{esc(facts)}</span></summary>'
                         f'<div class="timeline">{svg}</div></details>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WildCAM simulated fleet report</title>
<style>{CSS}</style></head>
<body>
<header><h1>WildCAM — simulated fleet report</h1><p>{esc(sub)}</p>
<p>Every camera ran the real WildCAM firmware against a simulated forest: animals, wind,
light changes, night, WiFi outages and power cuts.</p></header>
<main>
{verdict(boards)}
<h2 id="fleet">Fleet summary</h2>
<p class="note">One row per camera. Hover a column title for its meaning; click to sort.
Red cells need attention.</p>
{fleet_table(boards)}
<h2 id="charts">Charts</h2>
<div class="cards"><div class="card">{activity_chart(boards, hours, start)}</div>
<div class="card">{latency_chart(boards)}</div>
<div class="card">{energy_chart(boards)}</div></div>
<h2 id="timelines">Camera timelines</h2>
<p class="note">What each camera did over the simulated period. Hover a mark for details.</p>
{timeline_legend()}
{"".join(timelines)}
<h2 id="gallery">Pictures</h2>
<p class="note">A sample of each camera's pictures, spread over the period.</p>
{gallery(boards, out_root, alt, start, hours)}
<h2 id="help">How to read this report</h2>
{GLOSSARY}
</main>
<script>{JS}</script>
</body></html>
"""


def write_report(summary: dict, out_dir) -> Path:
    """Write `<out_dir>/report.html` from a run summary; return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    tmp = path.with_suffix(".html.part")
    tmp.write_text(render(summary, out), encoding="utf-8")
    tmp.replace(path)
    return path
