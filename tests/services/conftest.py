"""Real local servers for tests/services (CPython only).

micropython-lib modules (umqtt.simple) come from `.cache/mpylib/lib`: `host_sim.install()`
(tests/conftest.py) puts that folder on sys.path when it exists; here we fetch it first when
it is missing (`tools/mpylib.py fetch`, as scripts/setup.sh does) and skip if that fails.

`broker` (session scope) runs Debian's mosquitto on free loopback ports with a generated
config (host_sim/servers/mqtt.py `Broker`): a password file, `allow_anonymous false`, a plain
listener, a TLS listener (CA and server certificate made by openssl) and a mutual-TLS
listener. It can be killed and restarted on the same ports. Tests skip when mosquitto or
openssl is missing.
"""
import os
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    sys.path.insert(0, ROOT)
    from tools import mpylib

    _lib = str(mpylib.ensure_on_path())
    import umqtt.simple  # noqa: F401
    UMQTT_ERROR = None
except BaseException as e:  # noqa: BLE001 - no network and no cache: skip, say why
    UMQTT_ERROR = "umqtt.simple unavailable (run tools/mpylib.py fetch): %s" % e

from host_sim.servers.mqtt import PASSWORD, USER, Broker  # noqa: E402


@pytest.fixture(autouse=True)
def _need_umqtt():
    if UMQTT_ERROR:
        pytest.skip(UMQTT_ERROR)


from host_sim.servers import free_port, which as _which  # noqa: E402,F401


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    if not _which("mosquitto") or not _which("mosquitto_passwd") or not _which("openssl"):
        msg = "mosquitto/openssl missing (scripts/setup.sh installs mosquitto)"
        if os.environ.get("CI"):
            pytest.fail(msg)  # CI installs them: a missing broker must not pass as a skip
        pytest.skip(msg)
    b = Broker(str(tmp_path_factory.mktemp("mosquitto")))
    b.start()
    yield b
    b.stop()


@pytest.fixture
def live_broker(broker):
    """The session broker, restarted if an earlier test killed it."""
    broker.ensure()
    return broker


class Subscriber:
    """paho-mqtt client on the plain listener collecting (topic, payload, retain)."""

    def __init__(self, broker, topics, client_id=None):
        import paho.mqtt.client as paho

        self.msgs = []
        self.cond = threading.Condition()
        self.subscribed = threading.Event()
        self.topics = topics
        self.c = paho.Client(paho.CallbackAPIVersion.VERSION2,
                             client_id=client_id or "sub-%d" % free_port())
        self.c.username_pw_set(USER, PASSWORD)
        self.c.reconnect_delay_set(0.05, 0.2)
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.on_disconnect = lambda *a: self.subscribed.clear()
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", broker.port, keepalive=30)
        self.c.loop_start()
        assert self.subscribed.wait(5), "subscriber could not subscribe"

    def _on_connect(self, c, userdata, flags, rc, props=None):
        self.subscribed.clear()
        c.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, c, userdata, m):
        with self.cond:
            self.msgs.append((m.topic, m.payload, m.retain))
            self.cond.notify_all()

    def wait_for(self, pred, timeout=5):
        end = time.monotonic() + timeout
        with self.cond:
            while not pred(self.msgs):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def subscriber(live_broker):
    made = []

    def make(*topics, **kw):
        s = Subscriber(live_broker, topics, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


# --- object storage servers (S3rver, Azurite): see cloudsrv.py -------------------------------
from . import cloudsrv  # noqa: E402


def _need_node_servers():
    why = cloudsrv.missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)  # CI installs them: a missing server must not pass as a skip
        pytest.skip(why)


@pytest.fixture(scope="session")
def s3rver(tmp_path_factory):
    """npm @20minutes/s3rver on a free loopback port; our key pair only (SigV4 verified)."""
    _need_node_servers()
    s = cloudsrv.S3rver(directory=str(tmp_path_factory.mktemp("s3rver"))).start()
    yield s
    s.stop()


@pytest.fixture
def live_s3(s3rver):
    """The session S3rver, restarted if an earlier test stopped it."""
    return s3rver.ensure()


@pytest.fixture(scope="session")
def azurite():
    """npm azurite (blob) on a free loopback port, in memory, one fixed account."""
    _need_node_servers()
    a = cloudsrv.Azurite().start()
    a.container()
    yield a
    a.stop()


@pytest.fixture
def live_azurite(azurite):
    if not azurite.running:
        azurite.start()
        azurite.container()
    return azurite


# --- InfluxDB 1.x (Debian influxdb): see influxsrv.py ----------------------------------------
from . import influxsrv  # noqa: E402


@pytest.fixture(scope="session")
def influx(tmp_path_factory):
    """Debian's influxd on free loopback ports, auth on, data in a temp dir."""
    if not influxsrv.influxd():
        msg = "influxd missing (scripts/setup.sh installs Debian's influxdb)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    srv = influxsrv.Influx(str(tmp_path_factory.mktemp("influxd"))).start()
    yield srv
    srv.stop()


@pytest.fixture
def live_influx(influx):
    return influx.ensure()
