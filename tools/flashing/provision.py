"""`flash.py provision`: per-device identities and secrets for a batch of boards.

OUT/fleet.json            index: [{"id", "dir", "created"}] (appended by later batches)
OUT/<id>/secrets.json     the board's /secrets.json: cmd.hmac_key (+ shared secrets given
                          with --base-secrets, e.g. wifi.password, mqtt.password)
OUT/<id>/cmd.key          the command key alone (tools/wildcmd.py --key-file, tools/fleet.py)
All written 0600: these files are what lets someone command the camera.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

from . import siteconfig
from .proc import ToolError

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def _private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def load_index(out: Path) -> dict:
    p = out / "fleet.json"
    return json.loads(p.read_text()) if p.exists() else {"devices": []}


def device_key(out: Path, device: str) -> str:
    """The command key of `device` from a provision folder (KeyError when unknown)."""
    p = Path(out) / device / "cmd.key"
    if not p.exists():
        raise KeyError(f"no key for {device} in {out} (provisioned with flash.py provision?)")
    return p.read_text().strip()


def provision(out: Path, count: int = 0, prefix: str = "wc", ids: list[str] | None = None,
              base_secrets: dict | None = None) -> list[str]:
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    index = load_index(out)
    known = {d["id"] for d in index["devices"]}
    if ids:
        bad = [i for i in ids if not ID_RE.match(i)]
        if bad:
            raise ToolError(f"bad device id(s): {', '.join(bad)}",
                            "use 1-32 letters, digits, '-' or '_'")
        dup = [i for i in ids if i in known]
        if dup:
            raise ToolError(f"already provisioned: {', '.join(dup)}",
                            "pick new ids (keys are never overwritten)")
        new = list(ids)
    else:
        new = []
        while len(new) < count:
            i = f"{prefix}-{secrets.token_hex(3)}"
            if i not in known and i not in new:
                new.append(i)
    if base_secrets is not None:
        problems, _ = siteconfig.check({"wifi": {"ssid": "x"}}, base_secrets)
        if problems:
            raise ToolError("--base-secrets: " + "; ".join(problems), "fix the secrets file")
    for dev in new:
        d = out / dev
        d.mkdir()
        key = secrets.token_urlsafe(32)
        sec = siteconfig.merge(base_secrets or {}, {"cmd": {"hmac_key": key}})
        _private(d / "secrets.json", json.dumps(sec, indent=1, sort_keys=True) + "\n")
        _private(d / "cmd.key", key + "\n")
        index["devices"].append({"id": dev, "dir": dev, "created": int(time.time())})
    (out / "fleet.json").write_text(json.dumps(index, indent=1) + "\n")
    return new
