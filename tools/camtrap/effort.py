"""Deployments as researchers define them, and the survey effort inside each.

A deployment runs from its setup (the record's deploymentStart) to its pickup
(deploymentEnd), or, without a pickup time, to the last sign of life. Records come from the
register (`--deployments deployments.json`, written by `flash.py deploy --deployment`) and
from the heartbeats (each carries the camera's /deployment.json), the register winning.
A new record on the same camera (a move: other coordinates, another location) starts a new
deployment; images and heartbeats belong to the deployment whose setup precedes them (or
the one their sidecar names). Without any record a camera is one deployment per place its
EXIF GPS shows, spanning its first to its last sign of life.

Effort: a heartbeat at time t with uptime u proves the camera ran over [t-u, t]; two
heartbeats across deep sleeps prove it ran in between when RTC memory survived (the sleep
counter went on), minus the sleep time without the PIR armed (`blind_s`: outside active
hours, battery critical). What is proven is published per deployment as
`deploymentTags` `effortDays:D | gaps:N` and the gaps in `deploymentComments`; when the
heartbeats stop long before the pickup, deploymentEnd is the last heartbeat (the camera
stopped surveying there) and the comment says so. A camera that saw nothing all day still has
its deployment and its effort.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .common import CAMERA_MODEL, ExportError, iso, parse_iso
from .sources import Beat, Harvest, Image

GAP_S = 3600  # uncovered spans longer than this are listed as gaps
DEAD_S = 6 * 3600  # heartbeats stopping this long before the pickup end the deployment


@dataclass
class Deployment:
    rec: dict  # Camtrap DP deployments columns (as given or derived)
    device: str
    start: float
    end: float | None
    tz: int
    images: list[Image] = field(default_factory=list)
    beats: list[Beat] = field(default_factory=list)
    implicit: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.rec["deploymentID"]


def _records(h: Harvest, register: list[dict]) -> dict[str, list[dict]]:
    by_id: dict[str, dict] = {}
    for b in sorted(h.beats, key=lambda b: b.time):
        if b.deploy.get("deploymentID") and b.deploy.get("deploymentStart"):
            by_id.setdefault(b.deploy["deploymentID"], dict(b.deploy, cameraID=b.deploy.get(
                "cameraID") or b.device))
    for r in register:
        by_id[r["deploymentID"]] = dict(by_id.get(r["deploymentID"], {}), **r)
    out: dict[str, list[dict]] = {}
    for r in by_id.values():
        out.setdefault(r.get("cameraID") or "unknown", []).append(r)
    for recs in out.values():
        recs.sort(key=lambda r: parse_iso(r["deploymentStart"])[0])
    return out


def _implicit(device: str, images: list[Image], beats: list[Beat], locations: dict,
              gps) -> list[Deployment]:
    """One deployment per place the EXIF GPS shows (or --locations gives)."""
    loc = locations.get(device) or {}
    groups: list[tuple[tuple | None, list[Image]]] = []
    for im in images:
        here = (loc["lat"], loc["lon"]) if "lat" in loc and "lon" in loc else gps(im)
        if not groups or (here is not None and groups[-1][0] is not None and
                          max(abs(here[0] - groups[-1][0][0]),
                              abs(here[1] - groups[-1][0][1])) > 0.0005):
            groups.append((here, []))
        elif groups[-1][0] is None:
            groups[-1] = (here, groups[-1][1])
        groups[-1][1].append(im)
    if not groups:
        groups = [((loc["lat"], loc["lon"]) if "lat" in loc else None, [])]
    deps = []
    for n, (here, ims) in enumerate(groups):
        if here is None:
            raise ExportError(f"no location for {device}: give --deployments (the register "
                              "`flash.py deploy --deployment` writes) or --locations "
                              f"{{\"{device}\": {{\"lat\": ..., \"lon\": ...}}}} (or enable "
                              "device.lat/lon + storage.exif on the camera)")
        dep_id = device if len(groups) == 1 else f"{device}-{n + 1}"
        tz = next((i.tz for i in ims if i.tz is not None), 0)
        rec = {"deploymentID": dep_id, "locationID": loc.get("id", dep_id),
               "locationName": loc.get("name", dep_id), "latitude": here[0],
               "longitude": here[1], "cameraID": device, "cameraModel": CAMERA_MODEL}
        d = Deployment(rec, device, 0, None, tz, ims, implicit=True)
        d.notes.append("no deployment record: start and end are the first and last sign of "
                       "life, the location is the camera's EXIF GPS" if "lat" not in loc else
                       "no deployment record: start and end are the first and last sign of life")
        deps.append(d)
    if len(deps) > 1:  # beats go to the place they fall in by time
        starts = [min((i.time or i.received or 0) for i in d.images) for d in deps]
        for b in beats:
            k = max([j for j, s in enumerate(starts) if s <= b.time] or [0])
            deps[k].beats.append(b)
    else:
        deps[0].beats.extend(beats)
    return deps


def _explicit(device: str, recs: list[dict], images: list[Image], beats: list[Beat],
              dropped: dict) -> list[Deployment]:
    deps = []
    for r in recs:
        start, tz = parse_iso(r["deploymentStart"])
        end = parse_iso(r["deploymentEnd"])[0] if r.get("deploymentEnd") else None
        deps.append(Deployment(dict(r), device, start, end, tz))
    by_id = {d.id: d for d in deps}

    def home(t: float | None, named: str | None) -> Deployment | None:
        if named in by_id:
            return by_id[named]
        if t is None:
            return None
        cands = [d for d in deps if d.start <= t]
        return cands[-1] if cands else None

    for im in images:
        t = im.time or im.received
        d = home(t, im.deployment)
        if d is None and t is None:
            d = deps[-1]  # undated: kept with the latest record, left out (and counted) later
        if d is None:
            dropped["images taken before the camera's first deployment (setup) time"] = \
                dropped.get("images taken before the camera's first deployment (setup) time", 0) + 1
        elif d.end is not None and t is not None and t > d.end:
            dropped["images taken after the pickup time"] = \
                dropped.get("images taken after the pickup time", 0) + 1
        else:
            d.images.append(im)
    for b in beats:
        d = home(b.time, b.deploy.get("deploymentID"))
        if d is not None and (d.end is None or b.time - b.up_s <= d.end):
            d.beats.append(b)
    return deps


def covered(beats: list[Beat], lo: float, hi: float) -> list[tuple[float, float]]:
    """Merged spans within [lo, hi] during which the camera provably ran."""
    spans = []
    bs = sorted(beats, key=lambda b: b.time)
    for b in bs:
        spans.append((b.time - b.up_s, b.time))
    for a, b in zip(bs, bs[1:]):
        if a.sleep and b.sleep and b.reset == "deepsleep" and \
                (b.sleep.get("n") or 0) > (a.sleep.get("n") or 0):
            blind = max(0, (b.sleep.get("blind_s") or 0) - (a.sleep.get("blind_s") or 0))
            if b.time - a.time > blind:
                spans.append((a.time, b.time - blind))  # blind time taken off the end
    out: list[list[float]] = []
    for s, e in sorted((max(lo, s), min(hi, e)) for s, e in spans):
        if e <= s:
            continue
        if out and s <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _finish(d: Deployment):
    times = [i.time or i.received for i in d.images if (i.time or i.received)]
    life = times + [b.time for b in d.beats] + [b.time - b.up_s for b in d.beats]
    if d.implicit:
        if not life:
            raise ExportError(f"{d.id}: no dated image or heartbeat: nothing says when it ran")
        d.start, d.end = min(life), max(life)
    last = max(life) if life else d.start
    if d.end is None:
        d.end = max(last, d.start)
        if not d.implicit:
            d.notes.append("no pickup time in the register: deploymentEnd is the last sign of life")
    elif d.beats and d.end - max(b.time for b in d.beats) > DEAD_S:
        stop = max(max(b.time for b in d.beats), max(times, default=0))
        d.notes.append(f"heartbeats stopped at {iso(stop, d.tz)}, before the pickup at "
                       f"{iso(d.end, d.tz)}: deploymentEnd is the last sign of life")
        d.end = stop
    if d.beats:
        spans = covered(d.beats, d.start, d.end)
        eff = sum(e - s for s, e in spans)
        gaps, edge = [], d.start
        for s, e in spans + [(d.end, d.end)]:
            if s - edge > GAP_S:
                gaps.append((edge, s))
            edge = max(edge, e)
        d.rec["deploymentTags"] = f"effortDays:{eff / 86400:.3f} | gaps:{len(gaps)}"
        if gaps:
            d.notes.append("no proof the camera ran from " + "; ".join(
                f"{iso(s, d.tz)} to {iso(e, d.tz)}" for s, e in gaps[:10]) +
                (f" (+{len(gaps) - 10} more)" if len(gaps) > 10 else ""))


def build(h: Harvest, register: list[dict], locations: dict, gps, coarsen: float | None,
          dropped: dict) -> list[Deployment]:
    recs = _records(h, register)
    devices = sorted({i.device for i in h.images} | {b.device for b in h.beats} | set(recs))
    deps: list[Deployment] = []
    for dev in devices:
        ims = [i for i in h.images if i.device == dev]
        bs = [b for b in h.beats if b.device == dev]
        if dev in recs:
            deps += _explicit(dev, recs[dev], ims, bs, dropped)
        elif ims or bs:
            deps += _implicit(dev, ims, bs, locations, gps)
    for d in deps:
        _finish(d)
        if coarsen:
            d.rec["latitude"] = round(round(d.rec["latitude"] / coarsen) * coarsen, 6)
            d.rec["longitude"] = round(round(d.rec["longitude"] / coarsen) * coarsen, 6)
            d.rec["coordinateUncertainty"] = max(int(d.rec.get("coordinateUncertainty") or 1),
                                                 int(math.ceil(111320 * coarsen * math.sqrt(2) / 2)))
            d.notes.append("coordinates coarsened to %g degrees" % coarsen)
    return deps
