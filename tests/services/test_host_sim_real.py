"""`python -m host_sim` against real servers: flag validation and pre-flight (no fleet runs),
the wrong-secret path, and counting at the servers through kill -9 restarts (`--real
--chaos`), each over a short simulated span at a high --speed to keep the wall time modest.
"""
import hashlib
import json
import os
from pathlib import Path

import pytest

from host_sim.demo import main
from host_sim.dests import DestError, Dests

from .cloudsrv import S3_ACCESS, S3_SECRET

pytestmark = pytest.mark.services

ENV = ("WILDCAM_S3_KEY", "WILDCAM_S3_SECRET", "WILDCAM_AZURE_KEY", "WILDCAM_AZURE_SAS",
       "WILDCAM_MQTT_PASSWORD", "WILDCAM_INFLUX_PASSWORD", "WILDCAM_INFLUX_TOKEN")


@pytest.fixture(autouse=True)
def _no_secret_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def _need_real():
    from host_sim.realrun import missing_tools

    why = missing_tools()
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def _args(*argv):
    import argparse

    from host_sim.dests import add_flags

    ap = argparse.ArgumentParser()
    add_flags(ap)
    ap.add_argument("--out")
    return ap.parse_args(list(argv))


# --- flags and pre-flight ----------------------------------------------------------------------
@pytest.mark.parametrize("argv, words", [
    (["--s3", "http://127.0.0.1:9"], ["--s3 needs an access key", "WILDCAM_S3_KEY"]),
    (["--s3", "127.0.0.1:9", "--s3-key", "k", "--s3-secret", "s"], ["http(s)://"]),
    (["--azure", "http://127.0.0.1:9", "--azure-account", "a"], ["--azure-key", "--azure-sas",
                                                                 "WILDCAM_AZURE_KEY"]),
    (["--azure", "http://127.0.0.1:9", "--azure-key", "k"], ["names no account"]),
    (["--mqtt", "127.0.0.1:9", "--mqtt-user", "u"], ["WILDCAM_MQTT_PASSWORD"]),
    (["--hass"], ["--hass needs --mqtt"]),
    (["--influx", "http://127.0.0.1:9"], ["--influx-db"]),
])
def test_a_destination_that_cannot_work_is_refused_before_the_run(argv, words, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path / "o")]) == 2
    out = capsys.readouterr().out
    assert "error:" in out and all(w in out for w in words), out
    assert not (tmp_path / "o").exists()  # nothing ran


def test_secrets_from_the_environment_and_the_config_the_cameras_get(monkeypatch):
    monkeypatch.setenv("WILDCAM_S3_KEY", "AKIAENV")
    monkeypatch.setenv("WILDCAM_S3_SECRET", "env-secret")
    monkeypatch.setenv("WILDCAM_AZURE_SAS", "sv=x&sig=y")
    d = Dests(_args("--s3", "http://127.0.0.1:9", "--s3-region", "eu-west-1", "--s3-bucket",
                    "traps", "--azure", "http://127.0.0.1:10", "--azure-account", "acct",
                    "--mqtt", "127.0.0.1:11", "--hass"))
    assert d.secrets["s3.access_key"] == "AKIAENV" and d.secrets["s3.secret_key"] == "env-secret"
    assert d.secrets["azure.sas"] == "sv=x&sig=y" and not d.secrets["azure.account_key"]
    assert d.config["s3.region"] == "eu-west-1" and d.config["s3.bucket"] == "traps"
    assert d.config["azure.account_url"] == "http://127.0.0.1:10/acct"
    assert d.config["cloud.dests"] == "s3,azure" and d.config["cloud.mode"] == "replicate"
    assert d.config["mqtt.port"] == 11 and d.config["hass.discovery"] is True
    assert not d.fallback_local
    # production account URLs carry the account in the host name
    monkeypatch.delenv("WILDCAM_AZURE_SAS")
    d = Dests(_args("--azure", "https://myacct.blob.core.windows.net", "--azure-key", "k"))
    assert d.spec["azure"]["account"] == "myacct"
    with pytest.raises(DestError, match="not both"):
        Dests(_args("--azure", "https://a.blob.core.windows.net", "--azure-key", "k",
                    "--azure-sas", "s"))


