"""Helpers of tests/test_board_contract.py: read the official MicroPython stubs (.pyi), find
every board name and call the firmware uses, describe a shim module, and compare them.

Model: a stub module is {name: entry}; an entry is a `Func` (its overloads, each a list of
parameters (name, kind, has_default), kind one of po pk vp ko vk), a `Klass` (members and
base names) or a `Const` (its literal value, or None). Only the standard library is used.
"""
from __future__ import annotations

import ast
import inspect
import os

BOARD_MODULES = ("machine", "esp32", "network", "ntptime", "micropython", "camera")
EXTRA_MODULES = ("time", "asyncio", "gc", "sys")  # MicroPython extras of CPython modules
_KIND = {inspect.Parameter.POSITIONAL_ONLY: "po", inspect.Parameter.POSITIONAL_OR_KEYWORD: "pk",
         inspect.Parameter.VAR_POSITIONAL: "vp", inspect.Parameter.KEYWORD_ONLY: "ko",
         inspect.Parameter.VAR_KEYWORD: "vk"}


class Func:
    def __init__(self):
        self.sigs = []

    def __repr__(self):
        return "Func(%r)" % self.sigs


class Klass:
    def __init__(self, name, module, bases):
        self.name, self.module, self.bases, self.members = name, module, bases, {}


class Const:
    def __init__(self, value=None):
        self.value = value


def _params(args: ast.arguments, method: bool) -> list:
    out = []
    pos = [(a, "po") for a in args.posonlyargs] + [(a, "pk") for a in args.args]
    ndef = len(args.defaults)
    for i, (a, kind) in enumerate(pos):
        out.append((a.arg, kind, i >= len(pos) - ndef))
    if args.vararg:
        out.append((args.vararg.arg, "vp", True))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        out.append((a.arg, "ko", d is not None))
    if args.kwarg:
        out.append((args.kwarg.arg, "vk", True))
    if method and out and out[0][1] in ("po", "pk"):
        out = out[1:]
    return out


def _decorators(node) -> set:
    names = set()
    for d in node.decorator_list:
        if isinstance(d, ast.Name):
            names.add(d.id)
        elif isinstance(d, ast.Attribute):
            names.add(d.attr)
        elif isinstance(d, ast.Call) and isinstance(d.func, ast.Name):
            names.add(d.func.id)
    return names


def _literal(node):
    try:
        v = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return v if isinstance(v, (int, float, str, bool, bytes)) else None


def _fill(body, table, module, in_class, imports, stars):
    for node in body:
        if isinstance(node, (ast.If, ast.Try)):
            for part in (node.body, getattr(node, "orelse", []),
                         *[h.body for h in getattr(node, "handlers", [])]):
                _fill(part, table, module, in_class, imports, stars)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decos = _decorators(node)
            if "property" in decos or any(d.endswith("setter") for d in
                                          (ast.unparse(x) for x in node.decorator_list)):
                table[node.name] = Const()
                continue
            f = table.get(node.name)
            if not isinstance(f, Func):
                f = table[node.name] = Func()
            f.sigs.append(_params(node.args, in_class and "staticmethod" not in decos))
        elif isinstance(node, ast.ClassDef):
            k = Klass(node.name, module, [ast.unparse(b) for b in node.bases])
            _fill(node.body, k.members, module, True, imports, stars)
            table[node.name] = k
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            table[node.target.id] = Const(_literal(node.value) if node.value else None)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    table[t.id] = Const(_literal(node.value))
        elif isinstance(node, ast.ImportFrom) and not in_class:
            src = ("." * node.level) + (node.module or "")
            for a in node.names:
                if a.name == "*":
                    stars.append(src)
                else:
                    imports[a.asname or a.name] = (src, a.name)


