"""Blobs over the block grid and their tracks from frame to frame (the detector's steps 5
and 6, see docs/DETECTION.md). Preallocated; nothing here allocates per frame.

A blob is a connected set of changed blocks (8- or 4-neighbour). Its record (`BS` values in
an array "H") carries its box, strength and centroid, and the track it continues: streak,
start point, path length, horizontal reversals, frames with motion, largest step. A blob
continues the longest track among last frame's blobs it overlaps (one block of slack).
"""
from array import array

from micropython import const

MAX_BLOBS = const(8)
JUMP = const(64)       # a centroid step over 4 blocks between frames is a jump, not motion
BS = const(24)
# record fields
X0 = const(0)
Y0 = const(1)
X1 = const(2)
Y1 = const(3)
STREAK = const(4)
LEVEL = const(5)
CX = const(6)          # strength-weighted centroid, 1/16 block
CY = const(7)
SX = const(8)          # where the track started (centroid)
SY = const(9)
PATH = const(10)       # path length of the centroid, 1/16 block
REV = const(11)        # bit 1: moved in x before, bit 0: last x sign, >> 2: reversals
MOVED = const(12)      # frames of the track with moving blocks (vs a few frames back)
AREA = const(13)
STEP = const(14)       # largest centroid step between two frames, 1/16 block
NMOV = const(15)       # moving blocks in this frame's blob
PEAK = const(16)       # strongest block of this frame's blob (excess x16)
DARK = const(17)       # moving blocks in this frame's blob that got darker
UNSTABLE = const(18)   # frames of the track whose area shrank by a quarter or doubled
VX = const(19)         # last centroid step, 1/16 block, offset by 32768 (unsigned array)
VY = const(20)
PX = const(21)         # the path's horizontal and vertical parts (sum of |dx|, of |dy|)
PY = const(22)
AREA0 = const(23)      # area where the track (re)started


