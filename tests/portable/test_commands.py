"""Authenticated, replay-proof remote commands (portable)."""

import json

from portable_support import PrefixStorage, run, tmpdir

from wildcam.manage.commands import Commands, canonical, sign

KEY = "k3y-for-cam-01"
NOW = 1780315200


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(m % a)

    warning = info


def _cmds(st=None, now=NOW):
    c = Commands(st or PrefixStorage(tmpdir()), KEY, "cam-01", Log(), now=lambda: now)
    c.register("capture", lambda args: "queued")
    c.register("logs", lambda args: ["line"] * args.get("n", 1),
               check=lambda a: None if isinstance(a.get("n", 1), int) and 0 < a.get("n", 1) <= 20
               else "n must be 1..20")
    c.register("boom", lambda args: 1 // 0)
    return c


def _msg(cmd="capture", args=None, seq=1, ts=NOW, device="cam-01", key=KEY, **extra):
    m = {"cmd": cmd, "args": args or {}, "device": device, "seq": seq, "ts": ts, "nonce": "n%d" % seq}
    m.update(extra)
    m["sig"] = sign(m, key)
    return json.dumps(m).encode()


def test_canonical_form_is_the_same_on_every_interpreter():
    m = {"nonce": "x", "args": {"b": [1, 2], "a": "é"}, "cmd": "c", "seq": 5}
    assert canonical(m) == b'{"args":{"a":"\\u00e9","b":[1,2]},"cmd":"c","nonce":"x","seq":5}'
    # what CPython's json.dumps(sort_keys=True, separators=(",", ":")) gives a host tool
    assert canonical({"t": "\U0001f98a fox"}) == b'{"t":"\\ud83e\\udd8a fox"}'


def test_a_signed_command_runs_and_is_answered():
    c = _cmds()
    reply = run(c.handle(_msg()))
    assert reply == {"id": "n1", "cmd": "capture", "ok": True, "result": "queued"}
    assert c.counters["accepted"] == 1


def test_every_refusal_has_a_reason_and_is_counted():
    c = _cmds()
    cases = [
        (b"x" * 3000, "too large"),
        (b"{not json", "not JSON"),
        (b"[1,2]", "not a JSON object"),
        (json.dumps({"cmd": "capture"}).encode(), "missing field"),
        (_msg(key="wrong-key"), "bad signature"),
        (_msg().replace(b'"capture"', b'"reboot"', 1), "bad signature"),
        (_msg(device="cam-02"), "for another device"),
        (_msg(ts=NOW - 3600, seq=2), "stale"),
        (_msg(cmd="format_sd", seq=3), "unknown command"),
        (_msg(args=None, seq=4).replace(b'"args": {}', b'"args": []'), "bad signature"),
    ]
    for raw, reason in cases:
        reply = run(c.handle(raw))
        assert reply["ok"] is False and reason in reply["error"], (reason, reply)
    assert c.counters["refused"] == len(cases) and c.counters["accepted"] == 0
    unsigned = json.loads(_msg(seq=9))
    del unsigned["sig"]
    assert "missing field sig" in run(c.handle(json.dumps(unsigned).encode()))["error"]


def test_replays_are_refused_even_after_a_reboot():
    st = PrefixStorage(tmpdir())
    c = _cmds(st)
    raw = _msg(seq=10)
    assert run(c.handle(raw))["ok"]
    assert "replayed" in run(c.handle(raw))["error"]
    again = _cmds(st)  # a reboot
    assert "replayed" in run(again.handle(raw))["error"]
    assert "replayed" in run(again.handle(_msg(seq=9)))["error"]
    assert run(again.handle(_msg(seq=11)))["ok"]


def test_without_a_clock_the_sequence_still_protects():
    c = Commands(PrefixStorage(tmpdir()), KEY, "cam-01", Log(), now=lambda: None)
    c.register("capture", lambda a: 1)
    assert run(c.handle(_msg(ts=5, seq=1)))["ok"]
    assert not run(c.handle(_msg(ts=5, seq=1)))["ok"]


def test_argument_checks_and_failures_are_answered():
    c = _cmds()
    r = run(c.handle(_msg(cmd="logs", args={"n": 500}, seq=20)))
    assert r == {"id": "n20", "cmd": "logs", "ok": False, "error": "n must be 1..20"}
    r = run(c.handle(_msg(cmd="boom", seq=21)))
    assert r["ok"] is False and r["error"].startswith("ZeroDivisionError")
    assert run(c.handle(_msg(cmd="logs", args={"n": 2}, seq=22)))["result"] == ["line", "line"]


def test_no_key_means_no_commands():
    c = Commands(PrefixStorage(tmpdir()), "", "cam-01", Log(), now=lambda: NOW)
    c.register("capture", lambda a: 1)
    assert "commands disabled" in run(c.handle(_msg()))["error"]


def test_broadcast_to_all_devices():
    c = _cmds()
    assert run(c.handle(_msg(device="*", seq=30)))["ok"]
