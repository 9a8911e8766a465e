"""Shared helpers for benchmarks: result files, /proc I/O counters, a counting storage."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

import host_sim  # noqa: E402

host_sim.install()
from wildcam.core.storage import Storage  # noqa: E402


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def io_written() -> int:
    """Bytes this process has passed to write() so far (Linux /proc/self/io wchar)."""
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise RuntimeError("no wchar in /proc/self/io")


class DirStorage(Storage):
    """Board paths under a host folder, counting bytes written (flash wear)."""

    def __init__(self, root: str):
        self.root = root
        self.bytes = 0

    def real(self, path: str) -> str:
        return self.root + path

    def open(self, path, mode="rb"):
        f = super().open(path, mode)
        if "r" in mode and "+" not in mode:
            return f
        owner = self

        class Counted:
            def write(self, data):
                owner.bytes += len(data)
                return f.write(data)

            def __getattr__(self, name):
                return getattr(f, name)

            def __enter__(self):
                return self

            def __exit__(self, *a):
                f.close()

        return Counted()


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class QuietLog:
    """A logger for the firmware's services that drops everything (benchmarks time code)."""

    def info(self, *a):
        pass

    warning = error = debug = info


class FakeLink:
    """What the sync engine asks of wildcam.net.wifi.Link, with the link up or down at will."""

    def __init__(self, up=True):
        self.is_up = up

    def up(self):
        return self.is_up

    def poor(self):
        return False

    def slow(self):
        return False

    def note(self, nbytes, ms):
        pass
