"""The main job against real servers: what `python -m host_sim` does when destinations are
given (`--s3`, `--azure`, `--mqtt`, `--influx`, or `--real`, which starts its own).

- The simulated clock is paced (`--speed`, virtual seconds per real second) so that servers
  checking request times agree with the cameras: `--real` starts its object stores on the
  simulation's clock (libfaketime); servers of your own must keep that time too, which the
  pre-flight (`Dests.check`) verifies from their `Date` header before anything runs.
- While the fleet runs, each camera's serial console is read as a technician would: the
  first request refused for its credentials (wrong secret or password) stops the run with
  the server's words on screen (exit code 3; the images stay queued on the cards), and
  every request refused for clock skew (S3 RequestTimeTooSkewed, Azure's request-time
  403) is counted.
- Afterwards everything is counted at the servers (host_sim/atserver.py) and lands under
  `server` in summary.json.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

from . import atserver
from .dests import DEFAULT_SPEED, DestError, Dests
from .serial import new_lines

_DEST_FLAGS = ("s3", "azure", "mqtt", "influx")
_REAL_OWN = ("s3", "azure", "mqtt")  # what --real starts itself
SETUP_LEAD_S = 10.0  # real seconds to start the servers and subscribe before 00:00
REFUSED = ("refused the credentials", "bad user name or password", "not authorised")
SKEW = ("RequestTimeTooSkewed", "request time off by")


class Live:
    def __init__(self, args, console) -> None:
        self.args = args
        self.console = console
        self.on = bool(args.real or any(getattr(args, f) for f in _DEST_FLAGS))
        if args.real and any(getattr(args, f) for f in _REAL_OWN):
            raise DestError("--real starts its own servers: leave out --s3/--azure/--mqtt "
                            "(or leave out --real to use yours; --influx may be added)")
        if not self.on and (args.hass or args.fallback_local or args.mqtt_user):
            Dests(args)  # raises: each of these needs a destination
            raise DestError("--fallback-local needs --s3 or --azure (or --real)")
        self.dests = Dests(args) if self.on and not args.real else None
        if args.chaos and not args.real:
            raise DestError("--chaos needs --real (it kills the servers it started)")
        signed = args.real or (self.dests is not None and self.dests.stores)
        # signed HTTP requests need the servers' time: pace; MQTT and InfluxDB check none,
        # so with only those the clock jumps freely and waits briefly for real replies
        self.speed = args.speed or (DEFAULT_SPEED if signed else None)
        # a real reply is waited for this long (real seconds) before virtual time moves on:
        # briefly when the clock jumps freely, longer when paced (see host_sim/vloop.py)
        self.io_grace = (0.05 if self.speed else 0.01) if self.on else 0.0
        self.real = None
        self.watch = None
        self.chaos = None
        self.stopped = False
        self.refused: list[dict] = []
        self.skew: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self.notes: list[str] = []

    # --- before the run ---------------------------------------------------------------------
    @contextlib.contextmanager
    def servers(self, sim, out: Path):
        if self.speed:  # --real: day 0:00 falls SETUP_LEAD s from now; servers start before
            sim.pace(self.speed, lead=SETUP_LEAD_S if self.args.real else 0.0)
        if not self.on:
            yield
            return
        try:
            if self.args.real:
                from .realrun import RealServers, missing_tools

                why = missing_tools()
                if why:
                    raise DestError("--real: " + why)
                self.real = RealServers(out / "servers", sim).start()
                self.real.args(self.args)
                self.dests = Dests(self.args)
            yield
        finally:
            if self.watch is not None:
                self.watch.close()
            if self.real is not None:
                self.real.stop()

    def prepare(self, sim) -> None:
        if not self.on:
            return
        self.notes = self.dests.check(sim)
        if self.real is not None:
            self.notes.insert(0, "servers: " + self.real.describe())
            if self.args.chaos:
                from .realrun import Chaos

                self.chaos = Chaos(self.real, self.args.hours * 3600)
        m = self.dests.spec.get("mqtt")
        if m and self.real is not None:
            m = self.real.owner_spec(self.dests.spec)["mqtt"]
        if m:
            try:
                self.watch = atserver.MqttWatch(m["host"], m["port"], m["user"], m["password"],
                                                m["prefix"])
            except Exception as e:  # noqa: BLE001 - refused or unreachable: say so
                raise DestError("mqtt: the broker at %s:%d refused our subscriber: %s"
                                % (m["host"], m["port"], e))
        elif self.dests.stores:
            self.notes.append("no --mqtt: events and health stay queued on the cards")
        for n in self.notes:
            self.console.print(n, markup=False, highlight=False)

    def begin(self, sim) -> None:
        """Just before the fleet starts: wait for the paced clock's anchor."""
        if sim.speed:
            late = sim.wait_anchor()
            if late > 0.5:
                self.notes.append("setup overran by %.1f s: the cameras start %.0f virtual s "
                                  "behind the servers' clock" % (late, late * sim.speed))
                self.console.print(self.notes[-1], markup=False, highlight=False)

    def board_config(self) -> tuple[dict, dict]:
        if not self.on:
            return {}, {}
        extra = dict(self.dests.config)
        if not self.dests.fallback_local:
            extra["sync.local_dir"] = ""  # nothing fails over to the folder unasked
        return extra, dict(self.dests.secrets)

    # --- during the run ---------------------------------------------------------------------
    def next_mark(self, now: float, until: float) -> float:
        marks = self.chaos.marks(now) if self.chaos else []
        return min([until] + marks)

    def after_step(self, fleet, now: float) -> None:
        if self.chaos is not None:
            self.chaos.due(now)
        for b in fleet.boards:
            lines, self._seen[b.name] = new_lines(b, self._seen.get(b.name, 0))
            for line in lines:
                if any(s in line for s in SKEW):
                    self.skew[b.name] = self.skew.get(b.name, 0) + 1
                if self.on and any(s in line for s in REFUSED):
                    self.refused.append({"camera": b.name, "t": round(now), "line": line})
                    self.stopped = True

    def waiting(self, board) -> bool:
        return atserver.undelivered(board) > 0

    # --- afterwards ---------------------------------------------------------------------------
    def count(self, fleet, sim) -> dict | None:
        if not self.on:
            return None
        if self.watch is not None:
            time.sleep(0.5)  # messages in flight to our subscriber
        spec = self.dests.spec
        if self.real is not None:  # count as the owner of the servers, whatever the cameras got
            spec = self.real.owner_spec(spec)
        found = atserver.listing(spec, clock=sim)
        out = atserver.tally(fleet.boards, self.dests.stores, found, self.watch,
                             self.dests.offsets)
        out["skew_refused"] = {"total": sum(self.skew.values()), "by_camera": self.skew}
        if self.args.hass and self.watch is not None:
            out["hass_entities"] = {b.name: self.watch.entities(b.name) for b in fleet.boards}
        out["refused_credentials"] = self.refused
        out["speed"] = sim.speed
        out["clock_lag_max_s"] = round(sim.lag_max, 1)
        out["notes"] = self.notes
        if self.chaos is not None:
            out["chaos"] = self.chaos.log
        return out

    def show(self, report: dict, console) -> None:
        srv = report.get("server")
        if srv is None:
            return
        from rich.table import Table

        stores = srv["stores"]
        t = Table(title="counted at the servers (%s%s)" % (
            " + ".join(stores) or "no object store", " + mqtt" if self.watch else ""))
        cols = ["camera", "images", "delivered", "partial", "queued", "dead", "lost", "dup",
                "bad sha256"]
        cols += stores + (["events seen/taken"] if self.watch else [])
        for c in cols:
            t.add_column(c, justify="left" if c == "camera" else "right")
        for name, r in srv["cameras"].items():
            ev = r.get("events")
            t.add_row(name, *(str(r[k]) for k in ("images", "delivered", "partial", "queued",
                                                   "dead", "lost", "duplicates", "bad_sha256")),
                      *(str(r["by_store"][s]) for s in stores),
                      *(["%d/%d" % (ev["seen_on_mqtt"], ev["taken"])] if ev else []))
        console.print(t)
        tot = srv["total"]
        console.print("at the servers: %d of %d images delivered, %d queued, %d dead-lettered, "
                      "%d lost, %d duplicates; requests refused for clock skew: %d; clock "
                      "lag max %.1f s at %gx" % (tot["delivered"], tot["images"], tot["queued"],
                                                 tot["dead"], tot["lost"], tot["duplicates"],
                                                 srv["skew_refused"]["total"],
                                                 srv["clock_lag_max_s"], srv["speed"] or 0),
                      markup=False, highlight=False)
        if "hass_entities" in srv:
            console.print("Home Assistant discovery: %s entities announced" % ", ".join(
                "%s %d" % kv for kv in srv["hass_entities"].items()), markup=False)
        for s, e in srv["errors"].items():
            console.print("[red]%s: could not list: %s" % (s, e))
        for s, keys in srv["missing"].items():
            why = ""
            if s == "azure" and any(c["server"] == "azure" for c in srv.get("chaos", [])):
                why = (" (Azurite keeps its blob index in memory and saves it every 5 s: a "
                       "kill -9 loses what it acknowledged in its last 5 s)")
            console.print("%s is missing %d image(s) the cameras had delivered and no longer "
                          "queue%s; they are at %s" % (
                              s, len(keys), why, ", ".join(x for x in srv["stores"] if x != s)),
                          markup=False, highlight=False)
        for c in srv.get("chaos", []):
            console.print("chaos: %s %s at %s" % (c["action"], c["server"],
                                                   time.strftime("%H:%M", time.gmtime(c["t"]))),
                          markup=False, highlight=False)
        if self.refused:
            r = self.refused[0]
            console.print("[bold red]stopped: %s's first upload was refused for its "
                          "credentials; the server said:" % r["camera"])
            console.print("  " + r["line"], markup=False, highlight=False, soft_wrap=True)
            console.print("fix the secret and run again; the images stay queued on the cards "
                          "(%d queued, %d lost)" % (tot["queued"], tot["lost"]),
                          markup=False, highlight=False)

    def exit_code(self, report: dict) -> int:
        srv = report.get("server")
        if srv is None:
            return 0
        if self.refused:
            return 3
        return 1 if srv["total"]["lost"] or srv["errors"] else 0
