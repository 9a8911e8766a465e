"""Hypothesis fuzzing of remote command payloads, and the host signer against the board's."""
import json
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.wildcmd import sign_command

from wildcam.manage.commands import Commands
from wildcam.core.storage import Storage

KEY = "fuzz-key"
NOW = 1780315200


class Dir(Storage):
    def __init__(self):
        self.root = tempfile.mkdtemp()

    def real(self, p):
        return self.root + p


class Log:
    def info(self, *a):
        pass

    warning = info


def _cmds():
    c = Commands(Dir(), KEY, "cam-01", Log(), now=lambda: NOW, refusal_burst=10 ** 6)
    ran = []
    c.register("capture", lambda a: ran.append(a) or "ok")
    return c, ran


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda kids: st.lists(kids, max_size=4) |
                           st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.binary(max_size=600), json_values.map(lambda v: json.dumps(v).encode()),
                 st.dictionaries(st.sampled_from(["cmd", "args", "device", "seq", "nonce",
                                                  "sig", "ts"]), json_values)
                 .map(lambda d: json.dumps(d).encode())))
def test_random_payloads_are_refused_and_never_run(raw):
    import asyncio

    c, ran = _cmds()
    reply = asyncio.run(c.handle(raw))
    assert reply["ok"] is False and isinstance(reply["error"], str)
    assert ran == []


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=5),
       st.integers(min_value=1, max_value=2**53))
def test_host_signed_commands_verify_on_the_board_and_tampering_does_not(args, seq):
    import asyncio

    c, ran = _cmds()
    msg = sign_command("capture", args, "cam-01", KEY, seq=seq, ts=NOW)
    raw = json.dumps(msg).encode()
    reply = asyncio.run(c.handle(raw))
    if len(raw) > 2048:
        assert reply["ok"] is False and reply["error"].startswith("too large")
        return
    assert reply["ok"] is True, reply
    assert ran == [args]
    tampered = dict(msg, args=dict(args, extra=1))
    assert asyncio.run(c.handle(json.dumps(tampered).encode()))["ok"] is False


# --- structure-aware: JSON text built piece by piece, through the MQTT callback -------------
# (the portable half, tests/portable/test_command_fuzz_portable.py, runs a seeded generator of the
# same kinds under real MicroPython too)

def _text(strat):
    return strat.map(lambda s: s.encode() if isinstance(s, str) else s)


NUMBERS = st.sampled_from([b"18446744073709551616", b"1" + b"0" * 400, b"1e999", b"-0",
                           b"9007199254740993", b"-1", b"0", b"1.5", b"1E+2"])
BAD_UTF8 = st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\\ud800"])
LEAF = st.one_of(NUMBERS, st.sampled_from([b"null", b"true", b"[]", b"{}", b'""']),
                 st.builds(lambda a, b: b'"' + a + b + b'"',
                           _text(st.text(alphabet="abc", max_size=5)), BAD_UTF8),
                 _text(st.integers().map(str)))


def _nest(kids):
    return st.one_of(
        st.lists(kids, max_size=3).map(lambda xs: b"[" + b",".join(xs) + b"]"),
        st.lists(st.tuples(st.sampled_from([b"cmd", b"args", b"seq", b"sig", b"a"]), kids),
                 max_size=3)  # duplicate keys come naturally
        .map(lambda kv: b"{" + b",".join(b'"' + k + b'":' + v for k, v in kv) + b"}"))


VALUES = st.recursive(LEAF, _nest, max_leaves=20)
DEEP = st.builds(lambda o, n: o[0] * n + b"0" + o[1] * n,
                 st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]), st.integers(1, 3000))


def _command_like(fields):
    """A command-shaped object of these (key, JSON text) fields: odd values, duplicates,
    missing fields, nesting, and never a valid signature."""
    return b"{" + b",".join(b'"%s":%s' % (k.encode(), v) for k, v in fields) + b"}"


COMMANDS = st.lists(st.tuples(st.sampled_from(["cmd", "args", "device", "seq", "ts", "nonce",
                                               "sig"]), st.one_of(VALUES, DEEP)),
                    min_size=1, max_size=9).map(_command_like)


class _MQTT:
    connected = True

    def __init__(self):
        self.sent = []

    def topic(self, leaf):
        return "wildcam/cam-01/" + leaf

    async def publish(self, topic, msg, retain=False, qos=1):
        self.sent.append((topic, msg, retain))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(st.one_of(COMMANDS, VALUES, DEEP, st.binary(max_size=300)),
                          st.booleans()), min_size=1, max_size=12))
def test_structured_hostile_messages_through_the_mqtt_callback(batch):
    """Deep nesting, huge numbers, odd types, non-UTF-8, duplicate keys, retained and not:
    never raises, never runs, each delivery counted once, each retained one refused once
    and cleared (its redelivery ignored)."""
    import asyncio

    from wildcam.manage.remote import Management

    c, ran = _cmds()
    mq = _MQTT()
    m = Management(None, Dir(), Log(), None, mq, c, "cam-01", "0")
    deliveries = 0
    for raw, retained in batch:
        if not raw:
            continue
        for _ in range(2 if retained else 1):  # a retained one comes back at a reconnect
            m.on_message("wildcam/cam-01/cmd", raw, retained)
            asyncio.run(m.step())
            deliveries += 1
    assert ran == [] and c.counters["accepted"] == 0
    assert c.counters["refused"] + m.dropped + m.retained["ignored"] == deliveries
    clears = [s for s in mq.sent if s == ("wildcam/cam-01/cmd", b"", True)]
    assert len(clears) == m.retained["handled"] == m.retained["cleared"]
    assert m.retained["handled"] == len({r for r, ret in batch if ret and r})
