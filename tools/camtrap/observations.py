"""Observations that say what is known.

On board: the camera's motion detector confirms an EVENT on small grayscale look frames
taken before the burst; it never sees a saved image and knows nothing of species. So:
- one event-level observation per event: `unclassified`, `classificationMethod: machine`,
  `classifiedBy` the detector and firmware version, its motion score as probability, the
  look frame's size, score and box in `observationTags` (a box of the look frame, not of
  any image: no image gets a bounding box from it);
- one media-level `unclassified` observation per image (time-lapse ones too): nobody has
  classified the image yet.
A classifier's batch results (`--classifications FILE`: MegaDetector batch JSON, or SpeciesNet
predictions JSON) replace the media-level rows of the images they cover: one observation per
detection at or above `--threshold` (`animal` / `human` / `vehicle`, its box, its score, a
scientific name when a classifier gave one), `blank` for an image with none, `unclassified`
for an image the classifier failed on. Result paths are matched to the images by the longest
unambiguous path suffix, so results made from any parent folder match.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path, PurePosixPath

from .common import ExportError, iso

MD_TYPES = {"animal": "animal", "person": "human", "human": "human", "vehicle": "vehicle"}
SPECIAL = {"blank": "blank", "animal": "animal", "human": "human", "vehicle": "vehicle",
           "no cv result": "unclassified"}


def onboard_name(firmware: str | None) -> str:
    return "WildCAM on-board motion detector (firmware %s)" % (firmware or "unknown")


def _tags(det: dict, det_ms) -> str:
    tags = ["motionScore:%s" % det.get("score")]
    if det.get("frame"):
        tags.append("lookFrame:%s" % det["frame"])
    box = det.get("bbox")
    if isinstance(box, list) and len(box) == 4:
        tags.append("lookBox:" + ",".join("%g" % float(v) for v in box))
    if det_ms is not None:
        tags.append("lookMsAfterFirstImage:%d" % det_ms)
    return " | ".join(tags)


def event_rows(dep, media: list[dict]) -> list[dict]:
    """Event-level observations of the on-board detector for one deployment."""
    events: dict[str, list] = {}
    for im, m in zip(dep.images, media):
        if im.event and m is not None:
            events.setdefault(im.event, []).append((im, m))
    rows = []
    for ev, members in sorted(events.items()):
        first = min(members, key=lambda p: p[1]["_t"])
        det = next((im.detection for im, _ in members if im.detection), None)
        t0 = min(m["_t"] for _, m in members)
        t1 = max(m["_t"] for _, m in members)
        row = {"observationID": f"{dep.id}:{ev}", "deploymentID": dep.id, "eventID": ev,
               "eventStart": iso(t0, dep.tz), "eventEnd": iso(t1, dep.tz),
               "observationLevel": "event", "observationType": "unclassified"}
        if det is not None:
            first_ms = first[0].det_ms
            ms = first_ms if first_ms is not None else next(
                (im.det_ms for im, _ in members if im.det_ms is not None), None)
            looked = t0 + (ms or 0) / 1000
            row.update(classificationMethod="machine",
                       classifiedBy=onboard_name(first[0].firmware),
                       classificationTimestamp=iso(looked, dep.tz),
                       classificationProbability=min(1.0, max(0.0, float(det.get("score") or 0))),
                       observationTags=_tags(det, ms),
                       observationComments="motion confirmed by the camera's detector on "
                       "grayscale look frames before the burst; not classified (species, "
                       "human or vehicle unknown)")
        else:
            row["observationComments"] = "%s trigger without an on-board detector verdict" % (
                first[0].trigger or "unknown")
        rows.append(row)
    return rows


def media_row(dep, im, m: dict) -> dict:
    return {"observationID": f"{m['mediaID']}:0", "deploymentID": dep.id,
            "mediaID": m["mediaID"], "eventID": im.event or "",
            "eventStart": m["timestamp"], "eventEnd": m["timestamp"],
            "observationLevel": "media", "observationType": "unclassified",
            "observationComments": "time-lapse image, not classified" if
            m["captureMethod"] == "timeLapse" else "not classified yet"}


# --- classifier results ----------------------------------------------------------------------
class Matcher:
    """Finds the image a result path refers to: longest unambiguous path suffix."""

    def __init__(self):
        self.by_suffix: dict[str, object] = {}

    def add(self, key, *paths: str):
        for p in paths:
            parts = PurePosixPath(p.replace("\\", "/").lstrip("/")).parts
            for i in range(len(parts)):
                s = "/".join(parts[i:]).lower()
                prev = self.by_suffix.get(s, key)
                self.by_suffix[s] = key if prev == key else None  # None: ambiguous

    def find(self, path: str):
        parts = PurePosixPath(path.replace("\\", "/").lstrip("/")).parts
        for i in range(len(parts)):
            hit = self.by_suffix.get("/".join(parts[i:]).lower())
            if hit is not None:
                return hit
        return None


def _when(text) -> float | None:
    """MegaDetector writes the local time of the machine it ran on, without an offset."""
    if not text:
        return None
    try:
        d = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (d if d.tzinfo else d.astimezone()).timestamp()


def _taxon(label: str) -> tuple[str, str | None, str | None]:
    """(observationType, scientificName, rank) of a SpeciesNet label
    "uuid;class;order;family;genus;species;common name"."""
    parts = (label or "").split(";")
    if len(parts) != 7:
        name = (label or "").strip()
        return SPECIAL.get(name.lower(), "animal"), (None if name.lower() in SPECIAL else name
                                                     or None), None
    _, cls, order, family, genus, species, common = parts
    if not any((cls, order, family, genus, species)):
        return SPECIAL.get(common.lower(), "animal"), None, None
    if genus and species:
        name, rank = f"{genus.capitalize()} {species}", "species"
    else:
        name, rank = next(((v.capitalize(), r) for v, r in ((genus, "genus"), (family, "family"),
                           (order, "order"), (cls, "class")) if v), (None, None))
    return ("human" if common.lower() == "human" else "animal"), name, rank


def load_results(path: str) -> tuple[list[dict], str, float | None]:
    """(per-image results [{file, failed, detections: [(type, conf, bbox, name, rank, p)]}],
    classifiedBy, completion time) of a MegaDetector or SpeciesNet JSON file."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ExportError(f"{path}: {e}") from None
    out = []
    if isinstance(doc, dict) and isinstance(doc.get("images"), list):
        info = doc.get("info") or {}
        cats = doc.get("detection_categories") or {}
        ccats = doc.get("classification_categories") or {}
        cdesc = doc.get("classification_category_descriptions") or {}
        ver = (info.get("detector_metadata") or {}).get("megadetector_version")
        by = info.get("classifier") or f"MegaDetector {ver or info.get('detector', '')}".strip()
        for im in doc["images"]:
            dets = []
            for d in im.get("detections") or []:
                typ = MD_TYPES.get(cats.get(str(d.get("category")), ""), "unknown")
                name = rank = None
                p = float(d.get("conf") or 0)
                if d.get("classifications"):
                    cid, p2 = d["classifications"][0]
                    typ, name, rank = _taxon(cdesc.get(cid) or ccats.get(cid, ""))
                    p = float(p2)
                dets.append((typ, float(d.get("conf") or 0), d.get("bbox"), name, rank, p))
            out.append({"file": im.get("file", ""), "failed": bool(im.get("failure")) or
                        im.get("detections") is None, "detections": dets})
        when = _when(info.get("classification_completion_time") or
                     info.get("detection_completion_time"))
        return out, by, when
    if isinstance(doc, dict) and isinstance(doc.get("predictions"), list):
        versions = set()
        for p in doc["predictions"]:
            versions.add(p.get("model_version") or "")
            dets = []
            typ, name, rank = _taxon(p.get("prediction", "")) if p.get("prediction") else \
                ("unknown", None, None)
            top = sorted(p.get("detections") or [], key=lambda d: -float(d.get("conf") or 0))
            for d in top:
                label = MD_TYPES.get(d.get("label", ""), "unknown")
                if label == typ or (typ == "animal" and label == "animal"):
                    dets.append((typ, float(d.get("conf") or 0), d.get("bbox"), name, rank,
                                 float(p.get("prediction_score") or d.get("conf") or 0)))
                else:
                    dets.append((label, float(d.get("conf") or 0), d.get("bbox"), None, None,
                                 float(d.get("conf") or 0)))
            failed = bool(p.get("failures")) and not p.get("prediction")
            if typ == "blank" and not failed:
                dets = []
            out.append({"file": p.get("filepath", ""), "failed": failed, "detections": dets})
        by = "SpeciesNet " + ",".join(sorted(v for v in versions if v))
        return out, by.strip(), _when((doc.get("info") or {}).get("completion_time"))
    raise ExportError(f"{path}: neither a MegaDetector batch file (images) nor SpeciesNet "
                      "predictions (predictions)")