def test_help_names_every_secret_variable(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ENV:
        assert name in out


def test_unreachable_server_and_a_server_on_another_clock(tmp_path, capsys, live_s3):
    from host_sim.servers import free_port

    port = free_port()
    assert main(["--s3", "http://127.0.0.1:%d" % port, "--s3-key", "k", "--s3-secret", "s",
                 "--out", str(tmp_path / "a")]) == 2
    assert "cannot reach 127.0.0.1:%d" % port in capsys.readouterr().out
    # the session's s3rver runs on the real clock; the simulated cameras start 2026-06-01 and
    # run 200x faster: every signed request would be refused, so the run does not start
    assert main(["--s3", live_s3.endpoint, "--s3-key", S3_ACCESS, "--s3-secret", S3_SECRET,
                 "--s3-bucket", "traps", "--out", str(tmp_path / "b")]) == 2
    out = capsys.readouterr().out
    assert "the server's clock reads" in out and "--start now --speed 1" in out


# --- real runs ---------------------------------------------------------------------------------
def _summary(out):
    return json.loads((out / "summary.json").read_text())


def test_wrong_secret_stops_the_run_with_the_servers_words_and_keeps_the_images(
        tmp_path, capsys):
    """The first camera to upload an image (cam-02 at 40 min; cam-01's animal at 2.4 min
    has passed before the detector's window, so that burst is kept on its card for review,
    never sent) is refused: the run stops (exit 3) quoting s3rver, and every image it took
    is still queued on its card."""
    _need_real()
    out = tmp_path / "out"
    code = main(["--real", "--fleet", "mains", "--boards", "2", "--hours", "1", "--animals", "24", "--seed", "1",
                 "--speed", "600", "--ota-at", "-1", "--power-cuts", "0", "--s3-secret",
                 "not-the-secret", "--out", str(out), "--log-lines", "0", "--no-report"])
    text = capsys.readouterr().out
    assert code == 3, text
    assert "refused for its credentials" in text and "SignatureDoesNotMatch" in text
    srv = _summary(out)["server"]
    first = srv["refused_credentials"][0]["camera"]
    cam = srv["cameras"][first]
    assert cam["images"] >= 1 and cam["queued"] == cam["images"]
    assert cam["lost"] == 0 and cam["dead"] == 0 and cam["delivered"] == 0
    assert srv["total"]["lost"] == 0


def test_real_chaos_loses_nothing_and_every_event_reaches_mqtt(tmp_path, capsys):
    """--real --chaos: s3rver, Azurite and mosquitto are each killed (SIGKILL) and restarted
    mid-run. Nothing is lost: every image is in the bucket with the card's sha256, every
    event was seen on MQTT, nothing is duplicated. Azurite may forget blobs it acknowledged
    in its last 5 s before the kill (its index is saved every 5 s): those are counted as
    `partial`, named under `missing`, and are still in S3."""
    _need_real()
    out = tmp_path / "out"
    code = main(["--real", "--fleet", "mains", "--chaos", "--boards", "2", "--hours", "2.5", "--animals", "48",
                 "--seed", "1", "--speed", "500", "--ota-at", "-1", "--out", str(out),
                 "--log-lines", "0", "--no-report"])
    text = capsys.readouterr().out
    assert code == 0, text
    s = _summary(out)
    srv = s["server"]
    assert sorted((c["server"], c["action"]) for c in srv["chaos"]) == [
        (n, a) for n in ("azure", "mqtt", "s3") for a in ("kill", "start")]
    tot = srv["total"]
    assert tot["images"] >= 6 and tot["delivered"] + tot["partial"] == tot["images"], srv
    # (an event published again after the broker's kill lost its PUBACK is at-least-once
    # delivery, counted as mqtt_redelivered, not as a duplicate)
    assert tot["lost"] == tot["queued"] == tot["dead"] == tot["duplicates"] == 0, srv
    assert tot["bad_sha256"] == 0 and set(srv["missing"]) <= {"azure"}
    assert len(srv["missing"].get("azure", [])) == tot["partial"]
    for name, cam in srv["cameras"].items():
        assert cam["by_store"]["s3"] == cam["images"]
        assert cam["by_store"]["azure"] == cam["images"] - cam["partial"]
        assert cam["events"]["seen_on_mqtt"] == cam["events"]["taken"], (name, cam)
    assert srv["skew_refused"]["total"] <= 2
    # the table the user reads shows the servers' figures
    assert "counted at the servers" in text and " 0 lost" in text
    for b in s["boards"]:
        assert b["delivered"] == srv["cameras"][b["name"]]["delivered"]


def test_the_count_checks_each_object_against_the_card(tmp_path):
    """Planted failures: an object whose bytes differ from the card's sha256 is not
    delivered (bad_sha256), a second copy of an image is a duplicate, an image that is
    neither at the store nor in the outbox is lost, one still in the outbox is queued."""
    from host_sim import Simulation
    from host_sim.atserver import tally
    from host_sim.board import Board
    from wildcam.queue.outbox import Outbox

    with Simulation() as sim:
        b = Board("cam-x", tmp_path, sim=sim)
    dcim = Path(b.sd.root, "DCIM", "20260601")
    dcim.mkdir(parents=True)
    sha = {}
    for n in ("a", "b", "c", "d"):
        body = n.encode() * 100
        (dcim / (n + ".jpg")).write_bytes(body)
        sha[n] = hashlib.sha256(body).hexdigest()
        (dcim / (n + ".json")).write_text(json.dumps({"sha256": sha[n], "event": "e1"}))
    from host_sim.storage import SimStorage

    box = Outbox(SimStorage(b.flash, b.sd), "/sd/outbox").open()
    box.put("detection", route="media", media="/sd/DCIM/20260601/d.jpg", size=100,
            sha256=sha["d"], key="cam-x-20260601-d")

    def obj(n, digest):
        return {"name": "cam-x/20260601/%s.jpg" % n, "key": "cam-x-20260601-" + n,
                "sha256": digest, "size": 100, "created": None, "modified": None}

    found = {"s3": {"objects": [obj("a", sha["a"]), obj("a", sha["a"]),
                                obj("b", "0" * 64)]}}
    cam = tally([b], ["s3"], found, None)["cameras"]["cam-x"]
    assert cam["images"] == 4 and cam["delivered"] == 1 and cam["duplicates"] == 1
    assert cam["bad_sha256"] == 1 and cam["queued"] == 1 and cam["lost"] == 2  # b and c


def test_real_with_influx_metrics_and_home_assistant_discovery(tmp_path, capsys, live_influx):
    """--real plus --influx (a server of our own) and --hass: heartbeats land in InfluxDB,
    and every camera announces its Home Assistant entities on the broker."""
    from .influxsrv import ADMIN, ADMIN_PW

    _need_real()
    live_influx.query('CREATE DATABASE "sim_real"')
    out = tmp_path / "out"
    code = main(["--real", "--fleet", "mains", "--hass", "--influx", live_influx.url, "--influx-db", "sim_real",
                 "--influx-user", ADMIN, "--influx-password", ADMIN_PW, "--boards", "1",
                 "--hours", "1", "--speed", "600", "--ota-at", "-1", "--power-cuts", "0",
                 "--out", str(out), "--log-lines", "0", "--no-report"])
    text = capsys.readouterr().out
    assert code == 0, text
    srv = _summary(out)["server"]
    # temperature, signal, queue, last detection, camera: a mains board has no battery entities
    assert srv["hass_entities"] == {"cam-01": 5}
    assert "Home Assistant discovery: cam-01 5 entities" in text
    res = live_influx.query('SELECT * FROM "wildcam_health"', db="sim_real")
    assert res["results"][0]["series"][0]["values"]  # heartbeats arrived
