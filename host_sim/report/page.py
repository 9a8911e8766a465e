"""The page itself: fleet table, verdict, gallery, glossary, and `render`/`write_report`."""
from __future__ import annotations

import time
from pathlib import Path

from .charts import activity_chart, energy_chart, latency_chart, timeline_legend, timeline_svg
from .data import CLASS_TEXT, image_class, image_count, image_list, pick, rel_box, thumbnail
from .fmt import clock, duration, esc, num
from .style import CSS, DET_COLOUR, JS, MAX_THUMBS, PER_CAMERA_THUMBS, TRUTH_COLOUR


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
     "PIR triggers the on-camera motion detector did not confirm: their pictures stay on the "
     "card for review, never sent (detect.rejected: keep), or are deleted (delete)"),
    ("missed_visits", "missed", "Animal visits with no event"),
    ("images", "images", "Pictures written to the SD card"),
    ("delivered", "delivered", "Pictures that reached the cloud"),
    ("queued", "queued",
     "Pictures safe on the card, still in the camera's outbox: they go out at its next sync "
     "window (not lost)"),
    ("dead", "dead", "Pictures the camera gave up sending (dead-lettered; still on its card)"),
    ("lost", "lost", "Pictures taken and now nowhere: not delivered, not queued, not on the "
     "card's dead-letter list (must be 0)"),
    ("duplicates", "dupl.", "Pictures delivered more than once (harmless, dropped by key)"),
    ("lat", "latency p50 · p95 · max",
     "Time from capture to arrival in the cloud: half of the pictures (p50), 95% of them "
     "(p95), the slowest (max)"),
    ("mah", "mAh/day", "Battery charge used per day"),
    ("days", "battery days",
     "Battery cameras: days on a 7,000 mAh pack from the energy model (host_sim/energy.py, "
     "docs/POWER.md): central, and low-high from the pessimistic and optimistic current and "
     "battery figures; mains cameras: none"),
)


def _row_values(b: dict) -> dict:
    lat = b.get("latency_s") or {}
    en = b.get("energy") or {}
    v = {k: b.get(k) for k, _, _ in FLEET_COLS}
    v.update(images=image_count(b), lat=(lat.get("p50"), lat.get("p95"), lat.get("max")),
             mah=en.get("mah_per_day"), days=en.get("battery_days"))
    return v


def days_text(days) -> tuple:
    """("central (low-high)", central) of a battery camera's battery days; ("mains", None)."""
    if not isinstance(days, dict) or days.get("central") is None:
        return "mains", None
    return (f'{num(days["central"], 0)} <small>({num(days.get("low"), 0)}&ndash;'
            f'{num(days.get("high"), 0)})</small>', days["central"])


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
                text, val = days_text(val)
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
    queued = sum(b.get("queued") or 0 for b in boards)
    dead = sum(b.get("dead") or 0 for b in boards)
    msg = f"No picture lost: {delivered} of {images} delivered"
    if queued > 0:
        msg += f", {queued} still queued on the cameras at the end of the run"
    if dead > 0:
        msg += f", {dead} dead-lettered (on the cards)"
    if crashes:
        msg += f" ({crashes} firmware crash(es), recovered)"
    return f'<div class="verdict good">{esc(msg)}.</div>'


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
            r = rel_box(box, ow, oh)
            if r:
                rects.append(f'<rect x="{r[0] * w:.1f}" y="{r[1] * h:.1f}" width="{r[2] * w:.1f}" '
                             f'height="{r[3] * h:.1f}" fill="none" stroke="{TRUTH_COLOUR}" '
                             f'stroke-width="2" stroke-dasharray="5 3"><title>ground truth'
                             f'</title></rect>')
        if det.get("bbox"):
            r = rel_box(det["bbox"], ow, oh)
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
        shown = pick(imgs, per)
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
<dt>mAh/day, battery days</dt><dd>Charge used per simulated day, and, for a battery
 camera, how many days a 7,000 mAh pack lasts by the energy model: the central figure, and in
 brackets the range from the pessimistic to the optimistic published currents and battery
 figures (usable share, self-discharge, cold). Deep sleep shows on each camera's timeline.</dd>
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