class Stubs:
    """Stub modules found under `roots` (each like a typings folder)."""

    def __init__(self, *roots):
        self.roots = [str(r) for r in roots]
        self._mods = {}

    def _path(self, name):
        rel = name.replace(".", "/")
        for root in self.roots:
            for cand in (rel + ".pyi", rel + "/__init__.pyi", "stdlib/" + rel + ".pyi",
                         "stdlib/" + rel + "/__init__.pyi"):
                p = os.path.join(root, cand)
                if os.path.isfile(p):
                    return p
        return None

    def module(self, name):
        """(table, imports, stars) of stub module `name`, or None."""
        if name not in self._mods:
            path = self._path(name)
            if path is None:
                self._mods[name] = None
            else:
                with open(path, encoding="utf-8") as f:
                    tree = ast.parse(f.read())
                table, imports, stars = {}, {}, []
                _fill(tree.body, table, name, False, imports, stars)
                pkg = name if path.endswith("__init__.pyi") else name.rpartition(".")[0]
                self._mods[name] = (table, {k: (_abs(pkg, s), n) for k, (s, n) in imports.items()},
                                    [_abs(pkg, s) for s in stars])
        return self._mods[name]

    def get(self, module, name, depth=0):
        m = self.module(module)
        if m is None or depth > 8:
            return None
        table, imports, stars = m
        if name in table:
            return table[name]
        if name in imports:
            src, orig = imports[name]
            return self.get(src, orig, depth + 1)
        for s in stars:
            e = self.get(s, name, depth + 1)
            if e is not None:
                return e
        return None

    def member(self, klass, name, depth=0):
        if name in klass.members:
            return klass.members[name]
        if depth > 8:
            return None
        for b in klass.bases:
            base = self.get(klass.module, b.split("[")[0].split(".")[-1])
            if isinstance(base, Klass):
                e = self.member(base, name, depth + 1)
                if e is not None:
                    return e
        return None

    def resolve(self, module, path):
        """The entry at dotted `path` (list) in `module`, walking class members."""
        e = self.get(module, path[0])
        for p in path[1:]:
            if not isinstance(e, Klass):
                return None
            e = self.member(e, p)
        return e

    def init_sigs(self, klass):
        f = self.member(klass, "__init__")
        return f.sigs if isinstance(f, Func) else None


def _abs(pkg, src):
    if not src.startswith("."):
        return src
    level = len(src) - len(src.lstrip("."))
    base = pkg.split(".") if pkg else []
    base = base[:len(base) - (level - 1)] if level > 1 else base
    rest = src.lstrip(".")
    return ".".join(base + ([rest] if rest else []))


def binds(sig, npos, kwnames, star=False, dstar=False):
    """Would a call with `npos` positional and `kwnames` keyword arguments bind to `sig`?"""
    if star:
        return True
    pos = [p for p in sig if p[1] in ("po", "pk")]
    has_vp = any(p[1] == "vp" for p in sig)
    has_vk = any(p[1] == "vk" for p in sig)
    if npos > len(pos) and not has_vp:
        return False
    filled = {p[0] for p in pos[:npos]}
    for k in kwnames:
        match = [p for p in sig if p[0] == k and p[1] in ("pk", "ko")]
        if k in filled or (not match and not has_vk):
            return False
        filled.add(k)
    if dstar:
        return True
    return all(p[0] in filled for p in sig if p[1] in ("po", "pk", "ko") and not p[2])


def shape_calls(sig):
    """The calls a signature promises to accept: required only, and everything."""
    req_pos = sum(1 for p in sig if p[1] in ("po", "pk") and not p[2])
    req_kw = [p[0] for p in sig if p[1] == "ko" and not p[2]]
    all_pos = sum(1 for p in sig if p[1] in ("po", "pk"))
    all_kw = [p[0] for p in sig if p[1] == "ko"]
    return [(req_pos, req_kw), (all_pos, all_kw)]


def py_sig(obj, method=False):
    """Parameters of a Python callable (a class: its __init__; a method taken from its
    class: `method=True`), self removed."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        s = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    out = [(p.name, _KIND[p.kind], p.default is not inspect.Parameter.empty or
            p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)) for p in s.parameters.values()]
    if (inspect.isclass(obj) or method) and out and out[0][1] in ("po", "pk"):
        out = out[1:]
    return out


def more_forgiving(shim, stub_sigs):
    """Ways the shim accepts calls no stub overload accepts (empty list: none)."""
    why = []
    names = {p[0] for s in stub_sigs for p in s if p[1] in ("pk", "ko")}
    stub_vk = any(p[1] == "vk" for s in stub_sigs for p in s)
    stub_vp = any(p[1] == "vp" for s in stub_sigs for p in s)
    max_pos = max(sum(1 for p in s if p[1] in ("po", "pk")) for s in stub_sigs)
    for name, kind, _ in shim:
        if kind == "vk" and not stub_vk:
            why.append("takes **%s" % name)
        elif kind == "vp" and not stub_vp:
            why.append("takes *%s" % name)
        elif kind in ("pk", "ko") and name not in names and not stub_vk:
            why.append("takes keyword %r" % name)
    shim_pos = sum(1 for p in shim if p[1] in ("po", "pk"))
    if shim_pos > max_pos and not stub_vp:
        why.append("takes %d positional arguments, the stub at most %d" % (shim_pos, max_pos))
    return why


def less_capable(shim, stub_sigs):
    """Calls some stub overload promises that the shim refuses."""
    return ["refuses %d positional + %s" % (n, kws) for s in stub_sigs
            for n, kws in shape_calls(s) if not binds(shim, n, kws)]
