"""The main job: a simulated WildCAM fleet running the real firmware for a day.

`python -m host_sim` boots each board with a site config written to its simulated flash,
runs a simulated day (virtual time: a day passes in seconds) with animals, wind, clouds and
night in each camera's scene, WiFi outages and a power cut per camera, lets queued uploads
drain, and reports: events, true and false triggers against the scene's ground truth,
missed visits, images, deliveries, lost (must be 0), duplicates, latency, energy; plus
`summary.json` and a self-contained `report.html` under `--out`.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tools.ui import HelpFormatter, make_console

from . import install

install()
from .constants import DEFAULT_EPOCH  # noqa: E402
from .dests import DestError, add_flags  # noqa: E402
from .facts import log_tail, summarise  # noqa: E402,F401 - log_tail re-exported for tests
from .fleet import FLEETS, Fleet, camera_names, provision  # noqa: E402,F401 - provision re-exported for tests
from .serial import consoles  # noqa: E402
from .simulation import Simulation  # noqa: E402


def _start_epoch(spec: str | None) -> float:
    if not spec:
        return float(DEFAULT_EPOCH)
    if spec == "now":
        return float(int(time.time()))
    import datetime as dt

    d = dt.datetime.fromisoformat(spec.replace("Z", "+00:00"))
    return (d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)).timestamp()


def run(args: argparse.Namespace, console: Console) -> dict:
    """The main job; with destinations it runs against real servers (host_sim/live.py)."""
    from .live import Live

    out = Path(args.out)
    live = Live(args, console)  # validates the destination flags (DestError) first
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    seconds = args.hours * 3600
    epoch = _start_epoch(args.start)
    if args.driver == "lemariva":
        args.image = "lemariva"
    t0 = time.monotonic()
    mailbox, mb_note = _mailbox(args, live, out, seconds)
    grace = live.io_grace or (mailbox.IO_GRACE if mailbox else 0.0)
    with _stopping(mailbox), Simulation(start=epoch, io_grace=grace) as sim, consoles(), \
            live.servers(sim, out):
        live.prepare(sim)
        extra, secrets = live.board_config()
        fleet = Fleet(sim, out, args.boards, args.seed, args.hours, animals=args.animals,
                      wind=args.wind,
                      burst=args.burst, image=args.image, extra=extra, secrets=secrets,
                      power_cuts=args.power_cuts, power=args.fleet,
                      ota_at=None if args.ota_at < 0 else args.ota_at,
                      per_board=mailbox.per_board if mailbox else None)
        (out / "deployments.json").write_text(json.dumps(fleet.deployments, indent=1,
                                                         sort_keys=True) + "\n")
        live.begin(sim)
        if mailbox:
            mailbox.begin(sim)
        fleet.start()
        with Progress(TextColumn("[bold]simulating"), BarColumn(),
                      TextColumn("{task.fields[clock]}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("sim", total=seconds, clock="")
            while sim.clock.now < seconds and not live.stopped:
                until = min(seconds, sim.clock.now + 600)
                if mailbox and not mailbox.done:
                    until = min(until, max(mailbox.at_s, sim.clock.now))
                fleet.step(live.next_mark(sim.clock.now, until))
                live.after_step(fleet, sim.clock.now)
                if mailbox and mailbox.due(sim.clock.now):
                    progress.stop()
                    mailbox.send(sim, fleet)
                    progress.start()
                progress.update(task, completed=sim.clock.now,
                                clock=time.strftime("%H:%M", time.gmtime(sim.wall())))
            if not live.stopped:
                fleet.drain(waiting=live.waiting)
        boards = [summarise(b, fleet, epoch) for b in fleet.boards]
        server = live.count(fleet, sim)
        mail = mailbox.result([b.name for b in fleet.boards]) if mailbox else \
            {"skipped": mb_note} if mb_note else None
        loop = loop_facts(sim.watch)
    report = {"boards": boards, "simulated_hours": args.hours, "start_epoch": epoch,
              "wall_seconds": round(time.monotonic() - t0, 2), "out": str(out), "loop": loop}
    if mail is not None:
        report["mailbox"] = mail
    if server is not None:
        report["server"] = server
        for b in boards:  # what the user sees is what the servers hold
            row = server["cameras"][b["name"]]
            b["delivered"], b["lost"], b["duplicates"] = (row["delivered"], row["lost"],
                                                          row["duplicates"])
            b["queued"], b["dead"] = row["queued"], row["dead"]
    for b in report["boards"]:
        b["images"], b["image_count"] = b.pop("images_list"), b["images"]
    (out / "summary.json").write_text(json.dumps(report, indent=1))
    html = None
    if args.report:
        try:
            from .report import write_report
        except ImportError:
            write_report = None
        if write_report is not None:
            html = write_report(report, out)
    show(report, fleet.boards, console, args.log_lines, html)
    show_mailbox(report, console)
    live.show(report, console)
    report["exit_code"] = live.exit_code(report)
    return report


def _mailbox(args, live, out: Path, seconds: float):
    """(Mailbox or None, why not): the command mailbox of a server-free run
    (host_sim/mailbox.py), when asked for (--cmd-at) and mosquitto is here."""
    from . import mailbox as mb

    if args.cmd_at < 0:
        return None, None
    if args.cmd_at * 3600 >= seconds:
        return None, "--cmd-at %g is past the end of the run" % args.cmd_at
    if live.on:
        return None, ("with your own destinations or --real, send commands with "
                      "`wildcam cmd --all` (the mailbox demo is for the server-free run)")
    why = mb.missing()
    if why:
        return None, why
    try:
        return mb.Mailbox(out, args.cmd_at * 3600).start(camera_names(args.boards)), None
    except Exception as e:  # noqa: BLE001 - the run goes on without, and says why
        return None, "mosquitto did not start: %s" % e


@contextlib.contextmanager
def _stopping(mailbox):
    """Stop the mailbox's broker and sender after the run, whatever happens."""
    if mailbox is None:
        yield
        return
    try:
        yield
    finally:
        mailbox.stop()


