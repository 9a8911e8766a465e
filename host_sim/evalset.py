"""Labelled evaluation set for on-device motion detection (see docs/DETECTION.md).

Every sequence is built from a (type, seed) with host_sim scenes (host_sim.evalkinds lists
the types and draws their parameters); its labels come from the scene generator (the
visible pixels of each animal), never from a detector.

Protocol ("PIR window after a reference wake", the battery camera trap):
- reference: at t_ref (60-1800 s before the trigger, no animal in view) the camera was
  awake for a moment (a quiet wake, a time-lapse frame, the end of a rejected event): the
  detector learnt `REF_FRAMES` frames at 4 fps (`observe`) and its reference went to RTC
  memory (`save_reference`, at most `REF_BYTES`); `cold` types have none;
- trigger: the PIR fires at t0; a fresh detector (deep sleep lost the heap) gets the
  reference back (`load_reference`), and after `delay` s (the capture-first burst, camera
  mode switch) it is fed `frames` grayscale frames at `fps` (`begin`, then `update`);
- a sequence is *positive* when an animal is visible in at least one window frame; its
  size is the largest full body width of that animal in the window (small: under 12 % of
  the frame width, large: 12 % or more);
- the detector *fires* at the first frame whose result has `motion`; a hit needs that
  frame's box to touch a truth box of the frame (within 8 px at 160 wide: one old block);
  firing in an animal sequence elsewhere is a false positive, not a hit;
- recall = hits / positives; precision = hits / (hits + false positives);
  false-trigger rate = animal-free sequences that fired / animal-free sequences.
A detector without `load_reference` (today's) is run cold, as before.
"""
from __future__ import annotations

import random
from typing import Dict, Iterable, List, Optional

from . import install as _install
from .evalkinds import TYPES, WINDOW, build

_install()  # firmware/lib on sys.path: the window's early end is the firmware's default
from wildcam.core import schema  # noqa: E402

DEFAULTS = {"width": 160, "height": 120, "fps": WINDOW[1], "frames": WINDOW[2],
            "delay": WINDOW[0], "still": schema.row("detect.still_frames")[2]}
# a lit window's LED: the firmware lights its look frames at detect.led_pct (PWM), the
# quiet wake that left the reference as well
LED_SHARE = schema.row("detect.led_pct")[2] / 100
REF_FRAMES = 6          # frames a reference wake learns (1.5 s at 4 fps)
REF_BYTES = 1600        # what the reference may take in RTC memory (docs/DETECTION.md)
SMALL = 0.12            # animals narrower than this (relative width) are "small"

__all__ = ["TYPES", "DEFAULTS", "Sequence", "make", "generate", "run_sequence", "evaluate"]


class Sequence:
    def __init__(self, kind, seed, scene, t0, ir=False, ir_from=0, t_ref=None):
        self.kind, self.seed, self.scene, self.t0 = kind, seed, scene, t0
        self.ir = ir            # IR LED on for the detection frames
        self.ir_from = ir_from  # frames before this index are taken with the LED off
        self.t_ref = t_ref      # reference wake, or None (cold start)

    def times(self, fps, frames, delay):
        return [self.t0 + delay + k / fps for k in range(frames)]

    def frames(self, w, h, fps, frames, delay):
        """[(t, frame bytes, truth boxes)] for the window."""
        out = []
        for k, t in enumerate(self.times(fps, frames, delay)):
            ir = LED_SHARE if (self.ir and k >= self.ir_from) else 0.0
            out.append((t, self.scene.render(t, w, h, ir=ir), self.scene.truth(t)))
        return out

    def reference(self, w, h, fps=4.0, n=REF_FRAMES):
        """The reference wake's frames ([] for a cold start)."""
        if self.t_ref is None:
            return []
        ir = LED_SHARE if self.ir else 0.0
        return [self.scene.render(self.t_ref + k / fps, w, h, ir=ir) for k in range(n)]

    def size(self, fps, frames, delay) -> Optional[float]:
        """Largest full width (relative) of an animal visible in the window, or None."""
        best = None
        for t in self.times(fps, frames, delay):
            if not self.scene.truth(t):
                continue
            for a in getattr(self.scene, "animals", []):
                if a.active(t):
                    wd = a.full_width(t)
                    best = wd if best is None else max(best, wd)
        return best

    def __repr__(self):
        return "Sequence(%s, seed=%d, t0=%.1f)" % (self.kind, self.seed, self.t0)


def make(kind: str, seed: int) -> Sequence:
    """One sequence of scene type `kind`, deterministic from `seed`."""
    if kind not in TYPES:
        raise ValueError("unknown scene type %r" % kind)
    scene, t0, opts = build(kind, seed)
    t_ref = None
    if opts["reference"]:
        rng = random.Random("ref/%s/%d" % (kind, seed))
        t_ref = t0 - rng.uniform(60, 1800)
        # the reference wake saw no animal (it learnt a quiet view)
        while any(scene.truth(t_ref + k / 4.0) for k in range(REF_FRAMES)):
            t_ref -= 120.0
    return Sequence(kind, seed, scene, t0, ir=opts["ir"], ir_from=opts["ir_from"], t_ref=t_ref)


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


