"""One frame's motion verdict, as the detector reports it and the sidecar records it."""


class Result:
    """One frame's outcome. Reused by the detector: copy what you keep (as_dict())."""

    def __init__(self, bw, bh):
        self._bw, self._bh = bw, bh
        self.clear()

    def clear(self):
        self.motion = False
        self.reason = "quiet"
        self.level = 0          # strength of the best blob, 16 = one block at its threshold
        self.blocks = 0         # changed blocks (after flicker suppression)
        self.blobs = 0          # blobs of at least min_area blocks
        self.streak = 0         # consecutive overlapping frames of the best blob
        self.net = self.path = self.rev = 0   # its track: displacement, path (1/16 block), reversals
        self.gain = 64          # frame gain vs background, x64
        self.mean = 0           # frame mean grey level (ROI)
        self.x0 = self.y0 = self.x1 = self.y1 = 0   # best blob's box, grid cells (x1/y1 excl.)
        self.rule = ""          # what confirmed it: "travel", "graze" or "approach"

    @property
    def score(self):
        """0..1: how strong the best blob is (1 = eight blocks at twice their threshold)."""
        return min(1.0, self.level / 256)

    @property
    def box(self):
        """Relative (x, y, w, h) of the best blob, or None."""
        if self.x1 <= self.x0:
            return None
        bw, bh = self._bw, self._bh
        return (self.x0 / bw, self.y0 / bh, (self.x1 - self.x0) / bw, (self.y1 - self.y0) / bh)

    def as_dict(self):
        d = {"motion": self.motion, "score": round(self.score, 3), "reason": self.reason,
             "blocks": self.blocks, "gain": self.gain, "mean": self.mean}
        if self.rule:
            d["rule"] = self.rule
        b = self.box
        if b is not None:
            d["bbox"] = [round(v, 4) for v in b]
        return d
