"""`flash.py deploy`: config checked first, then compile for the board, copy what changed,
deps, config + secrets (+ the deployment record), reset, verify the running version.

`--deployment dep.json` (Camtrap DP deployments fields: locationID, latitude, longitude,
coordinateUncertainty, cameraHeight, cameraTilt, cameraHeading, baitUse, featureType,
habitat, setupBy ...) is completed (deploymentID, cameraID, cameraModel, deploymentStart =
now in the camera's local time), checked, written to the board as /deployment.json beside
/config.json (reported in every heartbeat), its coordinates put in device.lat/lon (the EXIF
GPS then says the same), and kept in `deployments.json` beside the site config: the
register `wildcam export --deployments` reads (add deploymentEnd there at pickup). A new
location is a new deployment: deploy again with the new record.

The board is reached through a transport chosen with `--tool`: mpremote (board.Board, the
default) or adafruit-ampy (ampy_board.AmpyBoard). Both offer the same steps (info, hashes,
copy, remove, reset, exec_json, mip_install, close), so the deploy is the same."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from . import build, siteconfig
from .ampy_board import AmpyBoard
from .board import MARK, Board
from .proc import ToolError

TOOLS = {"mpremote": Board, "ampy": AmpyBoard}

# asyncio.open_connection(host, port, ssl=SSLContext, server_hostname=...) arrived in
# MicroPython v1.22.0 (micropython commit bfd6ad94ff, "extmod/asyncio: Add ssl support with
# SSLContext"); every network step of the firmware awaits it (wildcam.net.stream).
MIN_MICROPYTHON = (1, 22, 0)
BATCH = 8  # files per mpremote run (each run costs a connect + soft reset)
OWNED = ("/lib/wildcam/", "/lib/umqtt/")  # stale files here are removed (.py shadows .mpy)

VERIFY = ("import json\nfrom wildcam.core import version\nfrom wildcam.core.config import Config\n"
          "from wildcam.core.storage import Storage\n"
          "print(%r + json.dumps({'version': version.VERSION, "
          "'problems': Config(Storage()).load().validate()}))" % MARK)


def dep_lib(mode: str) -> Path | None:
    """Folder of micropython-lib modules to copy, or None when mip installs them."""
    from tools import mpylib

    if mode == "mip":
        return None
    if not all((mpylib.LIB / p).exists() for p in ("umqtt/simple.py",)):
        try:
            mpylib.fetch(quiet=True)
        except BaseException as e:  # noqa: BLE001 - offline without a cache
            raise ToolError(f"micropython-lib deps are not cached and cannot be fetched: {e}",
                            "run `python tools/mpylib.py fetch` once while online, or use "
                            "--deps mip with the board online") from None
    return mpylib.LIB


def check_micropython(info: dict) -> None:
    """Refuse a board whose MicroPython is older than MIN_MICROPYTHON, in plain words."""
    have = tuple(int(x) for x in (info.get("version") or (0, 0, 0))[:3])
    if have < MIN_MICROPYTHON:
        need = ".".join(map(str, MIN_MICROPYTHON))
        raise ToolError(f"the board runs MicroPython {'.'.join(map(str, have))}; this firmware "
                        f"needs MicroPython {need} or newer (its network code uses asyncio "
                        f"connections with TLS, which {need} added); nothing was copied",
                        "flash a current MicroPython image first (flash.py flash --port PORT "
                        "--firmware ESP32_GENERIC-...-v1.2x.bin), then deploy again")


def plan(local: dict[str, Path], remote: dict[str, str | None]):
    """(to copy [(local, remote)], unchanged count, stale remote paths)."""
    copy = [(str(p), r) for r, p in sorted(local.items())
            if remote.get(r) is None or remote[r] != build.sha256(p)]
    stale = sorted(r for r in remote if r.startswith(OWNED) and r not in local)
    return copy, len(local) - len(copy), stale


def prepare(a, console: Console) -> tuple[dict, dict | None]:
    """Load and check the config and secrets (nothing touches the board): (config, secrets)."""
    docs = []
    for path in [a.config] + (a.secrets or []):
        doc, err = siteconfig.load_json(path)
        if err:
            raise ToolError(err, "fix the JSON file (a trailing comma? quotes?) and retry")
        docs.append(doc)
    config = docs[0]
    secrets = siteconfig.merge(*docs[1:]) if len(docs) > 1 else None
    if a.device_id:
        config = siteconfig.merge(config, {"device": {"id": a.device_id}})
    a.deployment_rec = _deployment(a, config) if getattr(a, "deployment", None) else None
    if a.deployment_rec:
        config = siteconfig.merge(config, {"device": {"lat": a.deployment_rec["latitude"],
                                                      "lon": a.deployment_rec["longitude"]}})
    problems, notes = siteconfig.check(config, secrets)
    for n in notes:
        console.print(f"[yellow]note:[/] {n}")
    if problems:
        for p in problems:
            console.print(f"[red]config:[/] {p}")
        raise ToolError(f"the config is invalid ({len(problems)} problem(s)); nothing was "
                        "written to the board",
                        f"fix {a.config}, check it with `flash.py check-config {a.config}`")
    return config, secrets


def open_board(a):
    """The transport for `a.tool` (refusing combinations it cannot do before any I/O)."""
    tool = getattr(a, "tool", "mpremote")
    if tool == "ampy" and a.deps == "mip":
        raise ToolError("ampy cannot run mip (there is no `ampy mip`)",
                        "drop --deps mip (the default cache copies the same micropython-lib "
                        "modules), or use --tool mpremote")
    return TOOLS[tool](a.port)


def _deployment(a, config: dict) -> dict:
    from tools.camtrap import deployfile

    doc, err = siteconfig.load_json(a.deployment)
    if err:
        raise ToolError(err, "fix the JSON file and retry")
    device = (config.get("device") or {}).get("id") or a.device_id
    if not device:
        raise ToolError("--deployment needs the device id", "give --identity or --device-id")
    tz = (config.get("time") or {}).get("tz_offset_min", 0)
    rec = deployfile.complete(doc, device, tz)
    problems = deployfile.validate(rec)
    if problems:
        raise ToolError(f"{a.deployment}: " + "; ".join(problems) + "; nothing was written to "
                        "the board", "fix the deployment record (Camtrap DP deployments fields)")
    return rec


def run(a, console: Console, prepared: tuple[dict, dict | None] | None = None) -> int:
    # 1. config and secrets, before the board is touched
    config, secrets = prepared or prepare(a, console)
    board = open_board(a)
    try:
        return _run(a, console, config, secrets, board)
    finally:
        board.close()


def _run(a, console: Console, config: dict, secrets: dict | None, board) -> int:
    t0 = time.monotonic()
    # 2. what the board runs
    with console.status("connecting to the board"):
        info = board.info()
    console.print(f"board: MicroPython {'.'.join(map(str, info['version']))} "
                  f"({info.get('machine') or info['platform']}); .mpy "
                  f"v{info.get('mpy_version')}.{info.get('mpy_sub')}, arch {info.get('arch') or 'none'}")
    check_micropython(info)
    # 3. compile for it
    lib = dep_lib(a.deps)
    out_dir = Path(a.build_dir)
    flags = [] if a.source else build.flags_for(info)
    with console.status(f"compiling with mpy-cross {' '.join(flags) or '(bytecode only)'}"):
        files, skipped = build.build(out_dir, flags, lib, source=a.source)
    for rel, why in skipped:
        console.print(f"[yellow]skipped[/] {rel}: {why}")
    # 4. compare and copy
    with console.status("reading file hashes on the board"):
        remote = board.hashes()
    copy, same, stale = plan(files, remote)
    console.print(f"{len(copy)} file(s) to copy, {same} unchanged, {len(stale)} stale")
    if stale:
        board.remove(stale)
    if copy:
        with Progress(TextColumn("copying"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}"), console=console) as prog:
            task = prog.add_task("", total=len(copy))
            for i in range(0, len(copy), BATCH):
                chunk = copy[i:i + BATCH]
                prog.update(task, description=chunk[-1][1])
                board.copy(chunk)
                prog.advance(task, len(chunk))
    if lib is None:
        from tools import mpylib

        with console.status("mip install " + " ".join(mpylib.mip_specs())):
            board.mip_install(mpylib.mip_specs())
    # 5. config and secrets (private temporary files, removed at once)
    with tempfile.TemporaryDirectory(prefix="wildcam-deploy-") as tmp:
        pairs = []
        dep = getattr(a, "deployment_rec", None)
        for name, doc in (("config.json", config), ("secrets.json", secrets),
                          ("deployment.json", dep)):
            if doc is None:
                continue
            p = Path(tmp, name)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(siteconfig.config_text(doc) if name == "config.json"
                        else json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"
                        if name == "deployment.json"
                        else json.dumps(doc, indent=1, sort_keys=True) + "\n")
            if remote.get("/" + name) != build.sha256(p):
                pairs.append((str(p), "/" + name))
        if pairs:
            with console.status("writing " + ", ".join(r for _, r in pairs)):
                board.copy(pairs)
    # 6. reset and verify
    want = siteconfig.firmware_version()
    if a.no_verify:
        board.reset()
        console.print(f"[green]deployed[/] in {time.monotonic() - t0:.1f} s (not verified)")
        _register(a, console)
        return 0
    with console.status("resetting and checking the running firmware"):
        board.reset()
        time.sleep(a.reset_wait)
        got = board.exec_json(VERIFY)
        board.reset()  # the check interrupted the app: start it again
    if got["version"] != want:
        raise ToolError(f"the board runs firmware {got['version']}, expected {want}",
                        "an OTA slot may be active: check `import wildcam; wildcam.status()`")
    for p in got["problems"]:
        console.print(f"[red]board config:[/] {p}")
    if got["problems"]:
        raise ToolError("the board reports config problems after the deploy",
                        "fix the config and deploy again")
    console.print(f"[green]deployed[/] firmware {want} to {a.port}: {len(copy)} file(s) "
                  f"copied, {same} unchanged, in {time.monotonic() - t0:.1f} s "
                  f"({getattr(a, 'tool', 'mpremote')})")
    _register(a, console)
    return 0


def _register(a, console: Console):
    """Keep the deployment record beside the site config (the export's register)."""
    rec = getattr(a, "deployment_rec", None)
    if not rec:
        return
    from tools.camtrap import deployfile
    from tools.camtrap.common import ExportError

    reg = Path(a.config).resolve().parent / deployfile.REGISTER
    try:
        deployfile.save_register(reg, rec)
    except ExportError as e:
        raise ToolError(f"the board is deployed, but the register was not updated: {e}",
                        f"fix {reg} and deploy again") from None
    console.print(f"deployment {rec['deploymentID']} ({rec.get('locationID') or 'no location id'}"
                  f", set up {rec['deploymentStart']}) recorded in {reg}")
