"""tools/flash.py with esptool and mpremote mocked at the process boundary
(tools.flashing.proc.run): exact argument lists, the order of steps, and the advice given
when a step fails. mpy-cross runs for real."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools import flash
from tools.flashing import board as boardmod
from tools.flashing import build, proc

PY = sys.executable
SITE = {"wifi": {"ssid": "forest"}, "device": {"site": "north"}, "mqtt": {"host": "10.0.0.2"}}
XTENSAWIN_63 = 6 | (3 << 8) | (10 << 10)


def image(tmp_path, chip=0, camera=True):
    data = bytearray(4096)
    data[0] = 0xE9
    data[12:14] = chip.to_bytes(2, "little")
    if camera:
        data[100:106] = b"camera"
    p = tmp_path / "fw.bin"
    p.write_bytes(bytes(data))
    return p


class FakeTools:
    """Stands in for esptool and mpremote: records every argv, answers like the tools."""

    def __init__(self, mpy=XTENSAWIN_63, remote=None, fail=None):
        self.calls = []
        self.mpy = mpy
        self.remote = dict(remote or {})  # board path -> bytes
        self.fail = fail or {}  # first tool word -> (rc, output)
        self.version = None
        self.mp_version = [1, 27, 0]  # the board's MicroPython

    def __call__(self, argv, timeout=300):
        self.calls.append(argv)
        tool = argv[2]
        if tool in self.fail:
            rc, out = self.fail[tool]
            return subprocess.CompletedProcess(argv, rc, out, "")
        if tool == "esptool":
            return subprocess.CompletedProcess(argv, 0, "Hash of data verified.\n", "")
        assert argv[3:5] == ["connect", "/dev/ttyUSB0"]
        out = []
        for cmd in self._split(argv[5:]):
            out.append(self._mpremote(cmd))
        return subprocess.CompletedProcess(argv, 0, "\n".join(o for o in out if o), "")

    @staticmethod
    def _split(args):
        cmd = []
        for a in args:
            if a == "+":
                yield cmd
                cmd = []
            else:
                cmd.append(a)
        yield cmd

    def _mpremote(self, cmd):
        import hashlib

        if cmd[0] == "exec" and "sys.implementation" in cmd[1] and "_mpy" in cmd[1]:
            return boardmod.MARK + json.dumps({"mpy": self.mpy, "version": self.mp_version,
                                               "platform": "esp32", "machine": "ESP32CAM"})
        if cmd[0] == "exec" and "print(sys.implementation)" in cmd[1]:
            return "(name='micropython', version=(1, 27, 0, ''), _machine='ESP32CAM')"
        if cmd[0] == "exec" and "_walk" in cmd[1]:
            return boardmod.MARK + json.dumps(
                {p: hashlib.sha256(b).hexdigest() for p, b in self.remote.items()})
        if cmd[0] == "exec" and "os.mkdir" in cmd[1]:
            return ""
        if cmd[0] == "exec" and "version.VERSION" in cmd[1]:
            return boardmod.MARK + json.dumps({"version": self.version, "problems": []})
        if cmd[:2] == ["fs", "cp"]:
            self.remote[cmd[3][1:]] = Path(cmd[2]).read_bytes()
            return ""
        if cmd[:2] == ["fs", "rm"]:
            del self.remote[cmd[2][1:]]
            return ""
        if cmd == ["reset"]:
            return ""
        raise AssertionError("unexpected mpremote command %r" % cmd)

    def mp(self):
        return [c[5:] for c in self.calls if c[2] == "mpremote"]


@pytest.fixture
def tools(monkeypatch):
    from tools.flashing import siteconfig

    t = FakeTools()
    t.version = siteconfig.firmware_version()
    monkeypatch.setattr(proc, "run", t)
    monkeypatch.setattr("time.sleep", lambda s: None)
    return t


@pytest.fixture
def site(tmp_path):
    p = tmp_path / "site.json"
    p.write_text(json.dumps(SITE))
    return p


def test_flash_erases_then_writes_at_0x1000_then_waits_for_the_repl(tools, tmp_path, capsys):
    fw = image(tmp_path)
    assert flash.main(["flash", "--port", "/dev/ttyUSB0", "--firmware", str(fw)]) == 0
    assert tools.calls == [
        [PY, "-m", "esptool", "--chip", "esp32", "--port", "/dev/ttyUSB0", "erase_flash"],
        [PY, "-m", "esptool", "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud", "460800",
         "write_flash", "-z", "0x1000", str(fw)],
        [PY, "-m", "mpremote", "connect", "/dev/ttyUSB0", "exec",
         "import sys; print(sys.implementation)"],
    ]
    assert "MicroPython is up" in capsys.readouterr().out


@pytest.mark.parametrize("chip,camera,needle", [(9, True, "ESP32-S3, not ESP32"),
                                                (0, False, None)])
def test_image_is_checked_before_erasing(tools, tmp_path, capsys, chip, camera, needle):
    fw = image(tmp_path, chip=chip, camera=camera)
    rc = flash.main(["flash", "--port", "/dev/ttyUSB0", "--firmware", str(fw)])
    out = capsys.readouterr().out
    if needle:
        assert rc == 1 and needle in out and "next:" in out
        assert tools.calls == []  # nothing erased
    else:
        assert rc == 0 and "no `camera` module" in out


def test_not_an_image_is_refused(tools, tmp_path, capsys):
    p = tmp_path / "fw.uf2"
    p.write_bytes(b"UF2\n" + bytes(100))
    assert flash.main(["flash", "--port", "/dev/ttyUSB0", "--firmware", str(p)]) == 1
    assert "not an ESP32 firmware image" in capsys.readouterr().out and tools.calls == []


@pytest.mark.parametrize("output,advice", [
    ("A fatal error occurred: Could not open /dev/ttyUSB0, the port is busy or doesn't exist.\n"
     "([Errno 16] could not open port /dev/ttyUSB0: [Errno 16] Device or resource busy)",
     "serial port is busy"),
    ("A fatal error occurred: Failed to connect to ESP32: No serial data received.",
     "IO0 to GND"),
    ("A fatal error occurred: This chip is ESP32-S3 not ESP32. Wrong --chip argument?",
     "not an ESP32"),
    ("([Errno 13] could not open port /dev/ttyUSB0: [Errno 13] Permission denied)", "dialout"),
])
def test_esptool_failures_say_what_to_do(tools, tmp_path, capsys, output, advice):
    tools.fail["esptool"] = (2, output)
    assert flash.main(["flash", "--port", "/dev/ttyUSB0", "--firmware", str(image(tmp_path))]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "esptool erase_flash failed" in out and advice in out
    assert len(tools.calls) == 1  # stopped at the first failure


def test_deploy_with_an_invalid_config_writes_nothing(tools, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"wifi": {"ssid": "x", "password": "pw"},
                               "capture": {"burst_count": 99}}))
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(bad)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "wifi.password: is a secret" in out and "capture.burst_count" in out
    assert "nothing was written" in out and tools.calls == []


def test_deploy_compiles_for_the_board_copies_all_then_only_changes(tools, tmp_path, site, capsys):
    ident = tmp_path / "fleet"
    assert flash.main(["provision", "--ids", "wc-one", "--out", str(ident)]) == 0
    argv = ["deploy", "--port", "/dev/ttyUSB0", "--config", str(site), "--identity",
            str(ident / "wc-one"), "--build-dir", str(tmp_path / "build")]
    assert flash.main(argv) == 0, capsys.readouterr().out
    mp = tools.mp()
    # order: info, hashes, copy batches, config+secrets, reset, verify, reset
    assert "_mpy" in mp[0][1] and "_walk" in mp[1][1]
    assert mp[-3:-2] == [["reset"]] and "version.VERSION" in mp[-2][1] and mp[-1] == ["reset"]
    cps = [c for m in mp for c in FakeTools._split(m) if c[:2] == ["fs", "cp"]]
    dests = [c[3] for c in cps]
    nfw = len(list(build.FIRMWARE_LIB.rglob("*.py")))
    assert ":/lib/wildcam/core/config.mpy" in dests and ":/lib/umqtt/simple.mpy" in dests
    assert ":/boot.py" in dests and ":/main.py" in dests
    assert len(dests) == nfw + 1 + 2 + 2  # firmware, umqtt, boot/main, config/secrets
    assert all(len(list(FakeTools._split(m))) <= 9 for m in mp)  # batches of 8 + mkdirs
    # the .mpy files are for this board: xtensawin, v6
    assert tools.remote["/lib/wildcam/core/config.mpy"][:2] == b"M\x06"
    assert tools.remote["/lib/wildcam/capture/detect_viper.mpy"][2] >> 2 == 10  # arch xtensawin
    cfg = json.loads(tools.remote["/config.json"])
    assert cfg["device"]["id"] == "wc-one" and cfg["wifi"]["ssid"] == "forest"
    sec = json.loads(tools.remote["/secrets.json"])
    assert sec["cmd"]["hmac_key"] == (ident / "wc-one" / "cmd.key").read_text().strip()
    assert not list(tmp_path.glob("wildcam-deploy-*"))  # no secrets left behind
    # second deploy: nothing changed, nothing copied; a stale module is removed
    tools.remote["/lib/wildcam/old.py"] = b"x = 1\n"
    tools.calls.clear()
    assert flash.main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "0 file(s) to copy" in out and "1 stale" in out
    cmds = [c for m in tools.mp() for c in FakeTools._split(m)]
    assert ["fs", "rm", ":/lib/wildcam/old.py"] in cmds
    assert not [c for c in cmds if c[:2] == ["fs", "cp"]]


def test_deploy_writes_the_deployment_record_to_the_board_and_the_register(tools, tmp_path,
                                                                          site, capsys):
    """The record goes to /deployment.json beside /config.json and to deployments.json beside
    the site config; its coordinates become device.lat/lon; a move is a second record."""
    cfg = json.loads(site.read_text())
    cfg["time"] = {"tz_offset_min": 120}
    site.write_text(json.dumps(cfg))
    dep = tmp_path / "oak.json"
    dep.write_text(json.dumps({"locationID": "oak-3", "locationName": "Oak ridge 3",
                               "latitude": 51.123456, "longitude": -0.987654,
                               "coordinateUncertainty": 15, "cameraHeight": 0.6,
                               "cameraTilt": -10, "cameraHeading": 225, "baitUse": False,
                               "featureType": "trailGame", "habitat": "beech forest",
                               "setupBy": "Ada Lovelace"}))
    argv = ["deploy", "--port", "/dev/ttyUSB0", "--config", str(site), "--device-id", "wc-7",
            "--deployment", str(dep), "--build-dir", str(tmp_path / "build")]
    assert flash.main(argv) == 0, capsys.readouterr().out
    on_board = json.loads(tools.remote["/deployment.json"])
    assert on_board["deploymentID"].startswith("wc-7-oak-3-") and on_board["cameraID"] == "wc-7"
    assert on_board["deploymentStart"].endswith("+02:00")  # the camera's local time
    assert on_board["featureType"] == "trailGame" and on_board["cameraHeading"] == 225
    cfg = json.loads(tools.remote["/config.json"])
    assert (cfg["device"]["lat"], cfg["device"]["lon"]) == (51.123456, -0.987654)
    reg = json.loads((tmp_path / "deployments.json").read_text())
    assert reg == [on_board]
    # moved: a second record with its own id and setup time joins the register
    dep.write_text(json.dumps({"deploymentID": "wc-7-pond", "locationID": "pond",
                               "latitude": 51.2, "longitude": -0.9,
                               "deploymentStart": "2026-07-01T09:00:00+02:00"}))
    assert flash.main(argv) == 0
    reg = json.loads((tmp_path / "deployments.json").read_text())
    assert sorted(r["deploymentID"] for r in reg) == sorted([on_board["deploymentID"],
                                                            "wc-7-pond"])


def test_deploy_refuses_a_bad_deployment_record_before_touching_the_board(tools, tmp_path,
                                                                          site, capsys):
    dep = tmp_path / "bad.json"
    dep.write_text(json.dumps({"latitude": 95, "longitude": 3, "featureType": "tree",
                               "cameraTilt": 12.5}))
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(site),
                       "--device-id", "wc-7", "--deployment", str(dep)]) == 1
    err = " ".join(capsys.readouterr().out.split())
    assert "latitude: 95.0 is outside -90..90" in err and "featureType: 'tree'" in err
    assert "cameraTilt: 12.5 is not an integer" in err
    assert tools.calls == [] and not (tmp_path / "deployments.json").exists()


def test_deploy_to_a_bytecode_only_board_skips_the_viper_kernel(tools, tmp_path, site, capsys):
    tools.mpy = 6 | (3 << 8)  # arch none (e.g. the wasm build)
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(site),
                       "--build-dir", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "detect_viper" in out
    assert "/lib/wildcam/capture/detect_viper.mpy" not in tools.remote
    assert tools.remote["/lib/wildcam/capture/detect.mpy"][2] == 0  # no arch bits


def test_deploy_refuses_an_old_mpy_version(tools, tmp_path, site, capsys):
    tools.mpy = 5 | (10 << 10)
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(site)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "loads .mpy v5" in out and "flash a current MicroPython" in out
    assert not [c for m in tools.mp() for c in FakeTools._split(m) if c[:2] == ["fs", "cp"]]


def test_deploy_refuses_a_micropython_older_than_1_22(tools, tmp_path, site, capsys):
    tools.mp_version = [1, 21, 0]  # loads our .mpy (v6), but has no asyncio TLS connections
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(site),
                       "--build-dir", str(tmp_path / "b")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "runs MicroPython 1.21.0" in out and "needs MicroPython 1.22.0 or newer" in out
    assert "flash a current MicroPython image first" in out
    assert not [c for m in tools.mp() for c in FakeTools._split(m) if c[:2] == ["fs", "cp"]]
    tools.mp_version = [1, 22, 0]
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(site),
                       "--build-dir", str(tmp_path / "b")]) == 0


def test_deploy_reports_a_version_mismatch(tools, tmp_path, site, capsys):
    tools.version = "0.0.1"
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(site),
                       "--build-dir", str(tmp_path / "b")]) == 1
    assert "runs firmware 0.0.1" in capsys.readouterr().out


def test_busy_port_on_deploy(tools, site, capsys):
    tools.fail["mpremote"] = (1, "mpremote: failed to access /dev/ttyUSB0 (it may be in use "
                                 "by another program)")
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(site)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "serial port is busy" in out


def test_deploy_with_mip_installs_the_pinned_deps(tools, tmp_path, site):
    from tools import mpylib

    orig = tools._mpremote
    tools._mpremote = lambda cmd: "" if cmd[0] == "mip" else orig(cmd)
    assert flash.main(["deploy", "--port", "/dev/ttyUSB0", "--config", str(site), "--deps",
                       "mip", "--build-dir", str(tmp_path / "b")]) == 0
    assert ["mip", "install", mpylib.mip_specs()[0]] in tools.mp()
    assert "/lib/umqtt/simple.mpy" not in tools.remote


def test_flash_and_deploy_in_one_command_checks_config_first(tools, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"capture": {"mode": "sometimes"}}))
    fw = image(tmp_path)
    assert flash.main(["--port", "/dev/ttyUSB0", "--firmware", str(fw), "--config",
                       str(bad)]) == 1
    assert tools.calls == []  # not even erased
    assert "wifi.ssid: required" in capsys.readouterr().out


def test_provision_makes_private_unique_identities(tmp_path):
    from tools.flashing import provision, siteconfig

    base = tmp_path / "base.json"
    base.write_text(json.dumps({"wifi": {"password": "pw"}}))
    out = tmp_path / "fleet"
    assert flash.main(["provision", "--count", "5", "--out", str(out), "--base-secrets",
                       str(base)]) == 0
    index = json.loads((out / "fleet.json").read_text())
    ids = [d["id"] for d in index["devices"]]
    assert len(set(ids)) == 5 and all(i.startswith("wc-") for i in ids)
    keys = set()
    for i in ids:
        sec = json.loads((out / i / "secrets.json").read_text())
        assert sec["wifi"]["password"] == "pw"
        keys.add(sec["cmd"]["hmac_key"])
        assert provision.device_key(out, i) == sec["cmd"]["hmac_key"]
        assert (out / i / "secrets.json").stat().st_mode & 0o077 == 0
        assert siteconfig.check({"wifi": {"ssid": "s"}}, sec)[0] == []
    assert len(keys) == 5
    assert flash.main(["provision", "--count", "2", "--out", str(out)]) == 0
    assert len(json.loads((out / "fleet.json").read_text())["devices"]) == 7
    assert flash.main(["provision", "--ids", ids[0], "--out", str(out)]) == 1  # no overwrite


def test_check_config_uses_the_firmware_rules(site, tmp_path, capsys):
    assert flash.main(["check-config", str(site)]) == 0
    bad = tmp_path / "b.json"
    bad.write_text(json.dumps({"wifi": {"ssid": "x"}, "capture": {"burstcount": 3}}))
    assert flash.main(["check-config", str(bad)]) == 1
    assert "burst_count" in capsys.readouterr().out  # the firmware's suggestion
