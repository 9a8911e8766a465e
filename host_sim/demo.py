"""The main job: simulated WildCAM boards running the real firmware against scripted scenes.

`python -m host_sim` boots each board with a site config written to its simulated flash,
runs a simulated day part (virtual time: hours pass in seconds), and prints what happened:
boots, PIR pulses from the scene, animal visits (ground truth from the scene generator),
images the firmware wrote to its SD card, flash/SD bytes written, and the board's own log.
Everything a board wrote stays under `--out` for inspection.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import install

install()
from .board import Board  # noqa: E402
from .constants import DEFAULT_EPOCH  # noqa: E402
from .scenes import Schedule  # noqa: E402
from .serial import consoles  # noqa: E402
from .simulation import Simulation  # noqa: E402
from .storage import Filesystem  # noqa: E402
from .hw.wifi import WifiModel  # noqa: E402


def site_config(device: str, burst: int) -> tuple[dict, dict]:
    """The config and secrets a technician would flash onto each camera."""
    config = {
        "version": 2,
        "device": {"id": device, "name": f"Simulated {device}", "site": "host_sim forest"},
        "wifi": {"ssid": "sim-forest"},
        "capture": {"burst_count": burst, "burst_interval_ms": 500, "quiet_s": 30},
        "sync": {"local_dir": "/cloud"},
        "log": {"level": "info"},
    }
    secrets = {"wifi": {"password": "sim-password"}}
    return config, secrets


def provision(board: Board, burst: int) -> None:
    config, secrets = site_config(board.name, burst)
    root = Path(board.flash.root)
    (root / "config.json").write_text(json.dumps(config, indent=1))
    (root / "secrets.json").write_text(json.dumps(secrets))


def images_on_sd(board: Board) -> list[str]:
    dcim = Path(board.sd.root) / "DCIM"
    return sorted(str(p.relative_to(board.sd.root)) for p in dcim.rglob("*.jpg")) \
        if dcim.exists() else []


def log_tail(board: Board, n: int) -> list[str]:
    """The last `n` lines of the board's flash log ring (newest file last)."""
    folder = Path(board.flash.root) / "log"
    files = []
    for p in folder.glob("*.log"):
        head = p.open("rb").readline().decode(errors="replace")
        seq = int(head.split("=")[1]) if head.startswith("#wildcam-log seq=") else -1
        files.append((seq, p))
    lines: list[str] = []
    for _, p in sorted(files):
        lines.extend(p.read_text(errors="replace").splitlines()[1:])
    return lines[-n:]


def run(args: argparse.Namespace, console: Console) -> dict:
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    days = max(1.0, args.hours / 24)
    seconds = args.hours * 3600
    t0 = time.monotonic()
    cloud = Filesystem("cloud", str(out / "cloud"), 1 << 40)  # the fleet's shared sink
    with Simulation(start=DEFAULT_EPOCH) as sim, consoles():
        boards = []
        for i in range(args.boards):
            name = f"cam-{i + 1:02d}"
            scene = Schedule(seed=args.seed + i, days=days, animals_per_day=args.animals)
            outages = [(o * 3600.0 + i * 600, o * 3600.0 + i * 600 + 1800)
                       for o in (3, 11, 19) if o < args.hours]
            board = Board(name, out, sim=sim, scene=scene, camera_driver=args.driver,
                          mounts={"cloud": cloud},
                          wifi=WifiModel("sim-forest", "sim-password", outages=outages))
            provision(board, args.burst)
            board.power_on()
            boards.append(board)
        step = 600.0
        with Progress(TextColumn("[bold]simulating"), BarColumn(),
                      TextColumn("{task.fields[clock]}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("sim", total=seconds, clock="")
            done = 0.0
            while done < seconds:
                chunk = min(step, seconds - done)
                sim.run_for(chunk)
                done += chunk
                progress.update(task, completed=done,
                                clock=time.strftime("%H:%M", time.gmtime(sim.wall())))
        results = [summarise(b, seconds) for b in boards]
    wall = time.monotonic() - t0
    report = {"boards": results, "simulated_hours": args.hours, "wall_seconds": round(wall, 2),
              "out": str(out)}
    (out / "summary.json").write_text(json.dumps(report, indent=1))
    show(report, boards, console, args.log_lines)
    return report


def summarise(b: Board, seconds: float) -> dict:
    visits = [e for e in b.scene.events if e[2] == "animal" and e[0] < seconds]
    pir_pulses = sum(1 for s, _ in b.scene._pir if s < seconds)
    rep = b.report()
    on_sd = images_on_sd(b)
    cloud = Path(b.mounts["cloud"].root) / b.name
    delivered = len(list(cloud.glob("*.jpg"))) if cloud.exists() else 0
    return {"name": b.name, "boots": rep["boots"], "state": rep["state"],
            "animal_visits": len(visits), "pir_pulses": pir_pulses,
            "images": len(on_sd), "delivered": delivered,
            "events_delivered": len(list(cloud.glob("*-ev.json"))) if cloud.exists() else 0,
            "camera_captures": rep["camera"]["captures"],
            "flash_bytes_written": rep["storage"]["flash"]["bytes"],
            "sd_bytes_written": rep["storage"]["sd"]["bytes"],
            "crashes": rep["counters"].get("crashes", 0)}


def show(report: dict, boards: list, console: Console, log_lines: int) -> None:
    t = Table(title=f"{len(boards)} board(s), {report['simulated_hours']} simulated hours "
                    f"in {report['wall_seconds']} s")
    cols = (("name", "camera"), ("boots", "boots"), ("animal_visits", "animals"),
            ("pir_pulses", "PIR"), ("images", "images"), ("delivered", "uploaded"),
            ("events_delivered", "events"), ("flash_bytes_written", "flash B"),
            ("sd_bytes_written", "SD B"), ("crashes", "crashes"))
    for c, label in cols:
        t.add_column(label, justify="right" if c != "name" else "left")
    for r in report["boards"]:
        t.add_row(*(str(r[c]) for c, _ in cols))
    console.print(t)
    if boards and log_lines:
        console.print(f"[bold]last {log_lines} lines of {boards[0].name}'s log ring on flash:")
        for line in log_tail(boards[0], log_lines):
            console.print("  " + line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"board files, logs and images: {report['out']}/<board>/ (summary.json)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host_sim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", type=int, default=3, help="number of cameras (default 3)")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    ap.add_argument("--seed", type=int, default=1, help="scene seed (deterministic runs)")
    ap.add_argument("--animals", type=int, default=12, help="animal visits per simulated day")
    ap.add_argument("--burst", type=int, default=3, help="images per trigger")
    ap.add_argument("--driver", choices=("cnadler86", "lemariva"), default="cnadler86",
                    help="camera driver the simulated firmware image has")
    ap.add_argument("--out", default=os.path.join("sim-out"), help="where board files go")
    ap.add_argument("--log-lines", type=int, default=12, help="log lines to show (0: none)")
    args = ap.parse_args(argv)
    run(args, Console() if sys.stdout.isatty() else Console(width=132))
    return 0
