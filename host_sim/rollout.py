"""A signed OTA rollout for the simulated fleet.

`Rollout` makes a signing key for the run, builds version `new_version` of the firmware
package (the repo's firmware/lib/wildcam with its version.py changed), and at `at_s`
publishes the signed bundle to the fleet's shared folder, where every board's periodic
manifest check (`ota.url = file:/cloud/ota/manifest.json`, hourly) finds it, verifies the
signature and hashes, stages it in its other slot, restarts on trial and confirms it once
the health gate passes.

`entry(board)` is what runs at each boot: the part of boot.py that picks the slot
(wildcam.ota.boot.select: trial-boot counting and rollback) and then the App with the run's
public key. All boards share one imported firmware in the simulator, so the staged files
are verified, written and switched to for real, but the code that runs is the same; the
version each board runs is read from its slot pointer.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import FIRMWARE_LIB

FACTORY = "0.1.0"
OTA_URL = "file:/cloud/ota/manifest.json"


class Rollout:
    def __init__(self, cloud_root: Path, at_s: float, new_version: str = "0.2.0"):
        from tools.ota import generate_key, key_id

        self.at_s = at_s
        self.version = new_version
        self.key = generate_key(2048)
        n = self.key.public_key().public_numbers().n
        self.keys = ((key_id(n), n),)
        self.target = Path(cloud_root) / "ota"
        self.published = False

    def config(self) -> dict:
        return {"ota.url": OTA_URL, "ota.check_h": 1}

    def entry(self, board):
        keys = self.keys

        def run(storage):
            from wildcam.ota import boot as ota_boot
            from wildcam.app import App

            path = ota_boot.select(storage)  # what boot.py does: pick the slot, count trials
            p = ota_boot.load_pointer(storage) or {}
            version = p.get("version") if path != "/lib" else FACTORY
            board.log("firmware", slot=path, version=version or FACTORY)
            return App(storage, ota_options={"keys": keys, "version": version or FACTORY}).run()

        return run

    def maybe_publish(self, now: float) -> bool:
        """Publish the signed bundle once `now` reaches `at_s`."""
        if self.published or now < self.at_s:
            return False
        from tools.ota import make_bundle

        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "src"
            shutil.copytree(Path(FIRMWARE_LIB) / "wildcam", src / "wildcam",
                            ignore=shutil.ignore_patterns("__pycache__"))
            (src / "wildcam" / "core" / "version.py").write_text(
                '"""The firmware\'s version."""\n\nVERSION = "%s"\n' % self.version)
            staging = Path(tmp) / "bundle"
            make_bundle(src, staging, self.key, self.version, FACTORY)
            if self.target.exists():
                shutil.rmtree(self.target)
            shutil.copytree(staging, self.target)  # manifest and files appear together
        self.published = True
        return True


def board_version(board) -> dict:
    """The slot pointer of a board after the run: version, slot, state."""
    import json

    p = Path(board.flash.root) / "slots" / "active"
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError):
        return {"version": FACTORY, "slot": "lib", "state": "factory"}
    return {"version": d.get("version"), "slot": d.get("slot"), "state": d.get("state")}
