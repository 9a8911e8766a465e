"""Labelled evaluation set for on-device motion detection (see docs/DETECTION.md).

Every sequence is built from a seed with host_sim scenes; its label comes from the scene
generator (`Scene.truth`: the animal's clipped box), never from a detector.

Protocol ("PIR window", the battery camera trap): the PIR fires at `t0`; after `delay`
seconds (wake, camera init, exposure settling) the board grabs `frames` grayscale frames
at `fps` and runs the detector on them, from a cold start (no background yet).
- a sequence is *positive* when an animal is in view in at least one window frame;
- the detector *fires* when any frame's result has `motion`;
- a hit needs the firing frame's box to touch a truth box of that frame (a detector that
  fires on the wrong thing in an animal sequence scores a false positive, not a hit);
- recall = hits / positives; precision = hits / (hits + false positives);
- false-trigger rate = negatives that fired / negatives.
Trigger times come from the scene: the animal's PIR edge, the wind's false PIR pulses; for
scenes whose PIR never fires (clouds, empty, night noise) t0 is a seeded time, as if a gust
of warm air had fired the PIR, so the camera check is what must say no.
"""
from __future__ import annotations

import random
from typing import Dict, Iterable, List, Optional

from .scenes.base import Scene
from .scenes.elements import Animal, Light, Wind

# scene type -> (group, description); group "animal" counts toward the recall target,
# "false" (wind and light changes) toward the false-trigger target, "negative" (other
# scenes without an animal) toward precision, "info" is reported only.
TYPES = {
    "animal_small": ("animal", "small animal (12-18 % of the width), any speed, day"),
    "animal_large": ("animal", "large animal (30-45 %), any speed, day"),
    "animal_slow": ("animal", "slow crossing (3-6 % of the width per s), day"),
    "animal_fast": ("animal", "fast crossing (30-50 % per s), day"),
    "animal_night_ir": ("animal", "animal at night, IR LED on"),
    "animal_wind": ("animal", "animal crossing swaying vegetation"),
    "animal_clouds": ("animal", "animal crossing while clouds pass"),
    "wind": ("false", "swaying vegetation, false PIR pulses, no animal"),
    "clouds": ("false", "sun behind passing clouds, no animal"),
    "ir_switch": ("false", "night: first frame dark, then the IR LED switches on"),
    "night_noise": ("negative", "night sensor noise, IR on or off, no animal"),
    "empty": ("negative", "static view, sensor noise"),
    "animal_night_noir": ("info", "animal at night without IR (out of scope: IR is on at night)"),
}

DEFAULTS = {"width": 160, "height": 120, "fps": 4.0, "frames": 20, "delay": 1.0}


class Sequence:
    def __init__(self, kind, seed, scene, t0, ir=False, ir_from=0):
        self.kind, self.seed, self.scene, self.t0 = kind, seed, scene, t0
        self.ir = ir            # IR LED on for the detection frames
        self.ir_from = ir_from  # frames before this index are taken with the LED off

    def times(self, fps, frames, delay):
        return [self.t0 + delay + k / fps for k in range(frames)]

    def frames(self, w, h, fps, frames, delay):
        """[(t, frame bytes, truth boxes)] for the window."""
        out = []
        for k, t in enumerate(self.times(fps, frames, delay)):
            ir = self.ir and k >= self.ir_from
            out.append((t, self.scene.render(t, w, h, ir=ir), self.scene.truth(t)))
        return out

    def __repr__(self):
        return "Sequence(%s, seed=%d, t0=%.1f)" % (self.kind, self.seed, self.t0)


def _animal(rng, start, size=None, speed=None, shade=None):
    return Animal(start, size=size if size is not None else rng.uniform(0.15, 0.4),
                  speed=speed if speed is not None else rng.uniform(0.05, 0.3),
                  y=rng.uniform(0.4, 0.7), direction=rng.choice((1, -1)),
                  shade=shade if shade is not None else rng.randint(20, 45))


