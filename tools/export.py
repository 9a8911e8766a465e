#!/usr/bin/env python3
"""Research export of WildCAM data: Camtrap DP 1.0 packages and MegaDetector batch files
(also `wildcam export ...`).

    python tools/export.py camtrapdp --from /media/sdcard --from sim-out/cloud --out pkg \\
        --project project.json --deployments site/deployments.json
    python tools/export.py camtrapdp --from s3://traps --endpoint-url http://minio:9000 \\
        --keys fleet --out pkg --title "Oak ridge 2026" \\
        --contributor "Ada Lovelace <ada@example.org>:principalInvestigator" \\
        --data-license CC0-1.0 --media-license CC-BY-4.0 --sampling-design targeted
    python tools/export.py camtrapdp ... --classifications md_results.json   (MegaDetector /
        SpeciesNet results: animal / human / vehicle / blank observations with their scores)
    python tools/export.py megadetector --from /media/sdcard --out md/wildcam.json

Sources (`--from`, repeatable): a copy of SD cards (DCIM/**/<image>.jpg + sidecar .json), a
folder the local destination or a bucket sync filled (<device>/<key>.jpg + .json),
`s3://BUCKET[/PREFIX]` (boto3: --endpoint-url, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or
any boto3 credentials) or `azure://CONTAINER[/PREFIX]` (--azure-connection-string or
AZURE_STORAGE_CONNECTION_STRING). Encrypted objects are decrypted with the device key
(--key [DEVICE=]HEX|FILE, or --keys the `flash.py provision` folder). A missing, unreadable
or empty source is an error (exit 1), never an empty package.

The package: datapackage.json (Camtrap DP 1.0 profile), deployments.csv (from the
deployment records `flash.py deploy --deployment` writes, with effort from heartbeats and
sleep records), media.csv, observations.csv, media/<deploymentID>/<image>.jpg (copied: every
filePath points inside the package), megadetector.json (same paths). Times are ISO 8601 with
the camera's local UTC offset. See README "From camera to data package" and
docs/HOST_TOOLS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.camtrap import deployfile, effort, exifgps, megadetector, observations, package
from tools.camtrap.common import PROFILE, SCHEMA, ExportError  # noqa: F401 (re-exported)
from tools.camtrap.sources import KeyRing, harvest
from tools.ui import HelpFormatter


def _gps(im):
    try:
        got = exifgps.read(im.path.read_bytes()[:65536] if im.path else im.read()[:65536])
    except (OSError, ExportError):
        return None
    return (got["lat"], got["lon"]) if "lat" in got else None


def _parser(prog: str = "export") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description=__doc__,
                                 formatter_class=HelpFormatter)
    ap.add_argument("format", choices=("camtrapdp", "megadetector"))
    ap.add_argument("--from", dest="src", action="append", required=True, metavar="SOURCE",
                    help="card copy, synced folder, s3://bucket[/prefix], azure://container")
    ap.add_argument("--out", required=True, help="package folder (camtrapdp) or .json file")
    g = ap.add_argument_group("package metadata (a --project JSON file and/or options)")
    g.add_argument("--project", help="project file (see tools/camtrap/package.py)")
    g.add_argument("--title")
    g.add_argument("--contributor", action="append", help='"Name <email>:role" (repeatable)')
    g.add_argument("--data-license", help="e.g. CC0-1.0")
    g.add_argument("--media-license", help="e.g. CC-BY-4.0")
    g.add_argument("--project-id")
    g.add_argument("--sampling-design", choices=package.DESIGNS)
    g.add_argument("--citation", help="bibliographic citation of the package")
    d = ap.add_argument_group("deployments")
    d.add_argument("--deployments", action="append",
                   help="deployments.json register (flash.py deploy --deployment writes it)")
    d.add_argument("--locations", help="JSON {device: {lat, lon, name}} for cameras deployed "
                   "without a record")
    d.add_argument("--coarsen", type=float, help="round coordinates (and the copied JPEGs' "
                   "EXIF GPS) to this step in degrees")
    o = ap.add_argument_group("observations and media")
    o.add_argument("--classifications", action="append",
                   help="MegaDetector batch or SpeciesNet predictions JSON (repeatable)")
    o.add_argument("--threshold", type=float, default=0.2,
                   help="minimum detection confidence kept as an observation (default 0.2)")
    o.add_argument("--link-media", action="store_true",
                   help="hard-link media into the package instead of copying (same disk)")
    s = ap.add_argument_group("buckets and encryption")
    s.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"))
    s.add_argument("--azure-connection-string",
                   default=os.environ.get("AZURE_STORAGE_CONNECTION_STRING"))
    s.add_argument("--key", action="append", help="device key: HEX, FILE, DEVICE=HEX")
    s.add_argument("--keys", help="flash.py provision folder (DIR/<device>/secrets.json)")
    return ap


def run(a) -> dict:
    if a.coarsen is not None and not 0 < a.coarsen < 10:
        raise ExportError("--coarsen: give a step in degrees, e.g. 0.01")
    meta = package.metadata(a) if a.format == "camtrapdp" else None
    register = [r for p in a.deployments or [] for r in deployfile.load_register(p)]
    locations = {}
    if a.locations:
        try:
            locations = json.loads(Path(a.locations).read_text())
        except (OSError, ValueError) as e:
            raise ExportError(f"--locations {a.locations}: {e}") from None
    classified = [observations.load_results(p) for p in a.classifications or []]
    h = harvest(a.src, KeyRing(a.key, a.keys), a.endpoint_url, a.azure_connection_string)
    dropped = dict(h.skipped)
    gps = _gps if a.format == "camtrapdp" else (lambda im: _gps(im) or (0.0, 0.0))
    deps = effort.build(h, register, locations, gps, a.coarsen, dropped)
    if a.format == "megadetector":
        out = Path(a.out)
        rows = package.media_rows(deps, out.parent, a.link_media, a.coarsen, dropped)
        md_rows = [(m, im) for d, ms in rows for im, m in zip(d.images, ms) if m]
        stats = megadetector.write(out, md_rows, {im.firmware for _, im in md_rows})
    else:
        out = Path(a.out)
        rows = package.media_rows(deps, out, a.link_media, a.coarsen, dropped)
        stats = package.write(out, meta, deps, rows, classified, a.threshold, a.coarsen)
    stats["left_out"] = dropped
    return stats


def main(argv: list[str] | None = None, prog: str = "tools/export.py") -> int:
    a = _parser(prog).parse_args(argv)
    try:
        stats = run(a)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for why, n in sorted(stats["left_out"].items()):
        print(f"note: {n} {why}: left out", file=sys.stderr)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
