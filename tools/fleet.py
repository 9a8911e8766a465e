#!/usr/bin/env python3
"""Run a WildCAM fleet from a laptop over MQTT (console script `wildcam`).

    wildcam status [--stale 7200]                      every camera, from retained MQTT
    wildcam cmd wc-1a2b3c capture                      signed command, prints the reply
    wildcam cmd --all config_set '{"changes": {"capture.burst_count": 5}}'
    wildcam ota rollout --version 0.2.0 --url http://updates.lan/ota/0.2.0/manifest.json \\
        --percent 10,50,100                            staged; stops on the first failures;
                                                       battery cameras at their next window
    wildcam export camtrapdp --from s3://traps --out pkg ...   research export (tools/export.py;
                                                       `wildcam export --help`)

Common options: --broker HOST:PORT (default 127.0.0.1:1883), --user, --password (or
WILDCAM_MQTT_PASSWORD), --prefix wildcam, --keys DIR (the `flash.py provision` folder holding
each device's cmd.key). Topics and payloads: docs/MQTT.md; details: docs/HOST_TOOLS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from tools.flashing import provision
from tools.ui import HelpFormatter, make_console
from tools.wildcmd import sign_command, verify_reply


class Fleet:
    """One MQTT connection collecting retained state/status and command results."""

    def __init__(self, broker: str, user: str | None, password: str | None,
                 prefix: str = "wildcam", clock=time.time):
        """`clock`: Unix time the commands are signed with (the simulator passes its own)."""
        import paho.mqtt.client as paho

        self.prefix = prefix
        self.clock = clock
        self.state: dict[str, dict] = {}
        self.status: dict[str, str] = {}
        self.seen: dict[str, float] = {}  # host time a message about the device arrived
        self.results: list[tuple[str, dict]] = []
        self.cond = threading.Condition()
        self._subbed = threading.Event()
        self._last = time.monotonic()
        host, _, port = broker.partition(":")
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2,
                             client_id=f"wildcam-fleet-{os.getpid()}-{time.monotonic_ns() % 10**6}")
        if user:
            self.c.username_pw_set(user, password)
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(
            [(f"{prefix}/+/state", 1), (f"{prefix}/+/status", 1), (f"{prefix}/+/cmd/result", 1)])
        self.c.on_subscribe = lambda *a: self._subbed.set()
        self.c.on_message = self._on_message
        try:
            self.c.connect(host, int(port or 1883), keepalive=30)
        except OSError as e:
            raise SystemExit(f"error: cannot reach the broker {broker}: {e}\nnext: check "
                             "--broker (host:port) and that the broker runs")
        self.c.loop_start()
        if not self._subbed.wait(10):
            raise SystemExit("error: the broker did not accept the subscription (wrong "
                             "--user/--password?)")

    def _on_message(self, c, userdata, m):
        parts = m.topic.split("/")
        if len(parts) < 3:
            return
        dev, kind = parts[1], "/".join(parts[2:])
        with self.cond:
            self._last = time.monotonic()
            self.seen[dev] = time.time()
            try:
                if kind == "state":
                    self.state[dev] = json.loads(m.payload)
                elif kind == "status":
                    self.status[dev] = m.payload.decode(errors="replace")
                elif kind == "cmd/result":
                    self.results.append((dev, json.loads(m.payload)))
            except ValueError:
                pass
            self.cond.notify_all()

    def settle(self, quiet: float = 0.5, limit: float = 5.0) -> None:
        """Wait until retained messages stop arriving (quiet for `quiet` s)."""
        end = time.monotonic() + limit
        while time.monotonic() < end and time.monotonic() - self._last < quiet:
            time.sleep(0.05)

    def wait(self, pred, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def send(self, device: str, cmd: str, args: dict, key: str, ttl: int | None = None) -> dict:
        now = self.clock()
        msg = sign_command(cmd, args, device, key, ttl=ttl, seq=int(now * 1000), ts=int(now))
        self.c.publish(f"{self.prefix}/{device}/cmd", json.dumps(msg), qos=1).wait_for_publish(10)
        return msg

    def reply_to(self, device: str, msg: dict, key: str | None = None) -> dict | None:
        """The device's reply to `msg`: signed by the device (with `key`) and naming the
        command's id; anything else on the result topic is ignored."""
        for dev, r in self.results:
            if r.get("local"):
                continue
            if dev == device and r.get("id") == msg["nonce"] and \
                    (key is None or verify_reply(r, key, msg)):
                return r
        return None

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


