"""The virtual board (tools/vboard.py: real MicroPython 1.27 wasm behind a pty) driven by the
real mpremote and the real ampy, and `flash.py deploy` end to end against it with each."""
import json
import subprocess
import sys

import pytest

from host_sim import wasm
from tools import flash
from tools.vboard import VirtualBoard

pytestmark = [pytest.mark.vboard,
              pytest.mark.skipif(not wasm.available(), reason=wasm.why_unavailable() or "")]


def mpremote(port, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def vb():
    with VirtualBoard() as b:
        yield b


def test_mpremote_exec_run_fs_and_resets(vb, tmp_path):
    r = mpremote(vb.port, "exec", "import sys; print(sys.implementation._mpy)")
    assert r.returncode == 0 and r.stdout.strip() == "774", r  # .mpy 6.3, no native arch
    data = bytes(range(256)) * 40
    (tmp_path / "blob.bin").write_bytes(data)
    (tmp_path / "hello.py").write_text("import os\nprint('hello from', sorted(os.listdir('/d')))\n")
    r = mpremote(vb.port, "fs", "mkdir", ":/d", "+", "fs", "cp", str(tmp_path / "blob.bin"),
                 ":/d/blob.bin", "+", "fs", "ls", ":/d", "+", "fs", "sha256sum", ":/d/blob.bin",
                 "+", "run", str(tmp_path / "hello.py"))
    assert r.returncode == 0, r
    import hashlib

    assert "10240 blob.bin" in r.stdout and hashlib.sha256(data).hexdigest() in r.stdout
    assert "hello from ['blob.bin']" in r.stdout
    # errno mapped: a missing file is ENOENT for mpremote, a second mkdir EEXIST
    r = mpremote(vb.port, "fs", "cat", ":/nope")
    assert r.returncode == 1 and "No such file or directory" in r.stdout + r.stderr
    r = mpremote(vb.port, "fs", "mkdir", ":/d")
    assert "File exists" in r.stdout + r.stderr
    # copy back, soft reset and hard reset keep the filesystem
    r = mpremote(vb.port, "fs", "cp", ":/d/blob.bin", str(tmp_path / "back.bin"), "+",
                 "soft-reset", "+", "exec", "x = 1", "+", "reset")
    assert r.returncode == 0 and (tmp_path / "back.bin").read_bytes() == data, r
    r = mpremote(vb.port, "exec", "import os; print(os.stat('/d/blob.bin')[6]); print(x)")
    assert "10240" in r.stdout and "NameError" in r.stdout + r.stderr  # fresh interpreter
    r = mpremote(vb.port, "fs", "rm", ":/d/blob.bin", "+", "fs", "ls", ":/d")
    assert r.returncode == 0 and "blob.bin" not in r.stdout.split("ls :/d")[-1]


def deploy_argv(tmp_path, port, *extra):
    site = tmp_path / "site.json"
    site.write_text(json.dumps({"wifi": {"ssid": "forest"}, "device": {"site": "north"},
                                "mqtt": {"host": "10.1.1.1"}}))
    fleet = tmp_path / "fleet"
    assert flash.main(["provision", "--ids", "wc-vb1", "--out", str(fleet)]) == 0
    return ["deploy", "--port", port, "--config", str(site), "--identity",
            str(fleet / "wc-vb1"), "--build-dir", str(tmp_path / "build"), *extra]


def test_deploy_end_to_end_and_the_firmware_imports_from_the_copy(vb, tmp_path, capsys):
    argv = deploy_argv(tmp_path, vb.port)
    assert flash.main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "arch none" in out and "skipped wildcam/capture/detect_viper.py" in out
    assert "deployed firmware" in out and "0 unchanged" in out
    # what mpremote copied boots (boot.py puts /lib first) and imports as .mpy
    check = ("import sys, json, wildcam\n"
             "from wildcam.core import version\nfrom wildcam.capture import blocks\n"
             "from wildcam.queue import outbox, sync\nfrom wildcam.manage import commands, remote\n"
             "from wildcam.core.config import Config\n"
             "from wildcam.core.storage import Storage\n"
             "c = Config(Storage()).load()\n"
             "print('@@' + json.dumps({'path1': sys.path[1], 'v': version.VERSION,\n"
             "  'file': sys.modules['wildcam.core.config'].__file__, 'problems': c.validate(), 'id': c.get('device.id'),\n"
             "  'key': bool(c.secret('cmd.hmac_key')), 'kernel': type(blocks.make_kernel(\n"
             "  160, 120, 8)).__name__}))\n")
    r = mpremote(vb.port, "exec", check)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("@@")]
    assert line, r
    got = json.loads(line[0][2:])
    assert got == {"path1": "/lib", "v": flash.siteconfig.firmware_version(),
                   "file": "/lib/wildcam/core/config.mpy", "problems": [], "id": "wc-vb1",
                   "key": True, "kernel": "SwarKernel"}
    r = mpremote(vb.port, "exec", "import wildcam\nprint(wildcam.config.validate())")
    assert "config OK" in r.stdout and "True" in r.stdout
    # the REPL helpers a new user types first, on the deployed firmware (issue 13)
    r = mpremote(vb.port, "exec", "import wildcam\nwildcam.status()")
    assert r.returncode == 0, r
    out = r.stdout
    assert "WildCAM %s  device wc-vb1" % flash.siteconfig.firmware_version() in out
    assert "psram     4096 KB" in out and "config    OK" in out and "reset     soft" in out
    assert "time      not set" in out  # the RTC starts at 2000-01-01 and no NTP ran
    r = mpremote(vb.port, "exec", "import wildcam\nwildcam.config.show()")
    assert r.returncode == 0, r
    assert '* device.id                  "wc-vb1"' in r.stdout
    assert "* cmd.hmac_key               (set)" in r.stdout  # a secret: never printed
    assert '  camera.board               "ai-thinker"' in r.stdout
    r = mpremote(vb.port, "exec", "import wildcam\nwildcam.test_capture()")
    assert r.returncode == 0 and "driver cnadler86)" in r.stdout, r
    jpg = tmp_path / "test.jpg"
    r = mpremote(vb.port, "fs", "cp", ":/sd/test.jpg", str(jpg))
    from PIL import Image
    with Image.open(jpg) as im:  # the frame went to the card whole: a 640x480 JPEG (VGA)
        assert (im.format, im.size) == ("JPEG", (640, 480))
    assert "saved /sd/test.jpg (%d bytes" % jpg.stat().st_size in " ".join(out.split()) or \
        jpg.stat().st_size > 5000
    # a second deploy finds everything in place
    assert flash.main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "0 file(s) to copy" in out and "deployed firmware" in out