def _hm(t) -> str:
    return "-" if not isinstance(t, (int, float)) else time.strftime("%H:%M:%S",
                                                                   time.gmtime(t))


def show_mailbox(report: dict, console: Console) -> None:
    mb = report.get("mailbox")
    if mb is None:
        return
    if "skipped" in mb:
        console.print("command mailbox demo skipped: " + mb["skipped"], markup=False,
                      highlight=False, soft_wrap=True)
        return
    t = Table(title="signed `%s` sent to every camera at %s (wildcam cmd --all, ttl %g h) "
                    "through %s" % (mb["command"], _hm(mb["sent_at"]), mb["ttl_s"] / 3600,
                                    mb["broker"]))
    for c in ("camera", "power", "when sent", "executed (camera clock)", "reply received",
              "reply"):
        t.add_column(c)
    power = {b["name"]: b.get("power", "") for b in report["boards"]}
    for name, r in mb["cameras"].items():
        reply = ("ok, signature checked" if r["ok"] else "refused: %s" % r.get("error")) \
            if r["signed"] else "none yet"
        t.add_row(name, power.get(name, ""), r["at_send"], _hm(r["executed_at"]),
                  _hm(r["reply_at"]), reply)
    console.print(t)
    if mb.get("problem"):
        console.print("[red]mailbox: " + mb["problem"])


def loop_facts(watch) -> dict:
    """How long firmware steps held the shared loop (host_sim/stepwatch.py): the longest by
    virtual time is what a board would feel (modelled blocking), by wall time what CPython
    spent."""
    virt = [s for s in watch.virt_slow if s.firmware]
    wall = [s for s in watch.slow if s.firmware]
    return {"steps": watch.steps,
            "longest_virtual_ms": round(virt[0].virt_ms, 1) if virt else 0.0,
            "longest_virtual_at": "%s (%s)" % (virt[0].task, virt[0].where) if virt else "",
            "longest_wall_ms": round(wall[0].wall_ms, 1) if wall else 0.0,
            "blocking_socket_calls": len(watch.blocking), "dns_lookups": len(watch.dns)}


def battery_days_cell(energy: dict) -> str:
    """"140 (95-170)": central (low-high) battery days of a battery camera; "mains"."""
    d = energy.get("battery_days")
    if not d:
        return "mains"
    return f"{d['central']:g} ({d['low']:g}-{d['high']:g})"