# --- status ---------------------------------------------------------------------------------
def errors_of(state: dict) -> list[str]:
    out = []
    for name, part in sorted(state.items()):
        if isinstance(part, dict) and "error" in part and isinstance(part["error"], str):
            out.append(f"{name}: {part['error']}")
    ota = state.get("ota") or {}
    if ota.get("failed") or ota.get("why"):
        out.append(f"ota: {ota.get('why') or ota.get('failed')}")
    restarts = (state.get("tasks") or {}).get("restarts")
    if restarts:
        out.append(f"{restarts} task restarts")
    for alarm in (state.get("sync") or {}).get("alarms") or []:
        out.append(str(alarm))  # a destination held off: its configuration is refused
    return out


def accounting(q: dict, now: float) -> dict:
    """What a camera's `queue` report says about its images: delivered (a total the camera
    keeps), queued on the camera with the oldest item's age, dead-lettered with causes.
    Queued is never lost; lost (taken and now nowhere) is not something a camera can see:
    it is counted against the destination (`python -m host_sim`, tools/export.py)."""
    dl = q.get("dead_letters") if isinstance(q.get("dead_letters"), dict) else {}
    oldest = q.get("oldest_s")
    return {"delivered": q.get("delivered_total"), "queued": q.get("pending"),
            "oldest_queued_s": max(0.0, now - oldest) if isinstance(oldest, (int, float))
            and oldest > 0 else None,
            "dead": dl.get("count", q.get("dead")), "dead_reasons": dl.get("reasons") or {}}


def rows(fleet: Fleet, known: list[str], stale_s: float, now: float | None = None) -> list[dict]:
    now = time.time() if now is None else now
    out = []
    for dev in sorted(set(known) | set(fleet.state) | set(fleet.status)):
        st = fleet.state.get(dev) or {}
        sysd, q, p = st.get("sys") or {}, st.get("queue") or {}, st.get("power") or {}
        last = sysd.get("time")
        age = None if not isinstance(last, (int, float)) else max(0.0, now - last)
        link = fleet.status.get(dev, "never seen" if dev not in fleet.state else "?")
        out.append({"device": dev, "link": link, "last_seen": last, "age_s": age,
                    "stale": dev not in fleet.state or age is None or age > stale_s,
                    "battery_v": p.get("battery_v"), "battery_pct": p.get("battery_pct"),
                    "queue": q.get("pending"), "fw": sysd.get("fw"), "slot": sysd.get("slot"),
                    **accounting(q, now), "errors": errors_of(st)})
    return out


def _age(s: float | None) -> str:
    if s is None:
        return "-"
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= n:
            return f"{s / n:.1f}{unit} ago"
    return f"{s:.0f}s ago"


def cmd_status(a, console: Console) -> int:
    fleet = connect(a)
    try:
        fleet.settle(limit=a.wait)
        rs = rows(fleet, known_devices(a.keys), a.stale)
    finally:
        fleet.close()
    if a.json:
        print(json.dumps(rs, indent=1))
        return 0
    t = Table(title=f"WildCAM fleet ({len(rs)} cameras)")
    for col in ("device", "link", "last seen", "battery", "delivered", "queued (oldest)",
                "dead (causes)", "firmware", "errors"):
        t.add_column(col)
    for r in rs:
        bat = "-" if r["battery_v"] is None else f"{r['battery_v']:.2f} V" + (
            f" ({r['battery_pct']}%)" if r["battery_pct"] is not None else "")
        link = {"online": "[green]online[/]", "offline": "[red]offline[/]"}.get(r["link"], r["link"])
        t.add_row(r["device"], link, _age(r["age_s"]) + (" [yellow]STALE[/]" if r["stale"] else ""),
                  bat, "-" if r["delivered"] is None else str(r["delivered"]),
                  _queued(r), _dead(r),
                  f"{r['fw'] or '-'}" + (f" ({r['slot']})" if r["slot"] else ""),
                  "; ".join(r["errors"]) or "-")
    console.print(t)
    console.print("queued images are safe on the camera (sent at its next sync), never lost; "
                  "lost (taken and now nowhere) is counted against the destination, not here")
    return 0


