#!/usr/bin/env python3
"""Sign (and send) WildCAM remote commands from a laptop.

    python tools/wildcmd.py sign --device cam-01 --key-file keys/cam-01.key capture
    python tools/wildcmd.py send --broker 127.0.0.1:1883 --user u --password p \\
        --device cam-01 --key-file keys/cam-01.key config_set '{"changes": {"capture.burst_count": 5}}'

The signature is HMAC-SHA256 over the command's canonical JSON (sorted keys, compact,
non-ASCII escaped) exactly as the firmware computes it (wildcam.manage.commands); `seq` is the
current time in milliseconds, so it only grows. Replies are signed by the device with a key
derived from the same secret; `verify_reply` checks that signature, the device and the
command's `id` (a broker user without the key cannot fake a result).
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
import time

from tools.ui import HelpFormatter


def canonical(msg: dict) -> bytes:
    body = {k: v for k, v in msg.items() if k != "sig"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign_command(cmd: str, args: dict | None, device: str, key: str | bytes,
                 seq: int | None = None, ts: int | None = None,
                 ttl: int | None = None) -> dict:
    """A signed command dict ready to publish as JSON to `<prefix>/<device>/cmd`; `ttl`:
    seconds it may wait at the broker for a sleeping camera (wildcam.manage.commands)."""
    now = time.time()
    msg = {"cmd": cmd, "args": args or {}, "device": device,
           "seq": seq if seq is not None else int(now * 1000),
           "ts": ts if ts is not None else int(now), "nonce": secrets.token_hex(4)}
    if ttl:
        msg["ttl"] = int(ttl)
    k = key.encode() if isinstance(key, str) else key
    msg["sig"] = hmac.new(k, canonical(msg), hashlib.sha256).hexdigest()
    return msg


def reply_key(key: str | bytes) -> bytes:
    """The device's reply-signing key, derived as wildcam.manage.commands.reply_key does."""
    k = key.encode() if isinstance(key, str) else key
    return hmac.new(k, b"wildcam reply v1", hashlib.sha256).digest()


def verify_reply(reply: dict, key: str | bytes, msg: dict | None = None) -> bool:
    """True when `reply` carries a valid device signature and, given the command `msg`
    it answers, names that command's device and id (refusals of unreadable messages carry
    no id: they match no command)."""
    sig = reply.get("sig")
    if not isinstance(sig, str):
        return False
    want = hmac.new(reply_key(key), canonical(reply), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig, want):
        return False
    if msg is not None:
        return reply.get("id") == msg["nonce"] and reply.get("device") == msg["device"]
    return True


def send(msg: dict, broker: str, user: str | None, password: str | None, prefix: str,
         timeout: float = 30.0, key: str | bytes | None = None) -> dict | None:
    """Publish `msg` and wait for the device's signed reply to it (None on timeout).
    With `key`, replies whose signature or id do not match are ignored."""
    import threading

    import paho.mqtt.client as paho

    host, _, port = broker.partition(":")
    got: dict = {}
    done = threading.Event()
    topic = f"{prefix}/{msg['device']}/cmd"
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="wildcmd-" + msg["nonce"])
    if user:
        c.username_pw_set(user, password)

    def on_connect(client, userdata, flags, rc, props=None):
        client.subscribe(topic + "/result", 1)

    def on_subscribe(client, *a):
        client.publish(topic, json.dumps(msg), qos=1)

    def on_message(client, userdata, m):
        try:
            reply = json.loads(m.payload)
        except ValueError:
            return
        if not isinstance(reply, dict):
            return
        if key is not None and not verify_reply(reply, key, msg):
            return  # not from the device, or not about this command
        if reply.get("id") == msg["nonce"]:
            got.update(reply)
            done.set()

    c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
    c.connect(host, int(port or 1883), keepalive=30)
    c.loop_start()
    try:
        done.wait(timeout)
    finally:
        c.loop_stop()
        c.disconnect()
    return got or None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wildcmd", description=__doc__,
                                 formatter_class=HelpFormatter)
    ap.add_argument("action", choices=("sign", "send"))
    ap.add_argument("command")
    ap.add_argument("args", nargs="?", default="{}", help="JSON object of arguments")
    ap.add_argument("--device", required=True)
    ap.add_argument("--key-file", help="file holding the device's cmd.hmac_key")
    ap.add_argument("--broker", default="127.0.0.1:1883")
    ap.add_argument("--user")
    ap.add_argument("--password", default=os.environ.get("WILDCAM_MQTT_PASSWORD"))
    ap.add_argument("--prefix", default="wildcam")
    a = ap.parse_args(argv)
    key = open(a.key_file).read().strip() if a.key_file else os.environ.get("WILDCAM_CMD_KEY")
    if not key:
        ap.error("give --key-file or set WILDCAM_CMD_KEY")
    msg = sign_command(a.command, json.loads(a.args), a.device, key)
    if a.action == "sign":
        print(json.dumps(msg))
        return 0
    reply = send(msg, a.broker, a.user, a.password, a.prefix, key=key)
    print(json.dumps(reply, indent=1) if reply else "no reply (device offline?)")
    return 0 if reply and reply.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
