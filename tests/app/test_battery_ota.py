"""OTA on battery cameras (issue 18): the check time survives deep sleep, the sync window's
radio wake checks, the trial boot stays up for its gate, and the fleet ends updated."""
import asyncio
import json

from wildcam.ota.updater import CHECKED, Updater


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, *a):
        self.lines.append(a)

    warning = error = info


def test_battery_fleet_takes_the_midday_update_at_its_evening_window(tmp_path):
    from host_sim.demo import main

    out = tmp_path / "out"
    # published at 12:00; battery cameras sleep between their 06:00 and 18:00 windows
    assert main(["--battery", "--boards", "2", "--hours", "20", "--ota-at", "12", "--out",
                 str(out), "--log-lines", "0", "--no-report"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for b in summary["boards"]:
        fw = b["firmware"]
        assert (fw["version"], fw["state"]) == ("0.2.0", "confirmed"), (b["name"], fw)
        log = "".join(p.read_text() for p in sorted((out / b["name"] / "flash" / "log").iterdir()))
        staged = [ln for ln in log.splitlines() if "staged; reboot" in ln]
        assert len(staged) == 1 and "T18:0" in staged[0], staged  # in the evening window
        assert "0.2.0 confirmed" in log
        # images taken after the evening window wait on the card for the morning one:
        # queued, never "lost" (lost = taken and now nowhere)
        assert b["lost"] == 0 and b["dead"] == 0, b
        assert b["delivered"] + b["queued"] == b["image_count"], b
    assert sum(b["queued"] for b in summary["boards"]) > 0  # the run does leave some queued
    queued = [b for b in summary["boards"] if b["queued"]]
    assert all(b["oldest_queued_s"] > 0 for b in queued)
    # planted: an image on the card that is neither delivered nor in the outbox is lost
    from types import SimpleNamespace

    from host_sim.facts import accounting
    from host_sim.fleet import sd_images

    name = queued[0]["name"]
    board = SimpleNamespace(name=name, sd=SimpleNamespace(root=str(out / name / "sd")),
                            flash=SimpleNamespace(root=str(out / name / "flash")))
    images = sd_images(board)
    acc = accounting(board, images, set(), None)
    assert acc["queued"] == queued[0]["queued"] and acc["lost"] == len(images) - acc["queued"]
    images[name + "-planted"] = {}
    assert accounting(board, images, set(), None)["lost"] == acc["lost"] + 1


def _updater(tmp_path, fetch, now):
    from host_sim.storage import Filesystem, SimStorage

    st = SimStorage(Filesystem("flash", str(tmp_path / "flash"), 1 << 24),
                    Filesystem("sd", str(tmp_path / "sd"), 1 << 24, kind="fat"))
    return st, Updater(st, _Log(), keys=(), fetch=fetch, version="0.1.0", retries=1,
                       backoff_ms=1, now=lambda: now[0])


def test_an_answered_check_is_kept_on_flash_and_a_cut_short_one_is_not(tmp_path):
    now = [1_780_000_000]
    state = {"up": False}

    def fetch(url, offset):
        if not state["up"]:
            raise OSError(113, "EHOSTUNREACH")  # radio up but no route: no answer
        raise OSError(2, "no such file")  # file: URL, nothing published: an answer

    st, up = _updater(tmp_path, fetch, now)
    assert up.due(3600) and up.last_check() is None
    r = asyncio.run(up.apply("file:/sd/ota/manifest.json"))
    assert not r["ok"] and r.get("resume") and up.last_check() is None and up.due(3600)
    state["up"] = True
    r = asyncio.run(up.apply("file:/sd/ota/manifest.json"))
    assert not r["ok"] and not r.get("resume") and up.last_check() == now[0]
    assert st.exists(CHECKED)
    # a new Updater (the next wake, or after a power cut) reads the time back
    _st2, up2 = _updater(tmp_path, fetch, now)
    assert up2.last_check() == now[0] and not up2.due(3600)
    now[0] += 3600
    assert up2.due(3600)
    now[0] = None  # the clock lost (power cut, no NTP yet): checking is the safe side
    assert up2.due(3600)
