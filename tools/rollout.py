"""`wildcam ota rollout`: a staged, signed OTA rollout that knows battery cameras.

Stages take a stable pseudo-random share of the fleet (`pick`): a later, larger stage keeps
the earlier stage's cameras. In each stage:
- a camera online gets the signed `ota` command and has `--watch` seconds to come back
  healthy on the new version (its reply, then its retained state);
- a camera asleep by design (status `asleep`, a battery camera between its windows) gets
  the command queued in its persistent session at the broker (signed `ttl`, `--ttl`) and
  confirms only at its next wake that brings the radio up: the rollout shows when each is
  expected (its retained `sleep.radio_at`, else `wake_at`) and waits until then plus
  `--watch` (at most `--asleep-wait`), instead of failing it for not answering now;
- a camera offline (lost its link, never seen) is left for a later run.
More than `--max-failures` failures stop the rollout before its next stage.

Healthy on the version: the retained state's firmware is the version and its update is
not pending (`ota.state`), with the camera online or asleep.
"""
from __future__ import annotations

import hashlib
import json
import math
import time

from rich.console import Console

from tools import fleet as mqtt_fleet
from tools.ui import HelpFormatter


def rank(device: str, version: str) -> str:
    """Stable pseudo-random order per version: a later, larger stage keeps the earlier
    stage's devices."""
    return hashlib.sha256(f"{version}:{device}".encode()).hexdigest()


def pick(devices: list[str], version: str, percent: float) -> list[str]:
    order = sorted(devices, key=lambda d: rank(d, version))
    return order[:math.ceil(len(order) * percent / 100.0)]


def expected_at(state: dict) -> float | None:
    """Unix time of a sleeping camera's next wake that brings its radio up, if it said."""
    sl = state.get("sleep") or {}
    at = sl.get("radio_at") or sl.get("wake_at")
    return float(at) if isinstance(at, (int, float)) and at > 0 else None


def _hhmm(t: float) -> str:
    return time.strftime("%H:%M UTC", time.gmtime(t))


class Stage:
    """One stage's cameras and what is known of each (the rollout's bookkeeping)."""

    def __init__(self, fleet, version: str, a):
        self.fleet, self.version, self.a = fleet, version, a
        self.deadline: dict[str, float] = {}  # device -> fleet clock time to be healthy by
        self.failed: dict[str, str] = {}

    def healthy(self, d: str) -> bool:
        st = self.fleet.state.get(d) or {}
        return ((st.get("sys") or {}).get("fw") == self.version
                and (st.get("ota") or {}).get("state") != "pending"
                and self.fleet.status.get(d) in ("online", "asleep"))

    def send(self, awake: list[str], asleep: list[str], console: Console) -> None:
        fleet, a = self.fleet, self.a
        now = fleet.clock()
        replies = mqtt_fleet.run_commands(fleet, awake + asleep, "ota", {"url": a.url}, a.keys,
                               a.timeout, ttl=int(a.ttl), wait_for=awake)
        for d in awake:
            r = replies[d]
            if r is None:
                self.failed[d] = "no reply to the ota command"
            elif not r.get("ok"):
                self.failed[d] = r.get("error") or json.dumps(r.get("result"))
            else:
                self.deadline[d] = now + a.watch
        for d in asleep:
            r = replies[d]
            if r is not None and not r.get("ok"):  # it woke meanwhile and refused
                self.failed[d] = r.get("error") or json.dumps(r.get("result"))
                continue
            at = expected_at(fleet.state.get(d) or {})
            until = min(now + a.asleep_wait, (at if at and at > now else now) + a.watch)
            self.deadline[d] = until
            when = f"expected at its next window ~{_hhmm(at)}" if at else \
                "its next wake is not known"
            console.print(f"{d}: [yellow]queued[/] (asleep: {when}; waiting until "
                          f"~{_hhmm(until)})", highlight=False)

    def wait(self, console: Console) -> set[str]:
        """Until every camera sent the command is healthy or past its deadline; returns the
        healthy ones, notes the rest in `failed`."""
        fleet = self.fleet
        left = set(self.deadline)
        done: set[str] = set()
        while left:
            for d in sorted(left):
                if self.healthy(d):
                    done.add(d)
                    left.discard(d)
                    if fleet.status.get(d) == "asleep":
                        console.print(f"{d}: on {self.version} (confirmed at its window)")
                elif fleet.clock() > self.deadline[d]:
                    why = (fleet.state.get(d) or {}).get("ota") or {}
                    self.failed[d] = (f"not healthy on {self.version} by ~"
                                      f"{_hhmm(self.deadline[d])} (link {fleet.status.get(d)}, "
                                      f"ota {json.dumps(why)})")
                    left.discard(d)
            if left:
                fleet.wait(lambda: any(self.healthy(d) for d in left), 1.0)
        return done


