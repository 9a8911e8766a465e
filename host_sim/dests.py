"""Real destinations for the simulated fleet, from the command line: flags, secrets from the
environment, validation, and the checks before a run.

Each destination is what a technician would flash onto every camera (`config` dotted keys
and `secrets`), plus what the host needs to count at it afterwards (`spec`). Nothing fails
over to the local folder unless `--fallback-local` asks for it: an upload that fails stays
queued on the camera, as it would in the field.

`Dests.check(sim)` is the pre-flight: every server reachable, and every object store's
clock (its HTTP `Date`) within a few minutes of the cameras' clock, since signed requests
are refused beyond 15 minutes. A destination that cannot work is a `DestError` whose
message says what to do; the CLI prints it and exits non-zero.
"""
from __future__ import annotations

import argparse
import email.utils
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

ENV = {"s3_key": "WILDCAM_S3_KEY", "s3_secret": "WILDCAM_S3_SECRET",
       "azure_key": "WILDCAM_AZURE_KEY", "azure_sas": "WILDCAM_AZURE_SAS",
       "mqtt_password": "WILDCAM_MQTT_PASSWORD", "influx_password": "WILDCAM_INFLUX_PASSWORD",
       "influx_token": "WILDCAM_INFLUX_TOKEN"}
CLOCK_SLACK_S = 300  # a server further off than this from the cameras: refuse to start
DEFAULT_SPEED = 200.0  # virtual seconds per real second against real servers


class DestError(Exception):
    """A destination that cannot work; the message says why and what to do."""


