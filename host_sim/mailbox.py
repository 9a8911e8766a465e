"""The main job's command mailbox: a signed command sent to every camera while the battery
ones sleep, run at each camera's next wake, its signed reply back at the sender.

The default run needs no server (a local folder is the cloud). When Debian's mosquitto is
installed (scripts/setup.sh), `Mailbox` starts a private one on a free loopback port
(password file, persistent sessions) as the cameras' command mailbox only: every camera
gets `mqtt.host` with `mqtt.events` off (images, events and health still go to the local
folder, as without it) and its own `cmd.hmac_key` from a `flash.py provision`-style key
folder (`<out>/keys`). At `at_s` of the simulated day it sends a signed `status` command to
every camera with the code `wildcam cmd --all` runs (tools/fleet.py `dispatch`, the same
`--ttl`): a camera online answers at once; one asleep gets it at its next radio wake (the
broker keeps it in its persistent session, the camera reads its mailbox before sleeping
again: wildcam.devices). Per camera it reports when the command was sent, when the camera
ran it (the `sys.time` of the signed reply: the camera's own clock) and when the reply
reached the sender, all on the simulation's clock (the sender signs with it too, as the
servers of `--real` run on it). Without mosquitto it says so, and the run goes on without.

Time: the simulated clock still jumps freely; while a camera waits for the broker's answer
the loop waits for it (up to `IO_GRACE` real seconds, host_sim/vloop.py), an idle link
costs nothing. "Reply received" is the simulated time at which the sender's client got it.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path

IO_GRACE = 0.01  # real seconds a camera's exchange with the broker may hold virtual time
ANSWER_STEPS, ANSWER_STEP_S = 60, 0.5  # virtual time given to cameras online to answer
COMMAND = "status"  # read-only: runs with its signature checked like any other, changes nothing


def missing() -> str | None:
    """Why the mailbox cannot run here (None: it can)."""
    from .servers import which

    for tool in ("mosquitto", "mosquitto_passwd"):
        if not which(tool):
            return "%s not installed (scripts/setup.sh installs Debian's mosquitto)" % tool
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        return "paho-mqtt not installed (scripts/setup.sh installs it)"
    return None


class Mailbox:
    IO_GRACE = IO_GRACE
    def __init__(self, out: Path, at_s: float, ttl_s: int = 86400) -> None:
        self.dir = Path(out) / "mailbox"
        self.at_s = at_s
        self.ttl_s = ttl_s
        self.broker = None
        self.keys = Path(out) / "keys"
        self.sender = None
        self.sent: dict[str, dict | None] = {}  # device -> signed command (None: not sent)
        self.sent_at: float | None = None
        self.at_send: dict[str, str] = {}  # device -> what the sender saw when it sent
        self.done = False
        self.problem: str | None = None

    # --- before the run -------------------------------------------------------------------
    def start(self, devices: list[str]) -> "Mailbox":
        from tools.flashing import provision

        from .servers.mqtt import Broker

        self.dir.mkdir(parents=True, exist_ok=True)
        provision.provision(self.keys, ids=devices)
        self.broker = Broker(str(self.dir), tls=False, persist=True,
                             password=secrets.token_urlsafe(12))
        self.broker.start()
        return self

    def per_board(self, name: str) -> tuple[dict, dict]:
        """What each camera gets flashed with to use the mailbox."""
        from tools.flashing import provision

        b = self.broker
        return ({"mqtt.host": "127.0.0.1", "mqtt.port": b.port, "mqtt.user": b.user,
                 "mqtt.events": False},
                {"mqtt.password": b.password,
                 "cmd.hmac_key": provision.device_key(self.keys, name)})

    def begin(self, sim) -> None:
        """Connect the sender (the technician's laptop) before the cameras start."""
        from tools import fleet as tools_fleet

        wall = sim.wall

        class Sender(tools_fleet.Fleet):
            """The CLI's client; it also notes what it sent and when each reply came."""
            arrived: dict = {}  # reply id -> simulated time it reached us
            msgs: dict = {}

            def _on_message(self, c, userdata, m):  # stamp each reply with the sim's time
                if m.topic.endswith("/cmd/result"):
                    try:
                        rid = json.loads(m.payload).get("id")
                    except (ValueError, AttributeError):
                        rid = None
                    with self.cond:
                        self.arrived.setdefault(rid, wall())
                super()._on_message(c, userdata, m)

            def send(self, device, cmd, args, key, ttl=None):
                msg = super().send(device, cmd, args, key, ttl)
                self.msgs[device] = msg
                return msg

        self.sender = Sender("127.0.0.1:%d" % self.broker.port, self.broker.user,
                             self.broker.password, clock=wall)
        self.sender.arrived, self.sender.msgs = {}, {}

    # --- during the run -------------------------------------------------------------------
    def due(self, now: float) -> bool:
        return not self.done and now >= self.at_s

    def send(self, sim, fleet) -> None:
        """`wildcam cmd --all status --ttl ...` from the sender, virtual time advancing
        while it waits (the cameras online answer within the CLI's timeout)."""
        from tools import fleet as tools_fleet

        self.done = True
        box: dict = {}
        snd = self.sender
        # the simulated world waits (no virtual time passes) while the sender collects the
        # retained state and publishes; then a fixed stretch of virtual time lets the cameras
        # online answer, so the run stays the same from one time to the next
        snd.settle(limit=3.0)
        targets = [d for d in tools_fleet.known_devices(str(self.keys)) if d in snd.status]

        def work():
            try:
                box["r"] = tools_fleet.dispatch(snd, str(self.keys), COMMAND, {}, None,
                                                timeout=10.0, ttl=self.ttl_s)
            except BaseException as e:  # noqa: BLE001 - reported, the run goes on
                box["e"] = e

        self.sent_at = sim.wall()
        t = threading.Thread(target=work, daemon=True, name="mailbox-sender")
        t.start()
        end = time.monotonic() + 10
        while t.is_alive() and len(snd.msgs) < len(targets) and time.monotonic() < end:
            time.sleep(0.01)  # published (PUBACK from the broker)
        time.sleep(0.1)  # the broker hands them to the cameras' sockets
        for _ in range(ANSWER_STEPS):
            sim.run_for(ANSWER_STEP_S)
            time.sleep(0.002)
        end = time.monotonic() + 30
        while t.is_alive() and time.monotonic() < end:  # slower than that: go on waiting
            sim.run_for(ANSWER_STEP_S)
            time.sleep(0.005)
        if "e" in box or "r" not in box:
            self.problem = "the sender failed: %r" % box.get("e", "no answer in 60 s")
            return
        replies, skipped = box["r"]
        for d in skipped:
            self.at_send[d] = "skipped (never seen by the broker)"
        for d, r in replies.items():
            st = snd.state.get(d) or {}
            self.at_send[d] = "answered" if r else "queued (%s%s)" % (
                snd.status.get(d, "?"), tools_fleet.next_wake(st))
        self.sent = {d: snd.msgs.get(d) for d in replies}

    # --- afterwards -----------------------------------------------------------------------
    def result(self, devices: list[str]) -> dict:
        """Per camera: sent at, what the sender saw then, executed at (the camera's clock, in
        its signed reply), reply received at, signature checked."""
        from tools.flashing import provision
        from tools.wildcmd import verify_reply

        out = {"command": COMMAND, "ttl_s": self.ttl_s, "sent_at": self.sent_at,
               "broker": "mosquitto 127.0.0.1:%d (private, persistent sessions)"
               % self.broker.port if self.broker else None, "cameras": {}}
        if self.problem:
            out["problem"] = self.problem
        snd = self.sender
        if snd is None:
            return out
        time.sleep(0.3)  # a reply in flight to our client
        with snd.cond:
            results = list(snd.results)
            arrived = dict(snd.arrived)
        for d in devices:
            row = {"at_send": self.at_send.get(d, "not sent"), "executed_at": None,
                   "reply_at": None, "ok": None, "signed": False}
            key, msg = provision.device_key(self.keys, d), self.sent.get(d)
            for dev, r in results:
                # the device's signature, naming this command's id: nothing else counts
                if msg is None or dev != d or r.get("local") or not verify_reply(r, key, msg):
                    continue
                res = r.get("result") or {}
                row.update(ok=bool(r.get("ok")), signed=True, error=r.get("error"),
                           executed_at=(res.get("sys") or {}).get("time"),
                           reply_at=arrived.get(msg["nonce"]))
                break
            out["cameras"][d] = row
        return out

    def stop(self) -> None:
        if self.sender is not None:
            try:
                self.sender.close()
            except Exception:  # noqa: BLE001
                pass
        if self.broker is not None:
            self.broker.stop()
