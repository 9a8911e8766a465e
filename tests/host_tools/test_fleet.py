"""tools/fleet.py against a real mosquitto and simulated boards (host_sim): status from
retained state/status, signed commands with per-device keys from a provision folder, and a
staged OTA rollout that stops on failures."""
import json
import threading
import time
from pathlib import Path

import pytest

from host_sim import Board, Simulation, WifiModel, scenes
from host_sim.demo import provision as sim_provision
from tests.services.conftest import PASSWORD, USER, broker, live_broker  # noqa: F401
from tests.services.conftest import _need_umqtt, subscriber  # noqa: F401
from tools import fleet, rollout
from tools.flashing import provision

pytestmark = pytest.mark.services


def _board(sim, tmp_path, broker, name, key):
    b = Board(name, tmp_path, sim=sim, scene=scenes.empty(),
              wifi=WifiModel("sim-forest", "sim-password"))
    sim_provision(b, burst=1)
    cp = Path(b.flash.root, "config.json")
    cfg = json.loads(cp.read_text())
    cfg["mqtt"] = {"host": "127.0.0.1", "port": broker.port, "user": USER}
    cfg["health"] = {"interval_s": 60}
    cp.write_text(json.dumps(cfg))
    sp = Path(b.flash.root, "secrets.json")
    sec = json.loads(sp.read_text())
    sec["mqtt"] = {"password": PASSWORD}
    sec["cmd"] = {"hmac_key": key}
    sp.write_text(json.dumps(sec))
    return b


def _drive(sim, fn, real_s=60):
    """Run the CLI in a thread while virtual time advances here (the boards answer)."""
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("rc", fn()), daemon=True)
    t.start()
    end = time.monotonic() + real_s
    while t.is_alive():
        assert time.monotonic() < end, "CLI did not finish"
        sim.run_for(0.5)
        time.sleep(0.01)
    return box["rc"]


@pytest.fixture
def world(tmp_path, live_broker, subscriber):
    keys = tmp_path / "keys"
    provision.provision(keys, ids=["cam-a", "cam-b", "cam-never"])
    sub = subscriber("wildcam/#")
    sim = Simulation(start=time.time(), io_grace=0.02)
    boards = [_board(sim, tmp_path, live_broker, n, provision.device_key(keys, n))
              for n in ("cam-a", "cam-b")]
    for b in boards:
        b.power_on()
    end = time.monotonic() + 30
    while not all(any(t == f"wildcam/{n}/state" for t, _, _ in sub.msgs) for n in ("cam-a", "cam-b")):
        assert time.monotonic() < end, [t for t, _, _ in sub.msgs]
        sim.run_for(1)
        time.sleep(0.005)
    base = ["--broker", f"127.0.0.1:{live_broker.port}", "--user", USER, "--password", PASSWORD,
            "--keys", str(keys), "--wait", "1"]
    yield sim, boards, base, sub
    sim.close()


