"""OTA manifests: the bundle format, signature verification and the install policy.

A bundle is a folder: `manifest.json` (canonical JSON: sorted keys, no spaces), its
signature `manifest.json.sig` (JSON {"alg", "key", "sig"}: RSA-2048 PKCS#1 v1.5 over
SHA-256 of the manifest's exact bytes, see wildcam.ota.rsa) and the files, each at
`<folder of the manifest URL>/<path>`. Manifest fields:

    {"kind": "app" | "firmware", "version": "1.2.0", "min_version": "1.0.0",
     "created": <unix s>, "rollback": false,
     "files": [{"path": "wildcam/app.mpy", "size": 1234, "sha256": "<64 hex>"}, ...]}

A firmware manifest has exactly one file: the MicroPython image for the next OTA partition.

Guarantees (pure functions; nothing here touches storage or the network):
- `parse` checks the signature over the exact bytes before it parses them; `validate`
  accepts only relative paths inside the slot (no `..`, no absolute, no backslash, no
  control characters), well-formed sizes and hashes, 1..MAX_FILES files.
- `policy` refuses a version lower than the confirmed one unless the manifest is a signed
  rollback newer (`created`) than the confirmed install, a running version below
  `min_version`, and a version that already failed its health gate here (unless forced).
"""

import hashlib
import json
from binascii import unhexlify

from micropython import const

from wildcam.core.storage import is_safe_name
from wildcam.ota import MAX_MANIFEST, OtaError  # noqa: F401 - OtaError is imported from here

MAX_FILES = const(200)
ALG = "rsa-pkcs1v15-sha256"
_HEX = "0123456789abcdef"
_RESERVED = ("manifest.json", "manifest.json.sig")


def parse_version(v):
    """"1.2.3" -> (1, 2, 3); raises OtaError on anything else."""
    if not isinstance(v, str) or not v or len(v) > 32:
        raise OtaError("bad version %r" % (v,))
    out = []
    for part in v.split("."):
        if not part or not part.isdigit():
            raise OtaError("bad version %r" % (v,))
        out.append(int(part))
    return tuple(out)


def check_path(path):
    """Raise OtaError unless `path` is a relative path that stays inside the slot."""
    if not isinstance(path, str) or not path or len(path) > 128:
        raise OtaError("bad path %r" % (path,))
    if path[0] == "/" or "\\" in path or ":" in path:
        raise OtaError("path %r is not relative" % path)
    parts = path.split("/")
    if len(parts) > 4:
        raise OtaError("path %r is too deep" % path)
    for p in parts:
        if p in ("", ".", "..") or not is_safe_name(p):
            raise OtaError("path %r leaves the slot" % path)
    if path in _RESERVED:
        raise OtaError("path %r is reserved" % path)


def _is_hex(s, n):
    if not isinstance(s, str) or len(s) != n:
        return False
    for ch in s:
        if ch not in _HEX:
            return False
    return True


def validate(m):
    """Check the structure of a parsed manifest; returns it. Raises OtaError."""
    if not isinstance(m, dict):
        raise OtaError("manifest is not an object")
    kind = m.get("kind")
    if kind not in ("app", "firmware"):
        raise OtaError("manifest kind %r unknown" % (kind,))
    parse_version(m.get("version"))
    parse_version(m.get("min_version"))
    if not isinstance(m.get("created"), int) or isinstance(m.get("created"), bool):
        raise OtaError("manifest created must be an integer")
    if not isinstance(m.get("rollback", False), bool):
        raise OtaError("manifest rollback must be true or false")
    files = m.get("files")
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise OtaError("manifest files must be a list of 1..%d entries" % MAX_FILES)
    seen = {}
    for f in files:
        if not isinstance(f, dict):
            raise OtaError("file entry is not an object")
        check_path(f.get("path"))
        size = f.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise OtaError("file %s: bad size" % f["path"])
        if not _is_hex(f.get("sha256"), 64):
            raise OtaError("file %s: bad sha256" % f["path"])
        if f["path"] in seen:
            raise OtaError("file %s listed twice" % f["path"])
        seen[f["path"]] = 1
    if kind == "firmware":
        if len(files) != 1:
            raise OtaError("a firmware manifest has exactly one image")
    elif "wildcam/app.mpy" not in seen and "wildcam/app.py" not in seen:
        raise OtaError("an app bundle must contain wildcam/app")
    return m


def _shape(raw, depth, items, what):
    """Bound nesting and size before parsing (a hostile file must not exhaust the stack)."""
    from wildcam.core.jsonutil import check_shape

    try:
        check_shape(raw, depth, items)
    except ValueError as e:
        raise OtaError("%s refused: %s" % (what, e))


def verify_signature(raw, sig_raw, keys):
    """Check the detached signature of the manifest bytes `raw`; returns the key id."""
    from wildcam.ota import rsa as ota_rsa

    if not keys:
        raise OtaError("this build trusts no OTA key (wildcam/ota/key.py is empty)")
    if len(sig_raw) > 2048:
        raise OtaError("signature file too large")
    _shape(sig_raw, 1, 8, "signature file")
    try:
        s = json.loads(sig_raw)
        alg, kid, sig = s["alg"], s["key"], unhexlify(s["sig"])
    except (ValueError, KeyError, TypeError):
        raise OtaError("signature file unreadable")
    if alg != ALG:
        raise OtaError("signature algorithm %r not accepted" % (alg,))
    for k in keys:
        if k[0] == kid:
            if ota_rsa.verify(k[1], sig, hashlib.sha256(raw).digest()):
                return kid
            raise OtaError("bad signature")
    raise OtaError("signed by an unknown key %r" % (kid,))


def parse(raw, sig_raw, keys):
    """Verify, then parse and validate a manifest. Raises OtaError."""
    if len(raw) > MAX_MANIFEST:
        raise OtaError("manifest too large")
    verify_signature(raw, sig_raw, keys)
    _shape(raw, 3, 8 * MAX_FILES + 64, "manifest")  # even a signed one: bounded first
    try:
        m = json.loads(raw)
    except ValueError:
        raise OtaError("manifest is not JSON")
    return validate(m)


def policy(m, confirmed, confirmed_created=0, failed=None, force=False):
    """Whether a valid manifest may be installed over the `confirmed` version: returns
    "install" or "current" (already running it); raises OtaError when refused."""
    v = parse_version(m["version"])
    if confirmed is not None:
        have = parse_version(confirmed)
        if have < parse_version(m["min_version"]):
            raise OtaError("%s needs at least %s; this is %s" % (m["version"], m["min_version"],
                                                                 confirmed))
        if v < have:
            if not m.get("rollback"):
                raise OtaError("downgrade from %s to %s refused (not a signed rollback)" % (
                    confirmed, m["version"]))
            if m["created"] <= (confirmed_created or 0):
                raise OtaError("rollback manifest older than the installed one (replay?)")
        elif v == have and not force:
            return "current"
    if failed is not None and failed == m["version"] and not force:
        raise OtaError("%s already failed its health gate here (force to retry)" % failed)
    return "install"


def base_url(url):
    """The folder of a manifest URL (query string dropped), ending in '/'."""
    q = url.find("?")
    if q >= 0:
        url = url[:q]
    return url[:url.rfind("/") + 1]
