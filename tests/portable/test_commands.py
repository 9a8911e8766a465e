"""Authenticated, replay-proof remote commands (portable)."""

import json

from portable_support import PrefixStorage, run, tmpdir

from wildcam.manage.commands import MAX_SEQ, REFUSAL_BURST, Commands, canonical, reply_key, sign
from wildcam.core.hmac256 import hmac_sha256_hex

KEY = "k3y-for-cam-01"
NOW = 1780315200


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(m % a)

    warning = info


def _cmds(st=None, now=NOW, burst=1000):
    c = Commands(st or PrefixStorage(tmpdir()), KEY, "cam-01", Log(), now=lambda: now,
                 refusal_burst=burst)
    c.register("capture", lambda args: "queued")
    c.register("logs", lambda args: ["line"] * args.get("n", 1),
               check=lambda a: None if isinstance(a.get("n", 1), int) and 0 < a.get("n", 1) <= 20
               else "n must be 1..20")
    c.register("boom", lambda args: 1 // 0)
    return c


def _msg(cmd="capture", args=None, seq=1, ts=NOW, device="cam-01", key=KEY, **extra):
    m = {"cmd": cmd, "args": args or {}, "device": device, "seq": seq, "ts": ts,
         "nonce": "n%s" % (seq,)}
    m.update(extra)
    m["sig"] = sign(m, key)
    return json.dumps(m).encode()


def test_canonical_form_is_the_same_on_every_interpreter():
    m = {"nonce": "x", "args": {"b": [1, 2], "a": "é"}, "cmd": "c", "seq": 5}
    assert canonical(m) == b'{"args":{"a":"\\u00e9","b":[1,2]},"cmd":"c","nonce":"x","seq":5}'
    # what CPython's json.dumps(sort_keys=True, separators=(",", ":")) gives a host tool
    assert canonical({"t": "\U0001f98a fox"}) == b'{"t":"\\ud83e\\udd8a fox"}'


def _plain(reply):
    """The reply without its signature, after checking the signature (as host tools do)."""
    body = dict(reply)
    sig = body.pop("sig")
    assert sig == hmac_sha256_hex(reply_key(KEY), canonical(body)), "reply signature"
    assert body.pop("device") == "cam-01"
    return body


def test_a_signed_command_runs_and_is_answered():
    c = _cmds()
    reply = run(c.handle(_msg()))
    assert _plain(reply) == {"id": "n1", "seq": 1, "cmd": "capture", "ok": True,
                             "result": "queued"}
    assert c.counters["accepted"] == 1


def test_a_reply_is_signed_with_a_derived_key_and_is_never_a_valid_command():
    c = _cmds()
    reply = run(c.handle(_msg(seq=2)))
    assert reply["sig"] != sign(reply, KEY)  # not the command key
    forged = dict(reply, ok=False)  # a broker user changing the result
    assert forged["sig"] != hmac_sha256_hex(reply_key(KEY), canonical(
        dict((k, forged[k]) for k in forged if k != "sig")))


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
        (_msg(args=None, seq=4).replace(b'"args": {}', b'"args": []'), "args must be an object"),
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


def test_without_a_clock_only_harmless_commands_run_and_time_sets_it():
    clock = []
    c = Commands(PrefixStorage(tmpdir()), KEY, "cam-01", Log(), now=lambda: clock[-1] if clock
                 else None, set_clock=clock.append)
    c.register("capture", lambda a: 1)
    c.register("status", lambda a: "fine", unset_ok=True)
    year_old = NOW - 365 * 86400
    r = run(c.handle(_msg(ts=year_old, seq=1)))  # a stale signed capture, replayed
    assert r["ok"] is False and "clock unset" in r["error"]
    assert run(c.handle(_msg(cmd="status", ts=year_old, seq=2)))["ok"]  # read-only: fine
    assert not run(c.handle(_msg(cmd="status", ts=5, seq=2)))["ok"]  # the sequence still holds
    assert run(c.handle(_msg(cmd="time", seq=3, ts=NOW)))["result"] == {"clock": NOW}
    assert clock == [NOW]
    assert run(c.handle(_msg(ts=NOW + 1, seq=4)))["ok"]  # clock set: capture runs
    assert "stale" in run(c.handle(_msg(ts=year_old, seq=5)))["error"]


def test_a_command_without_ts_is_refused():
    c = _cmds()
    m = json.loads(_msg(seq=3))
    del m["ts"]
    m["sig"] = sign(m, KEY)
    assert "missing field ts" in run(c.handle(json.dumps(m).encode()))["error"]


def test_seq_is_bounded_so_no_value_locks_the_device_out():
    c = _cmds()
    r = run(c.handle(_msg(seq=2 ** 64)))
    assert r["ok"] is False and "seq must be an integer" in r["error"]
    assert c.last_seq == 0
    assert run(c.handle(_msg(seq=5)))["ok"]
    assert run(c.handle(_msg(seq=MAX_SEQ)))["ok"]
    for bad in (0, -1, 1.5, True, "7"):
        assert not run(c.handle(_msg(seq=bad)))["ok"]


def test_deep_nesting_is_refused_before_parsing_or_signing():
    """A retained message nested 700 deep crashed the commands task (RecursionError while
    canonicalising it for the signature check) and reboot-looped the camera."""
    c = _cmds()
    for depth in (46, 700):
        deep = b'{"cmd":"capture","args":' + b'[' * depth + b']' * depth + \
            b',"device":"cam-01","seq":1,"ts":1,"nonce":"x","sig":"' + b"0" * 64 + b'"}'
        r = run(c.handle(deep[:2048]))
        assert r["ok"] is False and ("nested deeper" in r["error"] or "too large" in r["error"])
    wide = b'{"args":[' + b"0," * 600 + b'0]}'
    assert "more than" in run(c.handle(wide))["error"]
    assert c.counters["refused"] == 3


def test_any_fault_while_handling_is_a_refusal_not_a_crash():
    c = _cmds()

    def explode(raw):  # what MicroPython raises on a blown stack (CPython: RecursionError)
        raise RuntimeError("maximum recursion depth exceeded")

    c.parse = explode
    r = run(c.handle(_msg(seq=7)))
    assert r["ok"] is False and "RuntimeError" in r["error"]
    c.parse = lambda raw: (_ for _ in ()).throw(MemoryError())
    assert "MemoryError" in run(c.handle(_msg(seq=8)))["error"]
    assert c.screen(_msg(seq=9))["ok"] is False  # the MQTT callback's check: same rule
    assert c.counters["refused"] == 3


def test_a_validator_that_trips_is_answered():
    c = _cmds()
    c.register("odd", lambda a: 1, check=lambda a: a["missing"])
    r = run(c.handle(_msg(cmd="odd", seq=40)))
    assert r["ok"] is False and "invalid args (KeyError)" in r["error"]


def test_refusal_replies_are_rate_limited_but_all_counted():
    c = _cmds(burst=REFUSAL_BURST)
    replies = [run(c.handle(b"junk %d" % i)) for i in range(50)]
    spoken = [r for r in replies if r is not None]
    assert len(spoken) == REFUSAL_BURST and c.counters["refused"] == 50
    assert c.counters["muted"] == 50 - REFUSAL_BURST
    assert run(c.handle(_msg(seq=50)))["ok"]  # a signed command is still answered


def test_argument_checks_and_failures_are_answered():
    c = _cmds()
    r = run(c.handle(_msg(cmd="logs", args={"n": 500}, seq=20)))
    assert _plain(r) == {"id": "n20", "seq": 20, "cmd": "logs", "ok": False,
                         "error": "n must be 1..20"}
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


def test_a_signed_ttl_lets_a_command_wait_for_a_sleeping_camera():
    from wildcam.manage.commands import MAX_TTL_S

    c = _cmds()
    # sent 3 h ago for a camera that slept: stale without a ttl, accepted with one
    assert "stale" in run(c.handle(_msg(ts=NOW - 3 * 3600, seq=2)))["error"]
    assert run(c.handle(_msg(ts=NOW - 3 * 3600, seq=3, ttl=4 * 3600)))["ok"]
    # past its ttl, from the future, or with a ttl beyond the limit: refused
    assert "stale" in run(c.handle(_msg(ts=NOW - 5 * 3600, seq=4, ttl=4 * 3600)))["error"]
    assert "stale" in run(c.handle(_msg(ts=NOW + 3600, seq=5, ttl=4 * 3600)))["error"]
    assert "ttl must be" in run(c.handle(_msg(seq=6, ttl=MAX_TTL_S + 1)))["error"]
    # the ttl is signed (changing it breaks the signature) and seq still stops replays
    m = json.loads(_msg(ts=NOW - 3 * 3600, seq=7, ttl=60))
    m["ttl"] = 4 * 3600
    assert run(c.handle(json.dumps(m).encode()))["error"] == "bad signature"
    assert "replayed" in run(c.handle(_msg(ts=NOW - 3 * 3600, seq=3, ttl=4 * 3600)))["error"]


def test_a_command_that_needs_the_clock_can_wait_for_it():
    now = [None]
    c = Commands(PrefixStorage(tmpdir()), KEY, "cam-01", Log(), now=lambda: now[0])
    c.register("capture", lambda args: "queued")
    c.register("status", lambda args: {}, unset_ok=True)
    assert c.waits_for_clock(_msg(seq=2))  # a change: held until NTP
    assert not c.waits_for_clock(_msg("status", seq=3))  # harmless: runs now
    assert not c.waits_for_clock(_msg(seq=4, key="wrong"))  # refused anyway
    now[0] = NOW
    assert not c.waits_for_clock(_msg(seq=2))
    assert run(c.handle(_msg(seq=2)))["ok"]
