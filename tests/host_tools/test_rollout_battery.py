"""`wildcam ota rollout` with battery cameras (tools/rollout.py): a camera asleep by design
gets the signed command queued for its next window and is waited for until then, not
failed; one that does not confirm by then is. The fleet here is a scripted stand-in for the
MQTT connection (tools.fleet.Fleet's interface: state, status, clock, send, wait,
reply_to); the real connection is tested in test_fleet.py."""
import argparse

from tools import rollout
from tools.flashing import provision
from tools.ui import make_console

T0 = 1_780_300_000.0  # 2026-06-01 ~07:46 UTC
WINDOW = T0 + 4 * 3600  # the battery camera's next sync window


class ScriptedFleet:
    """Cameras that behave as the firmware does: one online answers at once and reports
    the new version; one asleep reports it after its window (`wake_ok`)."""

    def __init__(self, version, wake_ok=True):
        self.version, self.wake_ok = version, wake_ok
        self.now = T0
        self.status = {"cam-m": "online", "cam-b": "asleep"}
        self.state = {"cam-m": {"sys": {"fw": "0.1.0"}},
                      "cam-b": {"sys": {"fw": "0.1.0"}, "sleep": {"radio_at": WINDOW}}}
        self.results = []
        self.sent = []

    def clock(self):
        return self.now

    def settle(self, limit=0):
        pass

    def close(self):
        pass

    def send(self, device, cmd, args, key, ttl=None):
        self.sent.append((device, cmd, ttl, self.status[device]))
        msg = {"nonce": "n-%s" % device}
        if self.status[device] == "online":
            self.results.append((device, {"id": msg["nonce"], "ok": True}))
            self.state[device]["sys"]["fw"] = self.version
        return msg

    def reply_to(self, device, msg, key=None):
        return next((r for d, r in self.results if d == device and r["id"] == msg["nonce"]),
                    None)

    def wait(self, pred, timeout):
        self.now += 600  # ten minutes of the world per wait
        if self.now >= WINDOW + 60 and self.wake_ok:
            self.state["cam-b"] = {"sys": {"fw": self.version}, "ota": {"state": "confirmed"},
                                   "sleep": {"radio_at": WINDOW + 12 * 3600}}
        return pred()


def _args(keys, **kw):
    a = dict(version="0.2.0", url="http://updates.lan/m.json", percent="100", bundle=None,
             to=None, watch=300.0, timeout=5.0, ttl=3 * 86400.0, asleep_wait=26 * 3600.0,
             max_failures=0, keys=str(keys), wait=0.1)
    a.update(kw)
    return argparse.Namespace(**a)


def _run(monkeypatch, tmp_path, capsys, fleet, **kw):
    keys = tmp_path / "keys"
    provision.provision(keys, ids=["cam-m", "cam-b"])
    monkeypatch.setattr("tools.fleet.connect", lambda a: fleet)
    rc = rollout.cmd_ota(_args(keys, **kw), make_console())
    return rc, " ".join(capsys.readouterr().out.split())


def test_a_sleeping_camera_is_queued_for_its_window_and_waited_for(monkeypatch, tmp_path,
                                                                   capsys):
    fleet = ScriptedFleet("0.2.0")
    rc, out = _run(monkeypatch, tmp_path, capsys, fleet)
    assert rc == 0, out
    # both got the signed command; the sleeping one with a ttl that outlives its sleep
    assert sorted((d, c, s) for d, c, _, s in fleet.sent) == [
        ("cam-b", "ota", "asleep"), ("cam-m", "ota", "online")]
    assert all(ttl >= WINDOW - T0 for _, _, ttl, _ in fleet.sent)
    assert "cam-b: queued (asleep: expected at its next window ~11:46 UTC" in out, out
    assert "cam-b: on 0.2.0 (confirmed at its window)" in out
    assert "stage 100% ok: 2/2 on 0.2.0" in out and "failed" not in out
    assert fleet.now >= WINDOW  # it waited for the window, not --watch alone


def test_a_sleeping_camera_that_does_not_confirm_by_its_window_fails(monkeypatch, tmp_path,
                                                                     capsys):
    fleet = ScriptedFleet("0.2.0", wake_ok=False)
    rc, out = _run(monkeypatch, tmp_path, capsys, fleet)
    assert rc == 1 and "cam-b: failed not healthy on 0.2.0 by ~11:51 UTC" in out, out
    assert fleet.now < WINDOW + 3600  # gave up soon after the window + --watch


def test_a_sleeping_camera_is_not_waited_for_longer_than_asleep_wait(monkeypatch, tmp_path,
                                                                     capsys):
    fleet = ScriptedFleet("0.2.0")
    rc, out = _run(monkeypatch, tmp_path, capsys, fleet, asleep_wait=3600.0)
    assert rc == 1 and "cam-b: failed" in out and fleet.now < WINDOW, out
