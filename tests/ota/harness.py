"""A simulated ESP32-CAM that runs boot.py's slot decision, "imports" the selected version and
runs the real App with the OTA updater and health gate wired in, as the lead will wire them.

Under host_sim every board shares one imported firmware, so a version's *behaviour* comes
from what was really downloaded: the slot's `wildcam/core/version.py` is executed (a broken
build raises there) and may set `SIM_FAULT` ("hang": the loop is stuck before anything
feeds the watchdog; "nonet": this version cannot reach the network). For firmware images
the same marker sits after the 0xE9 magic byte of the running partition.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
from pathlib import Path

import esp32
import machine

from host_sim import Board, WifiModel, scenes
from host_sim.demo import provision
from host_sim.errors import PowerCut
from host_sim.lifecycle import Halt
from tools.ota import make_bundle

from wildcam.ota import boot as ota_boot
from wildcam.ota.manifest import OtaError

ROOT = Path(__file__).resolve().parents[2]
FACTORY = "0.1.0"
GATE = (120_000, 600_000)  # min run, deadline (ms)


class Server:
    """Bundles in a folder, fetched as http://ota/<path> (chunked, resumable)."""

    def __init__(self, root: Path):
        self.root = root
        self.served = 0
        self.truncate: dict[str, int] = {}  # rel path -> bytes actually served

    def url(self, name: str) -> str:
        return f"http://ota/{name}/manifest.json"

    def fetch(self, url: str, offset: int = 0):
        rel = url.split("http://ota/", 1)[1]
        p = self.root / rel
        if not p.exists():
            raise OtaError(f"HTTP 404 {url}")
        data = p.read_bytes()[:self.truncate.get(rel, None)]

        def gen():
            for i in range(offset, len(data), 4096):
                part = data[i:i + 4096]
                self.served += len(part)
                yield part
        return gen()


def app_tree(build: Path, out: Path, version: str, fault: str | None = None,
             broken: bool = False) -> Path:
    """A built lib tree (tools/flash.py build) with this version's version.py."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(build, out)
    (out / "wildcam" / "core" / "version.mpy").unlink(missing_ok=True)
    text = f'VERSION = "{version}"\n'
    if fault:
        text += f'SIM_FAULT = "{fault}"\n'
    if broken:
        text += 'raise ImportError("broken build: no module named wildcam.nothing")\n'
    (out / "wildcam" / "core" / "version.py").write_text(text)
    return out


def fw_image(fault: str | None = None, size: int = 96 * 1024 + 123) -> bytes:
    head = b"\xe9SIM:" + (fault or "ok").encode() + b"\n"
    body = hashlib.sha256(head).digest() * (size // 32 + 1)
    return (head + body)[:size]


class Plan:
    """What the test asks of the board, and what it saw."""

    def __init__(self, server: Server, keys):
        self.server = server
        self.keys = keys
        self.urls: list[str] = []
        self.results: list[dict] = []
        self.boots: list[tuple] = []  # (generation, path, version, fault)
        self.cut_bytes: int | None = None
        self.cut_ops: int | None = None
        self.apply_ops: list[tuple[int, int]] = []  # storage ops at start/end of each apply
        self.cut_blocks: int | None = None
        self.guards: list = []


class CutPartition:
    """The board's esp32.Partition with a power cut after `left` writeblocks calls."""

    def __init__(self, board, part, left):
        self.board, self.part, self.left = board, part, left

    def __getattr__(self, name):
        return getattr(self.part, name)

    def get_next_update(self):
        return CutPartition(self.board, self.part.get_next_update(), self.left)

    def writeblocks(self, block, buf, offset=None):
        if self.left <= 0:
            self.board.request_halt(Halt("powercut"))
            raise PowerCut("power cut in writeblocks")
        self.left -= 1
        return self.part.writeblocks(block, buf) if offset is None else \
            self.part.writeblocks(block, buf, offset)


def _running_fault() -> str | None:
    buf = bytearray(32)
    esp32.Partition(esp32.Partition.RUNNING).readblocks(0, buf)
    if bytes(buf[:5]) == b"\xe9SIM:":
        f = bytes(buf[5:]).split(b"\n")[0].decode()
        return None if f == "ok" else f
    return None


