"""What happened on each simulated board, measured against the scene's ground truth.

Everything here is read from outside the firmware: the board's SD card (images and
sidecars), its flash log, the shared sink (objects, their created/received stamps and the
receipts log), the board's hardware event log, its energy model and the scene generator.
"""
from __future__ import annotations

import json
from pathlib import Path

from .energy import days_range
from .fleet import Fleet, _pct, cloud_objects, sd_images

MATCH_S = 3.0  # an image within this many seconds of an animal being in view is "true"


def log_tail(board, n: int) -> list[str]:
    """The last `n` lines of a board's flash log ring (oldest file first)."""
    folder = Path(board.flash.root) / "log"
    files = []
    for p in folder.glob("*.log"):
        with p.open("rb") as f:
            head = f.readline().decode(errors="replace")
        seq = int(head.split("=")[1]) if head.startswith("#wildcam-log seq=") else -1
        files.append((seq, p))
    lines: list[str] = []
    for _, p in sorted(files):
        lines.extend(p.read_text(errors="replace").splitlines()[1:])
    return lines[-n:]


def _truth(scene, t):
    return [[round(v, 4) for v in box] for box in scene.truth(t)]


def _visible(scene, t) -> bool:
    return any(scene.truth(t + dt) for dt in (-MATCH_S, 0.0, MATCH_S))


def accounting(b, images: dict, delivered: set, now_epoch: float | None) -> dict:
    """Where each image taken is now, counted the way a user counts: `delivered` (at the
    destination), `queued` (not delivered, still in the camera's outbox: it goes at the next
    window; with the oldest such item's age), `dead` (in the dead-letter ring, by reason),
    `lost` (taken and now nowhere: the rest). A queued image is never lost."""
    from .atserver import outbox_keys

    pending, dead = outbox_keys(b)
    queued = {d.get("k"): d.get("c") or 0 for d in pending if d.get("m")}
    dead_by_key = {}
    for rec in dead:
        if rec.get("m"):
            dead_by_key.setdefault(rec.get("k"), str(rec.get("r") or "?"))
    out = {"queued": 0, "dead": 0, "lost": 0, "dead_reasons": {}, "oldest_queued_s": None}
    ages = []
    for k in images:
        if k in delivered:
            continue
        if k in queued:
            out["queued"] += 1
            if queued[k] and now_epoch:
                ages.append(now_epoch - queued[k])
        elif k in dead_by_key:
            out["dead"] += 1
            why = dead_by_key[k][:80]
            out["dead_reasons"][why] = out["dead_reasons"].get(why, 0) + 1
        else:
            out["lost"] += 1
    if ages:
        out["oldest_queued_s"] = round(max(ages))
    out["queued_items"] = len(pending)  # every kind: detections, health, events
    return out


def summarise(b, fleet: Fleet, start_epoch: float) -> dict:
    seconds = fleet.seconds
    scene = b.scene
    images = sd_images(b)
    cloud = cloud_objects(b)
    visits = [(s, e) for s, e, k in scene.events if k == "animal" and s < seconds]
    rows, events, latencies = [], {}, []
    for key, side in sorted(images.items(), key=lambda kv: str(kv[1].get("time"))):
        t = side["time"] - start_epoch if side.get("time") else None
        if t is not None:
            events.setdefault(side.get("event"), []).append(t)
        rows.append({"file": str(side["_file"].relative_to(fleet.out)), "t": t,
                     "event": side.get("event"), "trigger": side.get("trigger"),
                     "detection": side.get("detection"),
                     "truth": _truth(scene, t) if t is not None else [],
                     "uploaded": key in cloud})
    for key, meta in cloud.items():
        if meta.get("c") and meta.get("r"):
            latencies.append(meta["r"] - meta["c"])
    true_ev = [e for e, ts in events.items() if any(_visible(scene, t) for t in ts)]
    seen = [v for v in visits if any(v[0] - MATCH_S <= t <= v[1] + MATCH_S
                                     for ts in events.values() for t in ts)]
    log = "\n".join(log_tail(b, 5000))
    receipts = _receipts(b)
    e = b.energy.report()
    days = max(fleet.sim.clock.now / 86400, 1e-9)
    mah_day = e["total_mah"] / days
    rep = b.report()
    battery = _on_battery(b)
    return {
        "name": b.name, "power": fleet.power.get(b.name, "mains"), "boots": rep["boots"], "crashes": rep["counters"].get("crashes", 0),
        "power_cuts": len(fleet.cuts[b.name]), "animal_visits": len(visits),
        "pir_pulses": sum(1 for s, _ in scene._pir if s < seconds),
        "events": len(events), "true_triggers": len(true_ev),
        "false_triggers": len(events) - len(true_ev),
        "rejected_triggers": log.count("trigger not confirmed by motion"),
        "missed_visits": len(visits) - len(seen),
        "images": len(images), "delivered": len(set(images) & set(cloud)),
        "rejected_images": len(sd_images(b, rejected=True)),
        **accounting(b, images, set(cloud), fleet.sim.wall()),
        "duplicates": max(0, len(receipts) - len(set(receipts))),
        "latency_s": {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95),
                      "max": max(latencies) if latencies else None},
        "energy": {"mah_per_day": round(mah_day, 2), "battery": battery,
                   "battery_days": days_range(b.energy, days) if battery else None,
                   "by_state": e["by_state"]},
        "flash_bytes_written": rep["storage"]["flash"]["bytes"],
        "sd_bytes_written": rep["storage"]["sd"]["bytes"],
        "firmware": _firmware(b, fleet),
        "timeline": timeline(b, fleet, start_epoch, rows, cloud),
        "battery": fleet.battery[b.name], "images_list": rows,
    }


