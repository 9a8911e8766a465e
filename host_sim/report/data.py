"""Shaping a summary's records for the page: image lists and counts, classes against
the ground truth, thumbnails, boxes, which pictures to show."""
from __future__ import annotations

import base64
import io
from pathlib import Path

from .style import THUMB_H, THUMB_W


def rel_box(box, img_w=None, img_h=None):
    """(x, y, w, h) relative 0..1 from a relative or pixel box; None if unusable."""
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    if max(x, y, w, h) > 1.5:  # pixels
        if not img_w or not img_h:
            return None
        x, w = x / img_w, w / img_w
        y, h = y / img_h, h / img_h
    return x, y, w, h


def thumbnail(path: Path):
    """(data URI, width, height, original width, original height) or None."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            ow, oh = im.size
            im = im.convert("RGB")
            im.thumbnail((THUMB_W, THUMB_H))
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=72, optimize=True)
            w, h = im.size
    except Exception:  # noqa: BLE001 - a missing or broken file: listed without a picture
        return None
    return ("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode(), w, h, ow, oh)


def image_list(b: dict) -> list:
    """A board's picture records. The format names both the count and the list "images"
    (in JSON the later one wins); "image_list"/"pictures" are accepted too."""
    for key in ("image_list", "pictures", "images"):
        v = b.get(key)
        if isinstance(v, list):
            return [i for i in v if isinstance(i, dict)]
    return []


def image_count(b: dict):
    """Pictures saved on the SD card: the count when given, else the list's length."""
    for key in ("images", "image_count", "images_saved"):
        v = b.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    lst = image_list(b)
    return len(lst) if lst or isinstance(b.get("images"), list) else None


def image_class(img: dict) -> str:
    """animal / false / missed / lapse: what this picture is, against the ground truth."""
    truth = img.get("truth") or []
    det = img.get("detection") or {}
    if img.get("trigger") in ("timelapse", "time-lapse", "schedule"):
        return "lapse"
    if truth:
        return "missed" if det and det.get("motion") is False else "animal"
    return "false"


CLASS_TEXT = {"animal": ("animal in frame", "t-animal"), "false": ("no animal", "t-false"),
              "missed": ("animal, not detected", "t-missed"), "lapse": ("time-lapse", "t-lapse")}


def pick(images: list, n: int) -> list:
    """Up to n images spread over the day, favouring the first frame of each event."""
    if len(images) <= n:
        return images
    firsts, seen = [], set()
    for im in images:
        ev = im.get("event")
        if ev not in seen:
            seen.add(ev)
            firsts.append(im)
    pool = firsts if len(firsts) >= n else images
    step = len(pool) / n
    return [pool[int(i * step)] for i in range(n)]
