"""Remote commands: authenticated, replay-proof, and unable to touch what they should not.

A command is a JSON object published to `<prefix>/<device>/cmd`:

    {"cmd": "capture", "args": {}, "device": "cam-01", "seq": 1780315200123,
     "ts": 1780315200, "nonce": "3f9a", "sig": "<hex HMAC-SHA256>"}

`sig` is HMAC-SHA256 with the device's `cmd.hmac_key` over the canonical JSON (sorted keys,
compact) of every other field. Replies go to `.../cmd/result`:
{"id": nonce, "seq", "cmd", "device", "ok", "result" | "error", "sig"}, signed with a key
derived from the same secret (`reply_key`), so a broker user cannot forge a result and a
reply can never pass as a command.

Guarantees (docs/SECURITY.md has the threat model):
- Untrusted bytes are bounded before anything else looks at them: at most MAX_BYTES, and
  the JSON is scanned for nesting (MAX_DEPTH) and item count before it is parsed, so no
  message can exhaust the stack or the heap in the parser or in canonicalisation.
- Any fault while handling one message becomes a refusal with a reason and a counter;
  `handle()` never raises.
- A command is refused when it is not a JSON object of well-typed fields, unsigned or
  badly signed, for another device, not newer than the last accepted `seq` (kept across
  reboots; `seq` must be an integer 1..2**53, so no value can lock the device out), has no
  `ts`, or (clock set) a `ts` more than MAX_SKEW_S from the device clock, or is unknown.
  A signed `ttl` (seconds, at most MAX_TTL_S) lets the sender say how long a command may
  wait at the broker for a sleeping camera: it is then accepted up to `ts + ttl` (never
  more than MAX_SKEW_S ahead of the device clock). The `seq` rule still stops replays.
  With the clock unset only commands registered `unset_ok` run (read-only ones, and `time`,
  which sets the clock from the signed `ts`): nothing that changes the camera can be
  replayed from a stale signed message.
- Refusals are always counted; their replies and log lines are rate-limited
  (REFUSAL_BURST, then one per REFUSAL_EVERY_S), so junk cannot flood the broker or the log.
Arguments are checked by each command's validator; nothing from a command is a path.
"""

import json
import time

from wildcam.core import jsonutil
from wildcam.core.hmac256 import hmac_sha256, hmac_sha256_hex

MAX_BYTES = 2048
MAX_DEPTH = 8
MAX_ITEMS = 256
MAX_SKEW_S = 300
MAX_TTL_S = 7 * 86400  # a command may wait this long for a sleeping camera
MAX_SEQ = 1 << 53
REFUSAL_BURST = 5
REFUSAL_EVERY_S = 10
SEQ_PATH = "/state/cmdseq"
FIELDS = ("cmd", "args", "device", "seq", "ts", "nonce", "sig")


class Refused(Exception):
    """The command was not accepted; the message says why (never echoes secrets). `final`:
    the same bytes can never be accepted later (False only for a clock not yet set and a
    `ts` ahead of the device clock)."""

    def __init__(self, msg, final=True):
        super().__init__(msg)
        self.final = final


def canonical(msg):
    body = {}
    for k in msg:
        if k != "sig":
            body[k] = msg[k]
    return jsonutil.dumps(body).encode()


def sign(msg, key):
    """The signature of a command dict (used by tests and the host-side helper)."""
    return hmac_sha256_hex(key.encode() if isinstance(key, str) else key, canonical(msg))


def reply_key(key):
    """The key replies are signed with: derived, so a reply is never a valid command."""
    return hmac_sha256(key.encode() if isinstance(key, str) else key, b"wildcam reply v1")


def _equal(a, b):
    """Constant-time comparison of two strings."""
    if len(a) != len(b):
        return False
    diff = 0
    for x, y in zip(a, b):
        diff |= ord(x) ^ ord(y)
    return diff == 0


