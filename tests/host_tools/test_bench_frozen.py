"""bench frozen freezes the package as the board's manifest does, and without a MicroPython
checkout says so and writes nothing (CI has none)."""
import re

from bench import frozen
from bench.common import RESULTS, ROOT


def _package(text):
    m = re.search(r'^package\("wildcam", base_path=[^,]+, opt=(\d+)\)', text, re.M)
    assert m, text
    return m.group(1)


def test_the_unix_build_freezes_wildcam_as_the_board_manifest_does():
    board = (ROOT / "firmware" / "manifest.py").read_text()
    ours = frozen.MANIFEST % str(ROOT / "firmware" / "lib")
    assert _package(ours) == _package(board)
    assert str(ROOT / "firmware" / "lib") in ours


def test_without_a_checkout_nothing_is_measured_or_written(monkeypatch, capsys):
    monkeypatch.delenv("WILDCAM_MPY_SRC", raising=False)
    path = RESULTS / "frozen.json"
    before = path.read_bytes() if path.exists() else None
    assert frozen.run() == {}
    assert "WILDCAM_MPY_SRC" in capsys.readouterr().out
    assert (path.read_bytes() if path.exists() else None) == before