def add_flags(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group(
        "real destinations",
        "Images go to every object store given (two: replicated to both), events and health "
        "to MQTT; secrets also come from the environment variables named below. The summary "
        "counts at these servers. Against real servers the simulated clock is paced at "
        "--speed times real time.")
    g.add_argument("--real", action="store_true",
                   help="start mosquitto, s3rver and Azurite on free loopback ports on the "
                        "simulation's clock (libfaketime), replicate images to S3 and Azure, "
                        "events and health to MQTT, count at the servers, stop them")
    g.add_argument("--chaos", action="store_true",
                   help="with --real: kill -9 and restart each server once mid-run")
    g.add_argument("--speed", type=float, default=None,
                   help="virtual seconds per real second with real servers (default %g; "
                        "servers you start yourself must run at this rate)" % DEFAULT_SPEED)
    g.add_argument("--start", default=None,
                   help="simulated start: ISO date/time (UTC) or 'now' (default "
                        "2026-06-01T00:00Z); '--start now --speed 1' runs in real time "
                        "against servers on a real clock")
    g.add_argument("--s3", metavar="URL", help="S3 endpoint, e.g. https://s3.eu-west-1."
                                               "amazonaws.com or http://127.0.0.1:4568")
    g.add_argument("--s3-region", default="us-east-1", help="SigV4 region (us-east-1)")
    g.add_argument("--s3-bucket", default="wildcam", help="bucket (wildcam)")
    g.add_argument("--s3-key", help="access key id (env %s)" % ENV["s3_key"])
    g.add_argument("--s3-secret", help="secret access key (env %s)" % ENV["s3_secret"])
    g.add_argument("--s3-virtual-host", action="store_true",
                   help="virtual-host addressing (bucket.endpoint) instead of path style")
    g.add_argument("--azure", metavar="URL",
                   help="Azure Blob account URL (https://ACCOUNT.blob.core.windows.net, or "
                        "http://127.0.0.1:10000 with --azure-account for Azurite)")
    g.add_argument("--azure-account", help="storage account name (when not in the URL)")
    g.add_argument("--azure-container", default="wildcam", help="container (wildcam)")
    g.add_argument("--azure-key", help="account key, base64: SharedKey (env %s)"
                                       % ENV["azure_key"])
    g.add_argument("--azure-sas", help="SAS token instead of the key; needs create+write, "
                                       "and list+read for the count (env %s)" % ENV["azure_sas"])
    g.add_argument("--mqtt", metavar="HOST:PORT", help="MQTT broker for events and health")
    g.add_argument("--mqtt-user", help="MQTT user name")
    g.add_argument("--mqtt-password", help="MQTT password (env %s)" % ENV["mqtt_password"])
    g.add_argument("--mqtt-prefix", default="wildcam", help="topic prefix (wildcam)")
    g.add_argument("--influx", metavar="URL", help="InfluxDB for health metrics "
                                                   "(http://HOST:8086)")
    g.add_argument("--influx-db", help="InfluxDB 1.x database")
    g.add_argument("--influx-org", help="InfluxDB 2 organisation")
    g.add_argument("--influx-bucket", help="InfluxDB 2 bucket")
    g.add_argument("--influx-user", help="InfluxDB 1.x user")
    g.add_argument("--influx-password", help="InfluxDB 1.x password (env %s)"
                                             % ENV["influx_password"])
    g.add_argument("--influx-token", help="InfluxDB 2 token (env %s)" % ENV["influx_token"])
    g.add_argument("--hass", action="store_true",
                   help="Home Assistant MQTT discovery (needs --mqtt)")
    g.add_argument("--fallback-local", action="store_true",
                   help="keep the local folder (<out>/cloud) as a destination too: with one "
                        "object store it takes what that store refuses; off by default")


def _secret(args, name):
    value = getattr(args, name)
    return value if value else os.environ.get(ENV[name]) or None


def _hostport(url: str, default: int) -> tuple[str, int]:
    u = urllib.parse.urlsplit(url if "://" in url else "//" + url)
    return u.hostname or "", u.port or default


class Dests:
    """What the cameras get (`config`, `secrets`) and what the host counts (`spec`)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.config: dict = {}
        self.secrets: dict = {}
        self.spec: dict = {}
        self.fallback_local = args.fallback_local
        self.problems: list[str] = []
        self.offsets: dict[str, float] = {}  # each store's clock minus the cameras' (check)
        self._s3(args)
        self._azure(args)
        self._mqtt(args)
        self._influx(args)
        if args.hass and not args.mqtt:
            self.problems.append("--hass needs --mqtt (discovery is published there)")
        if args.hass:
            self.config["hass.discovery"] = True
        stores = [n for n in ("s3", "azure") if n in self.spec]
        if stores:
            self.config["cloud.dests"] = ",".join(stores)
            self.config["cloud.mode"] = "replicate" if len(stores) > 1 else "failover"
        if self.problems:
            raise DestError("\n".join(self.problems))

    @property
    def any(self) -> bool:
        return bool(self.spec)

    @property
    def stores(self) -> list[str]:
        return [n for n in ("s3", "azure") if n in self.spec]

    def _s3(self, a) -> None:
        if not a.s3:
            return
        key, secret = _secret(a, "s3_key"), _secret(a, "s3_secret")
        if not key or not secret:
            self.problems.append("--s3 needs an access key and secret: --s3-key/--s3-secret "
                                 "or %s/%s" % (ENV["s3_key"], ENV["s3_secret"]))
        if not a.s3.startswith(("http://", "https://")):
            self.problems.append("--s3 %s: give the endpoint as http(s)://HOST[:PORT]" % a.s3)
        self.config.update({"s3.endpoint": a.s3.rstrip("/"), "s3.bucket": a.s3_bucket,
                            "s3.region": a.s3_region, "s3.path_style": not a.s3_virtual_host})
        self.secrets.update({"s3.access_key": key or "", "s3.secret_key": secret or ""})
        self.spec["s3"] = {"endpoint": a.s3.rstrip("/"), "bucket": a.s3_bucket,
                           "region": a.s3_region, "key": key, "secret": secret,
                           "path_style": not a.s3_virtual_host}

    def _azure(self, a) -> None:
        if not a.azure:
            return
        key, sas = _secret(a, "azure_key"), _secret(a, "azure_sas")
        if not key and not sas:
            self.problems.append("--azure needs --azure-key (SharedKey) or --azure-sas (or %s "
                                 "/ %s)" % (ENV["azure_key"], ENV["azure_sas"]))
        if key and sas:
            self.problems.append("--azure: give --azure-key or --azure-sas, not both")
        url = a.azure.rstrip("/")
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            self.problems.append("--azure %s: give the account URL as http(s)://HOST[:PORT]" % url)
        account = a.azure_account
        in_host = (u.hostname or "").split(".")[0] if "." in (u.hostname or "") and \
            not (u.hostname or "").replace(".", "").isdigit() else None
        in_path = u.path.strip("/") or None
        if account and account not in (in_host, in_path):
            url += "/" + account  # path style (Azurite and other emulators)
        account = account or in_path or in_host
        if not account:
            self.problems.append("--azure %s: the URL names no account; add --azure-account"
                                 % url)
        self.config.update({"azure.account_url": url, "azure.container": a.azure_container})
        self.secrets.update({"azure.account_key": key or "", "azure.sas": sas or ""})
        self.spec["azure"] = {"url": url, "account": account, "container": a.azure_container,
                              "key": key, "sas": sas}

    def _mqtt(self, a) -> None:
        if not a.mqtt:
            if a.mqtt_user:
                self.problems.append("--mqtt-user needs --mqtt")
            return
        host, port = _hostport(a.mqtt, 1883)
        if not host:
            self.problems.append("--mqtt %s: give HOST:PORT" % a.mqtt)
        password = _secret(a, "mqtt_password")
        if a.mqtt_user and not password:
            self.problems.append("--mqtt-user needs a password: --mqtt-password or %s"
                                 % ENV["mqtt_password"])
        self.config.update({"mqtt.host": host, "mqtt.port": port,
                            "mqtt.topic_prefix": a.mqtt_prefix})
        if a.mqtt_user:
            self.config["mqtt.user"] = a.mqtt_user
            self.secrets["mqtt.password"] = password or ""
        self.spec["mqtt"] = {"host": host, "port": port, "user": a.mqtt_user,
                             "password": password, "prefix": a.mqtt_prefix}

    def _influx(self, a) -> None:
        if not a.influx:
            return
        token, password = _secret(a, "influx_token"), _secret(a, "influx_password")
        if a.influx_bucket and not (a.influx_org and token):
            self.problems.append("--influx-bucket (InfluxDB 2) needs --influx-org and a token "
                                 "(--influx-token or %s)" % ENV["influx_token"])
        if not a.influx_bucket and not a.influx_db:
            self.problems.append("--influx needs --influx-db (1.x) or --influx-org/"
                                 "--influx-bucket (2.x)")
        if a.influx_user and not password:
            self.problems.append("--influx-user needs --influx-password or %s"
                                 % ENV["influx_password"])
        for k, v in (("influx.url", a.influx), ("influx.db", a.influx_db),
                     ("influx.org", a.influx_org), ("influx.bucket", a.influx_bucket),
                     ("influx.user", a.influx_user)):
            if v:
                self.config[k] = v
        self.secrets.update({k: v for k, v in (("influx.token", token),
                                               ("influx.password", password)) if v})
        self.spec["influx"] = {"url": a.influx}

    # --- before the run ---------------------------------------------------------------------
    def endpoints(self) -> list[tuple[str, str, int]]:
        out = []
        for name, url, default in (("s3", self.spec.get("s3", {}).get("endpoint"), 80),
                                   ("azure", self.spec.get("azure", {}).get("url"), 80),
                                   ("influx", self.spec.get("influx", {}).get("url"), 8086)):
            if url:
                host, port = _hostport(url, 443 if url.startswith("https") else default)
                out.append((name, host, port))
        if "mqtt" in self.spec:
            out.append(("mqtt", self.spec["mqtt"]["host"], self.spec["mqtt"]["port"]))
        return out

    def check(self, sim, timeout: float = 3.0) -> list[str]:
        """Raise DestError when a server is unreachable or its clock is too far from the
        cameras'; returns notes (each store's clock offset) for the screen."""
        notes = []
        for name, host, port in self.endpoints():
            try:
                socket.create_connection((host, port), timeout).close()
            except OSError as e:
                raise DestError("%s: cannot reach %s:%d (%s): is the server running?"
                                % (name, host, port, e.strerror or e))
        for name in self.stores if sim.speed else ():
            url = self.spec[name].get("endpoint") or self.spec[name]["url"]
            server = server_date(url, timeout)
            if server is None:
                notes.append("%s: no Date header; clock not checked" % name)
                continue
            off = server - sim.paced_wall()
            if abs(off) > CLOCK_SLACK_S:
                raise DestError(
                    "%s: the server's clock reads %s, the cameras' %s (off by %+.0f s; signed "
                    "requests are refused beyond 15 minutes). The simulated clock runs at %gx "
                    "real time: put the server on the simulation's clock (--real starts its "
                    "own servers that way, with libfaketime), or run in real time against a "
                    "server on a real clock with --start now --speed 1."
                    % (name, _iso(server), _iso(sim.paced_wall()), off, sim.speed or 0))
            self.offsets[name] = off
            notes.append("%s: server clock %+.0f s from the cameras'" % (name, off))
        return notes


def server_date(url: str, timeout: float = 3.0) -> float | None:
    """Unix seconds of the `Date` header an HTTP server answers with (any status)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="GET"),
                                    timeout=timeout) as r:
            date = r.headers.get("Date")
    except urllib.error.HTTPError as e:
        date = e.headers.get("Date")
    except (OSError, ValueError):
        return None
    if not date:
        return None
    return email.utils.parsedate_to_datetime(date).timestamp()


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
