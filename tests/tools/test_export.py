"""tools/export.py: Camtrap DP 1.0 validated with frictionless (table schemas shipped in
tests/tools/data/camtrap-dp-1.0, written from the specification because no registry package
carries them) and MegaDetector batch output. Input: a cloud folder and an SD-card copy with
an image taken before the clock was set and one image present in both."""
import copy
import json
from pathlib import Path

import pytest

from tools import export

DATA = Path(__file__).parent / "data" / "camtrap-dp-1.0"
DET = {"motion": True, "score": 0.9, "bbox": [0.1, 0.2, 0.3, 0.4]}


def jpeg(path, color=(80, 90, 100)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), color).save(path, "JPEG")
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def src(tmp_path):
    cloud, sd = tmp_path / "cloud", tmp_path / "sd"
    # cloud objects of cam-01: one detection, one time-lapse, one with no creation time
    for i, (c, d, n) in enumerate([(1780273140, {"detection": DET, "event": "e1", "seq": 1,
                                                 "of": 1, "trigger": "pir"}, "detection"),
                                   (1780273200, {"trigger": "timelapse"}, "timelapse"),
                                   (None, {"detection": {"motion": False, "score": 0.0},
                                           "trigger": "pir"}, "detection")]):
        h = jpeg(cloud / "cam-01" / f"k{i}.jpg", (10 * i, 0, 0))
        (cloud / "cam-01" / f"k{i}.json").write_text(json.dumps(
            {"c": c, "d": d, "h": h, "k": f"k{i}", "n": n, "r": 1780280000 + i, "s": 1}))
    # SD copy of cam-02: a clock-set image and one with the clock unset (never uploaded)
    h = jpeg(sd / "DCIM" / "20260601" / "a.jpg", (0, 50, 0))
    side = {"device": "cam-02", "file": "a.jpg", "sha256": h, "time": 1780273300,
            "time_iso": "2026-06-01T00:21:40Z", "clock": "rtc", "event": "cam-02-1-1",
            "trigger": "pir", "seq": 1, "of": 2, "detection": DET, "battery_v": 3.9,
            "temp_c": 21}
    (sd / "DCIM" / "20260601" / "a.json").write_text(json.dumps(side))
    h2 = jpeg(sd / "DCIM" / "B3" / "b.jpg", (0, 0, 70))
    unset = dict(side, file="b.jpg", sha256=h2, time=None, time_iso=None, clock="unset")
    (sd / "DCIM" / "B3" / "b.json").write_text(json.dumps(unset))
    # the same image as cam-01's k0 on a card copy too (dedup by sha256, sidecar wins)
    h0 = json.loads((cloud / "cam-01" / "k0.json").read_text())["h"]
    (sd / "DCIM" / "x").mkdir(parents=True)
    (sd / "DCIM" / "x" / "k0.jpg").write_bytes((cloud / "cam-01" / "k0.jpg").read_bytes())
    (sd / "DCIM" / "x" / "k0.json").write_text(json.dumps(dict(
        side, device="cam-01", file="k0.jpg", sha256=h0, time=1780273140)))
    locs = tmp_path / "locs.json"
    locs.write_text(json.dumps({"cam-01": {"lat": 51.123456, "lon": -0.987654, "name": "oak"},
                                "cam-02": {"lat": -33.86789, "lon": 151.20987}}))
    return cloud, sd, locs


def validate_offline(pkg: Path):
    """frictionless validation of the package with the local Camtrap DP table schemas, and
    the package descriptor against the (reduced) profile JSON schema."""
    import jsonschema
    from frictionless import Package

    desc = json.loads((pkg / "datapackage.json").read_text())
    jsonschema.validate(desc, json.loads((DATA / "camtrap-dp-profile.json").read_text()))
    local = copy.deepcopy(desc)
    local.pop("profile")
    for r in local["resources"]:
        assert r["schema"] == export.SCHEMA.format(r["name"])
        r["schema"] = json.loads((DATA / f"{r['name']}-table-schema.json").read_text())
    (pkg / "datapackage.offline.json").write_text(json.dumps(local))
    report = Package(str(pkg / "datapackage.offline.json")).validate()
    (pkg / "datapackage.offline.json").unlink()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    return desc


def rows(pkg, name):
    import csv

    with open(pkg / f"{name}.csv") as f:
        return list(csv.DictReader(f))


