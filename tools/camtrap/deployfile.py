"""The deployment record: where and how a camera was set up, in Camtrap DP's own words.

`flash.py deploy --deployment dep.json` completes it (deploymentID, cameraID, cameraModel,
deploymentStart = now in the camera's local time), checks it with the rules of the
Camtrap DP 1.0 deployments table, writes it to the board as /deployment.json beside
/config.json (the camera reports it in every heartbeat and names its deploymentID in every
sidecar) and keeps it in `deployments.json` beside the site config on the laptop: the
register `wildcam export --deployments` reads, where the pickup time (deploymentEnd) is
added when the camera is collected. A record with other coordinates or another locationID
is a move: a new deployment.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from .common import CAMERA_MODEL, ExportError, iso, parse_iso

FEATURES = ("roadPaved", "roadDirt", "trailHiking", "trailGame", "roadUnderpass",
            "roadOverpass", "roadBridge", "culvert", "burrow", "nestSite", "carcass",
            "waterSource", "fruitingTree")
# name: (type, minimum, maximum); types: s str, f number, i integer, b boolean, t date-time
FIELDS = {
    "deploymentID": ("s", None, None), "locationID": ("s", None, None),
    "locationName": ("s", None, None), "latitude": ("f", -90, 90),
    "longitude": ("f", -180, 180), "coordinateUncertainty": ("i", 1, None),
    "deploymentStart": ("t", None, None), "deploymentEnd": ("t", None, None),
    "setupBy": ("s", None, None), "cameraID": ("s", None, None),
    "cameraModel": ("s", None, None), "cameraDelay": ("i", 0, None),
    "cameraHeight": ("f", 0, None), "cameraDepth": ("f", 0, None),
    "cameraTilt": ("i", -90, 90), "cameraHeading": ("i", 0, 360),
    "detectionDistance": ("f", 0, None), "timestampIssues": ("b", None, None),
    "baitUse": ("b", None, None), "featureType": ("s", None, None),
    "habitat": ("s", None, None), "deploymentGroups": ("s", None, None),
    "deploymentTags": ("s", None, None), "deploymentComments": ("s", None, None),
}
REGISTER = "deployments.json"


def _bad_type(kind: str, v) -> bool:
    if kind == "s" or kind == "t":
        return not isinstance(v, str)
    if kind == "b":
        return not isinstance(v, bool)
    if kind == "i":
        return isinstance(v, bool) or not isinstance(v, int)
    return isinstance(v, bool) or not isinstance(v, (int, float))


def validate(rec: dict) -> list[str]:
    """Problems of a deployment record, each one a sentence naming the field."""
    problems = [f"{k}: not a Camtrap DP deployments field" for k in sorted(rec)
                if k not in FIELDS]
    for k in ("deploymentID", "latitude", "longitude", "deploymentStart"):
        if rec.get(k) in (None, ""):
            problems.append(f"{k}: required")
    for k, (kind, lo, hi) in FIELDS.items():
        v = rec.get(k)
        if v is None:
            continue
        if _bad_type(kind, v):
            problems.append(f"{k}: {v!r} is not {dict(s='text', t='a date-time', b='true/false', i='an integer', f='a number')[kind]}")
            continue
        if kind == "t":
            try:
                parse_iso(v)
            except ExportError as e:
                problems.append(f"{k}: {e}")
        if lo is not None and v < lo or hi is not None and v > hi:
            problems.append(f"{k}: {v} is outside {lo}..{hi if hi is not None else ''}")
    if rec.get("featureType") not in (None, "") and rec["featureType"] not in FEATURES:
        problems.append(f"featureType: {rec['featureType']!r} is not one of " + ", ".join(FEATURES))
    if isinstance(rec.get("deploymentID"), str) and not re.fullmatch(r"[A-Za-z0-9._:-]{1,64}",
                                                                       rec["deploymentID"]):
        problems.append("deploymentID: use 1-64 letters, digits and . _ : -")
    s, e = rec.get("deploymentStart"), rec.get("deploymentEnd")
    if isinstance(s, str) and isinstance(e, str) and not problems:
        if parse_iso(e)[0] < parse_iso(s)[0]:
            problems.append("deploymentEnd: before deploymentStart")
    return problems


def complete(rec: dict, device_id: str, tz_offset_min: int, now: float | None = None) -> dict:
    """The record with what the tool knows filled in (the user's values win)."""
    out = {k: v for k, v in rec.items() if v is not None}
    for k, (kind, _, _) in FIELDS.items():  # one JSON type per field on every camera (the
        v = out.get(k)                       # heartbeat carries it, e.g. into InfluxDB)
        if kind == "f" and isinstance(v, int) and not isinstance(v, bool):
            out[k] = float(v)
    start = out.get("deploymentStart") or iso(now if now is not None else time.time(),
                                              tz_offset_min)
    out["deploymentStart"] = start
    out.setdefault("cameraID", device_id)
    out.setdefault("cameraModel", CAMERA_MODEL)
    if not out.get("deploymentID"):
        where = re.sub(r"[^A-Za-z0-9._-]+", "-", str(out.get("locationID") or "site")).strip("-")
        out["deploymentID"] = f"{device_id}-{where}-{start[:10].replace('-', '')}"[:64]
    return out


def load_register(path: str | Path) -> list[dict]:
    """The deployments of a register file (a JSON list; one object is a list of one)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ExportError(f"{path}: {e}") from None
    recs = doc if isinstance(doc, list) else [doc]
    for r in recs:
        problems = validate(r) if isinstance(r, dict) else ["not a JSON object"]
        if problems:
            raise ExportError(f"{path}: deployment {r.get('deploymentID') if isinstance(r, dict) else r!r}: "
                              + "; ".join(problems))
    return recs


def save_register(path: str | Path, rec: dict) -> list[dict]:
    """Add or replace (by deploymentID) `rec` in the register at `path`."""
    p = Path(path)
    recs = load_register(p) if p.exists() else []
    recs = [r for r in recs if r.get("deploymentID") != rec["deploymentID"]] + [rec]
    recs.sort(key=lambda r: (str(r.get("cameraID")), parse_iso(r["deploymentStart"])[0]))
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(recs, indent=1, sort_keys=True) + "\n")
    tmp.replace(p)
    return recs
