"""Which board names the firmware uses, and how it calls them, read from its source (AST).

A use is (file, line, module, path, call) — `machine.Pin.IRQ_RISING` is ("machine",
["Pin", "IRQ_RISING"]); `machine.Pin(13, machine.Pin.IN)` a call of ["Pin"] with 2 positional
arguments; a method of an instance, as in `self._pir.irq(handler=...)` after
`self._pir = machine.Pin(...)`, is ("machine", ["Pin", "irq"]) marked `inst`. Names are
followed through imports (also inside functions, `import camera as driver`), plain
assignments (`d = self._drv`), `self.x` attributes across a class, and methods that return
an instance. On a line marked "lemariva API" the module `camera` is the legacy driver's
("camera_lemariva"). Dynamic lookups (getattr with a computed name) are not seen.
"""
from __future__ import annotations

import ast

from board_contract import Klass


class Use:
    def __init__(self, file, line, module, path, call=None, inst=False):
        self.file, self.line, self.module, self.path = file, line, module, path
        self.call, self.inst = call, inst

    def name(self):
        return "%s.%s%s" % (self.module, ".".join(self.path), "()" if self.call else "")

    def where(self):
        return "%s:%d" % (self.file, self.line)


def _call_shape(node):
    npos = sum(1 for a in node.args if not isinstance(a, ast.Starred))
    star = any(isinstance(a, ast.Starred) for a in node.args)
    kws = [k.arg for k in node.keywords if k.arg is not None]
    dstar = any(k.arg is None for k in node.keywords)
    return (npos, kws, star, dstar)


class _Scan:
    def __init__(self, file, src, modules, stubs):
        self.file, self.lines, self.modules, self.stubs = file, src.splitlines(), modules, stubs
        self.uses = []

    # --- resolution ------------------------------------------------------------------------
    def key(self, node):
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id == "self":
            return "self." + node.attr
        return None

    def res(self, node, env):
        """("mod", module, path) | ("inst", module, classpath, path) | None."""
        k = self.key(node)
        if k is not None and k in env:
            return env[k]
        if isinstance(node, ast.Attribute):
            r = self.res(node.value, env)
            if r is None:
                return None
            return r[:-1] + (r[-1] + [node.attr],)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id == "self" and ("ret." + node.func.attr) in env:
                return env["ret." + node.func.attr]
            r = self.res(node.func, env)
            if r is not None and r[0] == "mod" and r[2]:
                mod = self._module(r[1], node)
                if isinstance(self.stubs.resolve(mod, r[2]), Klass):
                    return ("inst", r[1], r[2], [])
        return None

    def _module(self, module, node):
        line = self.lines[node.lineno - 1] if node.lineno - 1 < len(self.lines) else ""
        if module == "camera" and "lemariva API" in line:
            return "camera_lemariva"
        return module

    # --- environment -----------------------------------------------------------------------
    def imports(self, body, env):
        for node in ast.walk(ast.Module(body=body, type_ignores=[])):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in self.modules:
                        env[a.asname or a.name] = ("mod", a.name, [])
            elif isinstance(node, ast.ImportFrom) and node.module in self.modules:
                for a in node.names:
                    env[a.asname or a.name] = ("mod", node.module, [a.name])

    def assigns(self, body, env):
        changed = False
        for node in ast.walk(ast.Module(body=body, type_ignores=[])):
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                continue
            t, v = node.targets[0], node.value
            pairs = zip(t.elts, v.elts) if isinstance(t, ast.Tuple) and \
                isinstance(v, ast.Tuple) and len(t.elts) == len(v.elts) else [(t, v)]
            for target, value in pairs:
                k = self.key(target)
                r = self.res(value, env)
                if k is not None and r is not None and env.get(k) != r:
                    env[k] = r
                    changed = True
        return changed

    # --- recording --------------------------------------------------------------------------
    def record(self, node, env, parent=None):
        if isinstance(node, ast.Attribute) and not (isinstance(parent, ast.Attribute)
                                                    and parent.value is node):
            r = self.res(node, env)
            if r is not None and r[-1]:
                self._add(node, r, None)
        if isinstance(node, ast.Call):
            r = self.res(node.func, env)
            if r is not None and (r[-1] or r[0] == "inst"):
                self._add(node, r, _call_shape(node))
        for child in ast.iter_child_nodes(node):
            self.record(child, env, node)

    def _add(self, node, r, call):
        mod = self._module(r[1], node)
        if r[0] == "mod":
            self.uses.append(Use(self.file, node.lineno, mod, r[2], call))
        else:
            self.uses.append(Use(self.file, node.lineno, mod, r[2] + r[3], call, inst=True))


def scan(file, src, modules, stubs):
    """Every use of `modules` in one source file."""
    tree = ast.parse(src)
    s = _Scan(file, src, modules, stubs)
    top = {}
    s.imports([n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef,
                                                          ast.AsyncFunctionDef))], top)
    funcs = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            cls_env = dict(top)
            methods = [m for m in node.body if isinstance(m, (ast.FunctionDef,
                                                              ast.AsyncFunctionDef))]
            for _ in range(3):  # self.x assignments and returns, to a fixed point
                for m in methods:
                    env = dict(cls_env)
                    s.imports(m.body, env)
                    s.assigns(m.body, env)
                    for k, v in env.items():
                        if k.startswith("self."):
                            cls_env[k] = v
                    rets = [s.res(r.value, env) for r in ast.walk(m)
                            if isinstance(r, ast.Return) and r.value is not None]
                    if rets and all(x is not None and x == rets[0] for x in rets):
                        cls_env["ret." + m.name] = rets[0]
            funcs += [(m, cls_env) for m in methods]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            funcs.append((node, top))
        else:
            s.record(node, top)
    for fn, base in funcs:
        env = dict(base)
        s.imports(fn.body, env)
        for _ in range(3):
            if not s.assigns(fn.body, env):
                break
        for stmt in fn.body:
            s.record(stmt, env)
    return s.uses
