"""What the detector measures about one blob (a part of frames.Maps): its box, whether one
light change explains it, and how sharp its edges are. Called only for the blobs a
decision needs; nothing here allocates beyond a few small integers.
"""
# pyright: reportAttributeAccessIssue=false
# (a mixin of frames.Maps: the arrays it reads are made in Maps.__init__, which pyright does
# not follow into a base class; frames.py itself is checked with every rule)



class Measures:
    def box(self, blob, o, res):
        """The blob's box in cells: the cells over their threshold in its changed blocks
        (the whole blob, not only the edges that moved), else its blocks."""
        fg = self.fg
        ff = self.ff
        c = self.c
        bw = self.bw
        fidx = self.fidx
        x0 = blob[o]
        y0 = blob[o + 1]
        x1 = blob[o + 2]
        y1 = blob[o + 3]
        cx0 = 2 * x1
        cy0 = 2 * y1
        cx1 = 0
        cy1 = 0
        for by in range(y0, y1):
            for bx in range(x0, x1):
                if not fg[by * bw + bx]:
                    continue
                i = fidx[by * bw + bx]
                for q in range(4):
                    if ff[i + (q >> 1) + (c if q & 1 else 0)]:
                        x = 2 * bx + (q & 1)
                        y = 2 * by + (q >> 1)
                        if x < cx0:
                            cx0 = x
                        if x >= cx1:
                            cx1 = x + 1
                        if y < cy0:
                            cy0 = y
                        if y >= cy1:
                            cy1 = y + 1
        if cx1 <= cx0:
            cx0 = 2 * x0
            cy0 = 2 * y0
            cx1 = 2 * x1
            cy1 = 2 * y1
        res.x0 = cx0
        res.y0 = cy0
        res.x1 = cx1
        res.y1 = cy1

    def explained(self, blob, o, f, ref, G):
        """Does one light change explain the blob? Over the fine cells that changed in
        its blocks, the frame against the expected view (reference x gain): a textured view
        (spread >= 3 grey levels) that the frame still shows (correlation >= 0.8), scaled
        by 0.5..2 with no more than a 20 % offset, is the same view in other light (a
        shadow, a sun patch), not an animal, whose fur does not follow the ground's
        texture. Integer arithmetic on 8-bit values, in two passes."""
        fg = self.fg
        ff = self.ff
        cs = self.c
        bw = self.bw
        R = ref.cells
        fidx = self.fidx
        x0 = blob[o]
        y0 = blob[o + 1]
        x1 = blob[o + 2]
        y1 = blob[o + 3]
        n = sc = sp = 0
        mc = mp = vc = vp = cv = 0  # set at the start of the second pass
        for pas in (0, 1):
            if pas:
                if n < 8:
                    return False
                mc, mp = sc // n, sp // n
                vc = vp = cv = 0
            for by in range(y0, y1):
                for bx in range(x0, x1):
                    b = by * bw + bx
                    if not fg[b]:
                        continue
                    g = G[b]
                    i = fidx[b]
                    for q in range(4):
                        k = i + (q >> 1) + (cs if q & 1 else 0)
                        if not ff[k]:          # only the cells that changed
                            continue
                        c = f[k]
                        p = (R[k] * g) >> 10
                        if pas:
                            c -= mc
                            p -= mp
                            vc += c * c
                            vp += p * p
                            cv += c * p
                        else:
                            n += 1
                            sc += c
                            sp += p
        if vp < 9 * n:                         # spread under 3 grey levels: can't tell
            return False
        if cv <= 0:
            return False
        while vc > 32767 or vp > 32767 or cv > 32767:   # products stay small ints
            vc >>= 1
            vp >>= 1
            cv >>= 1
        if cv * cv < ((vc * vp) // 25) * 16:  # correlation under 0.8
            return False
        if 2 * cv < vp or cv > 2 * vp:         # gain outside 0.5..2
            return False
        off = mc * vp - cv * mp                # offset x vp
        return -mc * vp <= 5 * off <= mc * vp

    def sharpness(self, blob, o):
        """Steepest step of the presence difference between neighbouring cells in and
        around the blob's box, % of its peak: an object in focus has an edge (high), an object at the
        lens is blurred over many cells (low)."""
        fd, fw, ci = self.fd, self.fw, self.cidx
        # the box and one cell around it (the edge may fall on the box's border)
        x0, y0 = 2 * blob[o] - 1, 2 * blob[o + 1] - 1
        x1, y1 = 2 * blob[o + 2] + 1, 2 * blob[o + 3] + 1
        x0 = x0 if x0 > 0 else 0
        y0 = y0 if y0 > 0 else 0
        x1 = x1 if x1 < fw else fw
        y1 = y1 if y1 < self.fh else self.fh
        peak = step = 0
        for y in range(y0, y1):
            row = y * fw
            for x in range(x0, x1):
                v = fd[ci[row + x]]
                if v > peak:
                    peak = v
                if x + 1 < x1:
                    d = v - fd[ci[row + x + 1]]
                    d = d if d >= 0 else -d
                    if d > step:
                        step = d
                if y + 1 < y1:
                    d = v - fd[ci[row + fw + x]]
                    d = d if d >= 0 else -d
                    if d > step:
                        step = d
        return step * 100 // peak if peak else 100