def _is_int(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _typed(msg):
    """Raise Refused unless every field has its type (checked before the signature: the
    canonical form of odd values is never computed)."""
    for f in FIELDS:
        if f not in msg:
            raise Refused("missing field %s" % f)
    if not isinstance(msg["cmd"], str) or not 0 < len(msg["cmd"]) <= 32:
        raise Refused("cmd must be a short string")
    if not isinstance(msg["args"], dict):
        raise Refused("args must be an object")
    if not isinstance(msg["device"], str) or len(msg["device"]) > 64:
        raise Refused("device must be a short string")
    if not _is_int(msg["seq"], 1, MAX_SEQ):
        raise Refused("seq must be an integer 1..2**53")
    if not _is_int(msg["ts"], 0, 1 << 40):
        raise Refused("ts must be Unix seconds")
    if not isinstance(msg["nonce"], str) or len(msg["nonce"]) > 64:
        raise Refused("nonce must be a short string")
    if not isinstance(msg["sig"], str) or len(msg["sig"]) != 64:
        raise Refused("bad signature")
    if "ttl" in msg and not _is_int(msg["ttl"], 0, MAX_TTL_S):
        raise Refused("ttl must be seconds 0..%d" % MAX_TTL_S)


class Commands:
    def __init__(self, storage, key, device, log, now=None, set_clock=None,
                 refusal_burst=REFUSAL_BURST):
        self.st = storage
        self.key = key.encode() if isinstance(key, str) else key
        self._reply_key = reply_key(self.key) if self.key else None
        self.device = device
        self.log = log
        self._now = now  # () -> Unix seconds or None
        self._set_clock = set_clock  # (unix seconds) -> None, for the `time` command
        self._handlers = {}
        self.counters = {"accepted": 0, "refused": 0, "failed": 0, "muted": 0}
        self.refusals = {}
        self._burst = refusal_burst
        self._voice = refusal_burst  # refusal replies left before rate limiting
        self._voice_t = time.ticks_ms()
        self._signed_ts = None  # the running command's ts (the `time` command sets it)
        self.final = True  # the last message handled can never be accepted (again) later
        self.last_seq = self._load_seq()
        self.register("time", self._time, unset_ok=True)

    def register(self, name, fn, check=None, unset_ok=False):
        """`fn(args)` returns the result (may be a coroutine); `check(args)` returns an
        error message or None; `unset_ok`: harmless enough to run with the clock unset."""
        self._handlers[name] = (fn, check, unset_ok)

    def names(self):
        return sorted(self._handlers)

    def _load_seq(self):
        try:
            raw = self.st.read_atomic(SEQ_PATH)
            seq = int(raw) if raw else 0
            return seq if 0 <= seq <= MAX_SEQ else 0
        except (OSError, ValueError):
            return 0

    def _save_seq(self, seq):
        self.last_seq = seq
        self.st.makedirs("/state")
        self.st.write_atomic(SEQ_PATH, str(seq).encode())

    def _time(self, args):
        if self._set_clock is None:
            raise ValueError("this device cannot set its clock")
        ts = self._signed_ts
        self._set_clock(ts)
        return {"clock": ts}

    def parse(self, raw):
        """The message dict when `raw` is a well-formed, validly signed command for this
        device (seq and time not checked yet), else raise Refused. Cheap enough for the
        MQTT callback: only messages that pass it take a slot in the inbox."""
        if not self.key:
            raise Refused("commands disabled: no cmd.hmac_key on this device")
        if len(raw) > MAX_BYTES:
            raise Refused("too large (%d bytes)" % len(raw))
        try:
            jsonutil.check_shape(raw, MAX_DEPTH, MAX_ITEMS)
            msg = json.loads(raw)
        except (ValueError, UnicodeError) as e:
            raise Refused("not JSON (%s)" % str(e)[:40])
        if not isinstance(msg, dict):
            raise Refused("not a JSON object")
        _typed(msg)
        if not _equal(msg["sig"], sign(msg, self.key)):
            raise Refused("bad signature")
        if msg["device"] not in (self.device, "*"):
            raise Refused("for another device")
        return msg

    def screen(self, raw):
        """For the MQTT callback: None when `raw` is a validly signed command for this
        device (it may take an inbox slot); else its refusal reply, or False when the rate
        limit mutes it. Never raises."""
        try:
            self.parse(raw)
            return None
        except Refused as e:
            return self._refused(str(e)) or False
        except Exception as e:  # noqa: BLE001 - whatever hostile bytes provoke
            return self._refused("could not be read (%s)" % type(e).__name__) or False

    def authenticate(self, raw):
        """The command dict when `raw` is acceptable now, else raise Refused(reason)."""
        msg = self.parse(raw)
        seq = msg["seq"]
        if seq <= self.last_seq:
            raise Refused("replayed (seq %s not above %d)" % (seq, self.last_seq))
        if msg["cmd"] not in self._handlers:
            raise Refused("unknown command %s" % msg["cmd"])
        now = self._now() if self._now else None
        ts = msg["ts"]
        if now is None:
            if not self._handlers[msg["cmd"]][2]:
                raise Refused("clock unset: only status, logs, config_get, ota_status and "
                              "time run until it is set (ts %d)" % ts, final=False)
        elif ts - now > MAX_SKEW_S or now - ts > max(MAX_SKEW_S, msg.get("ttl", 0)):
            raise Refused("stale (ts %s, device time %d)" % (ts, now), final=ts < now)
        return msg

    def waits_for_clock(self, raw):
        """True when `raw` would be refused only because the clock is unset (a command kept
        by the broker reaches a camera that lost power before NTP set its clock): the
        caller may hold it until the clock is set. Never raises."""
        if self._now is None or self._now() is not None:
            return False
        try:
            msg = self.parse(raw)
        except Exception:  # noqa: BLE001 - its refusal comes from handle()
            return False
        h = self._handlers.get(msg["cmd"])
        return h is not None and not h[2] and msg["seq"] > self.last_seq

    async def handle(self, raw):
        """Authenticate, run and answer one command. Returns the signed reply dict, or None
        when a refusal's reply is muted by the rate limit; `self.final` then says whether
        these bytes could ever be accepted later. Never raises."""
        self.final = True
        try:
            msg = self.authenticate(raw)
        except Refused as e:
            self.final = e.final
            return self._refused(str(e))
        except Exception as e:  # noqa: BLE001 - MemoryError, RecursionError, anything
            return self._refused("could not be read (%s)" % type(e).__name__)
        try:
            return self.sign_reply(await self._run(msg))
        except Exception as e:  # noqa: BLE001 - the reply itself failed: count, go on
            self.counters["failed"] += 1
            self.log.warning("command %s: no reply (%s)", msg.get("cmd"), type(e).__name__)
            return None

    async def _run(self, msg):
        fn, check, _ = self._handlers[msg["cmd"]]
        reply = {"id": msg["nonce"], "seq": msg["seq"], "cmd": msg["cmd"]}
        try:
            problem = check(msg["args"]) if check else None
        except Exception as e:  # noqa: BLE001 - a validator tripped by odd args
            problem = "invalid args (%s)" % type(e).__name__
        self._save_seq(msg["seq"])  # accepted: never again, even if it fails below
        if problem:
            self.counters["failed"] += 1
            reply.update(ok=False, error=problem)
            return reply
        try:
            self._signed_ts = msg["ts"]
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

    def _refused(self, reason):
        self.counters["refused"] += 1
        short = reason.split(" (")[0]
        if short in self.refusals or len(self.refusals) < 16:
            self.refusals[short] = self.refusals.get(short, 0) + 1
        if not self._may_speak():
            self.counters["muted"] += 1
            return None
        self.log.warning("command refused: %s", reason)
        return self.sign_reply({"ok": False, "error": reason})

    def _may_speak(self):
        """A token bucket over refusal replies: REFUSAL_BURST at once, then one per
        REFUSAL_EVERY_S (uptime, so it works with the clock unset)."""
        gained = time.ticks_diff(time.ticks_ms(), self._voice_t) // (REFUSAL_EVERY_S * 1000)
        if gained > 0:
            self._voice = min(self._burst, self._voice + gained)
            self._voice_t = time.ticks_add(self._voice_t, gained * REFUSAL_EVERY_S * 1000)
        if self._voice <= 0:
            return False
        self._voice -= 1
        return True

    def sign_reply(self, reply):
        """Add the device and the reply signature (host tools verify both)."""
        reply["device"] = self.device
        if self._reply_key is not None:
            reply["sig"] = hmac_sha256_hex(self._reply_key, canonical(reply))
        return reply
