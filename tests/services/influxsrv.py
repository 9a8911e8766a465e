"""Debian's InfluxDB 1.x (`influxd`, package `influxdb`) for tests/services (CPython only).

Started with a generated config: HTTP on a free loopback port with authentication on, the
RPC bind address on another free loopback port, meta/data/wal directories in a temp dir,
usage reporting, the _internal monitor store, UDP and continuous queries off. An admin user
is created over HTTP (the first user may be made without credentials), then databases and
further users with InfluxQL over `/query`.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from .cloudsrv import _wait_port, free_port

ADMIN = "admin"
ADMIN_PW = "admin-pw-0"


def influxd():
    return shutil.which("influxd") or next(
        (p for p in ("/usr/bin/influxd", "/usr/sbin/influxd") if os.path.exists(p)), None)


class Influx:
    what = "influxd"

    def __init__(self, workdir=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="influxd-")
        self.port = free_port()
        self.rpc_port = free_port()
        self.conf = os.path.join(self.dir, "influxdb.conf")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "reporting-enabled = false",
                'bind-address = "127.0.0.1:%d"' % self.rpc_port,
                "[meta]", '  dir = "%s/meta"' % d, "  logging-enabled = false",
                "[data]", '  dir = "%s/data"' % d, '  wal-dir = "%s/wal"' % d,
                "  query-log-enabled = false",
                "[monitor]", "  store-enabled = false",
                "[http]", '  bind-address = "127.0.0.1:%d"' % self.port,
                "  auth-enabled = true", "  log-enabled = false",
                "[continuous_queries]", "  enabled = false",
                "[[udp]]", "  enabled = false", ""]))
        self.proc = None
        self._admin = False
        self.log = os.path.join(self.dir, "influxd.log")

    def start(self, timeout=30):
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen([influxd(), "-config", self.conf], stdout=self._logf,
                                     stderr=subprocess.STDOUT)
        _wait_port(self.proc, self.port, timeout, self.what)
        end = time.monotonic() + timeout
        while True:  # the port opens before the meta store is ready
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=2) as r:
                    if r.status == 204:
                        break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        if not self._admin:  # a restart keeps the meta store, and its users
            self.query("CREATE USER %s WITH PASSWORD '%s' WITH ALL PRIVILEGES" % (
                ADMIN, ADMIN_PW), auth=False)
            self._admin = True
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if getattr(self, "_logf", None):
            self._logf.close()

    def ensure(self):
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def query(self, q, db=None, auth=True):
        """POST /query; the decoded JSON answer (errors raise)."""
        params = {"q": q}
        if db:
            params["db"] = db
        req = urllib.request.Request(self.url + "/query", data=urllib.parse.urlencode(
            params).encode(), method="POST")
        if auth:
            token = base64.b64encode(("%s:%s" % (ADMIN, ADMIN_PW)).encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        with urllib.request.urlopen(req, timeout=10) as r:
            doc = json.loads(r.read())
        for res in doc.get("results", []):
            if "error" in res:
                raise RuntimeError("influx query %r: %s" % (q, res["error"]))
        return doc

    def points(self, db, q):
        """Rows of a SELECT as dicts {column: value} (all series together)."""
        out = []
        for res in self.query(q, db=db).get("results", []):
            for s in res.get("series", []):
                for row in s["values"]:
                    d = dict(zip(s["columns"], row))
                    d["_measurement"] = s["name"]
                    d.update(s.get("tags") or {})
                    out.append(d)
        return out
