"""host_sim.report: the fleet run's self-contained report.html.

A small fixture summary (two cameras, a few JPEG files written with Pillow) in the format
host_sim/demo.py writes to <out>/summary.json. Checks the structure (sections, one timeline
per camera, thumbnails embedded with detection and ground-truth boxes, a lost picture
highlighted, nothing loaded from outside the file) and then renders it in headless Chromium
(Debian `chromium`) and checks the screenshot is a real picture, not a blank page.
"""
import html.parser
import io
import os
import re
import shutil
import subprocess
import tempfile

import pytest
from PIL import Image, ImageDraw

from host_sim.report import write_report

START = 1780272000  # 2026-06-01T00:00:00Z


def jpeg(path, box=None, shade=120):
    """A 320x240 'forest' with a dark animal shape at relative box (x, y, w, h)."""
    im = Image.new("RGB", (320, 240), (70, shade, 60))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 170, 320, 240), fill=(90, 80, 50))
    if box:
        x, y, w, h = box
        d.ellipse((x * 320, y * 240, (x + w) * 320, (y + h) * 240), fill=(30, 25, 20))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "JPEG", quality=80)


def board(name, out, lost=0, n_images=4):
    images = []
    for i in range(n_images):
        rel = f"{name}/sd/DCIM/20260601/{i:02d}0200_B00001_0001.jpg"
        animal = i % 2 == 0
        truth = [[0.2 + 0.1 * i, 0.35, 0.3, 0.3]] if animal else []
        jpeg(out / rel, truth[0] if truth else None, shade=100 + 20 * i)
        det = {"motion": True, "score": 0.8, "bbox": [0.22 + 0.1 * i, 0.33, 0.28, 0.32]} \
            if animal else None
        images.append({"file": rel, "t": 3600.0 * (2 + 5 * i), "event": f"{name}-1-{i}",
                       "trigger": "pir", "detection": det, "truth": truth,
                       "uploaded": not (lost and i == n_images - 1)})
    timeline = [{"t": 0.0, "kind": "boot", "detail": {"cause": "power on"}},
                {"t": 600.0, "kind": "sleep", "end": 7000.0},
                {"t": 7100.0, "kind": "pir"}, {"t": 7200.0, "kind": "event"},
                {"t": 7201.0, "kind": "image", "detail": {"file": "x.jpg"}},
                {"t": 10800.0, "kind": "outage", "end": 12600.0},
                {"t": 13000.0, "kind": "upload", "detail": {"latency_s": 5800}},
                {"t": 40000.0, "kind": "powercut"}, {"t": 40001.0, "kind": "boot"},
                {"t": 50000.0, "kind": "ota", "detail": {"version": "1.1.0"}}]
    return {
        "name": name, "boots": 3, "crashes": 0, "power_cuts": 1, "animal_visits": 3,
        "pir_pulses": 6, "events": n_images, "true_triggers": 2, "false_triggers": 2,
        "missed_visits": 1, "images": n_images, "delivered": n_images - lost, "lost": lost,
        "duplicates": 0, "latency_s": {"p50": 12.0, "p95": 1800.0, "max": 5800.0},
        "energy": {"mah_per_day": 40.1, "battery": True,
                   "battery_days": {"capacity_mah": 7000, "low": 98.2, "central": 150.4,
                                    "high": 171.9},
                   "by_state": {"deep_sleep": {"seconds": 80000, "mah": 31.1, "share": 0.78},
                                "awake": {"seconds": 5000, "mah": 6.0, "share": 0.15},
                                "awake_wifi": {"seconds": 1400, "mah": 3.0, "share": 0.07}}},
        "timeline": timeline,
        "battery": [[t * 3600.0, 4.1 - 0.004 * t] for t in range(25)],
        "images": images,
    }


@pytest.fixture
def report(tmp_path):
    out = tmp_path / "sim-out"
    summary = {"simulated_hours": 24.0, "start_epoch": START, "wall_seconds": 2.4,
               "out": str(out),
               "boards": [board("cam-01", out), board("cam-02", out, lost=1)]}
    return write_report(summary, out)


