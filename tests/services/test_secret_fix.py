"""A wrong S3 secret fixed remotely (issue 18): the camera starts with a wrong secret, s3rver
(SigV4) answers 403 SignatureDoesNotMatch, the destination is held off (items stay queued, a
health alarm names the cause, nothing is dead-lettered); a signed `config_set` of the secret
through mosquitto fixes it, and every image ends up listed in the bucket with its hash, with
no dead letter. The secret is never echoed: not in the reply, the logs or any MQTT message.

Planted failure: a sync that dead-letters `Refused` like a `Permanent` error (sync.py
`except (Permanent, Refused)`) makes this test fail at `state["sync"]["dead"] == 0`.
"""
import hashlib
import json
from pathlib import Path

import pytest

from host_sim import scenes
from host_sim.fleet import sd_images
from host_sim.storage import SimStorage
from wildcam.queue.outbox import Outbox

from .cloudsrv import S3_ACCESS, S3_BUCKET, S3_SECRET
from .test_app_manage import _board, _online, _replies, _send, _wait

pytestmark = pytest.mark.services
WRONG = "not-the-secret-0123456789"


def _listing(live_s3, device):
    s3 = live_s3.boto3()
    got = s3.list_objects_v2(Bucket=S3_BUCKET, Prefix=device + "/").get("Contents", [])
    return s3, {o["Key"] for o in got}


def _states(sub):
    return [json.loads(p) for t, p, _ in sub.msgs if t.endswith("/state")]


def test_wrong_secret_then_a_remote_fix_delivers_everything_and_dead_letters_nothing(
        tmp_path, subscriber, live_broker, live_s3):
    import time

    from host_sim import Simulation

    sub = subscriber("wildcam/cam-k/#")
    # s3rver runs on the real clock and refuses requests 15 min off it: start there (the
    # test runs about 6 virtual minutes)
    sim = Simulation(io_grace=0.02, start=time.time())
    try:
        b = _board(sim, tmp_path, live_broker, name="cam-k", scene=scenes.animal(
            seed=3, start=60, count=3, every=60), extra={"cloud.dests": "s3",
                                                         "capture.burst_count": 3, "s3.endpoint": live_s3.endpoint,
                                      "s3.bucket": S3_BUCKET, "health.interval_s": 60,
                                      "sync.local_dir": ""})
        sp = Path(b.flash.root, "secrets.json")
        sec = json.loads(sp.read_text())
        sec["s3"] = {"access_key": S3_ACCESS, "secret_key": WRONG}
        sp.write_text(json.dumps(sec))
        _online(sim, b, sub)
        # the wrong secret: refused, held off, named in the health report
        _wait(sim, lambda: any((s.get("sync") or {}).get("failed") for s in _states(sub)),
              real_s=60)
        _wait(sim, lambda: sim.now > 260, real_s=60)  # the other animals come meanwhile
        state = _states(sub)[-1]
        assert state["sync"]["dead"] == 0 and state["queue"]["dead"] == 0, state["sync"]
        assert any(a.startswith("s3 held:") and "SignatureDoesNotMatch" in a
                   for a in state["sync"]["alarms"]), state["sync"]
        assert state["queue"]["pending"] >= 1
        images = sd_images(b)
        assert len(images) >= 6, "the scene gave %d images" % len(images)
        assert not any(k.endswith(".jpg") for k in _listing(live_s3, "cam-k")[1])
        # the fix: a signed config_set of the secret, through mosquitto
        req = _send(sub, "cam-k", "config_set", {"changes": {"s3.secret_key": S3_SECRET}},
                    ts=int(b.wall()))
        _wait(sim, lambda: any(r.get("id") == req["nonce"] for r in _replies(sub)))
        reply = [r for r in _replies(sub) if r.get("id") == req["nonce"]][0]
        assert reply["ok"] and reply["result"]["saved"] == ["s3.secret_key"], reply
        assert json.loads(sp.read_text())["s3"]["secret_key"] == S3_SECRET  # persisted there
        assert S3_SECRET not in Path(b.flash.root, "config.json").read_text()

        def delivered():
            keys = _listing(live_s3, "cam-k")[1]
            return all(any(k.endswith("/%s.jpg" % m["_file"].stem) for k in keys)
                       for m in sd_images(b).values())

        _wait(sim, delivered, real_s=90)
        sim.run_for(30)
        images = sd_images(b)
        s3, keys = _listing(live_s3, "cam-k")
        for meta in images.values():  # delivered = listed there, hash checked
            key = [k for k in keys if k.endswith("/%s.jpg" % meta["_file"].stem)][0]
            body = s3.get_object(Bucket=S3_BUCKET, Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == \
                hashlib.sha256(meta["_file"].read_bytes()).hexdigest(), key
        b.power_off()
        sim.run_for(5)
        box = Outbox(SimStorage(b.flash, b.sd), "/sd/outbox").open()
        assert box.dead_letters(1000) == []  # nothing dead-lettered for the auth error
        assert not [k for k in box.depth() if box.depth()[k] and k in ("alert", "detection")]
        # the secret was never echoed: reply, MQTT traffic, logs on the flash
        for t, p, _ in sub.msgs:
            if not t.endswith("/cmd"):
                assert S3_SECRET.encode() not in p and WRONG.encode() not in p, t
        for f in Path(b.flash.root).rglob("*"):
            if f.is_file() and f.name != "secrets.json":
                data = f.read_bytes()
                assert S3_SECRET.encode() not in data and WRONG.encode() not in data, f
    finally:
        sim.close()
