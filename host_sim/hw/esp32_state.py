"""Persistent esp32 state of one board: NVS and the OTA partitions with bootloader rollback.

NVS: values set since the last commit() live in RAM (visible to every NVS object of the
namespace on that board) and are lost at any reboot; committed values are in nvs.json in
the board folder and survive everything.

Partitions: the ESP32-CAM 4 MB OTA table (two 1.5 MB app slots). Contents are sparse files
(unwritten flash reads 0xFF). writeblocks without offset erases the block first; with an
offset it programs only (bits can go 1->0, as on NOR flash). Rollback follows ESP-IDF:
set_boot() marks the slot NEW; the next boot makes it PENDING_VERIFY; a reboot while still
PENDING_VERIFY marks it ABORTED and boots the previous slot.
"""
from __future__ import annotations

import json
import os
from typing import Dict, Optional

BLOCK = 4096
TYPE_APP = 0
TYPE_DATA = 1
# label, type, subtype, address, size
TABLE = (
    ("nvs", TYPE_DATA, 0x02, 0x9000, 0x4000),
    ("otadata", TYPE_DATA, 0x00, 0xD000, 0x2000),
    ("phy_init", TYPE_DATA, 0x01, 0xF000, 0x1000),
    ("ota_0", TYPE_APP, 0x10, 0x10000, 0x180000),
    ("ota_1", TYPE_APP, 0x11, 0x190000, 0x180000),
    ("vfs", TYPE_DATA, 0x81, 0x310000, 0xF0000),
)
APP_SLOTS = ("ota_0", "ota_1")
IMAGE_MAGIC = 0xE9


def _save_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, sort_keys=True)
    os.replace(tmp, path)


def _load_json(path: str, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


class NvsStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self.committed: Dict[str, Dict[str, list]] = _load_json(path, {})
        self.pending: Dict[str, Dict[str, Optional[list]]] = {}

    def get(self, ns: str, key: str) -> Optional[list]:
        p = self.pending.get(ns, {})
        if key in p:
            return p[key]
        return self.committed.get(ns, {}).get(key)

    def set(self, ns: str, key: str, kind: str, value) -> None:
        self.pending.setdefault(ns, {})[key] = [kind, value]

    def erase(self, ns: str, key: str) -> bool:
        if self.get(ns, key) is None:
            return False
        self.pending.setdefault(ns, {})[key] = None
        return True

    def commit(self, ns: str) -> None:
        changes = self.pending.pop(ns, {})
        space = self.committed.setdefault(ns, {})
        for k, v in changes.items():
            if v is None:
                space.pop(k, None)
            else:
                space[k] = v
        _save_json(self.path, self.committed)

    def drop_pending(self) -> None:
        self.pending.clear()


class OtaState:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.meta_path = os.path.join(folder, "otadata.json")
        m = _load_json(self.meta_path, None) or {
            "boot": "ota_0", "previous": "ota_0", "states": {"ota_0": "valid"}}
        self.meta = m
        self.running = m["boot"]
        self.rolled_back = False

    def _save(self) -> None:
        _save_json(self.meta_path, self.meta)

    def bootloader(self) -> str:
        """What the second-stage bootloader does at every boot; returns the running slot."""
        m = self.meta
        st = m["states"].get(m["boot"], "valid")
        self.rolled_back = False
        if st == "new":
            m["states"][m["boot"]] = "pending_verify"
        elif st == "pending_verify":
            m["states"][m["boot"]] = "aborted"
            m["boot"] = m["previous"]
            self.rolled_back = True
        self.running = m["boot"]
        self._save()
        return self.running

    def state(self, label: str) -> str:
        return self.meta["states"].get(label, "undefined")

    def set_boot(self, label: str) -> None:
        row = entry(label)
        if row[1] == TYPE_APP:
            head = self.read(label, 0, 1)
            if head[0] != IMAGE_MAGIC:
                raise OSError(5379, "ESP_ERR_OTA_VALIDATE_FAILED")
            if label != self.running:
                self.meta["previous"] = self.running
                self.meta["states"][label] = "new"
        self.meta["boot"] = label
        self._save()

    def mark_valid(self) -> None:
        if self.state(self.running) == "pending_verify":
            self.meta["states"][self.running] = "valid"
            self._save()

    # --- contents ----------------------------------------------------------------------------
    def _file(self, label: str) -> str:
        return os.path.join(self.folder, label + ".bin")

    def read(self, label: str, offset: int, n: int) -> bytes:
        size = entry(label)[4]
        if offset < 0 or offset + n > size:
            raise OSError(22, "read outside partition")
        try:
            with open(self._file(label), "rb") as f:
                f.seek(offset)
                data = f.read(n)
        except FileNotFoundError:
            data = b""
        return data + b"\xff" * (n - len(data))

    def program(self, label: str, offset: int, data: bytes, erase_first: bool) -> None:
        size = entry(label)[4]
        if offset < 0 or offset + len(data) > size:
            raise OSError(22, "write outside partition")
        if not erase_first:
            old = self.read(label, offset, len(data))
            data = bytes(a & b for a, b in zip(old, data))
        path = self._file(label)
        mode = "r+b" if os.path.exists(path) else "w+b"
        with open(path, mode) as f:
            f.seek(0, 2)
            end = f.tell()
            if end < offset:
                f.write(b"\xff" * (offset - end))
            f.seek(offset)
            f.write(data)

    def erase(self, label: str, block: int) -> None:
        self.program(label, block * BLOCK, b"\xff" * BLOCK, True)


def entry(label: str):
    for row in TABLE:
        if row[0] == label:
            return row
    raise ValueError("no partition %r" % label)
