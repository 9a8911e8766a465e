#!/usr/bin/env python3
"""Sign and publish WildCAM OTA bundles (the private key stays on this laptop).

    python tools/ota.py keygen --key ~/.wildcam/ota.pem            # once; writes the public
                                                                   # key into the firmware
    python tools/flash.py build                                    # build/board/lib/...
    python tools/ota.py sign build/board/lib --key ~/.wildcam/ota.pem --out dist/ota-0.2.0
    python tools/ota.py sign micropython.bin --kind firmware --version 1.27.0 ...
    python tools/ota.py publish dist/ota-0.2.0 --to /srv/www/ota/0.2.0 \\
        --url http://updates.local/ota/0.2.0/manifest.json --mqtt 127.0.0.1:1883 --topic wildcam/ota

A bundle is a folder: manifest.json (canonical JSON: sorted keys, compact, ASCII),
manifest.json.sig ({"alg", "key", "sig"}: RSA PKCS#1 v1.5 SHA-256 over the manifest's exact
bytes) and the files at their manifest paths. See docs/OTA.md and firmware/lib/wildcam/ota/updater.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from tools.ui import HelpFormatter

ROOT = Path(__file__).resolve().parent.parent
KEY_MODULE = ROOT / "firmware" / "lib" / "wildcam" / "ota" / "key.py"
ALG = "rsa-pkcs1v15-sha256"


# --- keys ------------------------------------------------------------------------------------
def key_id(n: int) -> str:
    k = (n.bit_length() + 7) // 8
    return hashlib.sha256(n.to_bytes(k, "big")).hexdigest()[:16]


def generate_key(bits: int = 2048):
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def save_private(key, path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def load_private(path: Path):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def key_module_text(keys: list[tuple[str, int]]) -> str:
    head = KEY_MODULE.read_text().split("KEYS =")[0] if KEY_MODULE.exists() else '"""OTA keys."""\n\n'
    body = "".join(f'    ("{kid}", 0x{n:x}),\n' for kid, n in keys)
    return head + "KEYS = (\n" + body + ")\n"


def read_key_module(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    return [(m.group(1), int(m.group(2), 16))
            for m in re.finditer(r'\("([0-9a-f]{16})",\s*0x([0-9a-f]+)\)', path.read_text())]


# --- manifests -------------------------------------------------------------------------------
def canonical(m: dict) -> bytes:
    return json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
    return h.hexdigest()


def tree_files(tree: Path, include: list[str]) -> list[tuple[str, Path]]:
    out = []
    for p in sorted(tree.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            rel = p.relative_to(tree).as_posix()
            if not include or any(rel.startswith(i) for i in include):
                out.append((rel, p))
    return out


def build_manifest(src: Path, version: str, min_version: str, kind: str = "app",
                   rollback: bool = False, created: int | None = None,
                   include: list[str] | None = None) -> tuple[dict, list[tuple[str, Path]]]:
    if kind == "firmware":
        files = [(src.name, src)]
    else:
        files = tree_files(src, ["wildcam/"] if include is None else include)
        if not files:
            raise SystemExit(f"no files under {src}")
    m = {"kind": kind, "version": version, "min_version": min_version,
         "created": int(time.time()) if created is None else created, "rollback": rollback,
         "files": [{"path": rel, "size": p.stat().st_size, "sha256": sha256_file(p)}
                   for rel, p in files]}
    return m, files


def sign_bytes(key, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    n = key.public_key().public_numbers().n
    return canonical({"alg": ALG, "key": key_id(n), "sig": sig.hex()})


def make_bundle(src: Path, out: Path, key, version: str, min_version: str, kind: str = "app",
                rollback: bool = False, created: int | None = None,
                include: list[str] | None = None) -> dict:
    """Write a signed bundle folder; returns the manifest."""
    m, files = build_manifest(Path(src), version, min_version, kind, rollback, created, include)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for rel, p in files:
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst)
    raw = canonical(m)
    (out / "manifest.json").write_bytes(raw)
    (out / "manifest.json.sig").write_bytes(sign_bytes(key, raw))
    return m


def firmware_version() -> str:
    text = (ROOT / "firmware" / "lib" / "wildcam" / "core" / "version.py").read_text()
    return re.search(r'VERSION\s*=\s*"([^"]+)"', text).group(1)


# --- commands --------------------------------------------------------------------------------
def cmd_keygen(a) -> int:
    path = Path(a.key).expanduser()
    if path.exists():
        print(f"{path} exists; refusing to overwrite a signing key", file=sys.stderr)
        return 1
    key = generate_key(a.bits)
    save_private(key, path)
    n = key.public_key().public_numbers().n
    kid = key_id(n)
    mod = Path(a.module)
    keys = read_key_module(mod) if a.add else []
    keys = [k for k in keys if k[0] != kid] + [(kid, n)]
    mod.write_text(key_module_text(keys))
    print(f"private key {path} (keep it off the boards and out of git)")
    print(f"public key {kid} written to {mod}; rebuild and flash to trust it")
    return 0


def cmd_sign(a) -> int:
    key = load_private(Path(a.key).expanduser())
    n = key.public_key().public_numbers().n
    trusted = [k for k, _ in read_key_module(KEY_MODULE)]
    if trusted and key_id(n) not in trusted and not a.any_key:
        print(f"warning: key {key_id(n)} is not in {KEY_MODULE}", file=sys.stderr)
    version = a.version or firmware_version()
    out = Path(a.out or f"dist/ota-{a.kind}-{version}")
    m = make_bundle(Path(a.src), out, key, version, a.min_version or "0.0.0", a.kind,
                    a.rollback, a.created, a.include)
    total = sum(f["size"] for f in m["files"])
    print(f"{out}: {a.kind} {version} ({len(m['files'])} files, {total} B), key {key_id(n)}")
    return 0


def cmd_publish(a) -> int:
    bundle = Path(a.bundle)
    m = json.loads((bundle / "manifest.json").read_text())
    if a.to:
        dst = Path(a.to)
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(bundle, dst)
        print(f"copied {bundle} to {dst}")
    if a.mqtt:
        if not a.url:
            print("--mqtt needs --url (where the boards fetch manifest.json)", file=sys.stderr)
            return 2
        import paho.mqtt.client as mqtt

        host, _, port = a.mqtt.partition(":")
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"wildcam-ota-{os.getpid()}")
        if a.user:
            c.username_pw_set(a.user, a.password)
        c.connect(host, int(port or 1883))
        c.loop_start()
        payload = canonical({"url": a.url, "version": m["version"], "kind": m["kind"]})
        info = c.publish(a.topic, payload, qos=1, retain=True)
        info.wait_for_publish(10)
        c.loop_stop()
        c.disconnect()
        print(f"published {a.url} retained on {a.topic}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ota.py", description=__doc__,
                                 formatter_class=HelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    k = sub.add_parser("keygen", help="new RSA-2048 signing key; public key into the firmware")
    k.add_argument("--key", required=True, help="where to write the private key (PEM)")
    k.add_argument("--module", default=str(KEY_MODULE), help="firmware key module to write")
    k.add_argument("--add", action="store_true", help="keep the keys already trusted (rotation)")
    k.add_argument("--bits", type=int, default=2048)
    k.set_defaults(fn=cmd_keygen)
    s = sub.add_parser("sign", help="manifest + signature for a built tree or a firmware image")
    s.add_argument("src", help="built lib folder (tools/flash.py build) or firmware .bin")
    s.add_argument("--key", required=True)
    s.add_argument("--kind", choices=("app", "firmware"), default="app")
    s.add_argument("--version", help="default: firmware/lib/wildcam/core/version.py")
    s.add_argument("--min-version", help="lowest version that may install this (default 0.0.0)")
    s.add_argument("--rollback", action="store_true", help="a deliberate, signed downgrade")
    s.add_argument("--created", type=int, help="unix time (default: now)")
    s.add_argument("--include", action="append", help="path prefixes (default: wildcam/)")
    s.add_argument("--out")
    s.add_argument("--any-key", action="store_true", help="no warning for an untrusted key")
    s.set_defaults(fn=cmd_sign)
    p = sub.add_parser("publish", help="copy a bundle to a served folder; announce on MQTT")
    p.add_argument("bundle")
    p.add_argument("--to", help="folder served over HTTP (replaced)")
    p.add_argument("--url", help="manifest URL as the boards will fetch it")
    p.add_argument("--mqtt", help="broker host:port for the retained announcement")
    p.add_argument("--topic", default="wildcam/ota")
    p.add_argument("--user")
    p.add_argument("--password")
    p.set_defaults(fn=cmd_publish)
    a = ap.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    raise SystemExit(main())