def classified_rows(dep, im, m: dict, res: dict, by: str, when, threshold: float) -> list[dict]:
    base = {"deploymentID": dep.id, "mediaID": m["mediaID"], "eventID": im.event or "",
            "eventStart": m["timestamp"], "eventEnd": m["timestamp"],
            "observationLevel": "media", "classificationMethod": "machine",
            "classifiedBy": by, "classificationTimestamp": iso(when, dep.tz) if when else ""}
    if res["failed"]:
        return [dict(base, observationID=f"{m['mediaID']}:0", observationType="unclassified",
                     observationComments=f"{by} could not process this image")]
    rows = []
    for n, (typ, conf, box, name, rank, p) in enumerate(
            d for d in res["detections"] if d[1] >= threshold):
        row = dict(base, observationID=f"{m['mediaID']}:{n + 1}", observationType=typ,
                   classificationProbability=round(min(1.0, max(0.0, p)), 4),
                   scientificName=name or "", count=1 if typ in ("animal", "human") else "")
        if rank:
            row["_rank"] = rank
        if isinstance(box, list) and len(box) == 4:
            x, y, w, h = (min(1.0, max(0.0, float(v))) for v in box)
            w, h = min(w, 1.0 - x), min(h, 1.0 - y)
            if w > 0 and h > 0:
                row.update(bboxX=round(x, 4), bboxY=round(y, 4), bboxWidth=round(w, 4),
                           bboxHeight=round(h, 4))
        rows.append(row)
    if not rows:
        rows.append(dict(base, observationID=f"{m['mediaID']}:0", observationType="blank",
                         observationComments=f"no detection at or above {threshold:g}"))
    return rows
