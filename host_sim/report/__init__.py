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

Parts: `data` (shaping the summary), `charts` (SVG), `page` (the HTML), `style`, `fmt`.
"""
from .page import render, write_report
from .style import DET_COLOUR, TRUTH_COLOUR

__all__ = ["render", "write_report", "DET_COLOUR", "TRUTH_COLOUR"]
