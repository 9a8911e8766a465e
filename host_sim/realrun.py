"""`python -m host_sim --real`: the fleet against real servers that host_sim starts itself.

`RealServers(workdir, sim)` starts, on free loopback ports, Debian's mosquitto (password
file, persistent sessions), npm s3rver (SigV4 verified, its own generated key pair) and
npm Azurite (SharedKey verified, its own generated account key, blobs on disk), the two
object stores on the simulation's clock (libfaketime: host_sim/servers). `args()` fills
the same flags a user would give for their own servers, so the run takes exactly the
path `--s3 ... --azure ... --mqtt ...` takes. `Chaos` kills (SIGKILL) and restarts each
server once, at its own point of the simulated day.
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from .servers import Azurite, Broker, S3rver, faketime_lib, missing, which

BUCKET = CONTAINER = "wildcam"
ACCOUNT = "wildcamsim"


def missing_tools() -> str | None:
    why = missing()
    if why:
        return why
    for tool in ("mosquitto", "mosquitto_passwd"):
        if not which(tool):
            return "%s missing (scripts/setup.sh installs Debian's mosquitto)" % tool
    if not faketime_lib():
        return "libfaketime missing (scripts/setup.sh installs Debian's faketime)"
    return None


class RealServers:
    def __init__(self, workdir: Path, sim) -> None:
        self.dir = Path(workdir)
        for sub in ("mosquitto", "s3rver", "azurite"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.key = "AKIA" + secrets.token_hex(8).upper()
        self.secret = secrets.token_urlsafe(30)
        self.az_key = base64.b64encode(os.urandom(64)).decode()
        self.mqtt_password = secrets.token_urlsafe(12)
        self.broker = Broker(str(self.dir / "mosquitto"), tls=False, persist=True,
                             password=self.mqtt_password)
        self.s3 = S3rver(directory=str(self.dir / "s3rver"), access=self.key,
                         secret=self.secret, buckets=(BUCKET,), clock=sim)
        self.azure = Azurite(account=ACCOUNT, key=self.az_key, clock=sim,
                             location=str(self.dir / "azurite"))
        self.all = {"mqtt": self.broker, "s3": self.s3, "azure": self.azure}

    def start(self) -> "RealServers":
        try:
            for s in self.all.values():
                s.launch()  # all at once: node takes a few seconds to come up
            for s in self.all.values():
                s.wait()
            self.azure.container(CONTAINER)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for s in self.all.values():
            try:
                s.stop()
            except Exception:  # noqa: BLE001 - stop the others anyway
                pass

    def args(self, a) -> None:
        """Fill the destination flags of `a` (argparse Namespace) for these servers."""
        a.s3, a.s3_bucket, a.s3_region = self.s3.endpoint, BUCKET, "us-east-1"
        a.s3_key, a.s3_secret = a.s3_key or self.key, a.s3_secret or self.secret
        a.azure, a.azure_account, a.azure_container = \
            "http://127.0.0.1:%d" % self.azure.port, ACCOUNT, CONTAINER
        if not a.azure_sas:
            a.azure_key = a.azure_key or self.az_key
        a.mqtt = "127.0.0.1:%d" % self.broker.port
        a.mqtt_user = self.broker.user
        a.mqtt_password = a.mqtt_password or self.mqtt_password

    def owner_spec(self, spec: dict) -> dict:
        """`spec` with the servers' own credentials (the count is the owner's view)."""
        out = {k: dict(v) for k, v in spec.items()}
        out["s3"].update(key=self.key, secret=self.secret)
        out["azure"].update(key=self.az_key, sas=None)
        out["mqtt"].update(user=self.broker.user, password=self.mqtt_password)
        return out

    def describe(self) -> str:
        return ("mosquitto 127.0.0.1:%d, s3rver %s (bucket %s), Azurite %s (container %s)"
                % (self.broker.port, self.s3.endpoint, BUCKET, self.azure.endpoint, CONTAINER))


class Chaos:
    """Kill -9 each server once (s3 at 30 %, azure at 50 %, mqtt at 70 % of the day) and
    start it again `down_s` virtual seconds later; `log` lists what was done when."""

    PLAN = (("s3", 0.30), ("azure", 0.50), ("mqtt", 0.70))

    def __init__(self, servers: RealServers, seconds: float, down_s: float = 600.0):
        self.servers = servers
        self.events = sorted([(f * seconds, "kill", n) for n, f in self.PLAN] +
                             [(f * seconds + down_s, "start", n) for n, f in self.PLAN])
        self.log: list[dict] = []

    def marks(self, now: float) -> list[float]:
        return [t for t, _, _ in self.events if t > now]

    def due(self, now: float) -> None:
        while self.events and self.events[0][0] <= now:
            t, what, name = self.events.pop(0)
            srv = self.servers.all[name]
            if what == "kill":
                srv.kill()
            else:
                srv.start()
            self.log.append({"t": round(t), "action": what, "server": name})