def make(kind: str, seed: int) -> Sequence:
    """One sequence of scene type `kind`, deterministic from `seed`."""
    if kind not in TYPES:
        raise ValueError("unknown scene type %r" % kind)
    rng = random.Random("%s/%d" % (kind, seed))
    sseed = rng.randint(0, 10 ** 6)
    t0 = 30.0 + rng.uniform(0, 60)
    if kind == "animal_small":
        a = _animal(rng, t0, size=rng.uniform(0.12, 0.18))
        return Sequence(kind, seed, Scene(sseed, [a]), t0)
    if kind == "animal_large":
        a = _animal(rng, t0, size=rng.uniform(0.3, 0.45))
        return Sequence(kind, seed, Scene(sseed, [a]), t0)
    if kind == "animal_slow":
        a = _animal(rng, t0, speed=rng.uniform(0.03, 0.06))
        return Sequence(kind, seed, Scene(sseed, [a]), t0)
    if kind == "animal_fast":
        a = _animal(rng, t0, speed=rng.uniform(0.3, 0.5))
        return Sequence(kind, seed, Scene(sseed, [a]), t0)
    if kind in ("animal_night_ir", "animal_night_noir"):
        a = _animal(rng, t0)
        return Sequence(kind, seed, Scene(sseed, [a], brightness=0.06, noise=14.0,
                                          ir_level=0.45), t0, ir=kind.endswith("_ir"))
    if kind == "animal_wind":
        a = _animal(rng, t0)
        w = Wind(0.0, 3600.0, strength=rng.uniform(0.3, 0.9), false_pir_per_hour=0.0,
                 seed=sseed)
        return Sequence(kind, seed, Scene(sseed, [a, w]), t0)
    if kind == "animal_clouds":
        a = _animal(rng, t0)
        li = Light(0.0, 3600.0, depth=rng.uniform(0.2, 0.6), period=rng.uniform(20, 120))
        return Sequence(kind, seed, Scene(sseed, [a, li]), t0)
    if kind == "wind":
        w = Wind(0.0, 3600.0, strength=rng.uniform(0.3, 0.9), false_pir_per_hour=60.0,
                 seed=sseed)
        sc = Scene(sseed, [w])
        t = sc.next_pir_change(rng.uniform(0, 600))  # a false PIR pulse starts the window
        return Sequence(kind, seed, sc, t if t is not None else t0)
    if kind == "clouds":
        li = Light(0.0, 3600.0, depth=rng.uniform(0.2, 0.6), period=rng.uniform(20, 120))
        return Sequence(kind, seed, Scene(sseed, [li]), t0)
    if kind == "ir_switch":
        return Sequence(kind, seed, Scene(sseed, [], brightness=0.06, noise=14.0,
                                          ir_level=0.45), t0, ir=True, ir_from=1)
    if kind == "night_noise":
        return Sequence(kind, seed, Scene(sseed, [], brightness=rng.uniform(0.03, 0.08),
                                          noise=rng.uniform(8, 16), ir_level=0.45),
                        t0, ir=bool(seed % 2))
    return Sequence(kind, seed, Scene(sseed, [], noise=rng.uniform(1, 4)), t0)  # empty


def generate(seeds: Iterable[int] = range(10), kinds: Optional[Iterable[str]] = None):
    kinds = list(kinds) if kinds is not None else list(TYPES)
    return [make(k, s) for k in kinds for s in seeds]


def _touches(box, truths, slack):
    x, y, w, h = box
    for tx, ty, tw, th in truths:
        if (x - slack < tx + tw and tx < x + w + slack
                and y - slack < ty + th and ty < y + h + slack):
            return True
    return False


def _iou(a, b):
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = min(ax1, bx1) - max(a[0], b[0])
    ih = min(ay1, by1) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def run_sequence(seq: Sequence, make_detector, width=None, height=None, fps=None,
                 frames=None, delay=None, min_truth_area=0.002) -> dict:
    """Run a fresh detector over the window; returns the outcome of this sequence."""
    w = width or DEFAULTS["width"]
    h = height or DEFAULTS["height"]
    det = make_detector(w, h)
    window = seq.frames(w, h, fps or DEFAULTS["fps"], frames or DEFAULTS["frames"],
                        DEFAULTS["delay"] if delay is None else delay)
    positive = any(b[2] * b[3] >= min_truth_area for _, _, tr in window for b in tr)
    fired = None
    reasons: Dict[str, int] = {}
    for k, (t, frame, truths) in enumerate(window):
        r = det.update(frame)
        if r.motion:
            box = r.box
            fired = {"frame": k, "t": round(t - seq.t0, 2), "box": box, "score": r.score,
                     "hit": bool(truths) and _touches(box, truths, 1.0 / det.bw),
                     "iou": max([_iou(box, tb) for tb in truths] or [0.0])}
            break
        reasons[r.reason] = reasons.get(r.reason, 0) + 1
    return {"kind": seq.kind, "seed": seq.seed, "positive": positive, "fired": fired,
            "reasons": reasons}


def evaluate(seqs: List[Sequence], make_detector, **kw) -> dict:
    """Precision/recall per scene type, per group and overall, plus the per-sequence rows."""
    rows = [run_sequence(s, make_detector, **kw) for s in seqs]
    per: Dict[str, dict] = {}
    for r in rows:
        c = per.setdefault(r["kind"], {"n": 0, "positives": 0, "hits": 0, "fp": 0,
                                       "negatives": 0, "fired_negatives": 0, "iou_sum": 0.0})
        c["n"] += 1
        f = r["fired"]
        if r["positive"]:
            c["positives"] += 1
            if f and f["hit"]:
                c["hits"] += 1
                c["iou_sum"] += f["iou"]
            elif f:
                c["fp"] += 1
        else:
            c["negatives"] += 1
            if f:
                c["fp"] += 1
                c["fired_negatives"] += 1

    def summary(cs):
        pos = sum(c["positives"] for c in cs)
        hits = sum(c["hits"] for c in cs)
        fp = sum(c["fp"] for c in cs)
        neg = sum(c["negatives"] for c in cs)
        fneg = sum(c["fired_negatives"] for c in cs)
        return {"n": sum(c["n"] for c in cs), "positives": pos, "hits": hits, "fp": fp,
                "negatives": neg, "fired_negatives": fneg,
                "recall": round(hits / pos, 4) if pos else None,
                "precision": round(hits / (hits + fp), 4) if hits + fp else None,
                "false_trigger_rate": round(fneg / neg, 4) if neg else None,
                "mean_iou": round(sum(c["iou_sum"] for c in cs) / hits, 3) if hits else None}

    out = {"types": {k: summary([c]) for k, c in sorted(per.items())}}
    groups: Dict[str, list] = {}
    for k, c in per.items():
        groups.setdefault(TYPES[k][0], []).append(c)
    out["groups"] = {g: summary(cs) for g, cs in sorted(groups.items())}
    scored = [c for k, c in per.items() if TYPES[k][0] != "info"]
    out["overall"] = summary(scored)
    out["rows"] = rows
    return out
