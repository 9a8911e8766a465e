#!/usr/bin/env python3
"""A virtual board for mpremote: the real MicroPython (wasm, under node) behind a pty.

    python -m tools.vboard               # prints the pty path, serves until Ctrl-C
    mpremote connect /dev/pts/7 fs ls    # in another terminal

    from tools.vboard import VirtualBoard
    with VirtualBoard() as vb:           # vb.port is the pty path
        subprocess.run(["mpremote", "connect", vb.port, "exec", "print(1)"])

The node side (tools/vboard.mjs) answers raw-paste with "R\\x00", maps errno numbers, and
restarts the interpreter on a soft reset keeping the filesystem. The board modules come from
tools/vboard_modules (machine, esp32, camera: an ESP32-CAM with the AI_THINKER camera image,
4 MB PSRAM and an SD card at /sd; docs/FIDELITY.md), so `wildcam.status()`,
`wildcam.config.show()` and `wildcam.test_capture()` work. The camera's JPEG frames are
rendered here, once per board, from a host_sim scene at every frame size. See
docs/HOST_TOOLS.md for what works (raw REPL, exec, run, fs cp/ls/cat/mkdir/rm/sha256sum,
soft reset, reset) and what does not (raw-paste, mount).
"""
from __future__ import annotations

import argparse
import os
import pty
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import tty
from pathlib import Path

from tools.ui import HelpFormatter

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "vboard.mjs"


def render_frames(folder: str, sizes: int = 16) -> None:
    """<frame size index>.jpg for the virtual camera: a still host_sim scene (an animal in
    front of the background) at every cnadler86 frame size up to UXGA, JPEG quality 85."""
    import io

    import host_sim
    from host_sim import scenes
    from host_sim.hw.camera_model import FRAME_DIMS
    from PIL import Image

    host_sim.install()
    scene = scenes.animal(seed=2, start=0.0, speed=0.05, size=0.3)
    for i, (w, h) in enumerate(FRAME_DIMS[:sizes]):
        buf = io.BytesIO()
        Image.frombytes("L", (w, h), scene.render(3.0, w, h, ir=False)).save(
            buf, "JPEG", quality=85)
        Path(folder, "%d.jpg" % i).write_bytes(buf.getvalue())


class VirtualBoard:
    def __init__(self, run_main: bool = False, heapsize: int = 4 << 20,
                 load: list[str] | None = None):
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH (install Node.js 20; scripts/setup.sh)")
        self._frames = tempfile.TemporaryDirectory(prefix="vboard-frames-")
        render_frames(self._frames.name)
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        argv = [node, str(SCRIPT), "--heapsize", str(heapsize), "--frames", self._frames.name]
        if run_main:
            argv.append("--run-main")
        for spec in load or []:
            argv += ["--load", spec]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     cwd=str(ROOT), bufsize=0)
        self._stop = False
        self._threads = [threading.Thread(target=self._to_node, daemon=True),
                         threading.Thread(target=self._from_node, daemon=True)]
        for t in self._threads:
            t.start()

    def _to_node(self):
        while not self._stop:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            try:
                self.proc.stdin.write(data)
            except (BrokenPipeError, ValueError):
                return

    def _from_node(self):
        while True:
            data = self.proc.stdout.read1(4096) if hasattr(self.proc.stdout, "read1") \
                else os.read(self.proc.stdout.fileno(), 4096)
            if not data:
                return
            try:
                os.write(self.master, data)
            except OSError:
                return

    def close(self):
        self._stop = True
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:  # EOF ends a REPL at its prompt; one left in raw mode by mpremote waits on
                self.proc.wait(2)
            except subprocess.TimeoutExpired:  # so Ctrl-C stops it within seconds anyway
                self.proc.kill()
                self.proc.wait(5)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self._frames.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _stop_on_signals() -> None:
    """Ctrl-C (and SIGTERM) stop the board even where SIGINT was ignored when this process
    started (a shell without job control starts background jobs so, and Python then keeps
    the ignore: Ctrl-C would do nothing)."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.vboard", description=__doc__,
                                 formatter_class=HelpFormatter)
    ap.add_argument("--run-main", action="store_true", help="run /main.py after a hard reset")
    ap.add_argument("--heapsize", type=int, default=4 << 20)
    ap.add_argument("--load", action="append", help="HOST_DIR:VFS_DIR copied in at start")
    a = ap.parse_args(argv)
    _stop_on_signals()
    vb = VirtualBoard(a.run_main, a.heapsize, a.load)
    try:  # from here on a Ctrl-C (even one that comes at once) closes the board
        print(vb.port, flush=True)
        print(f"virtual board ready: mpremote connect {vb.port} repl   (Ctrl-C here stops it)",
              file=sys.stderr, flush=True)
        vb.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        vb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
