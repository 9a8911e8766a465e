"""Structure-aware fuzzing of the command path from the MQTT callback on (portable: CPython
and real MicroPython, so the interpreter's own recursion limit, big ints and UTF-8 decoder
are the ones under test). tests/test_commands_fuzz.py drives the same path with hypothesis.

A seeded generator makes what a broker user without the key can send: nesting up to 3,000
deep (lists, objects, unbalanced), huge numbers (2**64, 400 digits, 1e999, -0), odd types in
every field, non-UTF-8 and lone surrogates, duplicate keys, truncations, random bytes, and
validly signed commands that are wrong (another device, stale, seq past 2**53, unknown) —
some retained (delivered again, as at a reconnect), most not. Nothing may raise, nothing
may run, every message is counted once, and a retained one is refused once and cleared.
"""

import json

from portable_support import PrefixStorage, run, tmpdir

from wildcam.manage.commands import MAX_SEQ, Commands, sign
from wildcam.manage.remote import Management

KEY = "fuzz-key-cam-01"
NOW = 1780315200
TOPIC = "wildcam/cam-01/cmd"


class Rng:
    """xorshift32: the same sequence on every interpreter."""

    def __init__(self, seed):
        self.s = seed or 1

    def next(self):
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return x

    def below(self, n):
        return self.next() % n

    def pick(self, seq):
        return seq[self.below(len(seq))]


ODD = (b"null", b"true", b"false", b"1e999", b"-0", b"18446744073709551616", b"1" + b"0" * 400,
       b'"\\ud800"', b"[]", b"{}", b'""', b"1.5", b'"\xff\xfe"', b"-9007199254740993",
       b'{"$":[1,{"a":null}]}', b'"' + b"A" * 300 + b'"')
FIELDS = ("cmd", "args", "device", "seq", "ts", "nonce", "sig")


def _good(seq, cmd="capture", **over):
    m = {"cmd": cmd, "args": {}, "device": "cam-01", "seq": seq, "ts": NOW, "nonce": "n%d" % seq}
    m.update(over)
    m["sig"] = sign(m, KEY)
    return m


def _fields(rng):
    """A command-shaped object with one or more fields made odd (as JSON text)."""
    m = _good(1 + rng.below(1000))
    parts = []
    changed = False
    for k in FIELDS:
        r = rng.below(6)
        if r == 0:
            changed = True  # missing
            continue
        same = json.dumps(m[k]).encode()
        v = rng.pick(ODD) if r <= 2 else same
        changed = changed or v != same
        parts.append(b'"' + k.encode() + b'":' + v)
    if not changed:
        parts.append(b'"seq":true')  # (a duplicate: the last one wins)
    return b"{" + b",".join(parts) + b"}"


