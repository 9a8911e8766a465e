#!/usr/bin/env python3
"""Research export of WildCAM images (also `wildcam export ...`).

    python tools/export.py camtrapdp --from sim-out/cloud --out pkg [--locations sites.json]
        [--coarsen 0.01] [--copy-media] [--animal-score 0.5]
    python tools/export.py megadetector --from /media/sdcard --out detections.json

Input (`--from`, repeatable): a synced folder of cloud objects (`<device>/<key>.jpg` +
`<key>.json` as the local/S3/Azure destinations write them: c created, r received, d event
data, h sha256) and/or a copy of SD cards (`DCIM/**/<image>.jpg` + sidecar `<image>.json`:
device, time, clock, event, trigger, seq/of, detection {motion, score, bbox}). The same image
found twice (card and cloud, by sha256) is exported once, from the sidecar.

Clock: an image taken before the camera's clock was set (sidecar `clock: "unset"`, or a
cloud object without a creation time) gets the upload receipt time as its timestamp,
flagged in mediaComments and `timestampIssues` of its deployment; without a receipt time it
is left out and counted. Locations: `--locations` JSON {device: {lat, lon, name?}}, else the
EXIF GPS the camera wrote into the JPEG. See docs/HOST_TOOLS.md.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import shutil
import sys
from pathlib import Path

PROFILE = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0/camtrap-dp-profile.json"
SCHEMA = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0/{}-table-schema.json"
DEPLOYMENTS = ["deploymentID", "locationID", "locationName", "latitude", "longitude",
               "coordinateUncertainty", "deploymentStart", "deploymentEnd", "setupBy",
               "cameraID", "cameraModel", "cameraDelay", "cameraHeight", "cameraDepth",
               "cameraTilt", "cameraHeading", "detectionDistance", "timestampIssues",
               "baitUse", "featureType", "habitat", "deploymentGroups", "deploymentTags",
               "deploymentComments"]
MEDIA = ["mediaID", "deploymentID", "captureMethod", "timestamp", "filePath", "filePublic",
         "fileName", "fileMediatype", "exifData", "favorite", "mediaComments"]
OBSERVATIONS = ["observationID", "deploymentID", "mediaID", "eventID", "eventStart",
                "eventEnd", "observationLevel", "observationType", "cameraSetupType",
                "scientificName", "count", "lifeStage", "sex", "behavior", "individualID",
                "individualPositionRadius", "individualPositionAngle", "individualSpeed",
                "bboxX", "bboxY", "bboxWidth", "bboxHeight", "classificationMethod",
                "classifiedBy", "classificationTimestamp", "classificationProbability",
                "observationTags", "observationComments"]


class ExportError(Exception):
    pass


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- reading --------------------------------------------------------------------------------
def _record_from_sidecar(jpg: Path, side: dict, root: Path) -> dict:
    t = side.get("time") if side.get("clock") != "unset" else None
    return {"device": side.get("device") or "unknown", "path": jpg, "root": root,
            "sha256": side.get("sha256"), "time": t, "received": None,
            "event": side.get("event"), "trigger": side.get("trigger"),
            "seq": side.get("seq"), "of": side.get("of"), "detection": side.get("detection"),
            "battery_v": side.get("battery_v"), "temp_c": side.get("temp_c"),
            "firmware": side.get("firmware"), "source": "sidecar"}


def _record_from_object(jpg: Path, obj: dict, root: Path) -> dict:
    d = obj.get("d") or {}
    device = jpg.parent.name
    return {"device": device, "path": jpg, "root": root, "sha256": obj.get("h"),
            "time": obj.get("c") or None, "received": obj.get("r") or None,
            "event": d.get("event"), "trigger": d.get("trigger") or obj.get("n"),
            "seq": d.get("seq"), "of": d.get("of"), "detection": d.get("detection"),
            "battery_v": d.get("battery_v"), "temp_c": d.get("temp_c"), "firmware": None,
            "source": "cloud"}


def read_records(sources: list[Path]) -> list[dict]:
    out: dict[str, dict] = {}
    for root in sources:
        if not root.exists():
            raise ExportError(f"{root}: no such folder")
        for jpg in sorted(root.rglob("*.jpg")) + sorted(root.rglob("*.JPG")):
            side = jpg.with_suffix(".json")
            if not side.exists():
                continue
            try:
                doc = json.loads(side.read_text())
            except ValueError:
                continue
            if "k" in doc and "n" in doc:
                rec = _record_from_object(jpg, doc, root)
            elif "device" in doc and "file" in doc:
                rec = _record_from_sidecar(jpg, doc, root)
            else:
                continue
            key = rec["sha256"] or str(jpg)
            prev = out.get(key)
            if prev is None or (prev["source"] == "cloud" and rec["source"] == "sidecar"):
                if prev is not None and rec["received"] is None:
                    rec["received"] = prev["received"]
                out[key] = rec
            elif rec["source"] == "cloud" and prev["received"] is None:
                prev["received"] = rec["received"]
    return sorted(out.values(), key=lambda r: (r["device"], r["time"] or r["received"] or 0,
                                               str(r["path"])))


def exif_location(jpg: Path) -> tuple[float, float] | None:
    try:
        from PIL import Image

        with Image.open(jpg) as im:
            gps = im.getexif().get_ifd(0x8825)
        if not gps or 2 not in gps or 4 not in gps:
            return None
        dms = lambda v: float(v[0]) + float(v[1]) / 60 + float(v[2]) / 3600
        lat, lon = dms(gps[2]), dms(gps[4])
        return (-lat if gps.get(1) == "S" else lat, -lon if gps.get(3) == "W" else lon)
    except Exception:  # noqa: BLE001 - no EXIF, unreadable JPEG
        return None


def coarsen(v: float, step: float) -> float:
    return round(round(v / step) * step, 6)


# --- Camtrap DP -----------------------------------------------------------------------------
def observation_type(det, animal_score: float) -> tuple[str, str]:
    """(observationType, comment) from the on-board detection."""
    if not isinstance(det, dict):
        return "unknown", "no on-board detection for this image (e.g. time-lapse)"
    if det.get("motion") and (det.get("score") or 0) >= animal_score:
        return "animal", "on-board motion detection; species not identified"
    if det.get("motion"):
        return "unknown", "weak motion (score below --animal-score)"
    return "blank", "no motion found by the on-board detector"


def camtrapdp(records: list[dict], out: Path, locations: dict, step: float | None,
              copy_media: bool, animal_score: float) -> dict:
    if step and copy_media:
        raise ExportError("--copy-media with --coarsen would publish the exact EXIF GPS of "
                          "each JPEG; export without --copy-media")
    out.mkdir(parents=True, exist_ok=True)
    media, obs, deps, skipped = [], [], {}, 0
    for r in records:
        t, note = r["time"], ""
        if t is None:
            if r["received"] is None:
                skipped += 1
                continue
            t, note = r["received"], "camera clock was unset: timestamp is the upload receipt time"
        dev = r["device"]
        d = deps.setdefault(dev, {"start": t, "end": t, "issues": False, "first": r["path"]})
        d["start"], d["end"] = min(d["start"], t), max(d["end"], t)
        d["issues"] |= bool(note)
        rel = r["path"].relative_to(r["root"]).as_posix()
        mid = (r["sha256"] or rel)[:32]
        if copy_media:
            dst = out / "media" / dev / r["path"].name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(r["path"], dst)
            rel = dst.relative_to(out).as_posix()
        media.append({"mediaID": mid, "deploymentID": dev,
                      "captureMethod": "timeLapse" if r["trigger"] == "timelapse"
                      else "activityDetection",
                      "timestamp": iso(t), "filePath": rel, "filePublic": "false",
                      "fileName": r["path"].name, "fileMediatype": "image/jpeg",
                      "mediaComments": note})
        otype, comment = observation_type(r["detection"], animal_score)
        det = r["detection"] if isinstance(r["detection"], dict) else {}
        row = {"observationID": "obs-" + mid, "deploymentID": dev, "mediaID": mid,
               "eventID": r["event"] or "", "eventStart": iso(t), "eventEnd": iso(t),
               "observationLevel": "media", "observationType": otype,
               "classificationMethod": "machine" if det else "",
               "classifiedBy": "WildCAM on-board motion detector" if det else "",
               "classificationTimestamp": iso(t) if det else "",
               "classificationProbability": det.get("score", "") if det else "",
               "observationComments": comment}
        box = det.get("bbox")
        if otype == "animal" and isinstance(box, list) and len(box) == 4:
            x, y, w, h = (min(1.0, max(0.0, float(v))) for v in box)
            if w > 0 and h > 0:
                row.update(bboxX=x, bboxY=y, bboxWidth=w, bboxHeight=h, count=1)
        obs.append(row)
    rows = []
    for dev, d in sorted(deps.items()):
        loc = locations.get(dev) or {}
        lat, lon = loc.get("lat"), loc.get("lon")
        if lat is None or lon is None:
            ll = exif_location(d["first"])
            if ll is None:
                raise ExportError(f"no location for {dev}: give --locations with "
                                  f"{{\"{dev}\": {{\"lat\": ..., \"lon\": ...}}}} (or enable "
                                  "device.lat/lon + storage.exif on the camera)")
            lat, lon = ll
        unc = ""
        if step:
            lat, lon = coarsen(lat, step), coarsen(lon, step)
            unc = int(math.ceil(111320 * step * math.sqrt(2) / 2))
        rows.append({"deploymentID": dev, "locationID": dev,
                     "locationName": loc.get("name", dev), "latitude": lat, "longitude": lon,
                     "coordinateUncertainty": unc, "deploymentStart": iso(d["start"]),
                     "deploymentEnd": iso(d["end"]), "cameraID": dev,
                     "cameraModel": "AI-Thinker-ESP32-CAM", "timestampIssues":
                     "true" if d["issues"] else "false",
                     "deploymentComments": "coordinates coarsened to %g degrees" % step
                     if step else ""})
    for name, fields, data in (("deployments", DEPLOYMENTS, rows), ("media", MEDIA, media),
                               ("observations", OBSERVATIONS, obs)):
        with open(out / f"{name}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            w.writerows(data)
    lats = [r["latitude"] for r in rows]
    lons = [r["longitude"] for r in rows]
    starts = [r["deploymentStart"] for r in rows] or [iso(0)]
    ends = [r["deploymentEnd"] for r in rows] or [iso(0)]
    pkg = {
        "profile": PROFILE,
        "name": "wildcam-export",
        "created": iso(dt.datetime.now(dt.timezone.utc).timestamp()),
        "title": "WildCAM camera trap images",
        "contributors": [{"title": "WildCAM export", "role": "contact"}],
        "licenses": [{"name": "CC-BY-4.0", "scope": "data"}],
        "project": {"title": "WildCAM deployment", "samplingDesign": "opportunistic",
                    "captureMethod": sorted({m["captureMethod"] for m in media}) or
                    ["activityDetection"], "individualAnimals": False,
                    "observationLevel": ["media"]},
        "spatial": {"type": "Polygon", "bbox": [min(lons, default=0), min(lats, default=0),
                                                max(lons, default=0), max(lats, default=0)],
                    "coordinates": [[[min(lons, default=0), min(lats, default=0)],
                                     [max(lons, default=0), min(lats, default=0)],
                                     [max(lons, default=0), max(lats, default=0)],
                                     [min(lons, default=0), max(lats, default=0)],
                                     [min(lons, default=0), min(lats, default=0)]]]},
        "temporal": {"start": min(starts)[:10], "end": max(ends)[:10]},
        "taxonomic": [],
        "resources": [{"name": n, "path": f"{n}.csv", "profile": "tabular-data-resource",
                       "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                       "schema": SCHEMA.format(n)}
                      for n in ("deployments", "media", "observations")],
    }
    (out / "datapackage.json").write_text(json.dumps(pkg, indent=2) + "\n")
    return {"deployments": len(rows), "media": len(media), "observations": len(obs),
            "skipped_unset_clock": skipped,
            "receipt_timestamps": sum(1 for m in media if m["mediaComments"])}


# --- MegaDetector batch output ----------------------------------------------------------------
def megadetector(records: list[dict], out: Path, animal_score: float) -> dict:
    images = []
    for r in records:
        det = r["detection"] if isinstance(r["detection"], dict) else None
        entry = {"file": r["path"].relative_to(r["root"]).as_posix()}
        if det is None:
            entry["failure"] = "no on-board detection for this image"
            images.append(entry)
            continue
        dets = []
        box = det.get("bbox")
        if det.get("motion") and isinstance(box, list) and len(box) == 4:
            dets.append({"category": "1", "conf": round(float(det.get("score") or 0), 3),
                         "bbox": [round(min(1.0, max(0.0, float(v))), 4) for v in box]})
        entry["detections"] = dets
        entry["max_detection_conf"] = max((d["conf"] for d in dets), default=0.0)
        images.append(entry)
    doc = {"info": {"format_version": "1.4", "detector": "wildcam-onboard-motion",
                    "detection_completion_time": iso(dt.datetime.now(dt.timezone.utc)
                                                     .timestamp()).replace("T", " ")[:-1],
                    "detector_metadata": {"typical_detection_threshold": animal_score,
                                          "conservative_detection_threshold": animal_score}},
           "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
           "images": images}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    return {"images": len(images), "with_detections": sum(1 for i in images if i.get("detections"))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("format", choices=("camtrapdp", "megadetector"))
    ap.add_argument("--from", dest="src", action="append", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--locations", help="JSON {device: {lat, lon, name}}")
    ap.add_argument("--coarsen", type=float, help="round coordinates to this step (degrees)")
    ap.add_argument("--copy-media", action="store_true", help="copy JPEGs into the package")
    ap.add_argument("--animal-score", type=float, default=0.5)
    a = ap.parse_args(argv)
    try:
        records = read_records([Path(s) for s in a.src])
        if a.format == "megadetector":
            stats = megadetector(records, Path(a.out), a.animal_score)
        else:
            locs = json.loads(Path(a.locations).read_text()) if a.locations else {}
            stats = camtrapdp(records, Path(a.out), locs, a.coarsen, a.copy_media,
                              a.animal_score)
    except (ExportError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
