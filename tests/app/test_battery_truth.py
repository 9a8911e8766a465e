"""What a battery run reports (issue 18): images still queued at the end are queued, never
lost, in summary.json and on the CLI; deep sleep is on each battery camera's timeline (from
the board's sleep and wake records) and in report.html; battery days come from the energy
model (low / central / high), not capacity / mAh-per-day."""
import json
import re

from host_sim import energy


def test_a_battery_run_reports_queued_sleep_and_battery_days(tmp_path, capsys):
    from host_sim.demo import main

    out = tmp_path / "out"
    # battery cameras sync 06:00 and 18:00: what they take after 18:00 waits on the card
    assert main(["--battery", "--boards", "2", "--hours", "20", "--ota-at", "-1", "--out",
                 str(out), "--log-lines", "0"]) == 0
    text = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    boards = summary["boards"]
    queued = sum(b["queued"] for b in boards)
    assert queued > 0, [(b["name"], b["queued"]) for b in boards]  # the run leaves some
    for b in boards:
        assert b["lost"] == 0 and b["delivered"] + b["queued"] == b["image_count"], b
        if b["queued"]:
            assert b["oldest_queued_s"] > 0
        # battery days from the energy model, with its range
        en = b["energy"]
        d = en["battery_days"]
        assert en["battery"] is True and d["capacity_mah"] == energy.CAPACITY_MAH
        assert 0 < d["low"] < d["central"] < d["high"], d
        assert abs(d["central"] - energy.battery_days(en["mah_per_day"], energy.CENTRAL)) < 1.5
        assert abs(d["central"] - 7000 / en["mah_per_day"]) > 1  # not the old division
        # deep sleep on the timeline: spans from sleep to wake, in order, most of the run
        spans = [e for e in b["timeline"] if e["kind"] == "sleep"]
        assert len(spans) >= 10
        assert all(e["end"] >= e["t"] for e in spans)
        assert all(a["end"] <= b2["t"] for a, b2 in zip(spans, spans[1:]))
        asleep = sum(e["end"] - e["t"] for e in spans)
        assert asleep > 0.8 * 20 * 3600, asleep
        assert any(e["detail"]["timer_s"] and e["detail"]["asleep_s"] < e["detail"]["timer_s"]
                   for e in spans), "no PIR wake cut a sleep short"
    # the CLI: queued said as queued, nothing lost, battery days shown
    assert "lost images: 0 (nothing lost)" in text
    assert re.search(r"queued on the cameras: %d image\(s\), oldest [\d.]+ h" % queued, text)
    for b in boards:
        d = b["energy"]["battery_days"]
        assert "%g (%g-%g)" % (d["central"], d["low"], d["high"]) in text
    # the report: each camera's sleep spans drawn on its timeline, battery days in the table
    html = (out / "report.html").read_text()
    n = sum(len([e for e in b["timeline"] if e["kind"] == "sleep"]) for b in boards)
    assert html.count("<title>deep sleep at ") == n
    assert "%g <small>(" % round(boards[0]["energy"]["battery_days"]["central"]) in html
