"""Remote management over MQTT: commands, remote config with automatic revert, retained
status, and Home Assistant discovery.

Remote config: a `config_set` command is validated against the schema first (all or
nothing), the running config is remembered as good, the change saved atomically, and the
board restarts on *probation* (`/state/probation.json`). If the broker is not reached
within `cmd.revert_s` after that restart (or the board keeps crashing), the last good
config is put back and the board restarts again; the reply says what happened.

Retained commands: a retained message on the command topic comes back at every subscribe
(every connect, every boot). One that is refused for good or has run (`Commands.final`)
is handled once: its digest is remembered (RETAINED_SEEN of them, in RAM) so a repeat is
ignored without a refusal, and the device clears it by publishing an empty retained
message to its own command topic. When the broker's ACL does not let the device write
that topic the broker drops the clear without a word (MQTT 3.1.1 has no way to say so):
the message then stays, comes back at each connect and is ignored, and after a reboot it
is refused once more. One refused for now only (clock unset) is left for later.
An empty message is what clearing looks like on the wire: never a command.
"""

import asyncio
import hashlib
import json
import time

from wildcam.core import jsonutil
from wildcam.core.config import GOOD_PATH, ConfigError

PROBATION = "/state/probation.json"
MAX_PENDING = 4
RETAINED_SEEN = 8
HOLD_MS = 120000  # how long a command kept by the broker may wait for the clock (NTP)