def test_camtrapdp_package_is_valid_and_honest(src, tmp_path, capsys):
    cloud, sd, locs = src
    pkg = tmp_path / "pkg"
    assert export.main(["camtrapdp", "--from", str(cloud), "--from", str(sd), "--out", str(pkg),
                        "--locations", str(locs)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats == {"deployments": 2, "media": 4, "observations": 4,
                     "skipped_unset_clock": 1, "receipt_timestamps": 1}
    desc = validate_offline(pkg)
    assert desc["profile"] == export.PROFILE
    media = {m["fileName"]: m for m in rows(pkg, "media")}
    assert media["k1.jpg"]["captureMethod"] == "timeLapse"
    assert media["k2.jpg"]["timestamp"] == "2026-06-01T02:13:22Z"  # receipt time, flagged
    assert "clock was unset" in media["k2.jpg"]["mediaComments"]
    assert media["k0.jpg"]["filePath"] == "DCIM/x/k0.jpg"  # the sidecar copy won
    obs = {o["mediaID"]: o for o in rows(pkg, "observations")}
    by_file = {m["fileName"]: obs[m["mediaID"]] for m in media.values()}
    a = by_file["a.jpg"]
    assert (a["observationType"], a["classificationMethod"], a["observationLevel"]) == \
        ("animal", "machine", "media")
    assert [float(a[k]) for k in ("bboxX", "bboxY", "bboxWidth", "bboxHeight")] == DET["bbox"]
    assert a["classificationProbability"] == "0.9" and a["scientificName"] == ""
    assert by_file["k2.jpg"]["observationType"] == "blank"
    assert by_file["k1.jpg"]["observationType"] == "unknown" and by_file["k1.jpg"]["bboxX"] == ""
    deps = {d["deploymentID"]: d for d in rows(pkg, "deployments")}
    assert deps["cam-01"]["timestampIssues"] == "true" and deps["cam-02"]["timestampIssues"] == "false"
    assert deps["cam-01"]["latitude"] == "51.123456"


def test_coarsened_coordinates(src, tmp_path, capsys):
    cloud, sd, locs = src
    pkg = tmp_path / "pkg"
    assert export.main(["camtrapdp", "--from", str(cloud), "--from", str(sd), "--out", str(pkg),
                        "--locations", str(locs), "--coarsen", "0.01"]) == 0
    validate_offline(pkg)
    deps = {d["deploymentID"]: d for d in rows(pkg, "deployments")}
    assert (deps["cam-01"]["latitude"], deps["cam-01"]["longitude"]) == ("51.12", "-0.99")
    assert (deps["cam-02"]["latitude"], deps["cam-02"]["longitude"]) == ("-33.87", "151.21")
    assert int(deps["cam-01"]["coordinateUncertainty"]) >= 700
    # exact GPS would leak through the JPEG EXIF: copying media is refused when coarsening
    assert export.main(["camtrapdp", "--from", str(cloud), "--out", str(tmp_path / "p2"),
                        "--locations", str(locs), "--coarsen", "0.01", "--copy-media"]) == 1
    assert "--copy-media" in capsys.readouterr().err


def test_missing_location_says_what_to_do(src, tmp_path, capsys):
    cloud, _, _ = src
    assert export.main(["camtrapdp", "--from", str(cloud), "--out", str(tmp_path / "p")]) == 1
    assert "no location for cam-01: give --locations" in capsys.readouterr().err


def test_megadetector_output(src, tmp_path):
    cloud, sd, _ = src
    out = tmp_path / "md.json"
    assert export.main(["megadetector", "--from", str(cloud), "--from", str(sd), "--out",
                        str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["info"]["format_version"] == "1.4"
    assert doc["detection_categories"]["1"] == "animal"
    imgs = {Path(i["file"]).name: i for i in doc["images"]}
    assert imgs["a.jpg"]["detections"] == [{"category": "1", "conf": 0.9,
                                            "bbox": [0.1, 0.2, 0.3, 0.4]}]
    assert imgs["a.jpg"]["max_detection_conf"] == 0.9
    assert imgs["k2.jpg"]["detections"] == [] and "failure" in imgs["k1.jpg"]


def test_simulated_fleet_output_exports(tmp_path):
    """What `python -m host_sim` writes (cloud folder + SD cards) exports and validates."""
    import subprocess
    import sys

    out = tmp_path / "sim"
    r = subprocess.run([sys.executable, "-m", "host_sim", "--boards", "1", "--hours", "2",
                        "--seed", "3", "--out", str(out), "--no-report"], capture_output=True,
                       text=True, timeout=600, cwd=export.Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr[-2000:]
    pkg = tmp_path / "pkg"
    assert export.main(["camtrapdp", "--from", str(out / "cloud"), "--from",
                        str(out / "cam-01" / "sd"), "--out", str(pkg)]) == 0  # EXIF GPS
    validate_offline(pkg)
    assert rows(pkg, "media")
