"""Regions of interest for motion detection, parsed from the compact config string.

Lives in core (not capture) because config validation checks `detect.roi` with it.
"""


def parse_roi(spec, bw, bh):
    """ROI mask (bytearray, 1 = watched) from a compact string:
    - "" or None: the whole view;
    - rows of 0/1 separated by "/" ("0000/1111/1111"): a coarse grid stretched over the view;
    - rectangles "x,y,w,h" in relative coordinates separated by ";": "+" or no sign adds,
      "-" removes ("-0,0,1,0.3" = everything but the top 30 %; "0.2,0.2,0.6,0.6" = only
      the centre). A block belongs to a rectangle when its centre is inside.
    Raises ValueError with a message for people."""
    n = bw * bh
    if not spec:
        return bytearray(b"\x01" * n)
    spec = spec.strip()
    if spec and all(c in "01/" for c in spec):
        rows = spec.split("/")
        gh, gw = len(rows), len(rows[0])
        if gw == 0 or any(len(r) != gw for r in rows):
            raise ValueError("detect.roi grid: every row needs the same number of 0/1")
        mask = bytearray(n)
        for by in range(bh):
            r = rows[(2 * by + 1) * gh // (2 * bh)]
            for bx in range(bw):
                mask[by * bw + bx] = 1 if r[(2 * bx + 1) * gw // (2 * bw)] == "1" else 0
        return mask
    items = [s.strip() for s in spec.split(";") if s.strip()]
    mask = bytearray(b"\x01" * n) if items and items[0][0] == "-" else bytearray(n)
    for it in items:
        val = 1
        if it[0] in "+-":
            val = 1 if it[0] == "+" else 0
            it = it[1:]
        try:
            x, y, w, h = [float(v) for v in it.split(",")]
        except ValueError:
            raise ValueError("detect.roi: %r is not x,y,w,h (relative numbers)" % it)
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > 1.0001 or y + h > 1.0001:
            raise ValueError("detect.roi: rectangle %r must lie inside 0..1" % it)
        for by in range(bh):
            cy = (by + 0.5) / bh
            if not (y <= cy < y + h):
                continue
            for bx in range(bw):
                cx = (bx + 0.5) / bw
                if x <= cx < x + w:
                    mask[by * bw + bx] = val
    return mask
