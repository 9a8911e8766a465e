"""How the detector's reference learns (a part of frames.Maps, see there for the layout).

- `observe`: a frame in which nothing moves (a quiet wake, the reference wake of the
  evaluation, a cold window's first frames): a running mean of the cells over the first 8
  frames, then 1/8 per frame, in the reference's own light (each cell divided by its
  block's gain); the deviations are the envelope of the residuals seen;
- `learn` (cold windows only, whose reference is their own first frame): blocks that did
  not change follow the view, and where that first frame showed the animal, the view
  behind it is learnt once the block stays present without moving for two frames;
- `learn_dev` (windows with a reference from before the trigger): the view is not learnt
  (an animal standing still must not fade into it); only the deviations rise where a
  block flickers, which the reference wake did not see;
- `fold`: the end of a window, see there.
Nothing here allocates per frame.
"""
# pyright: reportAttributeAccessIssue=false
# (a mixin of frames.Maps: the arrays it reads are made in Maps.__init__, which pyright does
# not follow into a base class; frames.py itself is checked with every rule)

from wildcam.capture.reference import DEV0, DEV_MAX


class Learning:
    def learn_dev(self, ref):
        """With a reference from before the trigger the view is not learnt in the window
        (an animal standing still must not fade into it); only the deviations rise where a
        block flickers (sway that the reference wake did not see)."""
        dev = ref.dev
        dd = self.devd
        h8 = self.h8
        fg = self.fg
        am_ = self.amax
        for b in self.roi:
            if h8[b] & 1 and not fg[b]:
                dv = dev[b]
                dv += (am_[b] - dv) >> 2
                dv = dv if dv < DEV_MAX else DEV_MAX
                dev[b] = dv
                if dv > dd[b]:
                    dd[b] = dv

    def learn(self, f, ref, G, fast):
        """The reference follows the view where nothing changed (normalised by the block's
        gain, so it stays in its own light), `fast` in a cold window (whose reference is
        its first frame: where that frame showed the animal, the view behind it is learnt
        once the block stays present without moving for two frames)."""
        R, dev, rs = ref.cells, ref.dev, self.rsum
        fidx = self.fidx
        c = self.c
        fg = self.fg
        mov = self.mov
        still = self.still
        am_ = self.amax
        h8, dd = self.h8, self.devd
        sh = self.learn_shift - (2 if fast else 0)
        for b in self.roi:
            i = fidx[b]
            j = i + 1
            s = sh
            if fg[b]:
                if not fast or mov[b]:
                    still[b] = 0
                    continue
                still[b] += 1
                if still[b] < 2:
                    continue
                s = 1                                  # a ghost of the first frame
            else:
                still[b] = 0
                dv = dev[b]
                a = am_[b]
                # the envelope rises fast where a block flickers (sway), slowly elsewhere
                dv += (a - dv) >> (2 if (h8[b] & 1) else sh + 1)
                dv = dv if dv < DEV_MAX else DEV_MAX
                dev[b] = dv
                if dv > dd[b]:
                    dd[b] = dv
            gb = G[b] or 1
            r = R[i]
            R[i] = r + ((((f[i] << 10) // gb) - r) >> s)
            r = R[i + c]
            R[i + c] = r + ((((f[i + c] << 10) // gb) - r) >> s)
            r = R[j]
            R[j] = r + ((((f[j] << 10) // gb) - r) >> s)
            r = R[j + c]
            R[j + c] = r + ((((f[j + c] << 10) // gb) - r) >> s)
            rs[b] = R[i] + R[i + c] + R[j] + R[j + c]

    def observe(self, f, ref, gains):
        """A quiet frame for the reference (a wake with nothing moving): a running mean
        over the first 8 frames, then 1/8 per frame; deviations likewise."""
        ref.mean = self.sums(f)
        if ref.count == 0:
            ref.set_from(f)
            self.ref_changed(ref)
            return 64
        g = gains.global_gain(self.csum, self.rsum)
        if g < 22 or g > 192:                          # another light entirely: restart
            ref.set_from(f)
            self.ref_changed(ref)
            return g
        gains.update(self._zb)
        G = gains.block
        R = ref.cells
        dev = ref.dev
        rs = self.rsum
        fidx = self.fidx
        c = self.c
        n = ref.count + 1 if ref.count < 8 else 8
        for b in range(self.nb):
            i = fidx[b]
            gb = G[b] or 1
            am = 0
            for q in range(4):
                k = i + (q >> 1) + (c if q & 1 else 0)
                r = R[k]
                d = (f[k] << 4) - ((r * gb) >> 6)
                d = d if d >= 0 else -d
                if d > am:
                    am = d
                R[k] = r + (((f[k] << 10) // gb) - r) // n
            # deviation: the envelope of what was seen (a few frames: the largest
            # residual, not its mean, is what a swaying branch or noise will do again)
            dv = dev[b] - (dev[b] >> 3)
            if am > dv:
                dv = am
            dev[b] = DEV0 if dv < DEV0 else (dv if dv < DEV_MAX else DEV_MAX)
            rs[b] = R[i] + R[i + 1] + R[i + c] + R[i + c + 1]
        ref.count += 1
        return g

    def fold(self, ref):
        """End of a window: blocks that never moved take the last frame (in the
        reference's light) halfway, blocks that differ from it without moving (a parked
        object, an animal lying still) an eighth of the way (a lasting change becomes
        background over a few wakes, a passing one leaves little), so the reference
        follows the view across wakes."""
        if not self.ring_n:
            return
        ref.mean = self.mean
        f, G = self.ring[self.last], self.ring_g[self.last]
        R = ref.cells
        fidx = self.fidx
        c = self.c
        moved = self.moved
        fg = self.fg
        for b in self.roi:
            if moved[b]:
                continue
            s = 3 if fg[b] else 1
            i = fidx[b]
            gb = G[b] or 1
            for q in range(4):
                k = i + (q >> 1) + (c if q & 1 else 0)
                r = R[k]
                R[k] = r + ((((f[k] << 10) // gb) - r) >> s)
        self.ref_changed(ref)