def _on_battery(b) -> bool:
    """Whether the camera's config runs it on battery (power.mode)."""
    try:
        cfg = json.loads((Path(b.flash.root) / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return (cfg.get("power") or {}).get("mode") == "battery"


def _firmware(b, fleet) -> dict:
    from .rollout import board_version

    out = board_version(b)
    if fleet.rollout is not None:
        out["rollout"] = fleet.rollout.version
        out["published_at_s"] = fleet.rollout.at_s
    return out


def _receipts(b) -> list[str]:
    p = Path(b.mounts["cloud"].root) / b.name / "receipts.log"
    return [ln.split()[0] for ln in p.read_text().splitlines() if ln.strip()] if p.exists() else []


def sleep_spans(b, until: float) -> list[tuple]:
    """(start, end, planned ms, camera powered) of each deep sleep in the board's hardware
    event log: from `deepsleep` to the next boot (a PIR or timer wake) or power event,
    else `until` (still asleep when the run ended)."""
    out, open_ = [], None
    for t, kind, detail in b.events:
        if kind == "deepsleep":
            open_ = (t, detail.get("ms"), bool(detail.get("camera_powered")))
        elif open_ is not None and kind in ("boot", "power_off", "powercut_injected"):
            out.append((open_[0], t, open_[1], open_[2]))
            open_ = None
    if open_ is not None:
        out.append((open_[0], max(open_[0], until), open_[1], open_[2]))
    return out


def timeline(b, fleet, start_epoch, rows, cloud) -> list[dict]:
    out = []
    for s, e, ms, cam in sleep_spans(b, fleet.sim.clock.now):
        out.append({"t": s, "kind": "sleep", "end": e, "detail": {
            "asleep_s": round(e - s, 1), "timer_s": ms / 1000 if ms else None,
            "camera_powered": cam}})
    for t, kind, detail in b.events:
        if kind == "boot":
            out.append({"t": t, "kind": "boot", "detail": {"cause": detail.get("cause")}})
        elif kind == "powercut_injected":
            out.append({"t": t, "kind": "powercut", "detail": {}})
        elif kind == "ota_published":
            out.append({"t": t, "kind": "ota", "detail": {"published": detail.get("version")}})
        elif kind == "firmware" and detail.get("slot") != "/lib":
            out.append({"t": t, "kind": "ota", "detail": {"running": detail.get("version")}})
        elif kind == "crash":
            out.append({"t": t, "kind": "crash", "detail": {"error": detail.get("error")}})
    for s, e in fleet_outages(b):
        out.append({"t": s, "kind": "outage", "end": e, "detail": {}})
    for s, e in b.scene._pir:
        if s < fleet.seconds:
            out.append({"t": s, "kind": "pir", "end": e, "detail": {}})
    first = {}
    for r in rows:
        if r["t"] is not None:
            out.append({"t": r["t"], "kind": "image", "detail": {"event": r["event"]}})
            if r["event"] not in first or r["t"] < first[r["event"]]["t"]:
                first[r["event"]] = r
    for ev, r in first.items():
        out.append({"t": r["t"], "kind": "event", "detail": {
            "event": ev, "trigger": r["trigger"], "true": bool(r["truth"])}})
    for key, meta in cloud.items():
        if meta.get("r"):
            lat = meta["r"] - meta["c"] if meta.get("c") else None
            out.append({"t": meta["r"] - start_epoch, "kind": "upload",
                        "detail": {"key": key, "latency_s": lat}})
    out.sort(key=lambda x: x["t"])
    return out


def fleet_outages(b):
    return getattr(b, "_demo_outages", [])
