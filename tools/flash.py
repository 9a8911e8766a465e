#!/usr/bin/env python3
"""Flash, build and provision WildCAM boards from a laptop.

Implemented now:
  build         compile firmware/lib to .mpy with mpy-cross (what a board receives)
  check-config  validate a site config (and secrets) with the firmware's own validator
Coming with the host-tools issue: erase/write a MicroPython image (esptool), deploy over
mpremote, provision batches of device identities.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

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
    sys.path.insert(0, str(FIRMWARE_LIB))
    from wildcam import jsonutil, migrate, schema, validate  # firmware's own rules

    problems: list[str] = []
    try:
        doc = json.loads(Path(args.config).read_text())
    except (OSError, ValueError) as e:
        print(f"error: {args.config}: {e}")
        return 1
    flat = jsonutil.flatten(doc)
    notes: list[str] = []
    flat = migrate.migrate(flat, flat.pop("version", 1), notes)
    if args.secrets:
        sflat = jsonutil.flatten(json.loads(Path(args.secrets).read_text()))
        problems += [f"{k}: not a secret; put it in the config file" for k in sorted(sflat)
                     if not schema.is_secret(k)]
        flat.update(sflat)
    problems += [f"{k}: is a secret; put it in the secrets file" for k in sorted(flat)
                 if schema.is_secret(k) and not args.secrets]
    problems += validate.validate(flat)
    for n in notes:
        print(f"note: {n}")
    for p in problems:
        print(f"error: {p}")
    if not problems:
        print(f"{args.config}: OK")
    return 1 if problems else 0


def cmd_later(args: argparse.Namespace) -> int:
    print(f"'{args.command}' is not implemented yet: it arrives with the host-tools issue "
          "(esptool + mpremote). Use 'build' and 'check-config' meanwhile.", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="flash.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile firmware to .mpy")
    b.add_argument("--out", default=str(ROOT / "build" / "board"))
    b.add_argument("--march", default="xtensawin")
    b.set_defaults(fn=cmd_build)
    c = sub.add_parser("check-config", help="validate a site config before flashing")
    c.add_argument("config")
    c.add_argument("--secrets")
    c.set_defaults(fn=cmd_check_config)
    for name in ("flash", "deploy", "provision"):
        sub.add_parser(name, help="coming with the host-tools issue").set_defaults(fn=cmd_later)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())