class Blobs:
    def __init__(self, bw, bh, conn8):
        nb = bw * bh
        self.bw, self.bh, self.conn8 = bw, bh, conn8
        self.label = bytearray(nb)
        self._zero = bytes(nb)
        self.stack = array("H", bytes(2 * nb))
        self.blob = array("H", bytes(2 * BS * MAX_BLOBS))
        self.prev = array("H", bytes(2 * BS * MAX_BLOBS))
        self.n = 0
        self.nprev = 0

    def clear(self):
        self.n = 0
        self.nprev = 0

    def find(self, roi, fg, exc, mov, min_area, fd, fidx, c):
        """Connected components of fg (changed blocks); exc: strength of each changed block
        (x16 of its threshold), mov: 1 (2) where it moved and got brighter (darker); fd:
        the fine cells' differences (block b's four from fidx[b]: +c right, +1 below), which
        weight the centroid (so it moves
        by fractions of a block, with the animal). Keeps the strongest MAX_BLOBS of at
        least min_area blocks in self.blob; returns the count."""
        lab, st = self.label, self.stack
        bw, bh, conn8 = self.bw, self.bh, self.conn8
        lab[:] = self._zero
        blob = self.blob
        nblob = 0
        for s in roi:
            if not fg[s] or lab[s]:
                continue
            lab[s] = 1
            st[0] = s
            sp = 1
            area = level = nmov = ndark = peak = 0
            wx = wy = ws = 0
            x0 = bw
            y0 = bh
            x1 = y1 = 0
            while sp:
                sp -= 1
                i = st[sp]
                area += 1
                e = exc[i]
                level += e
                if e > peak:
                    peak = e
                m = mov[i]
                if m:
                    nmov += 1
                    if m == 2:
                        ndark += 1
                y = i // bw
                x = i - y * bw
                k = fidx[i]
                v0 = fd[k]
                v1 = fd[k + c]
                v2 = fd[k + 1]
                v3 = fd[k + c + 1]
                ws += v0 + v1 + v2 + v3
                # cell centres in 1/16 block: 8 * cell + 4
                wx += (v0 + v2) * (16 * x + 4) + (v1 + v3) * (16 * x + 12)
                wy += (v0 + v1) * (16 * y + 4) + (v2 + v3) * (16 * y + 12)
                if x < x0:
                    x0 = x
                if x >= x1:
                    x1 = x + 1
                if y < y0:
                    y0 = y
                if y >= y1:
                    y1 = y + 1
                for dy in (-1, 0, 1):
                    yy = y + dy
                    if yy < 0 or yy >= bh:
                        continue
                    for dx in (-1, 0, 1):
                        if (dx == 0 and dy == 0) or (not conn8 and dx != 0 and dy != 0):
                            continue
                        xx = x + dx
                        if xx < 0 or xx >= bw:
                            continue
                        j = yy * bw + xx
                        if fg[j] and not lab[j]:
                            lab[j] = 1
                            st[sp] = j
                            sp += 1
            if area < min_area or level == 0:
                continue
            if nblob < MAX_BLOBS:
                k = nblob
                nblob += 1
            else:                              # replace the weakest
                k = 0
                for q in range(1, MAX_BLOBS):
                    if blob[q * BS + LEVEL] < blob[k * BS + LEVEL]:
                        k = q
                if blob[k * BS + LEVEL] >= level:
                    continue
            o = k * BS
            blob[o + X0] = x0
            blob[o + Y0] = y0
            blob[o + X1] = x1
            blob[o + Y1] = y1
            blob[o + STREAK] = 1
            blob[o + LEVEL] = level if level < 65535 else 65535
            ws = ws or 1
            blob[o + CX] = (wx + (ws >> 1)) // ws
            blob[o + CY] = (wy + (ws >> 1)) // ws
            blob[o + AREA] = area
            blob[o + NMOV] = nmov
            blob[o + DARK] = ndark
            blob[o + PEAK] = peak
        self.n = nblob
        return nblob

    def link(self):
        """Continue last frame's tracks: streak, start point, path, reversals, moved
        frames, largest step, for every blob of this frame."""
        blob, prev, npv = self.blob, self.prev, self.nprev
        for k in range(self.n):
            o = k * BS
            x0 = blob[o + X0]
            y0 = blob[o + Y0]
            x1 = blob[o + X1]
            y1 = blob[o + Y1]
            cx, cy = blob[o + CX], blob[o + CY]
            s = 0
            pp = -1
            for q in range(npv):
                p = q * BS
                # overlap with one block of slack, the previous box moved on by the
                # track's last step (a fast small animal jumps further than its size)
                vx = (prev[p + VX] - 32768 + 8) >> 4
                vy = (prev[p + VY] - 32768 + 8) >> 4
                if (prev[p + X0] + vx <= x1 and x0 <= prev[p + X1] + vx
                        and prev[p + Y0] + vy <= y1 and y0 <= prev[p + Y1] + vy
                        and prev[p + STREAK] > s):
                    s = prev[p + STREAK]
                    pp = p
            blob[o + STREAK] = s + 1 if s < 1000 else s
            moved = 1 if blob[o + NMOV] else 0
            if pp >= 0:
                a0, a1 = prev[pp + AREA], blob[o + AREA]
                # shrank by more than a quarter, or more than doubled
                bad = 4 * a1 < 3 * a0 or a1 > 2 * a0 + 1
                blob[o + UNSTABLE] = prev[pp + UNSTABLE] + (1 if bad else 0)
            else:
                blob[o + UNSTABLE] = 0
            lv = blob[o + LEVEL]
            blob[o + VX] = blob[o + VY] = 32768
            if pp < 0 or lv > (prev[pp + LEVEL] << 1) + 32 or 3 * lv + 32 < prev[pp + LEVEL]:
                # a new track, or the blob more than doubled (an animal coming into view,
                # a part joining) or lost two thirds (a fragment of a larger blob): its
                # centroid jumped, measure the track from here
                blob[o + SX] = cx
                blob[o + SY] = cy
                blob[o + PATH] = blob[o + PX] = blob[o + PY] = 0
                blob[o + REV] = 0
                blob[o + MOVED] = moved + (prev[pp + MOVED] if pp >= 0 else 0)
                blob[o + STEP] = 0
                blob[o + AREA0] = blob[o + AREA]
                continue
            dx = cx - prev[pp + CX]
            dy = cy - prev[pp + CY]
            step = (dx if dx >= 0 else -dx) + (dy if dy >= 0 else -dy)
            if step > JUMP:
                # the centroid jumped (blobs merged or split): not a motion, restart here
                blob[o + SX] = cx
                blob[o + SY] = cy
                blob[o + PATH] = blob[o + PX] = blob[o + PY] = 0
                blob[o + REV] = 0
                blob[o + MOVED] = moved + prev[pp + MOVED]
                blob[o + STEP] = 0
                blob[o + AREA0] = blob[o + AREA]
                continue
            path = prev[pp + PATH] + step
            blob[o + VX] = 32768 + dx
            blob[o + VY] = 32768 + dy
            blob[o + SX], blob[o + SY] = prev[pp + SX], prev[pp + SY]
            blob[o + PATH] = path if path < 65535 else 65535
            v = prev[pp + PX] + (dx if dx >= 0 else -dx)
            blob[o + PX] = v if v < 65535 else 65535
            v = prev[pp + PY] + (dy if dy >= 0 else -dy)
            blob[o + PY] = v if v < 65535 else 65535
            blob[o + AREA0] = prev[pp + AREA0]
            blob[o + MOVED] = prev[pp + MOVED] + moved
            st = prev[pp + STEP]
            blob[o + STEP] = step if step > st else st
            rv = prev[pp + REV]
            if dx > 8 or dx < -8:              # half a block: a real step
                sg = 1 if dx > 0 else 0
                if rv & 2 and (rv & 1) != sg:  # moved before, now the other way
                    rv += 4
                rv = (rv & ~3) | 2 | sg
            blob[o + REV] = rv

    def roll(self):
        """This frame's blobs become last frame's."""
        self.prev[:] = self.blob
        self.nprev = self.n


def net(blob, o):
    dx = blob[o + CX] - blob[o + SX]
    dy = blob[o + CY] - blob[o + SY]
    return (dx if dx >= 0 else -dx) + (dy if dy >= 0 else -dy)