def show(report: dict, boards: list, console: Console, log_lines: int, html) -> None:
    t = Table(title=f"{len(boards)} camera(s), {report['simulated_hours']:g} simulated hours "
                    f"in {report['wall_seconds']} s")
    cols = (("name", "camera"), ("power", "power"), ("animal_visits", "animals"), ("events", "events"),
            ("true_triggers", "true"), ("false_triggers", "false"),
            ("rejected_triggers", "rejected"), ("missed_visits", "missed"),
            ("image_count", "images"), ("delivered", "uploaded"), ("queued", "queued"),
            ("dead", "dead"), ("lost", "lost"),
            ("duplicates", "dup"), ("boots", "boots"))
    for c, label in cols:
        t.add_column(label, justify="right" if c != "name" else "left")
    t.add_column("firmware", justify="right")
    t.add_column("latency p50/p95 s", justify="right")
    t.add_column("mAh/day", justify="right")
    t.add_column("battery days", justify="right")
    for r in report["boards"]:
        lat = r["latency_s"]
        fw = r["firmware"]
        t.add_row(*(str(r[c]) for c, _ in cols), f"{fw['version']} {fw['state']}",
                  f"{lat['p50']}/{lat['p95']}",
                  str(r["energy"]["mah_per_day"]), battery_days_cell(r["energy"]))
    console.print(t)
    lost = sum(r["lost"] for r in report["boards"])
    queued = sum(r.get("queued", 0) for r in report["boards"])
    dead = sum(r.get("dead", 0) for r in report["boards"])
    console.print(f"lost images: {lost}" + (" (nothing lost)" if lost == 0 else " [red]!"))
    kept = sum(r.get("rejected_images", 0) for r in report["boards"])
    if kept:
        console.print(f"kept on the cards for review: {kept} image(s) of triggers the detector "
                      f"did not confirm (never sent, not lost; deletable like uploaded ones "
                      f"when a card fills)")
    if queued or dead:
        ages = [r["oldest_queued_s"] for r in report["boards"] if r.get("oldest_queued_s")]
        oldest = f", oldest {max(ages) / 3600:.1f} h" if ages else ""
        console.print(f"queued on the cameras: {queued} image(s){oldest} (safe on the card, "
                      f"sent at the next sync window); dead-lettered: {dead}")
    lp = report.get("loop")
    if lp:
        console.print(f"loop: {lp['steps']} steps; longest firmware step "
                      f"{lp['longest_virtual_ms']} ms of board time ({lp['longest_virtual_at']}), "
                      f"{lp['longest_wall_ms']} ms of host CPU; blocking socket calls: "
                      f"{lp['blocking_socket_calls']}", markup=False, highlight=False,
                      soft_wrap=True)
    if boards and log_lines:
        console.print(f"[bold]last {log_lines} lines of {boards[0].name}'s log ring on flash:")
        for line in log_tail(boards[0], log_lines):
            console.print("  " + line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"board files, logs and images: {report['out']}/<board>/ (summary.json)")
    if html:
        console.print(f"report: {html}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host_sim", description=__doc__,
                                 formatter_class=HelpFormatter)
    ap.add_argument("--boards", type=int, default=3, help="number of cameras (default 3)")
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    ap.add_argument("--seed", type=int, default=1, help="scene seed (deterministic runs)")
    ap.add_argument("--animals", type=int, default=12, help="animal visits per simulated day")
    ap.add_argument("--wind", type=int, default=3,
                    help="windy periods (false PIR pulses) per simulated day")
    ap.add_argument("--burst", type=int, default=3, help="images per trigger")
    ap.add_argument("--power-cuts", type=int, default=1, help="power cuts per camera")
    ap.add_argument("--ota-at", type=float, default=12.0,
                    help="hour at which a signed update 0.2.0 is published (-1: none)")
    ap.add_argument("--fleet", choices=FLEETS, default="mixed",
                    help="what powers the cameras: mixed (default, what the field runs: "
                         "battery cameras that deep-sleep between sync windows at 06:00 and "
                         "18:00, and every third camera, at least one, on mains), mains "
                         "(all always awake) or battery (all on batteries)")
    ap.add_argument("--cmd-at", type=float, default=2.0,
                    help="hour at which a signed `status` command is sent to every camera "
                         "through a private mosquitto (the command mailbox: battery cameras "
                         "asleep run it at their next wake; needs mosquitto, else skipped "
                         "with the reason; -1: none)")
    ap.add_argument("--battery", dest="fleet", action="store_const", const="battery",
                    help="all cameras on batteries (= --fleet battery)")
    ap.add_argument("--image", choices=("ai_thinker", "generic", "lemariva"),
                    default="ai_thinker",
                    help="MicroPython image the boards run: cnadler86 camera driver built "
                         "for the AI-Thinker (default) or generic (pins required), or the "
                         "legacy lemariva driver (docs/FIDELITY.md)")
    ap.add_argument("--driver", choices=("cnadler86", "lemariva"), default=None,
                    help="older spelling: lemariva = --image lemariva")
    ap.add_argument("--out", default="sim-out", help="where board files go")
    ap.add_argument("--no-report", dest="report", action="store_false",
                    help="skip report.html")
    ap.add_argument("--log-lines", type=int, default=8, help="log lines to show (0: none)")
    add_flags(ap)
    args = ap.parse_args(argv)
    console = make_console()
    try:
        return run(args, console)["exit_code"]
    except DestError as e:
        console.print("[bold red]error:[/] " + str(e), markup=True, highlight=False)
        return 2
