"""One queued item as the sync engine sees it: where its record is, and its fields.

An Item is a handle, not a copy of the queue's state: `live()` asks its lane whether the
item is still pending (it may have been evicted or expired while its upload ran).
"""


class Item:
    """One queued item: where its record is, and its fields."""

    def __init__(self, lane, seg, pos, end, d, ordinal=0, cum=0):
        self.lane = lane
        self.seg = seg
        self.pos = pos
        self.end = end
        self.ord = ordinal
        self.cum = cum
        self.key = d.get("k")
        self.kind = d.get("n")
        self.created = d.get("c", 0)  # Unix seconds, 0 when the clock was unset
        self.expires = d.get("e", 0)
        self.media = d.get("m")  # path on the SD card, or None
        self.size = d.get("s", 0) if self.media else 0
        self.sha256 = d.get("h")
        self.data = d.get("d")  # small inline payload (dict), or None

    @property
    def cost(self):
        """Bytes this item holds against the queue budget (record + media)."""
        return self.end - self.pos + (self.size or 0)

    def live(self):
        """False once the item was finished (delivered, dead-lettered, expired, evicted)."""
        return self.lane.is_live(self)

    def as_dict(self):
        d = {"k": self.key, "n": self.kind, "c": self.created}
        for name, value in (("e", self.expires), ("m", self.media), ("s", self.size),
                            ("h", self.sha256), ("d", self.data)):
            if value:
                d[name] = value
        return d

    def __repr__(self):
        return "<Item %s %s %s>" % (self.lane.name, self.kind, self.key)
