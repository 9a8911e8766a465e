"""Checks of a Camtrap DP package against the official 1.0 profile and table schemas
(tests/host_tools/data, see its README for where each file comes from), offline."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

DATA = Path(__file__).parent / "data"
CTDP = DATA / "camtrap-dp-1.0"
FILE_PATH = r"^(?=^[^./~])(^((?!\.{2}).)*$).*$"


def _json(p: Path):
    return json.loads(p.read_text())


def _formats():
    """The formats the profile uses (date, date-time, uri), checked strictly."""
    import datetime as dt

    import jsonschema

    fc = jsonschema.FormatChecker(["email"])

    @fc.checks("date", raises=ValueError)
    def _date(v):
        return not isinstance(v, str) or bool(re.fullmatch(r"\d{4}-\d\d-\d\d", v)) and \
            bool(dt.date.fromisoformat(v))

    @fc.checks("date-time", raises=ValueError)
    def _dt(v):
        return not isinstance(v, str) or bool(re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", v)) and \
            bool(dt.datetime.fromisoformat(v.replace("Z", "+00:00")))

    @fc.checks("uri")
    def _uri(v):
        return not isinstance(v, str) or bool(re.match(r"[A-Za-z][A-Za-z0-9+.-]*:\S+$", v))

    return fc


def profile_errors(desc: dict) -> list[str]:
    """Every violation of the official profile (jsonschema, draft 4, external $refs local)."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    prof = _json(CTDP / "camtrap-dp-profile.json")
    text = json.dumps(prof).replace('"#$defs/version"', '"#/$defs/version"')
    prof = json.loads(text)
    reg = Registry().with_resources([
        ("https://frictionlessdata.io/schemas/data-package.json",
         Resource.from_contents(_json(DATA / "external" / "frictionless-data-package.json"),
                                default_specification=DRAFT4)),
        ("http://json.schemastore.org/geojson.json",
         Resource.from_contents(_json(DATA / "external" / "geojson.json"),
                                default_specification=DRAFT4)),
    ])
    v = jsonschema.Draft4Validator(prof, registry=reg, format_checker=_formats())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(desc)]


def table_report(pkg: Path):
    """frictionless validation of the three tables with the official table schemas."""
    from frictionless import Package

    desc = _json(pkg / "datapackage.json")
    local = copy.deepcopy(desc)
    local.pop("profile")  # checked by profile_errors; frictionless would fetch it
    for r in local["resources"]:
        r["schema"] = _json(CTDP / f"{r['name']}-table-schema.json")
    tmp = pkg / "datapackage.offline.json"
    tmp.write_text(json.dumps(local))
    try:
        return Package(str(tmp)).validate()
    finally:
        tmp.unlink()


def check_package(pkg: Path) -> dict:
    """Validate a package fully; returns its descriptor."""
    desc = _json(pkg / "datapackage.json")
    errors = profile_errors(desc)
    assert not errors, errors
    report = table_report(pkg)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    return desc


def rows(pkg: Path, name: str) -> list[dict]:
    import csv

    with open(pkg / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


def file_path_ok(p: str) -> bool:
    return re.match(FILE_PATH, p) is not None
