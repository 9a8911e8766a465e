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