def prepare(seq: Sequence, make_detector, w: int, h: int):
    """A detector as the PIR wake has it: the reference wake's frames learnt and kept in
    RTC memory, then a fresh detector (after deep sleep) given that reference."""
    det = make_detector(w, h)
    if not hasattr(det, "load_reference"):
        return det, None                      # a detector without a reference: cold
    ref = seq.reference(w, h)
    blob = None
    if ref:
        for f in ref:
            det.observe(f)
        blob = bytes(det.save_reference())
        if len(blob) > REF_BYTES:
            raise ValueError("reference takes %d B, RTC budget %d" % (len(blob), REF_BYTES))
        det = make_detector(w, h)
        det.load_reference(blob)
    det.begin()
    return det, blob


def run_sequence(seq: Sequence, make_detector, width=None, height=None, fps=None,
                 frames=None, delay=None, min_truth_area=0.0005, still=None) -> dict:
    """Run a detector over the window as the protocol says; returns the outcome (`looked`:
    the frames it took). `still`: the early end on a still view (firmware
    `detect.still_frames`; 0 = off; a detector without `quiet_lead` never ends early)."""
    w = width or DEFAULTS["width"]
    h = height or DEFAULTS["height"]
    fps = fps or DEFAULTS["fps"]
    frames = frames or DEFAULTS["frames"]
    delay = DEFAULTS["delay"] if delay is None else delay
    still = DEFAULTS["still"] if still is None else still
    det, _ = prepare(seq, make_detector, w, h)
    window = seq.frames(w, h, fps, frames, delay)
    positive = any(b[2] * b[3] >= min_truth_area for _, _, tr in window for b in tr)
    fired = None
    reasons: Dict[str, int] = {}
    looked = 0
    for k, (t, frame, truths) in enumerate(window):
        r = det.update(frame)
        looked = k + 1
        if r.motion:
            box = r.box
            fired = {"frame": k, "t": round(t - seq.t0, 2), "box": box, "score": r.score,
                     "hit": bool(truths) and _touches(box, truths, 8.0 / w),
                     "iou": max([_iou(box, tb) for tb in truths] or [0.0])}
            break
        reasons[r.reason] = reasons.get(r.reason, 0) + 1
        if still and getattr(det, "quiet_lead", 0) >= still:
            break  # the firmware's window ends here: nothing changed since it began
    size = seq.size(fps, frames, delay) if positive else None
    return {"kind": seq.kind, "seed": seq.seed, "positive": positive, "fired": fired,
            "reasons": reasons, "size": size, "looked": looked}


def _count(rows):
    c = {"n": 0, "positives": 0, "hits": 0, "fp": 0, "negatives": 0, "fired_negatives": 0,
         "iou_sum": 0.0}
    for r in rows:
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
    return c


def _summary(c):
    pos, hits, fp, neg = c["positives"], c["hits"], c["fp"], c["negatives"]
    return {"n": c["n"], "positives": pos, "hits": hits, "fp": fp, "negatives": neg,
            "fired_negatives": c["fired_negatives"],
            "recall": round(hits / pos, 4) if pos else None,
            "precision": round(hits / (hits + fp), 4) if hits + fp else None,
            "false_trigger_rate": round(c["fired_negatives"] / neg, 4) if neg else None,
            "mean_iou": round(c["iou_sum"] / hits, 3) if hits else None}


def evaluate(seqs: List[Sequence], make_detector, **kw) -> dict:
    """Recall/precision per scene type, per group, per animal size and overall, plus the
    per-sequence rows."""
    rows = [run_sequence(s, make_detector, **kw) for s in seqs]
    return summarise(rows)


def summarise(rows: List[dict]) -> dict:
    by_kind: Dict[str, list] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], []).append(r)
    out = {"types": {k: _summary(_count(rs)) for k, rs in sorted(by_kind.items())}}
    groups: Dict[str, list] = {}
    for r in rows:
        groups.setdefault(TYPES[r["kind"]][0], []).append(r)
    out["groups"] = {g: _summary(_count(rs)) for g, rs in sorted(groups.items())}
    animal = groups.get("animal", [])
    out["sizes"] = {
        "small": _summary(_count([r for r in animal if r["size"] is not None and r["size"] < SMALL])),
        "large": _summary(_count([r for r in animal if r["size"] is not None and r["size"] >= SMALL])),
    }
    out["overall"] = _summary(_count([r for r in rows if TYPES[r["kind"]][0] != "info"]))
    out["rows"] = rows
    return out
