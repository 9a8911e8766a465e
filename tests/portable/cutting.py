"""A Storage that loses power after a byte budget (portable: runs under both interpreters).

Every byte written and every rename/remove/mkdir costs one unit of the budget. When the
budget runs out mid-write, the bytes that fit are on disk (a torn write) and `PowerCut`
is raised; every later operation raises it too, like a board that has lost power.
"""

from portable_support import PrefixStorage


class PowerCut(BaseException):
    pass


class _CutFile:
    def __init__(self, owner, f):
        self._owner = owner
        self._f = f

    def write(self, data):
        o = self._owner
        o._check()
        data = bytes(data)
        if o.budget is not None and len(data) > o.budget:
            self._f.write(data[:o.budget])
            self._f.flush()
            o.used += o.budget
            o.budget = 0
            o.dead = True
            raise PowerCut()
        self._f.write(data)
        o.used += len(data)
        if o.budget is not None:
            o.budget -= len(data)
        return len(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self._f.close()


class CuttingStorage(PrefixStorage):
    def __init__(self, root, budget=None):
        PrefixStorage.__init__(self, root)
        self.budget = budget
        self.used = 0
        self.dead = False

    def _check(self):
        if self.dead:
            raise PowerCut()

    def _op(self):
        self._check()
        if self.budget is not None:
            if self.budget <= 0:
                self.dead = True
                raise PowerCut()
            self.budget -= 1
        self.used += 1

    def open(self, path, mode="rb"):
        self._check()
        f = PrefixStorage.open(self, path, mode)
        if "r" in mode and "+" not in mode:
            return f
        return _CutFile(self, f)

    def rename(self, src, dst):
        self._op()
        PrefixStorage.rename(self, src, dst)

    def remove(self, path):
        self._op()
        PrefixStorage.remove(self, path)

    def mkdir(self, path):
        self._op()
        PrefixStorage.mkdir(self, path)