class Parsed(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_report_structure(report):
    assert report.name == "report.html" and report.is_file()
    src = report.read_text(encoding="utf-8")
    p = Parsed()
    p.feed(src)
    tags = p.tags
    text = " ".join(p.text)
    ids = {a.get("id") for _, a in tags}
    assert {"fleet", "charts", "timelines", "gallery"} <= ids
    # fleet table: one body row per camera plus a total, the lost picture flagged
    assert "cam-01" in text and "cam-02" in text
    assert sum(1 for t, a in tags if t == "td" and "alarm" in (a.get("class") or "")) >= 1
    assert "LOST" in text
    # one timeline per camera (aria-label) plus charts
    labels = [a.get("aria-label", "") for t, a in tags if t == "svg"]
    assert sum(lab.startswith("timeline of") for lab in labels) == 2
    assert any("activity" in lab.lower() or "per hour" in lab.lower() for lab in labels)
    assert any("latency" in lab for lab in labels)
    # deep sleep drawn as a span on each timeline; battery days from the model with its range
    assert src.count("<title>deep sleep at 00:10 until 01:56") == 2
    assert "150 <small>(98&ndash;172)</small>" in src
    # thumbnails: embedded JPEG data, smaller than the originals, boxes in two colours
    uris = [a["href"] for t, a in tags if t == "image"]
    assert len(uris) == 8 and all(u.startswith("data:image/jpeg;base64,") for u in uris)
    import base64

    thumb = Image.open(io.BytesIO(base64.b64decode(uris[0].split(",", 1)[1])))
    assert thumb.size[0] <= 240 and thumb.size[1] <= 180
    strokes = [a.get("stroke") for t, a in tags if t == "rect" and a.get("fill") == "none"]
    from host_sim.report import DET_COLOUR, TRUTH_COLOUR

    assert strokes.count(DET_COLOUR) == 4 and strokes.count(TRUTH_COLOUR) == 4
    assert "ground truth" in text
    # self-contained: no external resources anywhere
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", src)
    assert "<link" not in src and "@import" not in src and "url(http" not in src
    assert not [a for t, a in tags if t == "script" and a.get("src")]


def test_partial_summary_still_renders(tmp_path):
    """An older summary (no timeline, energy, images) still gives a page."""
    path = write_report({"simulated_hours": 2, "boards": [{"name": "cam-x", "images": 0}]},
                        tmp_path)
    src = path.read_text()
    assert "cam-x" in src and "no battery readings" in src


def test_missing_picture_is_listed(tmp_path):
    b = board("cam-01", tmp_path)
    b["images"][0]["file"] = "cam-01/sd/DCIM/gone.jpg"
    src = write_report({"simulated_hours": 24, "start_epoch": START, "boards": [b]},
                       tmp_path).read_text()
    assert "picture not found" in src


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_renders_in_headless_chromium(report, tmp_path):
    exe = chromium()
    if exe is None:
        msg = "chromium missing (scripts/setup.sh installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)  # CI installs it: a missing browser must not pass as a skip
        pytest.skip(msg)
    png = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--no-first-run",
           "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
           f"--screenshot={png}", "--window-size=1400,2000", report.resolve().as_uri()]
    # Chromium puts a unix socket under TMPDIR; a socket path has ~107 bytes at most, so a
    # deep TMPDIR (or a deep clone's tmp_path) would stop it: give it a short one
    with tempfile.TemporaryDirectory(prefix="wc-", dir="/tmp" if os.path.isdir("/tmp")
                                     else None) as short:
        proc = subprocess.run(cmd, capture_output=True, timeout=120,
                              env=dict(os.environ, TMPDIR=short))
    assert png.is_file(), "no screenshot: %s" % proc.stderr.decode(errors="replace")[-2000:]
    im = Image.open(png).convert("RGB")
    assert im.size == (1400, 2000)
    colours = im.getcolors(maxcolors=1 << 20)
    assert colours is None or len(colours) > 50, "screenshot is (nearly) one colour"
    # the header band is drawn (dark green) and the page below it is not empty
    top = im.crop((0, 0, 1400, 60)).resize((1, 1)).getpixel((0, 0))
    assert top[1] > top[0] and sum(top) < 400, "header not rendered: %r" % (top,)
    body = im.crop((0, 200, 1400, 2000))
    extrema = body.convert("L").getextrema()
    assert extrema[1] - extrema[0] > 100
    # a deep-sleep span of a timeline is drawn (its colour, host_sim.report.style)
    from host_sim.report.style import KIND_STYLE

    sleep = tuple(int(KIND_STYLE["sleep"][1][i:i + 2], 16) for i in (1, 3, 5))
    assert any(c == sleep for _, c in (colours or im.getcolors(maxcolors=1 << 24))), \
        "no deep-sleep span on the rendered page"