def ampy(port, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", "ampy.cli", "--port", port, *args],
                          capture_output=True, text=True, timeout=timeout)


BOOTED = """import sys, json, hashlib, os
import wildcam, wildcam.app
from wildcam.core import version
from wildcam.core.config import Config
from wildcam.core.storage import Storage
c = Config(Storage()).load()
h = hashlib.sha256(open('/main.py', 'rb').read()).digest()
print('@@' + json.dumps({'path1': sys.path[1], 'v': version.VERSION,
  'app': sys.modules['wildcam.app'].__file__, 'main': ''.join('%02x' % b for b in h),
  'problems': c.validate(), 'id': c.get('device.id'), 'key': bool(c.secret('cmd.hmac_key')),
  'parts': [p for p in os.listdir('/lib/wildcam/core') if p.endswith('.part')],
  'baseline': 'urequests' in os.listdir('/lib')}))
"""


def test_deploy_with_ampy_and_the_board_boots_it(tmp_path, capsys):
    pytest.importorskip("ampy", reason="adafruit-ampy is in the board extra of pyproject.toml")
    import hashlib

    import serial

    with VirtualBoard(run_main=True) as vb:
        argv = deploy_argv(tmp_path, vb.port, "--tool", "ampy")
        assert flash.main(argv) == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "arch none" in out and "0 unchanged" in out and "(ampy)" in out, out
        # what ampy's own CLI finds there: the deployed boot.py put /lib first, the app and
        # the config come from the copied .mpy files, no half-written file was left
        script = tmp_path / "booted.py"
        script.write_text(BOOTED)
        r = ampy(vb.port, "run", str(script))
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("@@")]
        assert line, r
        got = json.loads(line[0][2:])
        assert got == {"path1": "/lib", "v": flash.siteconfig.firmware_version(),
                       "app": "/lib/wildcam/app.mpy", "problems": [], "id": "wc-vb1",
                       "key": True, "parts": [], "baseline": False,
                       "main": hashlib.sha256((flash.ROOT / "main.py").read_bytes()).hexdigest()}
        # a hard reset boots it: boot.py, then main.py hands the board to wildcam.app.main()
        # from the copied .mpy files, which runs until it needs what this board lacks
        # (sockets); a broken copy would stop at an ImportError of our own modules instead
        with serial.Serial(vb.port, 115200, timeout=0.2) as s:
            s.write(b"\x03\x02")
            s.read(4096)
            s.write(b"import machine\r\nmachine.reset()\r\n")
            console = b""
            for _ in range(100):  # until the app gave up and the REPL is back (<= 20 s)
                console += s.read(4096)
                if b"MicroPython v" in console.split(b"soft reboot")[-1]:
                    break
        text = console.decode(errors="replace").split("soft reboot")[-1]
        # it gets as far as building the services (this interpreter lacks the socket module
        # and asyncio.ThreadSafeFlag), through both halves of the wiring
        assert 'File "wildcam/app.py"' in text and "in main" in text, text
        assert 'File "wildcam/wiring.py"' in text or 'File "wildcam/devices.py"' in text, text
        assert "no module named 'wildcam" not in text and "SyntaxError" not in text, text