class Management:
    def __init__(self, config, storage, log, logs, mqtt, commands, device, version,
                 reset=None):
        self.cfg = config
        self.st = storage
        self.log = log
        self.logs = logs
        self.mqtt = mqtt
        self.commands = commands
        self.device = device
        self.version = version
        self._reset = reset
        self._health = None
        self._inbox = []  # [(raw, digest of a retained one or None)]: signed, not yet handled
        self._held = []  # inbox entries waiting for the clock (see step())
        self._held_since = 0
        self._go = 0  # held entries released to run now
        self._replies = []  # refusal replies waiting to be published
        self._seen = []  # digests of retained messages handled for good (newest last)
        self._clear = False  # a handled retained command waits to be cleared
        self.retained = {"handled": 0, "ignored": 0, "cleared": 0}
        self._wake = asyncio.Event()
        self.maintenance = False
        self.dropped = 0
        self.reverted = False
        self._thumb = None  # the newest thumbnail waiting to be published
        self._stepping = False

    # --- commands -------------------------------------------------------------------------
    def on_message(self, topic, msg, retained=False):
        """MQTT callback: a validly signed command for this device takes a slot in the
        bounded inbox; anything else is refused here (its reply queued, rate-limited), so
        junk never crowds signed commands out and never reaches the command task. A
        retained message already handled is ignored; see the module notes."""
        raw = bytes(msg)
        if not raw:
            return  # a retained message being cleared
        digest = None
        if retained:
            digest = hashlib.sha256(raw).digest()[:12]
            if digest in self._seen:
                self.retained["ignored"] += 1
                return
        refusal = self.commands.screen(raw)
        if refusal is None:
            if len(self._inbox) >= MAX_PENDING:
                self.dropped += 1
                return
            self._inbox.append((raw, digest))
        else:
            if digest is not None:
                self._handled(digest)
            if refusal and len(self._replies) < MAX_PENDING:
                self._replies.append(refusal)
        self._wake.set()

    def busy(self):
        """True while a command received is not yet run and answered (a battery camera stays
        awake for it: wildcam.devices)."""
        return bool(self._inbox or self._held or self._replies or self._clear or self._stepping)

    def _handled(self, digest):
        """A retained message was refused for good or has run: never again, and clear it."""
        self.retained["handled"] += 1
        if digest not in self._seen:
            self._seen.append(digest)
            if len(self._seen) > RETAINED_SEEN:
                self._seen.pop(0)
        self._clear = True
        self._wake.set()

    def stats(self):
        """The `cmd` part of the health report: what was accepted and refused (by reason),
        signed commands dropped for a full inbox, retained messages handled, and what the
        MQTT reader threw away (oversized, malformed, cleared)."""
        c = self.commands
        out = dict(c.counters)
        out["dropped"] = self.dropped
        out["refusals"] = dict(c.refusals)
        out["retained"] = dict(self.retained)
        m = self.mqtt.counters
        out["mqtt"] = {"oversized": m["oversized"], "bad": m["bad"],
                       "cleared": m.get("cleared", 0)}
        return out

    async def _clear_retained(self):
        self._clear = False
        try:
            await self.mqtt.publish(self.mqtt.topic("cmd"), b"", retain=True, qos=1)
            self.retained["cleared"] += 1
            self.log.info("cleared a retained command the device has handled")
        except Exception as e:  # noqa: BLE001 - it is ignored when it comes back anyway
            self.log.warning("retained command not cleared: %s", e)

    async def run(self, alive=None):
        """Answer queued commands (supervised task)."""
        await self.mqtt.subscribe(self.mqtt.topic("cmd"), self.on_message)
        while True:
            self._wake.clear()
            self._stepping = True
            try:
                await self.step()
            finally:
                self._stepping = False
            try:
                await asyncio.wait_for_ms(self._wake.wait(), 10000)
            except asyncio.TimeoutError:
                pass
            if alive:
                alive()

    async def step(self):
        """Send the queued refusal replies and clears, then run the inbox's commands.
        Commands the broker kept for us that need the clock (after a power loss) wait for
        NTP, HOLD_MS at most, and whatever comes after them too: `seq` order is kept."""
        while self._replies:
            await self._reply(self._replies.pop(0))
        if self._clear:
            await self._clear_retained()
        held = self._held
        if held and (not self.commands.waits_for_clock(held[0][0]) or
                     time.ticks_diff(time.ticks_ms(), self._held_since) > HOLD_MS):
            self._inbox[:0] = held
            self._go, held = len(held), []
            self._held = held
        while self._inbox:
            raw, digest = entry = self._inbox.pop(0)
            if self._go:
                self._go -= 1
            elif len(held) < MAX_PENDING and (held or self.commands.waits_for_clock(raw)):
                if not held:
                    self._held_since = time.ticks_ms()
                held.append(entry)
                continue
            reply = await self.commands.handle(raw)
            if digest is not None and self.commands.final:
                self._handled(digest)
            if self._clear:
                await self._clear_retained()  # before a reboot the command may ask
            if reply is None:  # a muted refusal
                continue
            await self._reply(reply)
            again = reply.get("cmd") in ("reboot", "config_set") or (
                reply.get("cmd") == "ota" and (reply.get("result") or {}).get("reboot"))
            if reply.get("ok") and again:
                await asyncio.sleep_ms(500)  # let the reply leave
                self.restart("remote %s" % reply["cmd"])

    async def _reply(self, reply):
        try:
            await self.mqtt.publish(self.mqtt.topic("cmd/result"), jsonutil.dumps(reply), qos=1)
        except Exception as e:  # noqa: BLE001 - the command ran; only the answer is lost
            self.log.warning("reply not sent: %s", e)

    def restart(self, why):
        self.log.warning("restarting: %s", why)
        self.logs.flush()
        if self._reset is not None:
            self._reset()
        else:
            import machine

            machine.reset()

    def register_ota(self, updater):
        async def run(args):
            return await updater.apply(args["url"], force=bool(args.get("force")))

        self.commands.register("ota", run, check=_check_ota)
        self.commands.register("ota_status", lambda a: updater.status(), unset_ok=True)

    def register_basics(self, capture, sync, health):
        self._health = health  # for the discovery documents (which sensors this board has)
        c = self.commands
        if capture is not None:
            c.register("capture", lambda a: capture.trigger("remote") or "queued")
        c.register("sync", lambda a: sync.kick() or "started")
        c.register("reboot", lambda a: "restarting")
        c.register("status", lambda a: health.snapshot(), unset_ok=True)
        c.register("logs", lambda a: self.logs.read(a.get("page", 0), a.get("per_page", 20)),
                   check=_check_page, unset_ok=True)
        c.register("config_get", self._config_get, check=_check_keys, unset_ok=True)
        c.register("config_set", self._config_set, check=_check_changes)
        c.register("maintenance", self._maintenance,
                   check=lambda a: None if isinstance(a.get("on"), bool) else "on: true/false")

    def _config_get(self, args):
        flat = jsonutil.flatten(self.cfg.as_dict())
        keys = args.get("keys") or sorted(flat)
        return dict((k, flat[k]) for k in keys if k in flat)

    def _config_set(self, args):
        changes = args["changes"]
        self.cfg.mark_good()  # what to go back to if the change cuts us off
        try:
            self.cfg.update(changes)
        except ConfigError as e:
            raise ValueError("; ".join(e.errors))
        boots = self._boots()
        self.st.makedirs("/state")
        self.st.write_atomic(PROBATION, jsonutil.dumps(
            {"boot": boots + 1, "keys": sorted(changes)}).encode())
        return {"saved": sorted(changes), "probation_s": self.cfg.get("cmd.revert_s")}

    def _maintenance(self, args):
        self.maintenance = args["on"]
        return {"maintenance": self.maintenance}

    def _boots(self):
        try:
            raw = self.st.read_atomic("/state/boot.json")
            return json.loads(raw)["boots"] if raw else 0
        except (OSError, ValueError, KeyError):
            return 0

    # --- probation after a remote config change ------------------------------------------
    async def probation(self, alive=None):
        """If a remote config change is on probation: keep it once the broker answers,
        revert it when the deadline passes (supervised one-shot task)."""
        raw = self.st.read_atomic(PROBATION)
        if raw is None:
            return
        try:
            info = json.loads(raw)
        except ValueError:
            info = {"boot": 0, "keys": []}
        if self._boots() > info.get("boot", 0) + 2:  # it keeps crashing: go back now
            self._revert("the board restarted %d times" % (self._boots() - info.get("boot", 0)))
            return
        start = time.ticks_ms()
        deadline = self.cfg.get("cmd.revert_s") * 1000
        while time.ticks_diff(time.ticks_ms(), start) < deadline:
            if self.mqtt is not None and self.mqtt.connected:
                self.st.remove_quiet(PROBATION)
                self.cfg.mark_good()
                self.log.info("remote config %s kept: the broker answered", info.get("keys"))
                return
            await asyncio.sleep(5)
            if alive:
                alive()
        self._revert("no broker round trip within %d s" % (deadline // 1000))

    def _revert(self, why):
        good = self.st.read_atomic(GOOD_PATH)
        self.st.remove_quiet(PROBATION)
        if good is None:
            self.log.error("remote config failed (%s) and no good config to go back to", why)
            return
        self.st.write_atomic(self.cfg.path, good)
        self.reverted = True
        self.log.error("remote config reverted: %s", why)
        self.restart("config reverted")

    # --- status and Home Assistant --------------------------------------------------------
    async def publish_state(self, snap):
        """Retained `state` for dashboards (only when MQTT is already connected), qos1: the
        broker has it when this returns (a battery camera goes to sleep right after)."""
        if self.mqtt is not None and self.mqtt.connected:
            await self.mqtt.publish(self.mqtt.topic("state"), jsonutil.dumps(snap),
                                    retain=True, qos=1)

    def publish_thumb(self, jpeg, meta):
        """The last event's small JPEG, retained, for Home Assistant's camera entity. Called
        from the capture path, so it only hands the JPEG to a task (the newest wins while
        one is being sent) and returns at once."""
        if self.mqtt is None or not self.mqtt.connected:
            return
        busy = self._thumb is not None
        self._thumb = jpeg
        if not busy:
            asyncio.create_task(self._send_thumbs())

    async def _send_thumbs(self):
        try:
            while self._thumb is not None:
                jpeg = self._thumb
                try:
                    await self.mqtt.publish(self.mqtt.topic("thumb"), jpeg, retain=True, qos=0)
                except Exception as e:  # noqa: BLE001 - a dashboard picture, never fatal
                    self.log.info("thumbnail not published: %s", e)
                if self._thumb is jpeg:
                    self._thumb = None
        finally:
            self._thumb = None

    def discovery(self, snap=None):
        """Home Assistant MQTT discovery documents [(topic, payload)] (wildcam.manage.health)."""
        from wildcam.manage.health import hass_discovery

        return hass_discovery(self.device, self.version, self.mqtt.topic, snap)

    async def announce(self):
        snap = None
        if self._health is not None:
            try:
                snap = self._health.snapshot()
            except Exception:  # noqa: BLE001 - announce everything rather than nothing
                snap = None
        for topic, payload in self.discovery(snap):
            await self.mqtt.publish(topic, payload, retain=True, qos=1)


def _check_ota(a):
    url = a.get("url")
    if not isinstance(url, str) or not (url.startswith("http://") or url.startswith("https://")
                                        or url.startswith("file:/sd/")) or len(url) > 256:
        return "url: an http(s):// or file:/sd/ manifest URL"
    return None


def _check_page(a):
    page, per = a.get("page", 0), a.get("per_page", 20)
    ok = isinstance(page, int) and isinstance(per, int) and 0 <= page <= 1000 and 1 <= per <= 50
    return None if ok else "page 0..1000 and per_page 1..50"


def _check_keys(a):
    keys = a.get("keys", [])
    ok = isinstance(keys, list) and len(keys) <= 64 and all(isinstance(k, str) for k in keys)
    return None if ok else "keys: a list of up to 64 key names"


def _check_changes(a):
    ch = a.get("changes")
    if not isinstance(ch, dict) or not ch or len(ch) > 32:
        return "changes: an object of 1..32 key: value pairs"
    return None