def test_status_cmd_and_rollout(world, capsys):
    sim, boards, base, sub = world
    # status: both boards with firmware, battery, queue; the never-seen one marked stale
    assert fleet.main(base + ["status", "--json"]) == 0
    rows = {r["device"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"cam-a", "cam-b", "cam-never"}
    for n in ("cam-a", "cam-b"):
        r = rows[n]
        assert r["link"] == "online" and r["fw"] == "0.1.0" and not r["stale"], r
        assert isinstance(r["queue"], int) and "battery_v" in r  # None: mains-powered sim
    assert rows["cam-never"]["link"] == "never seen" and rows["cam-never"]["stale"]
    assert fleet.main(base + ["status", "--stale", "0.000001"]) == 0
    table = capsys.readouterr().out
    assert "cam-a" in table and "STALE" in table and "online" in table

    # one device: the signed command runs, the reply is printed
    assert _drive(sim, lambda: fleet.main(base + ["cmd", "cam-a", "config_get",
                                                  '{"keys": ["capture.burst_count"]}'])) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("cam-a: ")][0]
    reply = json.loads(line.split(": ", 1)[1])
    assert reply["ok"] and reply["result"] == {"capture.burst_count": 1}

    # --all: every online device answers; the never-seen one is skipped
    assert _drive(sim, lambda: fleet.main(base + ["cmd", "--all", "status"])) == 0
    out = capsys.readouterr().out
    assert "cam-never: skipped" in out
    for n in ("cam-a", "cam-b"):
        line = [ln for ln in out.splitlines() if ln.startswith(n + ": {")][0]
        assert json.loads(line.split(": ", 1)[1])["result"]["sys"]["fw"] == "0.1.0"

    # a key that does not match the board: refused by the board, reported as a failure
    keyfile = Path(base[base.index("--keys") + 1]) / "cam-b" / "cmd.key"
    good = keyfile.read_text()
    keyfile.write_text("not-the-key\n")
    assert _drive(sim, lambda: fleet.main(base + ["cmd", "cam-b", "status", "--timeout",
                                                  "5"])) == 1
    assert "bad signature" in capsys.readouterr().out
    keyfile.write_text(good)

    # staged rollout: the first stage's board cannot fetch the manifest -> stop, no 2nd stage
    ids = ["cam-a", "cam-b", "cam-never"]
    version = next(v for v in ("0.2.%d" % i for i in range(50))
                   if rollout.pick(ids, v, 30)[0] != "cam-never")  # stage 1: one online board
    first = rollout.pick(ids, version, 30)
    sent_before = len([1 for t, _, _ in sub.msgs if t.endswith("/cmd")])
    rc = _drive(sim, lambda: fleet.main(base + [
        "ota", "rollout", "--version", version, "--url", "http://127.0.0.1:9/manifest.json",
        "--percent", "30,100", "--watch", "5", "--timeout", "30"]), real_s=90)
    out = " ".join(capsys.readouterr().out.split())
    assert rc == 1 and "rollout stopped at 30%" in out and f"{first[0]}: failed" in out, out
    cmds = [json.loads(p) for t, p, _ in sub.msgs if t.endswith("/cmd")][sent_before:]
    assert [(c["cmd"], c["device"]) for c in cmds] == [("ota", first[0])]
    assert cmds[0]["args"] == {"url": "http://127.0.0.1:9/manifest.json"}


def test_pick_is_stable_and_grows():
    devs = [f"wc-{i:03d}" for i in range(50)]
    ten = rollout.pick(devs, "0.2.0", 10)
    fifty = rollout.pick(devs, "0.2.0", 50)
    assert len(ten) == 5 and len(fifty) == 25 and set(ten) <= set(fifty)
    assert rollout.pick(devs, "0.3.0", 10) != ten  # another release, another first wave
    assert rollout.pick(devs, "0.2.0", 100) == sorted(devs, key=lambda d: rollout.rank(d, "0.2.0"))


def test_cmd_all_queues_a_command_for_a_sleeping_camera(tmp_path, live_broker, subscriber,
                                                         capsys):
    """`wildcam cmd --all` reaches a camera that is off the air: the broker keeps the
    command in the camera's persistent session, the CLI says it is queued (not a failure),
    and the camera runs it when it is back, its signed reply on the result topic."""
    keys = tmp_path / "keys"
    provision.provision(keys, ids=["cam-s"])
    sub = subscriber("wildcam/#")
    sim = Simulation(start=time.time(), io_grace=0.02)
    try:
        b = _board(sim, tmp_path, live_broker, "cam-s", provision.device_key(keys, "cam-s"))
        cp = Path(b.flash.root, "config.json")
        cfg = json.loads(cp.read_text())
        cfg["mqtt"]["keepalive_s"] = 10  # the broker notices a silent camera in 15 s
        cp.write_text(json.dumps(cfg))
        b.power_on()

        def until(pred, real_s=40):
            end = time.monotonic() + real_s
            while not pred():
                assert time.monotonic() < end
                sim.run_for(0.5)
                time.sleep(0.01)

        until(lambda: any(t == "wildcam/cam-s/state" for t, _, _ in sub.msgs))
        b.power_off()  # asleep: the radio is off, the connection just goes silent
        until(lambda: any(t == "wildcam/cam-s/status" and p == b"offline"
                          for t, p, _ in sub.msgs))
        base = ["--broker", f"127.0.0.1:{live_broker.port}", "--user", USER, "--password",
                PASSWORD, "--keys", str(keys), "--wait", "1"]
        assert fleet.main(base + ["cmd", "--all", "capture", "--timeout", "2"]) == 0
        out = capsys.readouterr().out
        assert "cam-s: queued for cam-s" in out and "next wake ~" not in out, out  # (mains)
        b.power_on()
        until(lambda: any(t == "wildcam/cam-s/cmd/result" and json.loads(p).get("ok")
                          and json.loads(p).get("cmd") == "capture" for t, p, _ in sub.msgs))
        until(lambda: list(Path(b.sd.root, "DCIM").rglob("*.jpg")))
    finally:
        sim.close()
