"""What a source holds: images (with what their sidecar or cloud record says), events and
heartbeats, from
- a copy of SD cards (`DCIM/**/<image>.jpg` + sidecar `<image>.json`),
- a folder the local destination (or a sync of a bucket) filled: `<device>/<key>.jpg` +
  `<key>.json` (c created, r received, d data, h sha256, k key, n kind, m board path),
- a bucket or container straight away: `s3://BUCKET[/PREFIX]` (boto3; --endpoint-url and the
  usual AWS credentials) or `azure://CONTAINER[/PREFIX]` (azure-storage-blob; a connection
  string), objects as the S3 / Azure destinations write them: media with metadata, events
  and heartbeats as JSON, sealed ones (metadata `enc` = aes-256-ctr) decrypted with the
  device key and checked against their plaintext sha256.
The same image seen twice (card and cloud, by sha256) is kept once, the sidecar winning.
A missing, unreadable or empty source is an ExportError: never an empty package.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tools import decrypt

from .common import ExportError


@dataclass
class Image:
    device: str
    name: str  # file name as the camera wrote it
    origin: str  # where it was found (for messages): a path or a bucket URL
    read: Callable[[], bytes]
    path: Path | None = None  # local file (copied without reading it into memory)
    time: float | None = None  # UTC seconds by the camera clock; None: clock unset
    received: float | None = None  # when a cloud received it
    tz: int | None = None  # the camera's local UTC offset, minutes (sidecar)
    deployment: str | None = None  # the sidecar's deploymentID
    event: str | None = None
    trigger: str | None = None
    seq: int | None = None
    of: int | None = None
    detection: dict | None = None
    det_ms: int | None = None  # ms from this image to the deciding look frame (< 0: before)
    sha256: str | None = None
    firmware: str | None = None
    source: str = "sidecar"


@dataclass
class Beat:
    """One heartbeat: the camera was up `up_s` seconds at `time` (UTC seconds)."""
    device: str
    time: float
    up_s: int = 0
    boot: int | None = None
    reset: str | None = None
    fw: str | None = None
    deploy: dict = field(default_factory=dict)
    sleep: dict | None = None


@dataclass
class Harvest:
    images: list[Image] = field(default_factory=list)
    beats: list[Beat] = field(default_factory=list)
    events: dict = field(default_factory=dict)  # (device, event id) -> event data
    skipped: dict = field(default_factory=dict)  # reason -> count

    def skip(self, why: str, n: int = 1):
        self.skipped[why] = self.skipped.get(why, 0) + n


class KeyRing:
    """Device keys for sealed objects: `--key HEX` for all, `--key DEVICE=HEX`, or a
    `flash.py provision` folder (DIR/<device>/secrets.json with crypt.key)."""

    def __init__(self, keys: list[str] | None = None, folder: str | None = None):
        self.default, self.by_device, self.folder = None, {}, folder
        for k in keys or []:
            dev, sep, val = k.partition("=")
            if not sep:
                dev, val = None, k
            val = Path(val).read_text().strip() if Path(val).is_file() else val
            try:
                key = decrypt.parse_key(val)
            except ValueError as e:
                raise ExportError(f"--key {dev or ''}: {e}") from None
            if dev:
                self.by_device[dev] = key
            else:
                self.default = key

    def get(self, device: str) -> bytes | None:
        if device in self.by_device:
            return self.by_device[device]
        if self.folder:
            p = Path(self.folder) / device / "secrets.json"
            if p.exists():
                k = (json.loads(p.read_text()).get("crypt") or {}).get("key")
                if k:
                    return decrypt.parse_key(k)
        return self.default

    def open(self, device: str, blob: bytes, meta: dict, where: str) -> bytes:
        """Plaintext of an object (sealed ones decrypted and checked)."""
        if not decrypt.is_sealed(meta):
            return blob
        key = self.get(device)
        if key is None:
            raise ExportError(f"{where} is encrypted (aes-256-ctr): give the device key with "
                              f"--key {device}=HEX or --keys PROVISION_DIR")
        try:
            decrypt.verify("", dict(meta, sha256=None), key)  # key fingerprint first
            plain = decrypt.decrypt_bytes(key, blob)
            import hashlib

            decrypt.verify(hashlib.sha256(plain).hexdigest(), meta, key)
        except ValueError as e:
            raise ExportError(f"{where}: {e}") from None
        return plain


# --- records as the firmware writes them -----------------------------------------------------
def _int(v):
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _float(v):
    try:
        return float(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def beat_of(device: str, snap: dict, created) -> Beat | None:
    sys_ = snap.get("sys") or {}
    t = _float(sys_.get("time")) or _float(created)
    if not t:
        return None  # a heartbeat before the clock was set says nothing about when
    dep = snap.get("deploy") if isinstance(snap.get("deploy"), dict) else {}
    return Beat(device, t, _int(sys_.get("up_s")) or 0, _int(sys_.get("boot")),
                sys_.get("reset"), sys_.get("fw"), dep if "error" not in dep else {},
                snap.get("sleep") if isinstance(snap.get("sleep"), dict) else None)


def look_ms(side: dict) -> int | None:
    """Milliseconds from the image to the look frame that decided its event. Firmware that
    writes `verdict` judges after the burst (`det_ms` after the image); older firmware
    looked first, and its `det_ms` counts back from the image."""
    ms = _int(side.get("det_ms"))
    if ms is None:
        return None
    return ms if "verdict" in side else -ms


def image_from_sidecar(jpg: Path, side: dict) -> Image:
    t = side.get("time") if side.get("clock") != "unset" else None
    det = side.get("detection") if isinstance(side.get("detection"), dict) else None
    return Image(side.get("device") or "unknown", jpg.name, str(jpg), jpg.read_bytes, jpg,
                 time=_float(t), tz=_int(side.get("tz_offset_min")),
                 deployment=side.get("deployment"), event=side.get("event"),
                 trigger=side.get("trigger"), seq=_int(side.get("seq")), of=_int(side.get("of")),
                 detection=det, det_ms=look_ms(side), sha256=side.get("sha256"),
                 firmware=side.get("firmware"), source="sidecar")


def image_from_item(device: str, name: str, data: dict, created, received, sha256, kind,
                    origin: str, read, path=None) -> Image:
    """An image known from its queue item: data = the capture meta (or metadata scalars)."""
    det = data.get("detection") if isinstance(data.get("detection"), dict) else None
    return Image(device, name, origin, read, path, time=_float(created) or None,
                 received=_float(received) or None, event=data.get("event"),
                 trigger=data.get("trigger") or (kind if kind == "timelapse" else None),
                 seq=_int(data.get("seq")), of=_int(data.get("of")), detection=det,
                 det_ms=look_ms(data), sha256=sha256, source="cloud")


def add_item(h: Harvest, device: str, doc: dict):
    """A JSON object without media: a heartbeat or an event."""
    kind, data = doc.get("kind"), doc.get("data")
    if not isinstance(data, dict):
        h.skip("JSON objects that are not WildCAM records")
    elif kind == "health":
        b = beat_of(device, data, doc.get("created"))
        h.beats.append(b) if b else h.skip("heartbeats sent before the clock was set")
    elif data.get("event"):
        h.events[(device, data["event"])] = data
    else:
        h.skip("JSON objects that are not WildCAM records")


# --- folders ---------------------------------------------------------------------------------
def read_folder(root: Path, h: Harvest):
    if not root.is_dir():
        raise ExportError(f"{root}: no such folder")
    try:
        docs = sorted(root.rglob("*.json"))
    except OSError as e:
        raise ExportError(f"{root}: unreadable ({e})") from None
    for side in docs:
        try:
            doc = json.loads(side.read_text())
        except (OSError, ValueError):
            h.skip("unreadable JSON files")
            continue
        if not isinstance(doc, dict):
            continue
        jpg = next((p for p in (side.with_suffix(".jpg"), side.with_suffix(".JPG"))
                    if p.exists()), None)
        if "k" in doc and "n" in doc:  # the local destination's record of one queue item
            device = side.parent.name
            if jpg is not None:
                h.images.append(image_from_item(device, jpg.name, doc.get("d") or {},
                                                doc.get("c"), doc.get("r"), doc.get("h"),
                                                doc.get("n"), str(jpg), jpg.read_bytes, jpg))
            elif doc.get("m"):
                h.skip("cloud records whose image is missing")
            else:
                add_item(h, device, {"kind": doc.get("n"), "data": doc.get("d"),
                                     "created": doc.get("c")})
        elif "device" in doc and "file" in doc:
            if jpg is None:
                h.skip("sidecars whose image is missing")
            else:
                h.images.append(image_from_sidecar(jpg, doc))


# --- buckets and containers --------------------------------------------------------------------
def _object_device(rel: str, meta: dict, doc: dict | None = None) -> str:
    """The camera an object came from: what it says, else the first part of its name below
    the listed prefix (the default key_template "{device}/{date}/{name}.{ext}")."""
    return (doc or {}).get("device") or meta.get("device") or rel.split("/")[0]


def read_s3(url: str, h: Harvest, keys: KeyRing, endpoint: str | None = None):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = url[len("s3://"):].partition("/")
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(
        s3={"addressing_style": "path"}, retries={"max_attempts": 2}))
    try:
        listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]

        def fetch(k):
            o = s3.get_object(Bucket=bucket, Key=k)
            return o["Body"].read(), {m.lower(): v for m, v in o.get("Metadata", {}).items()}

        def head(k):
            return {m.lower(): v for m, v in s3.head_object(Bucket=bucket, Key=k)
                    .get("Metadata", {}).items()}

        _read_objects(f"s3://{bucket}", prefix, listed, fetch, head, h, keys)
    except (BotoCoreError, ClientError) as e:
        raise ExportError(f"{url}: {e}") from None


def read_azure(url: str, h: Harvest, keys: KeyRing, conn: str | None):
    from azure.core.exceptions import AzureError
    from azure.storage.blob import ContainerClient

    if not conn:
        raise ExportError(f"{url}: give --azure-connection-string (or set "
                          "AZURE_STORAGE_CONNECTION_STRING)")
    container, _, prefix = url[len("azure://"):].partition("/")
    try:
        c = ContainerClient.from_connection_string(conn, container)
        metas = {b.name: {k.lower(): v for k, v in (b.metadata or {}).items()}
                 for b in c.list_blobs(name_starts_with=prefix or None, include=["metadata"])}

        def fetch(k):
            return c.download_blob(k).readall(), metas[k]

        _read_objects(f"azure://{container}", prefix, list(metas), fetch, metas.__getitem__, h,
                      keys)
    except AzureError as e:
        raise ExportError(f"{url}: {str(e).splitlines()[0]}") from None
    except ValueError as e:  # a malformed connection string
        raise ExportError(f"{url}: {e}") from None


def _read_objects(base: str, prefix: str, names: list[str], fetch, head, h: Harvest,
                  keys: KeyRing):
    for k in sorted(names):
        where = f"{base}/{k}"
        low = k.lower()
        rel = k[len(prefix):].lstrip("/") if prefix and k.startswith(prefix) else k
        if low.endswith(".json"):
            blob, meta = fetch(k)
            try:
                doc = json.loads(keys.open(_object_device(rel, meta), blob, meta, where))
            except ValueError:
                h.skip("unreadable JSON objects")
                continue
            if isinstance(doc, dict):
                add_item(h, _object_device(rel, meta, doc), doc)
        elif low.endswith((".jpg", ".jpeg")):
            meta = head(k)
            dev = _object_device(rel, meta)

            def read(k=k, dev=dev, where=where):
                blob, m = fetch(k)
                return keys.open(dev, blob, m, where)

            h.images.append(image_from_item(dev, k.rsplit("/", 1)[-1], meta, meta.get("created"),
                                            None, meta.get("sha256"), meta.get("kind"), where,
                                            read))
        else:
            h.skip("objects that are neither images nor JSON")


# --- all sources -----------------------------------------------------------------------------
def harvest(sources: list[str], keys: KeyRing | None = None, endpoint: str | None = None,
            azure_conn: str | None = None) -> Harvest:
    h = Harvest()
    keys = keys or KeyRing()
    for src in sources:
        if src.startswith("s3://"):
            read_s3(src, h, keys, endpoint)
        elif src.startswith("azure://"):
            read_azure(src, h, keys, azure_conn)
        else:
            read_folder(Path(src), h)
    if not h.images and not h.beats:
        raise ExportError("no WildCAM images or heartbeats in " + ", ".join(sources) +
                          ": is this a card copy (DCIM/...), a synced cloud folder, or a bucket "
                          "the cameras upload to?")
    h.images = _dedup(h)
    return h


def _event_by_time(h: Harvest):
    """For images that name no event (sealed objects carry no sidecar scalars): the event of
    the same camera that ended within a minute after the image was taken."""
    import bisect

    ends: dict[str, list] = {}
    for (dev, ev), data in h.events.items():
        if isinstance(data.get("time"), (int, float)) and data["time"]:
            ends.setdefault(dev, []).append((data["time"], ev))
    for v in ends.values():
        v.sort()
    for im in h.images:
        if im.event or im.time is None or im.trigger == "timelapse" or im.device not in ends:
            continue
        v = ends[im.device]
        k = bisect.bisect_left(v, (im.time, ""))
        if k < len(v) and v[k][0] - im.time <= 60:
            im.event = v[k][1]
            im.trigger = im.trigger or h.events[(im.device, im.event)].get("trigger")


def _dedup(h: Harvest) -> list[Image]:
    _event_by_time(h)
    out: dict[str, Image] = {}
    for im in h.images:
        if im.detection is None and im.event and (im.device, im.event) in h.events:
            ev = h.events[(im.device, im.event)]
            im.detection = ev.get("detection") if isinstance(ev.get("detection"), dict) else None
        key = im.sha256 or im.origin
        prev = out.get(key)
        if prev is None:
            out[key] = im
        elif prev.source == "cloud" and im.source == "sidecar":
            im.received = im.received or prev.received
            out[key] = im
        else:
            prev.received = prev.received or im.received
    return sorted(out.values(), key=lambda i: (i.device, i.time or i.received or 0, i.name))
