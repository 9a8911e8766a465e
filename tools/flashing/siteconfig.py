"""Site config + secrets checked with the firmware's own rules (wildcam.core.validate/schema),
on the laptop, before anything is written to a board."""
from __future__ import annotations

import json
import sys
from pathlib import Path

FIRMWARE_LIB = Path(__file__).resolve().parents[2] / "firmware" / "lib"


def _firmware():
    if str(FIRMWARE_LIB) not in sys.path:
        sys.path.insert(0, str(FIRMWARE_LIB))
    from wildcam.core import jsonutil, migrate, schema, validate
    return jsonutil, migrate, schema, validate


def load_json(path: str | Path) -> tuple[dict | None, str | None]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        return None, f"{path}: {e}"
    if not isinstance(doc, dict):
        return None, f"{path}: the top level must be a JSON object"
    return doc, None


def merge(*docs: dict) -> dict:
    """Deep merge (later wins) of nested config documents."""
    out: dict = {}
    for d in docs:
        for k, v in d.items():
            if isinstance(v, dict) and isinstance(out.get(k), dict):
                out[k] = merge(out[k], v)
            else:
                out[k] = v
    return out


def check(config: dict, secrets: dict | None) -> tuple[list[str], list[str]]:
    """(problems, notes) for a config document and its secrets document (or None)."""
    jsonutil, migrate, schema, validate = _firmware()
    notes: list[str] = []
    cfg = dict(config)
    flat = jsonutil.flatten(cfg)
    version = flat.pop("version", 1)
    flat = migrate.migrate(flat, version, notes)
    problems = [f"{k}: is a secret; put it in the secrets file" for k in sorted(flat)
                if schema.is_secret(k)]
    if secrets is not None:
        sflat = jsonutil.flatten(secrets)
        problems += [f"{k}: not a secret; put it in the config file" for k in sorted(sflat)
                     if not schema.is_secret(k)]
        flat.update({k: v for k, v in sflat.items() if schema.is_secret(k)})
    problems += validate.validate(flat)
    if not flat.get("cmd.hmac_key"):
        notes.append("no cmd.hmac_key: remote commands will be off (flash.py provision makes one)")
    return problems, notes


def config_text(doc: dict) -> str:
    jsonutil, _, schema, _ = _firmware()
    d = dict(doc)
    d.setdefault("version", schema.VERSION)
    return jsonutil.dumps(d, 1) + "\n"


def firmware_version() -> str:
    text = (FIRMWARE_LIB / "wildcam" / "core" / "version.py").read_text()
    for line in text.splitlines():
        if line.startswith("VERSION"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError("no VERSION in firmware/lib/wildcam/core/version.py")
