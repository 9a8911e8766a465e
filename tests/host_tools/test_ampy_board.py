"""`flash.py deploy --tool ampy` with ampy's Pyboard replaced by a fake board at its API
(enter_raw_repl / exec_raw / exec_raw_no_follow / close): what is sent, that a damaged
transfer never replaces a file, and the refusals. The real ampy against the virtual board
is in test_vboard.py."""
import ast
import base64
import hashlib
import json
import re

import pytest

from tools import flash
from tools.flashing import ampy_board, siteconfig
from tools.flashing.board import MARK

pyboard = pytest.importorskip("ampy.pyboard", reason="adafruit-ampy (board extra) missing")
XTENSAWIN_63 = 6 | (3 << 8) | (10 << 10)
SITE = {"wifi": {"ssid": "forest"}, "device": {"site": "north"}, "mqtt": {"host": "10.0.0.2"}}


class FakeBoard:
    """One board's files, reached through any number of FakePyboard connections."""

    def __init__(self):
        self.files = {}
        self.connections = 0
        self.raw_entries = 0
        self.resets = 0
        self.execs = []
        self.corrupt = None  # remote path whose first chunk arrives altered
        self.refuse_raw = False
        self._open = None
        self._buf = b""

    def run(self, code):
        self.execs.append(code)
        if "sys.implementation" in code and "_mpy" in code:
            return MARK + json.dumps({"mpy": XTENSAWIN_63, "version": [1, 27, 0],
                                      "platform": "esp32", "machine": "ESP32CAM"}), ""
        if "_walk" in code:
            return MARK + json.dumps({p: hashlib.sha256(b).hexdigest()
                                      for p, b in self.files.items()}), ""
        if "version.VERSION" in code:
            return MARK + json.dumps({"version": siteconfig.firmware_version(),
                                      "problems": []}), ""
        if "os.mkdir" in code:
            return "", ""
        m = re.search(r"_f = open\('(.+?)', 'wb'\)", code)
        if m:
            self._open, self._buf = m.group(1), b""
            return "", ""
        m = re.fullmatch(r"_w\(b'([A-Za-z0-9+/=]*)'\)\n", code)
        if m:
            data = base64.b64decode(m.group(1))
            assert len(data) <= ampy_board.CHUNK
            if self.corrupt and self._open == self.corrupt + ".part" and not self._buf:
                data = b"X" + data[1:]
            self._buf += data
            return "", ""
        m = re.search(r"if _d == '([0-9a-f]+)'", code)
        if m:
            got = hashlib.sha256(self._buf).hexdigest()
            final = re.search(r"os\.rename\('(.+?)', '(.+?)'\)", code).group(2)
            if got == m.group(1):
                self.files[final] = self._buf
            self._open = None
            return MARK + got, ""
        m = re.search(r"for _p in (\[.*?\]):", code)
        if m:
            for p in ast.literal_eval(m.group(1)):
                self.files.pop(p, None)
            return "", ""
        raise AssertionError("unexpected code %r" % code[:80])


class FakePyboard:
    board = None

    def __init__(self, device, baudrate=115200, rawdelay=0, **kw):
        self.device, self.baudrate, self.rawdelay = device, baudrate, rawdelay
        self.board.connections += 1
        self.raw = False

    def enter_raw_repl(self):
        if self.board.refuse_raw:
            raise pyboard.PyboardError("could not enter raw repl")
        self.board.raw_entries += 1
        self.raw = True

    def exec_raw(self, command, timeout=10, data_consumer=None):
        assert self.raw
        out, err = self.board.run(command)
        return out.encode(), err.encode()

    def exec_raw_no_follow(self, command):
        assert "machine.reset()" in command
        self.board.resets += 1

    def exit_raw_repl(self):
        self.raw = False

    def close(self):
        pass


@pytest.fixture
def board(monkeypatch):
    b = FakeBoard()
    FakePyboard.board = b
    monkeypatch.setattr(pyboard, "Pyboard", FakePyboard)
    monkeypatch.setattr("time.sleep", lambda s: None)
    return b


def argv(tmp_path, *extra):
    site = tmp_path / "site.json"
    site.write_text(json.dumps(SITE))
    return ["deploy", "--tool", "ampy", "--port", "/dev/ttyUSB0", "--config", str(site),
            "--build-dir", str(tmp_path / "build"), *extra]


def test_deploy_through_ampy_copies_everything_once_then_nothing(board, tmp_path, capsys):
    assert flash.main(argv(tmp_path)) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "arch xtensawin" in out and "(ampy)" in out
    build = tmp_path / "build" / "lib"
    mpys = sorted(p for p in build.rglob("*.mpy"))
    assert mpys and all(board.files["/lib/" + p.relative_to(build).as_posix()] == p.read_bytes()
                        for p in mpys)
    assert board.files["/main.py"] == (flash.ROOT / "main.py").read_bytes()
    assert json.loads(board.files["/config.json"])["wifi"]["ssid"] == "forest"
    assert not any(p.endswith(".part") for p in board.files)
    # one connection and one raw-REPL entry up to the reset, one more for the check after it
    assert board.resets == 2 and board.connections == board.raw_entries == 2
    n = len(board.execs)
    assert flash.main(argv(tmp_path)) == 0
    assert "0 file(s) to copy" in capsys.readouterr().out
    assert not any("_w(" in c for c in board.execs[n:])


def test_a_damaged_transfer_keeps_the_old_file(board, tmp_path, capsys):
    old = b"old config.mpy"
    board.files["/lib/wildcam/core/config.mpy"] = old
    board.corrupt = "/lib/wildcam/core/config.mpy"
    assert flash.main(argv(tmp_path)) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "/lib/wildcam/core/config.mpy arrived damaged" in out and "old file was kept" in out
    assert board.files["/lib/wildcam/core/config.mpy"] == old


def test_ampy_cannot_do_mip_and_says_so_before_connecting(board, tmp_path, capsys):
    assert flash.main(argv(tmp_path, "--deps", "mip")) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "ampy cannot run mip" in out and "--tool mpremote" in out
    assert board.connections == 0


def test_no_raw_repl_gives_the_advice(board, tmp_path, capsys):
    board.refuse_raw = True
    assert flash.main(argv(tmp_path)) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "could not enter raw repl" in out and "flash MicroPython first" in out


def test_ampy_environment_settings_are_honoured(board, monkeypatch):
    monkeypatch.setenv("AMPY_BAUD", "57600")
    monkeypatch.setenv("AMPY_DELAY", "0.5")
    b = ampy_board.AmpyBoard("/dev/ttyUSB0")
    b.info()
    assert (b._pyb.baudrate, b._pyb.rawdelay) == (57600, 0.5)


def test_without_ampy_installed_the_error_says_what_to_install(monkeypatch, tmp_path, capsys):
    import builtins

    real = builtins.__import__

    def no_ampy(name, *a, **k):
        if name == "ampy" or name.startswith("ampy."):
            raise ImportError("No module named 'ampy'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ampy)
    assert flash.main(argv(tmp_path)) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "adafruit-ampy is not installed" in out and "pip install adafruit-ampy" in out
