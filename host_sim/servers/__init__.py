"""Real local servers on free loopback ports, for tests/services, the benchmarks and
`python -m host_sim --real` (CPython only).

- `Broker` (host_sim/servers/mqtt.py): Debian's mosquitto with a password file, plain, TLS
  and mutual-TLS listeners (openssl-made CA, host_sim/servers/pki.py).
- `S3rver`, `Azurite` (host_sim/servers/objstore.py): npm `@20minutes/s3rver` (SigV4
  verified) and `azurite` (SharedKey and SAS verified), each with its own key pair.

Every server can be killed (SIGKILL, as a crash) and started again on the same port.

**On the simulation's clock.** A server given `clock=` (a `Simulation` paced with
`sim.pace(speed)`, or any object with `paced_wall()` and `speed`) runs under libfaketime
(Debian `faketime`): its wall clock (CLOCK_REALTIME: `Date.now()`, the HTTP Date header,
SigV4 and SAS time checks) starts at the simulation's current time and runs `speed` times
faster than real time, the rate the paced simulation follows; its monotonic clock stays
real (`FAKETIME_DONT_FAKE_MONOTONIC=1`), so its own timeouts (keep-alive, request
timeouts) keep their real lengths. A restart reads the simulation's time again.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(ROOT, "node_modules")
FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/faketime/libfaketimeMT.so.1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def which(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in ("/usr/sbin/" + name, "/usr/bin/" + name) if os.path.exists(p)), None)


def faketime_lib() -> str | None:
    """Path of libfaketime (multi-thread variant), or None when Debian's faketime is
    not installed."""
    return next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)


def clock_env(wall: float, speed: float) -> dict:
    """Environment that puts a process on a clock reading `wall` (Unix seconds) now and
    running `speed` times faster than real time (libfaketime)."""
    lib = faketime_lib()
    if lib is None:
        raise RuntimeError("libfaketime missing (apt-get install faketime; scripts/setup.sh)")
    stamp = datetime.fromtimestamp(int(wall), timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return {"LD_PRELOAD": lib, "FAKETIME": "@%s x%g" % (stamp, speed),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def wait_port(proc, port: int, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError("%s exited: %s" % (what, err[-2000:]))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise RuntimeError("%s did not listen on %d" % (what, port))
            time.sleep(0.05)


class Server:
    """A server process on a fixed loopback port: start, kill (SIGKILL), stop, ensure."""

    what = "server"

    def __init__(self, port: int | None = None, clock=None) -> None:
        self.port = port or free_port()
        self.clock = clock
        self.proc = None
        self.starts = 0

    def _cmd(self) -> list:
        raise NotImplementedError

    def _env(self) -> dict:
        return dict(os.environ)

    def _ports(self) -> tuple:
        return (self.port,)

    def start(self, timeout: float = 30):
        return self.launch().wait(timeout)

    def launch(self):
        """Start the process (on the clock, when given) without waiting for it."""
        env = self._env()
        if self.clock is not None and self.clock.speed:
            env.update(clock_env(self.clock.paced_wall(), self.clock.speed))
        self.proc = subprocess.Popen(self._cmd(), cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def wait(self, timeout: float = 30):
        """Wait until every port of the launched process listens."""
        for port in self._ports():
            wait_port(self.proc, port, timeout, self.what)
        self.starts += 1
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye to anyone (a crash or power loss of the server host)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    stop = kill  # the node servers keep nothing in RAM worth a clean shutdown

    def ensure(self):
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def endpoint(self) -> str:
        return "http://127.0.0.1:%d" % self.port


from .mqtt import Broker  # noqa: E402
from .objstore import Azurite, S3rver, missing  # noqa: E402

__all__ = ["Broker", "S3rver", "Azurite", "Server", "missing", "free_port", "which",
           "faketime_lib", "clock_env", "wait_port"]
