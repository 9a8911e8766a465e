#!/usr/bin/env python3
"""A virtual board for mpremote: the real MicroPython (wasm, under node) behind a pty.

    python -m tools.vboard               # prints the pty path, serves until Ctrl-C
    mpremote connect /dev/pts/7 fs ls    # in another terminal

    from tools.vboard import VirtualBoard
    with VirtualBoard() as vb:           # vb.port is the pty path
        subprocess.run(["mpremote", "connect", vb.port, "exec", "print(1)"])

The node side (tools/vboard.mjs) answers raw-paste with "R\\x00", maps errno numbers, and
restarts the interpreter on a soft reset keeping the filesystem. See docs/HOST_TOOLS.md for
what works (raw REPL, exec, run, fs cp/ls/cat/mkdir/rm/sha256sum, soft reset, reset) and
what does not (raw-paste, mount, an ESP32's hardware modules).
"""
from __future__ import annotations

import argparse
import os
import pty
import shutil
import subprocess
import sys
import threading
import tty
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "vboard.mjs"


class VirtualBoard:
    def __init__(self, run_main: bool = False, heapsize: int = 4 << 20,
                 load: list[str] | None = None):
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH (install Node.js 20; scripts/setup.sh)")
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        argv = [node, str(SCRIPT), "--heapsize", str(heapsize)]
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
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.vboard", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-main", action="store_true", help="run /main.py after a hard reset")
    ap.add_argument("--heapsize", type=int, default=4 << 20)
    ap.add_argument("--load", action="append", help="HOST_DIR:VFS_DIR copied in at start")
    a = ap.parse_args(argv)
    vb = VirtualBoard(a.run_main, a.heapsize, a.load)
    print(vb.port, flush=True)
    print(f"virtual board ready: mpremote connect {vb.port} repl   (Ctrl-C here stops it)",
          file=sys.stderr, flush=True)
    try:
        vb.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        vb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