def cmd_ota(a, console: Console) -> int:
    stages = [float(p) for p in a.percent.split(",")]
    if any(not 0 < p <= 100 for p in stages) or stages != sorted(stages):
        raise SystemExit("error: --percent takes rising percentages in (0, 100], e.g. 10,50,100")
    if a.bundle:
        from tools import ota

        ota.main(["publish", a.bundle, "--to", a.to] if a.to else ["publish", a.bundle])
    fleet = mqtt_fleet.connect(a)
    try:
        fleet.settle(limit=a.wait)
        ids = sorted(set(mqtt_fleet.known_devices(a.keys)) | set(fleet.state))
        done = {d for d in ids if Stage(fleet, a.version, a).healthy(d)}
        failed: dict[str, str] = {}
        for pct in stages:
            wave = [d for d in pick(ids, a.version, pct) if d not in done]
            awake = [d for d in wave if fleet.status.get(d) == "online"]
            asleep = [d for d in wave if fleet.status.get(d) == "asleep"]
            console.print(f"stage {pct:g}%: {len(awake)} device(s) to update now, "
                          f"{len(asleep)} asleep (at their next window), {len(done)} already "
                          f"on {a.version}, {len(wave) - len(awake) - len(asleep)} offline "
                          f"(later)")
            stage = Stage(fleet, a.version, a)
            stage.send(awake, asleep, console)
            done |= stage.wait(console)
            failed.update(stage.failed)
            for d, why in sorted(failed.items()):
                console.print(f"{d}: [red]failed[/] {why}")
            if len(failed) > a.max_failures:
                console.print(f"[red]rollout stopped[/] at {pct:g}%: {len(failed)} failure(s) "
                              f"> --max-failures {a.max_failures}; {len(done)} on {a.version}")
                return 1
            console.print(f"stage {pct:g}% ok: {len(done)}/{len(ids)} on {a.version}")
    finally:
        fleet.close()
    return 0


def add_parser(sub) -> None:
    o = sub.add_parser("ota", help="staged OTA rollout", formatter_class=HelpFormatter)
    osub = o.add_subparsers(dest="ota_what", required=True)
    r = osub.add_parser("rollout", help="staged rollout; battery cameras at their next window",
                        description=__doc__, formatter_class=HelpFormatter)
    r.add_argument("--version", required=True)
    r.add_argument("--url", required=True, help="manifest URL the boards fetch")
    r.add_argument("--percent", default="100", help="stages, e.g. 10,50,100")
    r.add_argument("--bundle", help="signed bundle (tools/ota.py sign) to publish first")
    r.add_argument("--to", help="served folder to copy the bundle to")
    r.add_argument("--watch", type=float, default=300,
                   help="s to wait for health per stage (a sleeping camera: after its wake)")
    r.add_argument("--timeout", type=float, default=120, help="s to wait for command replies")
    r.add_argument("--ttl", type=float, default=3 * 86400,
                   help="s the command may wait at the broker for a sleeping camera (<= 7 days)")
    r.add_argument("--asleep-wait", type=float, default=26 * 3600,
                   help="s at most to wait for sleeping cameras' windows per stage")
    r.add_argument("--max-failures", type=int, default=0)
    r.set_defaults(fn=cmd_ota)
