"""Counting where the user counts: at the destinations that were configured.

- `listing(spec, clock)`: every object in the S3 bucket (boto3) and every blob in the Azure
  container (azure-storage-blob), each downloaded and hashed: {name: {objects: [...]}} with
  each object's sha256 of the bytes the server returns, its size, the outbox key and
  capture time from its metadata, and the server's Last-Modified. Servers on the
  simulation's clock check request times against it, so the listing then runs in a child
  process on that clock (`python -m host_sim.atserver`, under libfaketime).
- `MqttWatch`: a paho-mqtt subscriber on `<prefix>/#` for the whole run (persistent session,
  qos 1, so a broker restart loses nothing it had accepted for us).
- `card(board)`: what the camera's SD card says: its images with their sidecars, its
  events, and what its outbox still holds (pending and dead-lettered keys), read by the
  firmware's own Outbox from a copy of the card's outbox folder, so nothing on the card
  is touched.
- `tally(...)`: per camera `images`, `delivered` (present at every configured object
  store with the card's sha256), `queued` (not delivered, still in the outbox), `dead`
  (not delivered, in the dead-letter ring), `partial` (the camera is done with it, and it
  is at some stores but not all: `missing` names the stores and keys), `lost` (taken and
  now nowhere: the rest),
  `duplicates` (an image stored twice at a store, or an event received twice) and
  `bad_sha256`, plus events seen on MQTT.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zlib
from pathlib import Path

PLAUSIBLE_LATENCY_S = 30 * 86400  # beyond: the store's clock is not the simulation's


# --- the object stores ---------------------------------------------------------------------
def _list_s3(s: dict) -> list[dict]:
    import boto3
    from botocore.config import Config

    c = boto3.client("s3", endpoint_url=s["endpoint"], aws_access_key_id=s["key"],
                     aws_secret_access_key=s["secret"], region_name=s["region"],
                     config=Config(s3={"addressing_style": "path" if s.get("path_style", True)
                                       else "virtual"}, signature_version="s3v4",
                                   retries={"max_attempts": 3}))
    out = []
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=s["bucket"]):
        for o in page.get("Contents", []):
            r = c.get_object(Bucket=s["bucket"], Key=o["Key"])
            body = r["Body"].read()
            meta = r.get("Metadata", {})
            out.append({"name": o["Key"], "size": len(body),
                        "sha256": hashlib.sha256(body).hexdigest(), "key": meta.get("key"),
                        "created": _int(meta.get("created")),
                        "modified": r["LastModified"].timestamp()})
    return out


def _list_azure(a: dict) -> list[dict]:
    from azure.storage.blob import ContainerClient

    cred = a.get("key") and {"account_name": a["account"], "account_key": a["key"]}
    url = "%s/%s" % (a["url"], a["container"])
    if a.get("sas") and not cred:
        url += "?" + a["sas"].lstrip("?")
    c = ContainerClient.from_container_url(url, credential=cred or None)
    out = []
    for b in c.list_blobs(include=["metadata"]):
        body = c.download_blob(b.name).readall()
        meta = b.metadata or {}
        out.append({"name": b.name, "size": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(), "key": meta.get("key"),
                    "created": _int(meta.get("created")),
                    "modified": b.last_modified.timestamp()})
    return out


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def list_here(spec: dict) -> dict:
    out = {}
    for name, fn in (("s3", _list_s3), ("azure", _list_azure)):
        if name in spec:
            try:
                out[name] = {"objects": fn(spec[name])}
            except Exception as e:  # noqa: BLE001 - say what the server said, count nothing
                out[name] = {"objects": [], "error": "%s: %s" % (type(e).__name__, e)}
    return out


def listing(spec: dict, clock=None) -> dict:
    """List and hash every object (see the module notes); `clock`: a paced Simulation."""
    spec = {k: v for k, v in spec.items() if k in ("s3", "azure")}
    if not spec:
        return {}
    if clock is None or not clock.speed:
        return list_here(spec)
    from .servers import ROOT, clock_env

    env = dict(os.environ)
    env.update(clock_env(clock.paced_wall(), clock.speed))
    r = subprocess.run([sys.executable, "-m", "host_sim.atserver"], input=json.dumps(spec),
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("listing failed: %s" % r.stderr[-2000:])
    return json.loads(r.stdout)


# --- MQTT ----------------------------------------------------------------------------------
class MqttWatch:
    """Every message under `<prefix>/#` for the run: (device, subtopic, payload dict)."""

    def __init__(self, host, port, user=None, password=None, prefix="wildcam",
                 client_id=None):
        import paho.mqtt.client as paho

        self.prefix = prefix
        self.msgs: list[tuple[str, str, dict]] = []
        self.discovery: dict[str, dict] = {}  # Home Assistant config topics (retained)
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        client_id = client_id or "host_sim-count-%d" % os.getpid()  # one session per run
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                             clean_session=False)
        if user:
            self.c.username_pw_set(user, password)
        self.c.reconnect_delay_set(0.05, 0.5)
        self.c.on_connect = lambda c, *a: c.subscribe([(prefix + "/#", 1),
                                                       ("homeassistant/#", 1)])
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.on_message = self._on_message
        self.c.connect(host, port, keepalive=30)
        self.c.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError("could not subscribe to %s/# on %s:%d" % (prefix, host, port))

    def _on_message(self, c, userdata, m):
        parts = m.topic.split("/")
        if parts[0] == "homeassistant" and parts[-1] == "config":
            try:
                with self.lock:
                    self.discovery[m.topic] = json.loads(m.payload)
            except ValueError:
                pass
            return
        if m.retain:
            return  # status, state, thumbnails: not deliveries
        if len(parts) < 3:
            return
        device, sub = parts[-2], parts[-1]
        try:
            raw = m.payload
            if sub == "batch" and raw[:1] != b"[":
                raw = zlib.decompress(raw)
            data = json.loads(raw)
        except (ValueError, zlib.error):
            return
        with self.lock:
            for d in data if isinstance(data, list) else [data]:
                if isinstance(d, dict):
                    self.msgs.append((device, sub, d))

    def entities(self, device: str) -> int:
        """Home Assistant entities announced for `device`."""
        with self.lock:
            return sum(1 for d in self.discovery.values()
                       if device in (d.get("device") or {}).get("identifiers", []))

    def keys(self, device: str) -> list[str]:
        with self.lock:
            return [d.get("key") for dev, _s, d in self.msgs if dev == device]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


# --- the card --------------------------------------------------------------------------------
def outbox_keys(board) -> tuple[list, list]:
    """(pending records, dead-lettered records) of a board's outbox, each a dict with the
    outbox key `k`, media path `m` (dead letters: the reason `r`), read by the firmware's Outbox from a copy."""
    from wildcam.queue.outbox import Outbox

    from .storage import Filesystem, SimStorage

    for where, root in ((board.sd.root, "/sd/outbox"), (board.flash.root, "/outbox")):
        src = Path(where) / "outbox"
        if src.is_dir():
            break
    else:
        return [], []
    with tempfile.TemporaryDirectory(prefix="outbox-copy-") as tmp:
        sd, flash = Path(tmp, "sd"), Path(tmp, "flash")
        target = (sd if root.startswith("/sd") else flash) / "outbox"
        shutil.copytree(src, target)
        st = SimStorage(Filesystem("flash", str(flash), 1 << 30),
                        Filesystem("sd", str(sd), 1 << 34, kind="fat"))
        box = Outbox(st, root).open()
        pending: list = []
        for lane in box.lanes.values():
            lane.walk(lambda d, *_: pending.append(d) and False)
        dead = [dict(d.get("i", {}), r=d.get("r")) for d in box.dead_letters(limit=100000)]
    return pending, dead


