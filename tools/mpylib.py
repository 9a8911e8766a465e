#!/usr/bin/env python3
"""micropython-lib dependencies of the firmware, fetched from PyPI (never copied into the repo).

    python tools/mpylib.py fetch     # download the pinned versions, verify sha256, extract
    python tools/mpylib.py fetch --baselines   # also the benchmark baselines (urequests)
    python tools/mpylib.py path      # print the folder to put on sys.path (CPython tests/sim)
    python tools/mpylib.py list      # pinned names and versions

The distributions are sdists without a setup.py (pip cannot install them), so `fetch` reads
the PyPI JSON API for the pinned version, downloads the sdist, checks its sha256 against the
digest PyPI publishes, and extracts only the module files (e.g. `umqtt/simple.py`) into
`.cache/mpylib/lib/` (gitignored). It is idempotent: a stamp per pinned distribution makes a
second run a no-op without network.

On a board the same pins are installed with mip (`mip_specs()` gives `umqtt.simple@1.3.4`).
On CPython, `host_sim.install()` puts the lib folder on sys.path when it exists.

Baselines (`BASELINES`) are libraries the firmware does not use but is measured against
(`python -m bench upload` runs micropython-lib's `urequests` beside our HTTP client). They
are fetched the same way into `.cache/mpylib/baselines/`, a separate folder: deploy copies
LIB only, so a baseline never reaches a board and never shadows a firmware module.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "mpylib"
LIB = CACHE / "lib"
BASELINE_LIB = CACHE / "baselines"
PYPI = os.environ.get("WILDCAM_PYPI_JSON", "https://pypi.org/pypi")

# PyPI distribution -> pinned version. The firmware imports what these provide.
PINS = {
    "micropython-umqtt.simple": "1.3.4",
}
# Benchmark baselines -> pinned version (never deployed). 0.9.1 is the newest urequests on
# PyPI (2018); `micropython-requests` there is an empty 0.0.0 placeholder. The maintained
# micropython-lib `requests` is published on micropython.org's mip index only.
# `micropython-pystone-lowmem` is the benchmark behind the published ESP32 pystone figure
# `python -m bench wake` scales by (micropython/micropython#5673).
BASELINES = {
    "micropython-urequests": "0.9.1",
    "micropython-pystone-lowmem": "3.4.2-4",
}


def mip_specs() -> list[str]:
    """The same pins as mip package specs (`umqtt.simple@1.3.4`), for provisioning a board."""
    return ["%s@%s" % (name[len("micropython-"):], ver) for name, ver in sorted(PINS.items())]


def _get(url: str, timeout: float = 60) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "wildcam-mpylib/1"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def sdist_of(name: str, version: str) -> tuple[str, str]:
    """(url, sha256) of the sdist of `name==version` from the PyPI JSON API.

    Uses /pypi/<name>/<version>/json; falls back to the release list of /pypi/<name>/json
    (some mirrors serve only the latter)."""
    files = None
    try:
        files = json.loads(_get("%s/%s/%s/json" % (PYPI, name, version)))["urls"]
    except Exception:  # noqa: BLE001 - fall back to the project document
        doc = json.loads(_get("%s/%s/json" % (PYPI, name)))
        files = doc.get("releases", {}).get(version)
    if not files:
        raise SystemExit("mpylib: %s %s not found on PyPI" % (name, version))
    for f in files:
        if f.get("packagetype") == "sdist":
            return f["url"], f["digests"]["sha256"]
    raise SystemExit("mpylib: %s %s has no sdist" % (name, version))


def _modules(tar: tarfile.TarFile):
    """(relative path, member) of every module file in a micropython-lib sdist."""
    for m in tar.getmembers():
        if not m.isfile():
            continue
        parts = m.name.split("/")[1:]  # drop "<name>-<version>/"
        if not parts or not parts[-1].endswith(".py") or parts[-1] == "setup.py":
            continue
        if any(p.endswith(".egg-info") or p in ("", ".", "..") for p in parts):
            continue
        yield "/".join(parts), m


def _stamp(name: str, version: str) -> Path:
    return CACHE / "stamps" / ("%s-%s" % (name, version))


def fetch(quiet: bool = False, baselines: bool = False) -> Path:
    """Make sure every pinned distribution is extracted under LIB (with `baselines`, the
    BASELINES under BASELINE_LIB instead); return that folder."""
    pins, lib = (BASELINES, BASELINE_LIB) if baselines else (PINS, LIB)
    for name, version in sorted(pins.items()):
        stamp = _stamp(name, version)
        if stamp.exists() and all((lib / p).exists() for p in stamp.read_text().split()):
            continue
        url, digest = sdist_of(name, version)
        data = _get(url)
        got = hashlib.sha256(data).hexdigest()
        if got != digest:
            raise SystemExit("mpylib: %s: sha256 %s, PyPI says %s" % (url, got, digest))
        written = []
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for rel, member in _modules(tar):
                out = lib / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_suffix(".tmp")
                tmp.write_bytes(tar.extractfile(member).read())
                os.replace(tmp, out)
                written.append(rel)
        if not written:
            raise SystemExit("mpylib: no modules in %s" % url)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text("\n".join(sorted(written)) + "\n")
        if not quiet:
            print("mpylib: %s %s -> %s" % (name, version, ", ".join(sorted(written))))
    return lib


def ensure_on_path() -> Path:
    """fetch() (a no-op when present) and put LIB first on sys.path."""
    lib = str(fetch(quiet=True))
    if lib not in sys.path:
        sys.path.insert(0, lib)
    return LIB


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="mpylib", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download, verify and extract the pinned distributions")
    f.add_argument("--baselines", action="store_true",
                   help="also the benchmark baselines (into %s)" % BASELINE_LIB)
    sub.add_parser("path", help="print the lib folder")
    sub.add_parser("list", help="print the pins (PyPI name==version and mip spec)")
    args = ap.parse_args(argv)
    if args.cmd == "fetch":
        fetch()
        if args.baselines:
            fetch(baselines=True)
    elif args.cmd == "path":
        print(LIB)
    else:
        for (name, ver), spec in zip(sorted(PINS.items()), mip_specs()):
            print("%s==%s  (mip: %s)" % (name, ver, spec))
        for name, ver in sorted(BASELINES.items()):
            print("%s==%s  (benchmark baseline, not deployed)" % (name, ver))
    return 0


if __name__ == "__main__":
    sys.exit(main())
