"""Debian's mosquitto on free loopback ports with a generated config.

A password file and `allow_anonymous false` on every listener: a plain one (`port`) and,
with `tls=True` (default), a TLS one (`tls_port`; CA and server certificate made by
openssl, host_sim/servers/pki.py) and a mutual-TLS one (`mtls_port`, `require_certificate
true`, client certificate signed by the same CA). `persist=True` keeps sessions and queued
qos1 messages in a file saved at every change, so a subscriber's session survives a
`kill()` and restart. As root it would drop to user mosquitto: `user root` keeps it able to
read our files. mosquitto needs no clock of the simulation's: MQTT carries no timestamps it
checks, and its keep-alive runs on the monotonic clock.
"""
from __future__ import annotations

import os
import subprocess

from . import Server, which
from .pki import _run, make_pki

USER = "cam"
PASSWORD = "s3cret-pw"


class Broker(Server):
    what = "mosquitto"

    def __init__(self, workdir, *, tls=True, persist=False, user=USER, password=PASSWORD,
                 port=None):
        super().__init__(port)
        self.dir = workdir
        self.user = user
        self.password = password
        self.exe = which("mosquitto")
        self.tls = tls
        self.pki = make_pki(workdir) if tls else {}
        self.tls_port = self.mtls_port = None
        self.passwd = os.path.join(workdir, "passwd")
        _run(which("mosquitto_passwd"), "-b", "-c", self.passwd, user, password)
        self.conf = os.path.join(workdir, "mosquitto.conf")
        self.logfile = os.path.join(workdir, "mosquitto.log")
        lines = ["per_listener_settings true", "log_dest file %s" % self.logfile,
                 "log_type all", ""]
        if persist:
            lines[:0] = ["persistence true", "persistence_location %s/" % workdir,
                         "autosave_on_changes true", "autosave_interval 1"]
        else:
            lines.insert(0, "persistence false")
        lines += ["listener %d 127.0.0.1" % self.port, "allow_anonymous false",
                  "password_file %s" % self.passwd, ""]
        if tls:
            from . import free_port

            self.tls_port, self.mtls_port = free_port(), free_port()
            certs = "cafile %s\ncertfile %s\nkeyfile %s\n" % (
                self.pki["ca.crt"], self.pki["server.crt"], self.pki["server.key"])
            lines += ["listener %d 127.0.0.1" % self.tls_port, "allow_anonymous false",
                      "password_file %s" % self.passwd, certs,
                      "listener %d 127.0.0.1" % self.mtls_port, "allow_anonymous false",
                      "require_certificate true", "use_identity_as_username true", certs]
        if os.geteuid() == 0:
            lines.insert(0, "user root")  # no privilege drop: it can read our files
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _cmd(self):
        return [self.exe, "-c", self.conf]

    def _ports(self):
        return tuple(p for p in (self.port, self.tls_port, self.mtls_port) if p)

    def stop(self):
        """SIGTERM (a clean shutdown; persistent sessions are saved)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()
