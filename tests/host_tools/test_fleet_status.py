"""`wildcam status` accounting (issue 18): per camera delivered, queued on the camera with
the oldest item's age, dead-lettered with causes, from what the camera reports over MQTT
(its retained state); a queued image is never called lost."""
import json
import time
from pathlib import Path

import pytest

from tests.services.conftest import PASSWORD, USER, broker, live_broker  # noqa: F401
from tests.services.conftest import _need_umqtt, subscriber  # noqa: F401
from tests.services.test_app_manage import _board, _wait
from tools import fleet

pytestmark = pytest.mark.services


def test_status_shows_delivered_queued_oldest_and_dead_with_causes(tmp_path, live_broker,
                                                                    subscriber, capsys):
    from host_sim import Simulation
    from host_sim.storage import SimStorage
    from wildcam.queue.outbox import Outbox

    sub = subscriber("wildcam/cam-s/#")
    sim = Simulation(start=time.time(), io_grace=0.02)
    try:
        b = _board(sim, tmp_path, live_broker, name="cam-s",
                   extra={"health.interval_s": 60, "sync.local_dir": ""})
        # what an earlier day left on the camera: one image delivered, two refused for
        # good, three still waiting (no destination configured now: they stay queued)
        t0 = int(sim.wall()) - 7200
        box = Outbox(SimStorage(b.flash, b.sd), "/sd/outbox", now=lambda: t0).open()
        Path(b.sd.root, "DCIM").mkdir(parents=True, exist_ok=True)
        for i in range(6):
            Path(b.sd.root, "DCIM", "img%d.jpg" % i).write_bytes(b"jpeg%d" % i)
            box.put("detection", route="media", media="/sd/DCIM/img%d.jpg" % i, size=5,
                    key="cam-s-old-%d" % i)
        box.done(box.next())
        for _ in range(2):
            box.dead(box.next(), "s3: s3 PUT cam-s/x.jpg: HTTP 400 InvalidArgument: no")
        assert box.pending() == 3
        b.power_on()
        _wait(sim, lambda: any(t.endswith("/state") for t, _, _ in sub.msgs), real_s=30)
        base = ["--broker", f"127.0.0.1:{live_broker.port}", "--user", USER, "--password",
                PASSWORD, "--wait", "1"]
        assert fleet.main(base + ["status", "--json"]) == 0
        text = capsys.readouterr().out  # the board's console lines may come first
        row = {r["device"]: r for r in json.loads(text[text.index("\n[") + 1:]
                                                  if not text.startswith("[") else text)}["cam-s"]
        assert row["delivered"] == 1 and row["queued"] >= 3, row
        assert row["oldest_queued_s"] >= 7000, row  # the oldest item's age
        assert row["dead"] == 2 and row["dead_reasons"] == {"s3: HTTP 400 InvalidArgument": 2}
        assert "lost" not in json.dumps(row)  # a camera cannot see lost; queued is not lost
        assert fleet.main(base + ["status"]) == 0
        table = " ".join(capsys.readouterr().out.split())
        assert "queued (oldest)" in table and "dead (causes)" in table
        assert "2 s3: HTTP 400 InvalidArgument" in table.replace("│ ", "")
        assert "never lost" in table
    finally:
        b.power_off()
        sim.run_for(1)
        sim.close()
