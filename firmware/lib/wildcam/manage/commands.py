"""Remote commands: authenticated, replay-proof, and unable to touch what they should not.

A command is a JSON object published to `<prefix>/<device>/cmd`:

    {"cmd": "capture", "args": {}, "device": "cam-01", "seq": 1780315200123,
     "ts": 1780315200, "nonce": "3f9a", "sig": "<hex HMAC-SHA256>"}

`sig` is HMAC-SHA256 with the device's `cmd.hmac_key` over the canonical JSON (sorted keys,
compact) of every other field. A command is refused, with the reason counted and replied,
when it is too large, not JSON, missing a field, for another device, unsigned or badly
signed, not newer than the last accepted `seq` (replay; `seq` is kept across reboots),
more than `MAX_SKEW_S` away from the clock (when the clock is set), or unknown. Arguments
are checked by each command's validator; nothing from a command is ever used as a path.
Replies go to `.../cmd/result`: {"id": nonce, "cmd", "ok", "result" | "error"}.
"""

import json

from wildcam.core import jsonutil
from wildcam.core.hmac256 import hmac_sha256_hex

MAX_BYTES = 2048
MAX_SKEW_S = 300
SEQ_PATH = "/state/cmdseq"
FIELDS = ("cmd", "args", "device", "seq", "nonce", "sig")


class Refused(Exception):
    """The command was not accepted; the message says why (never echoes secrets)."""


def canonical(msg):
    body = {}
    for k in msg:
        if k != "sig":
            body[k] = msg[k]
    return jsonutil.dumps(body).encode()


def sign(msg, key):
    """The signature of a command dict (used by tests and the host-side helper)."""
    return hmac_sha256_hex(key.encode() if isinstance(key, str) else key, canonical(msg))


def _equal(a, b):
    """Constant-time comparison of two strings."""
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= ord(x) ^ ord(y)
    return diff == 0


class Commands:
    def __init__(self, storage, key, device, log, now=None):
        self.st = storage
        self.key = key.encode() if isinstance(key, str) else key
        self.device = device
        self.log = log
        self._now = now  # () -> Unix seconds or None
        self._handlers = {}
        self.counters = {"accepted": 0, "refused": 0, "failed": 0}
        self.refusals = {}
        self.last_seq = self._load_seq()

    def register(self, name, fn, check=None):
        """`fn(args)` returns the result (may be a coroutine); `check(args)` returns an
        error message or None."""
        self._handlers[name] = (fn, check)

    def names(self):
        return sorted(self._handlers)

    def _load_seq(self):
        try:
            raw = self.st.read_atomic(SEQ_PATH)
            return int(raw) if raw else 0
        except (OSError, ValueError):
            return 0

    def _save_seq(self, seq):
        self.last_seq = seq
        self.st.makedirs("/state")
        self.st.write_atomic(SEQ_PATH, str(seq).encode())

    def authenticate(self, raw):
        """The command dict when `raw` is acceptable, else raise Refused(reason)."""
        if not self.key:
            raise Refused("commands disabled: no cmd.hmac_key on this device")
        if len(raw) > MAX_BYTES:
            raise Refused("too large (%d bytes)" % len(raw))
        try:
            msg = json.loads(raw)
        except (ValueError, UnicodeError):
            raise Refused("not JSON")
        if not isinstance(msg, dict):
            raise Refused("not a JSON object")
        for f in FIELDS:
            if f not in msg:
                raise Refused("missing field %s" % f)
        sig = msg["sig"]
        if not isinstance(sig, str) or not _equal(sig, sign(msg, self.key)):
            raise Refused("bad signature")
        if msg["device"] not in (self.device, "*"):
            raise Refused("for another device")
        seq = msg["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq <= self.last_seq:
            raise Refused("replayed (seq %s not above %d)" % (seq, self.last_seq))
        now = self._now() if self._now else None
        ts = msg.get("ts")
        if now is not None and (not isinstance(ts, int) or abs(now - ts) > MAX_SKEW_S):
            raise Refused("stale (ts %s, device time %d)" % (ts, now))
        if not isinstance(msg["args"], dict):
            raise Refused("args must be an object")
        if msg["cmd"] not in self._handlers:
            raise Refused("unknown command %s" % msg["cmd"])
        return msg

    async def handle(self, raw):
        """Authenticate, run and answer one command; returns the reply dict."""
        try:
            msg = self.authenticate(raw)
        except Refused as e:
            reason = str(e)
            self.counters["refused"] += 1
            short = reason.split(" (")[0]
            self.refusals[short] = self.refusals.get(short, 0) + 1
            self.log.warning("command refused: %s", reason)
            return {"ok": False, "error": reason}
        fn, check = self._handlers[msg["cmd"]]
        reply = {"id": msg["nonce"], "cmd": msg["cmd"]}
        problem = check(msg["args"]) if check else None
        self._save_seq(msg["seq"])  # accepted: never again, even if it fails below
        if problem:
            self.counters["failed"] += 1
            reply.update(ok=False, error=problem)
            return reply
        try:
            result = fn(msg["args"])
            if hasattr(result, "send"):  # a coroutine
                result = await result
            self.counters["accepted"] += 1
            reply.update(ok=True, result=result)
            self.log.info("command %s done", msg["cmd"])
        except Exception as e:  # noqa: BLE001 - a failing command is answered, not fatal
            self.counters["failed"] += 1
            reply.update(ok=False, error="%s: %s" % (type(e).__name__, e))
            self.log.warning("command %s failed: %s", msg["cmd"], e)
        return reply