def _queued(r: dict) -> str:
    if r["queued"] is None:
        return "-"
    age = r.get("oldest_queued_s")
    return str(r["queued"]) + (f" ({_age(age).replace(' ago', '')})" if r["queued"] and age
                               is not None else "")


def _dead(r: dict) -> str:
    if r["dead"] is None:
        return "-"
    if not r["dead"]:
        return "0"
    causes = ", ".join(f"{n} {why}" for why, n in sorted(r["dead_reasons"].items(),
                                                         key=lambda kv: -kv[1]))
    return f"[red]{r['dead']}[/]" + (f" ({causes})" if causes else "")


# --- commands -------------------------------------------------------------------------------
def known_devices(keys: str | None) -> list[str]:
    if not keys or not Path(keys).exists():
        return []
    return [d["id"] for d in provision.load_index(Path(keys))["devices"]]


def connect(a) -> Fleet:
    return Fleet(a.broker, a.user, a.password, a.prefix)


def run_commands(fleet: Fleet, targets: list[str], cmd: str, args: dict, keys: str,
                 timeout: float, ttl: int | None = None,
                 wait_for: list[str] | None = None) -> dict[str, dict | None]:
    """Send `cmd` to each target and wait up to `timeout` for the replies of `wait_for`
    (default: every target; cameras asleep get the command at their next wake)."""
    sent, secret = {}, {}
    for dev in targets:
        try:
            secret[dev] = provision.device_key(Path(keys), dev)
            sent[dev] = fleet.send(dev, cmd, args, secret[dev], ttl)
        except KeyError as e:
            sent[dev] = None
            fleet.results.append((dev, {"ok": False, "error": str(e.args[0]), "local": True}))
    waited = set(targets if wait_for is None else wait_for)
    fleet.wait(lambda: all(m is None or d not in waited or fleet.reply_to(d, m, secret[d])
                           for d, m in sent.items()), timeout)
    out = {}
    for dev, m in sent.items():
        out[dev] = (fleet.reply_to(dev, m, secret[dev]) if m else
                    next(r for d, r in fleet.results if d == dev and r.get("local")))
    return out


def next_wake(state: dict) -> str:
    """`, next wake ~HH:MM UTC` from a camera's retained state: the next wake that brings its
    radio up (`sleep.radio_at`, its next sync window), else its timer wake, if known."""
    sl = state.get("sleep") or {}
    at = sl.get("radio_at") or sl.get("wake_at")
    if not isinstance(at, (int, float)) or at <= 0:
        return ""
    return ", next wake ~" + time.strftime("%H:%M UTC", time.gmtime(at))


def dispatch(fleet: Fleet, keys: str, command: str, args: dict, device: str | None,
             timeout: float, ttl: int) -> tuple[dict[str, dict | None], list[str]]:
    """What `wildcam cmd` does once connected: send the signed command to `device`, or (None)
    to every provisioned camera the broker has seen, and wait up to `timeout` for the
    replies of those online. Returns ({device: reply or None (queued)}, never-seen devices
    skipped). A camera that connected once has a persistent session: the broker keeps its
    commands while it sleeps; one never seen has none, so nothing would wait for it."""
    skipped = []
    if device is None:
        targets = [d for d in known_devices(keys) if d in fleet.status]
        skipped = [d for d in known_devices(keys) if d not in targets]
    else:
        targets = [device]
    online = [d for d in targets if fleet.status.get(d) == "online"]
    return run_commands(fleet, targets, command, args, keys, timeout, ttl=ttl,
                        wait_for=online), skipped


