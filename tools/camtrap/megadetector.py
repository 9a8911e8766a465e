"""The MegaDetector batch file (format 1.5) of the exported media, for camtraptools `import`,
Timelapse, AddaxAI: paths are the package's filePath (`media/<deploymentID>/<file>`),
relative to the package folder, so they are the same whatever folder was exported, unique
across cameras, and match a camtraptools package made from `<package>/media` as well.

The on-board detector decides on small grayscale look frames before the burst and never
analyses a saved image: each image is therefore a `failure` entry with `"detections": null`
saying so (camtraptools marks them unclassified), never a box the image does not show.
`detection_completion_time` is when the camera's detector last ran, not the export time.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path


def document(rows: list[tuple[dict, object]], firmware: set[str]) -> dict:
    """rows: (media row, Image) in package order."""
    images, last = [], None
    for m, im in rows:
        if m["captureMethod"] == "timeLapse":
            why = "time-lapse image: no detector ran"
        elif im.detection:
            if im.det_ms is None:
                when = ""
            elif im.det_ms >= 0:
                when = " %d ms after it" % im.det_ms
            else:
                when = " %d ms before it" % -im.det_ms
            why = ("not analysed: the on-board detector confirmed motion on %s grayscale look "
                   "frames%s, not on this image" % (im.detection.get("frame") or "small", when))
            t = m["_t"] + (im.det_ms or 0) / 1000
            last = t if last is None else max(last, t)
        else:
            why = "not analysed: no on-board detector verdict for this image"
        images.append({"file": m["filePath"], "failure": why, "detections": None})
    info = {"format_version": "1.5", "detector": "wildcam-onboard-motion " +
            ",".join(sorted(f for f in firmware if f)),
            "detector_metadata": {"typical_detection_threshold": 0.5,
                                  "conservative_detection_threshold": 0.5}}
    if last is not None:
        info["detection_completion_time"] = dt.datetime.fromtimestamp(
            int(last), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        info["custom_metadata"] = {"detection_completion_time_zone": "UTC"}
    return {"info": info, "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
            "images": images}


def write(path: Path, rows, firmware) -> dict:
    doc = document(rows, firmware)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)
    return {"images": len(doc["images"]),
            "with_detections": sum(1 for i in doc["images"] if i["detections"])}