def _deep(rng):
    """Nesting: bare, or (the finding) in the args of a command with every field present
    and well typed, so only the depth stands between it and canonicalisation."""
    o, c = rng.pick(((b"[", b"]"), (b'{"a":', b"}"), (b'[{"b":', b"}]")))
    if rng.below(2):
        depth = 1 + rng.below(3000)
        return o * depth + b"0" + c * (depth if rng.below(4) else depth // 2)  # unbalanced too
    depth = 9 + rng.below(1900 // len(o))  # mostly within MAX_BYTES
    return b'{"cmd":"capture","args":{"x":' + o * depth + b"0" + c * depth + \
        b'},"device":"cam-01","seq":3,"ts":%d,"nonce":"x","sig":"%s"}' % (NOW, b"0" * 64)


def _signed_but_wrong(rng):
    k = rng.below(6)
    if k == 0:
        m = _good(5, device="cam-02")
    elif k == 1:
        m = _good(6, ts=NOW - 3600 - rng.below(10 ** 6))  # stale (in the past: final)
    elif k == 2:
        m = _good(MAX_SEQ + 1 + rng.below(1000))
    elif k == 3:
        m = _good(7, cmd="format_sd")
    elif k == 4:
        m = _good(0)
    else:
        m = _good(8)
        m["args"] = {"x": 1}  # changed after signing
    return json.dumps(m).encode()


def hostile(rng):
    k = rng.below(9)
    if k == 0:
        return _deep(rng)
    if k == 1:
        return _fields(rng)
    if k == 2:  # non-UTF-8 inside a string of an otherwise fine command
        raw = json.dumps(_good(9)).encode()
        i = raw.find(b"capture")
        return raw[:i] + rng.pick((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80")) + raw[i:]
    if k == 3:  # duplicate keys: a signed capture with a reboot after it (last one wins)
        raw = json.dumps(_good(10)).encode()
        return raw[:-1] + b', "cmd": "reboot"}'
    if k == 4:
        raw = json.dumps(_good(11)).encode()
        return raw[:rng.below(len(raw))]
    if k == 5:
        return bytes(rng.below(256) for _ in range(1 + rng.below(700)))
    if k == 6:
        return _signed_but_wrong(rng)
    if k == 7:  # huge numbers where integers go
        n = rng.pick((b"18446744073709551616", b"1" + b"0" * 400, b"1e999", b"-0", b"9.0"))
        return b'{"cmd":"capture","args":{},"device":"cam-01","seq":' + n + \
            b',"ts":' + n + b',"nonce":"x","sig":"' + b"0" * 64 + b'"}'
    return b"x" * (2049 + rng.below(2000))  # too large


class FakeMQTT:
    connected = True

    def __init__(self):
        self.sent = []

    def topic(self, leaf):
        return "wildcam/cam-01/" + leaf

    async def publish(self, topic, msg, retain=False, qos=1):
        self.sent.append((topic, bytes(msg) if not isinstance(msg, str) else msg, retain))
        return len(msg)


class Log:
    def info(self, m, *a):
        pass

    warning = error = info


def _management():
    ran = []
    c = Commands(PrefixStorage(tmpdir()), KEY, "cam-01", Log(), now=lambda: NOW,
                 refusal_burst=5)
    c.register("capture", lambda a: ran.append("capture") or "queued")
    c.register("reboot", lambda a: ran.append("reboot") or "restarting")
    mq = FakeMQTT()
    m = Management(None, PrefixStorage(tmpdir()), Log(), None, mq, c, "cam-01", "0",
                   reset=lambda: ran.append("RESET"))
    return m, c, mq, ran


def _fuzz(seed, n):
    rng = Rng(seed)
    m, c, mq, ran = _management()
    fed = retained = 0
    for i in range(n):
        raw = hostile(rng)
        if not raw:
            continue
        fed += 1
        if rng.below(5) == 0:  # retained: handled now, and delivered again at a reconnect
            retained += 1
            m.on_message(TOPIC, raw, True)
            run(m.step())
            m.on_message(TOPIC, raw, True)
        else:
            m.on_message(TOPIC, raw, False)
        if i % 7 == 0:
            run(m.step())
    run(m.step())
    return m, c, mq, ran, fed, retained


def test_hostile_messages_never_run_never_raise_and_are_each_counted():
    for seed in (1, 17, 4242):
        m, c, mq, ran, fed, retained = _fuzz(seed, 160)
        assert ran == [] and c.counters["accepted"] == 0, (seed, ran)
        # each message refused once (the screen or the command task), or a signed one
        # dropped while the inbox was full; a retained one's second delivery is ignored
        # (the same bytes retained again later, e.g. a fixed replay, are ignored at once)
        met = c.counters["refused"] + m.dropped + m.retained["ignored"]
        assert met == fed + retained, (seed, met, fed, retained, c.counters, m.retained)
        assert m.retained["ignored"] >= retained and 0 < m.retained["handled"] <= retained
        clears = [s for s in mq.sent if s == (TOPIC, b"", True)]
        assert len(clears) == m.retained["cleared"] == m.retained["handled"], m.retained
        # refusal replies are rate-limited: REFUSAL_BURST (5) of them, every one signed
        replies = [s for s in mq.sent if s[0].endswith("/cmd/result")]
        spoken = c.counters["refused"] - c.counters["muted"]
        assert len(replies) <= spoken <= 10, (len(replies), spoken)  # (10: a slow run)
        # and the camera still takes a signed command afterwards
        m.on_message(TOPIC, json.dumps(_good(MAX_SEQ - 1)).encode(), False)
        run(m.step())
        assert ran == ["capture"]


def test_duplicate_keys_run_only_what_was_signed():
    """JSON's last duplicate wins: a key added after a signed one changes the command and
    breaks the signature; one added before it is overridden by the signed value."""
    m, c, mq, ran = _management()
    raw = json.dumps(_good(20)).encode()
    m.on_message(TOPIC, raw[:-1] + b', "cmd": "reboot"}', False)
    run(m.step())
    assert ran == [] and c.refusals.get("bad signature") == 1
    m.on_message(TOPIC, b'{"cmd": "reboot", ' + raw[1:], False)
    run(m.step())
    assert ran == ["capture"]


def test_an_empty_message_is_a_clear_not_a_command():
    m, c, mq, ran = _management()
    m.on_message(TOPIC, b"", True)
    m.on_message(TOPIC, b"", False)
    run(m.step())
    assert c.counters["refused"] == 0 and mq.sent == [] and ran == []


def test_a_retained_command_refused_only_for_now_is_kept_for_later():
    """With the clock unset a signed capture waits (held, up to HOLD_MS, for NTP): it is
    not refused, remembered or cleared (the owner may have retained it for a sleeping
    camera), and it runs once the clock is set; then it is cleared, and its redelivery
    ignored."""
    clock = []
    m, c, mq, ran = _management()
    c._now = lambda: clock[-1] if clock else None
    raw = json.dumps(_good(30)).encode()
    m.on_message(TOPIC, raw, True)
    run(m.step())
    assert ran == [] and not [s for s in mq.sent if "result" in s[0]], mq.sent
    assert m.retained["handled"] == 0 and (TOPIC, b"", True) not in mq.sent
    clock.append(NOW)  # NTP
    run(m.step())
    assert ran == ["capture"] and m.retained == {"handled": 1, "ignored": 0, "cleared": 1}
    assert (TOPIC, b"", True) in mq.sent
    m.on_message(TOPIC, raw, True)
    run(m.step())
    assert ran == ["capture"] and m.retained["ignored"] == 1