def make_entry(board: Board, plan: Plan):
    async def fw(storage):
        from wildcam.app import App

        path = ota_boot.select(storage)  # boot.py: counts trial boots, starts the WDT
        ns = {"VERSION": FACTORY}
        if path != "/lib":  # main.py imports the slot's package
            exec(storage.read(path + "/wildcam/core/version.py").decode(), ns)
        fault = ns.get("SIM_FAULT") or _running_fault()
        plan.boots.append((board.generation, path, ns["VERSION"], fault))
        if fault == "raise":
            if path != "/lib":  # main.py: the slot cannot be imported
                ota_boot.import_failed("ImportError: broken build", storage)
            raise ImportError("broken firmware image")
        if fault == "hang":
            await asyncio.Event().wait()  # stuck before any task runs
        part = None
        if plan.cut_blocks is not None:
            part = CutPartition(board, esp32.Partition(esp32.Partition.RUNNING),
                                plan.cut_blocks)
            plan.cut_blocks = None
        # the App's own OTA wiring (updater + health gate), with the test's key and server
        app = App(storage, ota_options={"keys": plan.keys, "fetch": plan.server.fetch,
                                        "version": FACTORY, "partition": part,
                                        "backoff_ms": 100})
        app.build()
        if fault == "nonet" and app.link is not None:
            app.link.ssid = "no-such-" + app.link.ssid
        plan.guards.append(app.guard)
        app.sup.add("ota-cmd", lambda: _command(board, plan, app.updater, app.reset),
                    critical=False, restart=False)
        await app.run()

    return fw


async def _command(board, plan, up, reset):
    """The 'start OTA' command: applies the planned URLs in order, each once nothing is
    pending any more."""
    await asyncio.sleep(30)
    while True:
        if plan.urls and not up.pending():
            if plan.cut_bytes is not None or plan.cut_ops is not None:
                board.cut_power(after_bytes=plan.cut_bytes, after_ops=plan.cut_ops)
                plan.cut_bytes = plan.cut_ops = None
            ops = board.storage.ops
            r = await up.apply(plan.urls[0])
            plan.apply_ops.append((ops, board.storage.ops))
            plan.urls.pop(0)
            plan.results.append(r)
            if r["reboot"]:
                reset()
        await asyncio.sleep(10)


def new_board(sim, tmp_path, name="cam", factory: Path | None = None, **kw):
    """A provisioned board; `factory`: the built lib tree tools/flash.py puts at /lib (its
    blocks are charged to the flash, as on a real board)."""
    b = Board(name, tmp_path, sim=sim, scene=scenes.empty(seed=1),
              wifi=WifiModel("sim-forest", "sim-password"), **kw)
    provision(b, burst=1, extra={"ota.gate_min_s": GATE[0] // 1000,
                                 "ota.gate_deadline_s": GATE[1] // 1000})
    if factory is not None:
        install_factory(b, factory)
    return b


def install_factory(board, factory: Path) -> None:
    shutil.copytree(factory, Path(board.flash.root) / "lib")
    board.flash.used = board.flash.scan_used()


def slot_dir(board, slot: str) -> Path:
    if slot in ("sa", "sb"):
        return Path(board.sd.root) / "slots" / slot[1]
    return Path(board.flash.root) / "slots" / slot


def pointer(board) -> dict | None:
    p = Path(board.flash.root) / "slots" / "active"
    return json.loads(p.read_text()) if p.exists() else None


def slot_files_ok(board, slot: str, bundle: Path) -> bool:
    m = json.loads((bundle / "manifest.json").read_text())
    if (slot_dir(board, slot) / "staging").exists():
        return False
    for f in m["files"]:
        p = slot_dir(board, slot) / f["path"]
        if not p.exists() or hashlib.sha256(p.read_bytes()).hexdigest() != f["sha256"]:
            return False
    return True


def bundle(server: Server, key, name: str, src: Path, version: str, created: int,
           kind="app", rollback=False, min_version="0.1.0") -> Path:
    out = server.root / name
    make_bundle(src, out, key, version, min_version, kind, rollback, created)
    return out
