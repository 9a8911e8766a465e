"""The firmware's layers are one-way: app -> (dest, ota, manage, capture, queue, power) -> net
-> core. Checked from every import statement (lazy ones inside functions included), so a
change that quietly reaches upward or sideways fails here with the line that does it."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "firmware" / "lib" / "wildcam"

# the part each top-level name of the package belongs to, and its layer (higher may use lower)
LAYER = {"core": 0, "net": 1, "dest": 2, "ota": 2, "manage": 2, "capture": 2, "queue": 2,
         "power": 2, "app": 3, "wiring": 3, "devices": 3, "__init__": 3}


def part_of(module: str) -> str:
    """'wildcam.net.http' -> 'net'; 'wildcam' -> '__init__'."""
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else "__init__"


def imports(path: Path):
    """(line, imported wildcam module) for every import in a file."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "wildcam":
                    yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "wildcam":  # from wildcam import core, app
                for a in node.names:
                    yield node.lineno, "wildcam." + a.name
            elif node.module.split(".")[0] == "wildcam":
                yield node.lineno, node.module


def violations(root: Path = PKG) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")  # wildcam/core/config
        me = rel.parts[1]  # the subsystem folder, or the top-level module's name
        if me not in LAYER:
            out.append(f"{rel}: not in any layer (add it to LAYER in {Path(__file__).name})")
            continue
        for line, mod in imports(path):
            other = part_of(mod)
            if other not in LAYER:
                out.append(f"{rel}.py:{line}: imports {mod}, which is in no layer")
            elif other != me and LAYER[other] >= LAYER[me] and LAYER[me] < 3:
                kind = "upward" if LAYER[other] > LAYER[me] else "sideways"
                out.append(f"{rel}.py:{line}: {me} imports {mod} ({kind})")
    return out


def test_layers_are_one_way():
    assert violations() == []


def test_a_planted_upward_import_is_caught(tmp_path):
    """The check itself works: core importing capture, net importing queue, and a
    middle part importing a sibling are each reported."""
    import shutil

    root = tmp_path / "wildcam"
    shutil.copytree(PKG, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "core" / "planted.py").write_text("def f():\n    from wildcam.capture import cam\n")
    (root / "net" / "planted.py").write_text("import wildcam.queue.outbox\n")
    (root / "capture" / "planted.py").write_text("from wildcam import dest\n")
    found = violations(root)
    assert any("core/planted.py:2: core imports wildcam.capture (upward)" in v for v in found)
    assert any("net/planted.py:1: net imports wildcam.queue.outbox (upward)" in v for v in found)
    assert any("capture/planted.py:1: capture imports wildcam.dest (sideways)" in v for v in found)
    assert len(found) == 3, found


@pytest.mark.parametrize("path", sorted(p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py")))
def test_no_module_over_400_lines(path):
    n = len((PKG / path).read_text().splitlines())
    assert n <= 400, f"{path} has {n} lines: split it by job (docs/ARCHITECTURE.md)"