def card(board) -> dict:
    from .fleet import sd_images

    images = sd_images(board)
    pending, dead = outbox_keys(board)
    return {"images": images, "events": {s.get("event") for s in images.values()
                                         if s.get("event")},
            "queued": {d.get("k") for d in pending if d.get("m")},
            "queued_events": {d.get("k") for d in pending
                              if not d.get("m") and str(d.get("k")).endswith("-ev")},
            "dead": {d.get("k") for d in dead if d.get("m")},
            "pending_items": len(pending)}


def undelivered(board) -> int:
    """Images and events still queued on the card (the drain waits for 0)."""
    c = card(board)
    return len(c["queued"]) + len(c["queued_events"])


# --- the count -------------------------------------------------------------------------------
def tally(boards, stores: list[str], found: dict, watch: MqttWatch | None,
          offsets: dict | None = None) -> dict:
    """The `server` section of summary.json (see the module notes); `offsets`: each store's
    clock minus the cameras', taken off its Last-Modified stamps for the latency."""
    offsets = offsets or {}
    by_key: dict[str, dict[str, list]] = {s: {} for s in stores}
    for s in stores:
        for o in found.get(s, {}).get("objects", []):
            by_key[s].setdefault(o.get("key") or "?" + o["name"], []).append(o)
    cams, total = {}, {k: 0 for k in ("images", "delivered", "partial", "queued", "dead",
                                      "lost", "duplicates", "bad_sha256", "mqtt_redelivered")}
    missing: dict[str, list] = {}
    latencies: dict[str, list] = {s: [] for s in stores}
    for b in boards:
        c = card(b)
        row = {"images": len(c["images"]), "delivered": 0, "partial": 0, "queued": 0, "dead": 0,
               "lost": 0, "duplicates": 0, "bad_sha256": 0, "mqtt_redelivered": 0,
               "by_store": {}}
        for s in stores:
            mine = {k: v for k, v in by_key[s].items() if k.startswith(b.name + "-")}
            good = {k for k, objs in mine.items() if k in c["images"] and any(
                o["sha256"] == c["images"][k].get("sha256") for o in objs)}
            row["by_store"][s] = len(good)
            row["duplicates"] += sum(len(objs) - 1 for objs in mine.values())
            row["bad_sha256"] += sum(1 for k, objs in mine.items() if k in c["images"] and
                                     k not in good)
            for k in good:
                o = mine[k][0]
                lat = (o["modified"] - offsets.get(s, 0) - o["created"]) \
                    if o.get("created") else None
                if lat is not None and 0 <= lat < PLAUSIBLE_LATENCY_S:
                    latencies[s].append(lat)
        for k in c["images"]:
            at = [s for s in stores if k in _good(by_key[s], k, c)]
            if stores and len(at) == len(stores):
                row["delivered"] += 1
            elif k in c["queued"]:
                row["queued"] += 1
            elif k in c["dead"]:
                row["dead"] += 1
            elif at:  # somewhere, not everywhere, and the camera is done with it
                row["partial"] += 1
                for s in stores:
                    if s not in at:
                        missing.setdefault(s, []).append(k)
            else:
                row["lost"] += 1
        if watch is not None:
            keys = watch.keys(b.name)
            seen = {k[:-3] for k in keys if k and k.endswith("-ev")}
            row["events"] = {"taken": len(c["events"]), "seen_on_mqtt": len(c["events"] & seen),
                             "queued": len(c["queued_events"]),
                             "messages": len(keys)}
            row["hass_entities"] = watch.entities(b.name)
            # qos1 is at-least-once: a message whose PUBACK a broker kill lost is published
            # again; receivers drop it by its key. Counted apart from stored duplicates.
            row["mqtt_redelivered"] = len([k for k in keys if k]) - len({k for k in keys if k})
        cams[b.name] = row
        for k in total:
            total[k] += row[k]
    return {"stores": stores, "cameras": cams, "total": total, "missing": missing,
            "latency_s": {s: _pcts(v) for s, v in latencies.items()},
            "errors": {s: found[s]["error"] for s in stores if found.get(s, {}).get("error")}}


def _pcts(values: list) -> dict:
    """p50/p95 of capture-to-stored latencies; None when the store's stamps do not tell
    (s3rver stamps Last-Modified with its file's mtime, which libfaketime does not move)."""
    v = sorted(values)
    pick = (lambda p: round(v[min(len(v) - 1, int(len(v) * p))], 1)) if v else (lambda p: None)
    return {"p50": pick(0.5), "p95": pick(0.95), "n": len(v)}


def _good(objs_by_key: dict, key: str, c: dict) -> set:
    objs = objs_by_key.get(key, [])
    want = c["images"].get(key, {}).get("sha256")
    return {key} if any(o["sha256"] == want for o in objs) else set()


def main() -> int:
    """`python -m host_sim.atserver < spec.json`: the listing as JSON on stdout."""
    json.dump(list_here(json.load(sys.stdin)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