def cmd_cmd(a, console: Console) -> int:
    if not a.keys:
        raise SystemExit("error: --keys DIR is needed (the flash.py provision folder)")
    try:
        args = json.loads(a.args)
        assert isinstance(args, dict)
    except (ValueError, AssertionError):
        raise SystemExit(f"error: arguments must be a JSON object, got {a.args!r}")
    fleet = connect(a)
    try:
        fleet.settle(limit=a.wait)
        replies, skipped = dispatch(fleet, a.keys, a.command, args, None if a.all else a.device,
                                    a.timeout, int(a.ttl))
    finally:
        fleet.close()
    for d in skipped:
        console.print(f"{d}: [yellow]skipped[/] (never seen: no session at the broker to keep "
                      "the command)")
    bad = 0
    for dev, r in replies.items():
        if r is None and fleet.status.get(dev) != "online":
            console.print(f"{dev}: [yellow]queued[/] for {dev} (asleep or offline: the broker "
                          f"keeps it {a.ttl / 3600:g} h; it runs at the camera's next wake"
                          f"{next_wake(fleet.state.get(dev) or {})})")
        elif r is None:
            bad += 1
            console.print(f"{dev}: [red]no reply[/] within {a.timeout:.0f} s (offline? asleep?)")
        else:
            bad += not r.get("ok")
            print(f"{dev}: " + json.dumps(r, sort_keys=True), flush=True)  # one line, no wrap
    return 1 if bad or not replies else 0


GLOBAL_VALUED = ("--broker", "--user", "--password", "--prefix", "--keys", "--wait")


def _export_argv(argv: list[str]) -> list[str] | None:
    """The arguments after `export` when that is the command (they all belong to the export
    tool, `--help` included), else None."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "export":
            return argv[i + 1:]
        if arg in GLOBAL_VALUED:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = _export_argv(argv)
    if rest is not None:
        from tools import export

        return export.main(rest, prog="wildcam export")
    ap = argparse.ArgumentParser(prog="wildcam", description=__doc__,
                                 formatter_class=HelpFormatter)
    ap.add_argument("--broker", default=os.environ.get("WILDCAM_BROKER", "127.0.0.1:1883"))
    ap.add_argument("--user", default=os.environ.get("WILDCAM_MQTT_USER"))
    ap.add_argument("--password", default=os.environ.get("WILDCAM_MQTT_PASSWORD"))
    ap.add_argument("--prefix", default="wildcam")
    ap.add_argument("--keys", default=os.environ.get("WILDCAM_KEYS"),
                    help="flash.py provision folder (fleet.json, <id>/cmd.key)")
    ap.add_argument("--wait", type=float, default=3.0, help="max s to collect retained state")
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("status", help="table of every camera", formatter_class=HelpFormatter)
    s.add_argument("--stale", type=float, default=7200, help="seconds without a report")
    s.add_argument("--json", action="store_true")
    s.set_defaults(fn=cmd_status)
    c = sub.add_parser("cmd", help="signed command to one device or all online ones",
                       formatter_class=HelpFormatter)
    c.add_argument("device", nargs="?")
    c.add_argument("command")
    c.add_argument("args", nargs="?", default="{}", help="JSON object")
    c.add_argument("--all", action="store_true")
    c.add_argument("--timeout", type=float, default=30)
    c.add_argument("--ttl", type=float, default=86400,
                   help="s a command may wait at the broker for a sleeping camera")
    c.set_defaults(fn=cmd_cmd)
    from tools import rollout

    rollout.add_parser(sub)
    sub.add_parser("export", help="Camtrap DP / MegaDetector export (`wildcam export --help`)")
    a = ap.parse_args(argv)
    if a.what == "cmd" and a.all and a.device and a.args == "{}":
        a.args, a.command, a.device = a.command, a.device, None  # cmd --all CMD ARGS
    if a.what == "cmd" and not a.all and not a.device:
        ap.error("cmd: give DEVICE or --all")
    return a.fn(a, make_console())


if __name__ == "__main__":
    raise SystemExit(main())
