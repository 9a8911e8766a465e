"""Firmware imports only modules an ESP32 MicroPython build has.

The wasm interpreter of the MicroPython gate has modules an ESP32 lacks (hmac, os.path) and
lacks some it has (machine, network, socket), so imports are checked statically here: every
import in firmware/**.py, boot.py and main.py must be on the allow-list below, be the
firmware's own `wildcam` package (and the module must exist), or a micropython-lib package
installed with mip. host_sim and CPython-only modules are refused with file and line.

The allow-list was cross-checked against the module list of `micropython-esp32-stubs` 1.29
(PyPI); the test itself stays offline.
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE_LIB = os.path.join(ROOT, "firmware", "lib")
OWN_PACKAGE = "wildcam"

# Built in or frozen in the ESP32 port (MicroPython 1.2x), per micropython-esp32-stubs 1.29.
ESP32_MODULES = {
    "array", "asyncio", "binascii", "bluetooth", "btree", "builtins", "cmath", "collections",
    "cryptolib", "deflate", "dht", "ds18x20", "errno", "esp", "esp32", "espnow", "aioespnow",
    "framebuf", "gc", "hashlib", "heapq", "io", "json", "machine", "math", "micropython",
    "mip", "neopixel", "network", "ntptime", "onewire", "os", "platform", "random", "re",
    "select", "socket", "ssl", "struct", "sys", "time", "tls", "uctypes", "vfs", "webrepl",
    "websocket", "_thread",
    # The ESP32-CAM firmware build adds the camera driver (a C module, not in stock builds).
    "camera",
}
# micropython-lib packages the firmware may install with mip (exact names).
MICROPYTHON_LIB = {"umqtt.simple", "umqtt.robust", "requests"}

# Refused with a reason (the commonest mistakes; anything unknown is refused too).
FORBIDDEN = {
    "host_sim": "host_sim is the simulator; firmware must not know it exists",
    "typing": "no typing module on the board (annotations in comments or a .pyi)",
    "dataclasses": "CPython only", "pathlib": "CPython only (use wildcam.core.storage paths)",
    "threading": "CPython only (use asyncio)", "logging": "CPython only (use wildcam.core.log)",
    "subprocess": "CPython only", "tempfile": "CPython only", "shutil": "CPython only",
    "os.path": "no os.path on an ESP32 (use wildcam.core.storage.join/dirname)",
    "datetime": "CPython only (use wildcam.core.clock)", "enum": "CPython only",
    "abc": "CPython only", "functools": "CPython only", "itertools": "CPython only",
    "copy": "not on the ESP32 build", "hmac": "not on the ESP32 build (hashlib.sha256 + own HMAC)",
    "base64": "not on the ESP32 build (use binascii)", "zlib": "not on the ESP32 build (use deflate)",
    "uasyncio": "old name: use asyncio", "utime": "old name: use time", "uos": "old name: use os",
    "ujson": "old name: use json", "usocket": "old name: use socket", "ussl": "old name: use ssl",
    "ustruct": "old name: use struct", "ubinascii": "old name: use binascii",
    "uhashlib": "old name: use hashlib", "uerrno": "old name: use errno", "uio": "old name: use io",
    "urandom": "old name: use random", "ure": "old name: use re", "uselect": "old name: use select",
    "uzlib": "removed: use deflate", "urequests": "old name: use requests",
}


def firmware_files():
    out = []
    for base, dirs, files in os.walk(os.path.join(ROOT, "firmware")):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        out += [os.path.join(base, f) for f in sorted(files) if f.endswith(".py")]
    out += [p for p in (os.path.join(ROOT, "boot.py"), os.path.join(ROOT, "main.py"))
            if os.path.isfile(p)]
    return out


def _rel(p):
    return os.path.relpath(p, ROOT).replace(os.sep, "/")


def _own_module_exists(name):
    base = os.path.join(FIRMWARE_LIB, *name.split("."))
    return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))


def _own_names(module):
    """Top-level names a firmware module defines (functions, classes, assignments, imports)."""
    base = os.path.join(FIRMWARE_LIB, *module.split("."))
    path = base + ".py" if os.path.isfile(base + ".py") else os.path.join(base, "__init__.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    names = set()
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                names |= {x.id for x in ast.walk(t) if isinstance(x, ast.Name)}
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in n.names}
    return names


def _package_of(path):
    """Dotted package of a firmware file (for relative imports), or None."""
    rel = os.path.relpath(os.path.dirname(path), FIRMWARE_LIB)
    return None if rel.startswith("..") else ("" if rel == "." else rel.replace(os.sep, "."))


def check_name(name):
    """None if `name` may be imported on the board, else the reason it may not."""
    top = name.split(".")[0]
    if name in FORBIDDEN:
        return FORBIDDEN[name]
    if top in FORBIDDEN:
        return FORBIDDEN[top]
    if top == OWN_PACKAGE:
        return None if _own_module_exists(name) else "no such firmware module firmware/lib/%s" % (
            name.replace(".", "/"))
    if name in ESP32_MODULES or name in MICROPYTHON_LIB:
        return None
    if top in ESP32_MODULES:
        return "the ESP32 build has %s but no submodule %s" % (top, name)
    return "not a module of an ESP32 MicroPython build (add it to the allow-list in " \
           "tests/test_firmware_imports.py only if the board really has it)"


def _guarded_by_import_error(node, parents):
    """True when `node` sits in a try whose handlers catch ImportError (optional import)."""
    child = node
    p = parents.get(node)
    while p is not None:
        if isinstance(p, ast.Try) and child in p.body:
            for h in p.handlers:
                names = []
                if h.type is None:
                    return True
                for t in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]):
                    if isinstance(t, ast.Name):
                        names.append(t.id)
                if {"ImportError", "Exception", "BaseException"} & set(names):
                    return True
        child, p = p, parents.get(p)
    return False


def import_problems(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    parents = {}
    for n in ast.walk(tree):
        for c in ast.iter_child_nodes(n):
            parents[c] = n
    problems = []
    for node in ast.walk(tree):
        candidates = []  # lists of alternative names; the import is fine if any is fine
        if isinstance(node, ast.Import):
            candidates = [[a.name] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                pkg = _package_of(path)
                if pkg is None:
                    problems.append("%s:%d: relative import outside firmware/lib" % (
                        _rel(path), node.lineno))
                    continue
                parts = pkg.split(".") if pkg else []
                parts = parts[:len(parts) - (node.level - 1)] if node.level > 1 else parts
                module = ".".join(parts + ([module] if module else []))
            for a in node.names:
                # `from pkg import mod` imports a submodule; `from mod import name` an object.
                if module.split(".")[0] == OWN_PACKAGE and a.name != "*" and \
                        not _own_module_exists(module + "." + a.name) and \
                        _own_module_exists(module) and a.name not in _own_names(module):
                    problems.append("%s:%d: from %s import %s: no such name or module in "
                                    "the firmware" % (_rel(path), node.lineno, module, a.name))
                    continue
                candidates.append([module + "." + a.name, module] if module else [a.name])
        for alts in candidates:
            reasons = [check_name(n) for n in alts]
            if all(reasons):
                if alts[0].split(".")[0] != "host_sim" and _guarded_by_import_error(node, parents):
                    continue  # optional import with a fallback: harmless on the board
                problems.append("%s:%d: import %s: %s" % (
                    _rel(path), node.lineno, alts[-1], reasons[-1]))
    return problems


FILES = firmware_files()


def test_there_are_firmware_files():
    assert any(f.endswith(".py") for f in FILES)


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_imports_exist_on_an_esp32(path):
    problems = import_problems(path)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_the_checker_refuses_what_it_must(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import typing\nfrom host_sim import wasm\nimport os.path\nimport hmac\n"
                   "from wildcam import no_such_module\nimport utime\n"
                   "try:\n    import host_sim\nexcept ImportError:\n    pass\n"
                   "try:\n    import dataclasses\nexcept ImportError:\n    dataclasses = None\n"
                   "import time, machine\nfrom umqtt.simple import MQTTClient\n"
                   "from umqtt import robust\nfrom wildcam.core.storage import join\n")
    problems = import_problems(str(bad))
    joined = "\n".join(problems)
    for needle in (":1: import typing", ":2: import host_sim", ":3: import os.path",
                   ":4: import hmac", ":5: from wildcam import no_such_module", ":6: import utime",
                   ":8: import host_sim"):
        assert needle in joined, (needle, joined)
    assert len(problems) == 7, joined  # dataclasses is guarded; the rest is allowed
