"""A Camtrap DP 1.0 package: metadata from a project file and options, the three tables,
the media copied inside the package, and the MegaDetector file beside them.

Project file (JSON, `--project`), in the package's own terms; options override it:
    {"title": "...", "description": "...", "id": "...", "bibliographicCitation": "...",
     "contributors": [{"title": "Ada Lovelace", "email": "ada@example.org",
                       "role": "principalInvestigator", "organization": "..."}],
     "licenses": [{"name": "CC0-1.0", "scope": "data"}, {"name": "CC-BY-4.0", "scope": "media"}],
     "project": {"id": "...", "title": "...", "acronym": "...", "description": "...",
                 "samplingDesign": "targeted", "individualAnimals": false, "path": "https://..."}}
Title, a contributor, licenses for data AND media, and the sampling design are required
(the profile asks for them and nobody but the project can say them): a missing one is an
ExportError that says how to give it.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import uuid
from pathlib import Path

from . import exifgps, megadetector, observations
from .common import PROFILE, SCHEMA, ExportError, iso

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
ROLES = ("contact", "principalInvestigator", "rightsHolder", "publisher", "contributor")
DESIGNS = ("simpleRandom", "systematicRandom", "clusteredRandom", "experimental", "targeted",
           "opportunistic")
EXAMPLE = ('--title "Oak ridge survey 2026" --contributor "Ada Lovelace <ada@example.org>:'
           'principalInvestigator" --data-license CC0-1.0 --media-license CC-BY-4.0 '
           '--sampling-design targeted (or --project project.json)')


def contributor(text: str) -> dict:
    """"Name <email>:role" (email and role optional) -> a contributor object."""
    m = re.fullmatch(r"\s*([^<:]+?)\s*(?:<([^>]+)>)?\s*(?::\s*(\w+))?\s*", text)
    if not m:
        raise ExportError(f"--contributor {text!r}: write \"Name <email>:role\"")
    role = m.group(3) or "contributor"
    if role not in ROLES:
        raise ExportError(f"--contributor {text!r}: role must be one of {', '.join(ROLES)}")
    c = {"title": m.group(1), "role": role}
    if m.group(2):
        c["email"] = m.group(2)
    return c


def metadata(a) -> dict:
    """Package metadata from --project and the options (which win)."""
    meta = {}
    if a.project:
        try:
            meta = json.loads(Path(a.project).read_text())
        except (OSError, ValueError) as e:
            raise ExportError(f"--project {a.project}: {e}") from None
    proj = dict(meta.get("project") or {})
    if a.title:
        meta["title"] = a.title
    if a.contributor:
        meta["contributors"] = [contributor(c) for c in a.contributor]
    lic = {l.get("scope"): l for l in meta.get("licenses") or [] if isinstance(l, dict)}
    for scope, name in (("data", a.data_license), ("media", a.media_license)):
        if name:
            lic[scope] = {"name": name, "scope": scope}
    meta["licenses"] = [lic[s] for s in ("data", "media") if s in lic]
    for key, val in (("id", a.project_id), ("samplingDesign", a.sampling_design)):
        if val:
            proj[key] = val
    if a.citation:
        meta["bibliographicCitation"] = a.citation
    proj.setdefault("title", meta.get("title"))
    meta["project"] = proj
    missing = []
    if not meta.get("title"):
        missing.append("a title")
    if not meta.get("contributors"):
        missing.append("a contributor")
    for scope in ("data", "media"):
        if scope not in lic:
            missing.append(f"a {scope} license")
    if proj.get("samplingDesign") not in DESIGNS:
        missing.append("the sampling design (" + ", ".join(DESIGNS) + ")")
    if missing:
        raise ExportError("the package needs " + ", ".join(missing) + ": " + EXAMPLE)
    return meta


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "wildcam-export"


def _copy(im, dst: Path, link: bool, step: float | None):
    dst.parent.mkdir(parents=True, exist_ok=True)
    if step:
        data = bytearray(im.read())
        exifgps.coarsen(data, step)
        dst.write_bytes(bytes(data))
    elif im.path is not None and link:
        try:
            os.link(im.path, dst)
        except OSError:
            shutil.copy2(im.path, dst)
    elif im.path is not None:
        shutil.copy2(im.path, dst)
    else:
        dst.write_bytes(im.read())


def media_rows(deps, out: Path, link: bool, step: float | None, dropped: dict):
    """Copy the media into out/media/<deploymentID>/ and return [(dep, [row or None])]."""
    used: set[str] = set()
    ids: set[str] = set()
    result = []
    for d in deps:
        rows = []
        for im in d.images:
            t, note = im.time, ""
            if t is None:
                if im.received is None:
                    dropped["images taken before the clock was set, never uploaded"] = \
                        dropped.get("images taken before the clock was set, never uploaded", 0) + 1
                    rows.append(None)
                    continue
                t, note = im.received, ("camera clock was unset: timestamp is the upload "
                                        "receipt time")
                d.rec["timestampIssues"] = True
            rel = f"media/{d.id}/{im.name}"
            if rel.lower() in used:
                stem, _, ext = im.name.rpartition(".")
                rel = f"media/{d.id}/{stem}-{(im.sha256 or uuid.uuid4().hex)[:8]}.{ext}"
            used.add(rel.lower())
            _copy(im, out / rel, link, step)
            exif = exifgps.read((out / rel).read_bytes()[:65536])
            exif.pop("_gps", None)
            if step:
                exif.pop("lat", None), exif.pop("lon", None)
            mid = (im.sha256 or "")[:32]
            if not mid or mid in ids:
                mid = hashlib.sha256(rel.encode()).hexdigest()[:32]
            ids.add(mid)
            rows.append({"mediaID": mid, "deploymentID": d.id,
                         "captureMethod": "timeLapse" if im.trigger == "timelapse"
                         else "activityDetection", "timestamp": iso(t, d.tz), "_t": t,
                         "filePath": rel, "filePublic": "false", "fileName": im.name,
                         "fileMediatype": "image/jpeg",
                         "exifData": json.dumps(exif, sort_keys=True) if exif else "",
                         "mediaComments": note})
        result.append((d, rows))
    return result


def _spatial(deps) -> dict:
    lats = [d["latitude"] for d in deps]
    lons = [d["longitude"] for d in deps]
    if not deps:
        raise ExportError("no deployment to export")
    w, s, e, n = min(lons), min(lats), max(lons), max(lats)
    if w == e and s == n:
        return {"type": "Point", "coordinates": [w, s]}
    if w == e or s == n:
        return {"type": "LineString", "coordinates": [[w, s], [e, n]], "bbox": [w, s, e, n]}
    return {"type": "Polygon", "bbox": [w, s, e, n],
            "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _csv(path: Path, fields: list[str], rows: list[dict]):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("true" if v is True else "false" if v is False else v)
                        for k, v in r.items()})


def write(out: Path, meta: dict, deps, media, classified: list, threshold: float,
          coarsen: float | None) -> dict:
    """Write the tables, datapackage.json and megadetector.json; return counts."""
    dep_rows, media_out, obs, md_rows, firmware = [], [], [], [], set()
    matcher = observations.Matcher()
    for d, rows in media:
        for im, m in zip(d.images, rows):
            if m is not None:
                matcher.add((d.id, m["mediaID"]), m["filePath"], im.origin)
    results = {}
    for res, by, when in classified:
        for r in res:
            hit = matcher.find(r["file"])
            if hit is not None:
                results[hit] = (r, by, when)
    for d, rows in media:
        rec = dict(d.rec)
        rec["deploymentStart"], rec["deploymentEnd"] = iso(d.start, d.tz), iso(d.end, d.tz)
        rec.setdefault("timestampIssues", False)
        rec["deploymentComments"] = " ".join(filter(None, [d.rec.get("deploymentComments")] +
                                                    [n.rstrip(".") + "." for n in d.notes]))
        dep_rows.append(rec)
        obs += observations.event_rows(d, rows)
        for im, m in zip(d.images, rows):
            if m is None:
                continue
            firmware.add(im.firmware or "")
            media_out.append(m)
            md_rows.append((m, im))
            got = results.get((d.id, m["mediaID"]))
            obs += observations.classified_rows(d, im, m, *got, threshold) if got else \
                [observations.media_row(d, im, m)]
    out.mkdir(parents=True, exist_ok=True)
    for name, fields, data in (("deployments", DEPLOYMENTS, dep_rows), ("media", MEDIA, media_out),
                               ("observations", OBSERVATIONS, obs)):
        _csv(out / f"{name}.csv", fields, data)
    taxa = sorted({(o["scientificName"], o.get("_rank")) for o in obs if o.get("scientificName")})
    starts = [r["deploymentStart"] for r in dep_rows]
    ends = [r["deploymentEnd"] for r in dep_rows]
    pkg = {k: v for k, v in meta.items() if k not in ("project", "resources", "profile")}
    pkg.update({
        "profile": PROFILE,
        "name": meta.get("name") or _slug(meta["title"]),
        "id": meta.get("id") or str(uuid.uuid4()),
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "sources": [{"title": "WildCAM-MPY", "version": ",".join(sorted(f for f in firmware if f))
                     or "unknown"}],
        "project": dict({"individualAnimals": False}, **meta["project"],
                        captureMethod=sorted({m["captureMethod"] for m in media_out})
                        or ["activityDetection"],
                        observationLevel=sorted({o["observationLevel"] for o in obs}) or ["media"]),
        "spatial": _spatial(dep_rows),
        "temporal": {"start": min(starts)[:10], "end": max(ends)[:10]},
        "taxonomic": [dict({"scientificName": n}, **({"taxonRank": r} if r else {}))
                      for n, r in taxa],
        "resources": [{"name": n, "path": f"{n}.csv", "profile": "tabular-data-resource",
                       "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
                       "schema": SCHEMA.format(n)} for n in ("deployments", "media",
                                                             "observations")],
    })
    if coarsen:
        pkg["coordinatePrecision"] = coarsen
    (out / "datapackage.json").write_text(json.dumps(pkg, indent=2, ensure_ascii=False) + "\n")
    md = megadetector.write(out / "megadetector.json", md_rows, firmware)
    return {"deployments": len(dep_rows), "media": len(media_out), "observations": len(obs),
            "classified_images": len(results), "megadetector_images": md["images"]}