def test_vboard_machine_keeps_rtc_and_reset_cause_and_its_watchdog_bites(vb):
    r = mpremote(vb.port, "exec", "import machine\nr = machine.RTC()\n"
                 "r.datetime((2026, 6, 1, 0, 12, 0, 0, 0))\nr.memory(b'kept')\n"
                 "print(machine.reset_cause(), machine.unique_id())")
    assert r.returncode == 0 and "5 b'$\\n\\xc4\\x00\\x00\\x01'" in r.stdout, r
    r = mpremote(vb.port, "reset")
    # `resume`: no soft reset when this session starts, so the cause is the hard reset's
    r = mpremote(vb.port, "resume", "exec", "import machine\nprint(machine.reset_cause(), "
                 "machine.RTC().datetime()[:3], machine.RTC().memory())")
    assert "2 (2026, 6, 1) b'kept'" in r.stdout, r  # HARD_RESET; the RTC kept time and memory
    r = mpremote(vb.port, "exec", "import machine\nmachine.WDT(timeout=300)")
    assert r.returncode == 0, r
    import time
    time.sleep(1.5)  # not fed: the board resets
    r = mpremote(vb.port, "resume", "exec", "import machine\nprint(machine.reset_cause())")
    assert r.stdout.strip().endswith("3"), r  # WDT_RESET
    r = mpremote(vb.port, "exec", "import camera, esp32\n"
                 "c = camera.Camera(pixel_format=camera.PixelFormat.JPEG)\nv = c.capture()\n"
                 "print(v[0], bytes(v[:2]), esp32.raw_temperature(), "
                 "hasattr(esp32, 'mcu_temperature'))")
    assert "-1 b'\\xff\\xd8' 113 False" in r.stdout, r  # signed view; a classic ESP32


def test_vboard_command_prints_the_pty(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "tools.vboard"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=flash.ROOT)
    try:
        port = p.stdout.readline().strip()
        assert port.startswith("/dev/")
        r = mpremote(port, "exec", "print(6 * 7)")
        assert r.stdout.strip() == "42", r
    finally:
        _ctrl_c(p)


def test_vboard_stops_on_ctrl_c_where_sigint_was_ignored_at_start():
    """A CI runner or a shell without job control may start us with SIGINT ignored (Python
    then installs no KeyboardInterrupt handler): Ctrl-C must still stop the board."""
    import signal

    p = subprocess.Popen([sys.executable, "-m", "tools.vboard"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, cwd=flash.ROOT,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert p.stdout.readline().strip().startswith("/dev/")
    finally:
        assert _ctrl_c(p) == 0


def _ctrl_c(p):
    """Ctrl-C to the vboard process; its exit code (killed, and the timeout raised, if it
    does not stop within 10 s)."""
    import os
    import signal

    os.kill(p.pid, signal.SIGINT)
    try:
        return p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
