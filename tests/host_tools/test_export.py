"""tools/export.py (tools/camtrap): Camtrap DP 1.0 packages checked against the OFFICIAL
profile and table schemas (tests/host_tools/data, copies of what TDWG publishes) with jsonschema
and frictionless, the profile rules tested on their own, the MegaDetector file checked with
megadetector-utils' validator, and the package taken in by camtraptools (ingest + import).

Input: two SD-card copies whose images have the same relative paths, a synced cloud folder
with heartbeats, an event, a time-lapse image and an image taken before the clock was set,
a deployment register with a move."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import export
from tools.camtrap import exifgps

from .camtrap_check import check_package, file_path_ok, profile_errors, rows, table_report

ROOT = Path(__file__).resolve().parents[2]
DET = {"motion": True, "score": 0.9, "bbox": [0.1, 0.2, 0.3, 0.4], "frame": "QQVGA"}
T0 = 1780272000  # 2026-06-01T00:00:00Z
META = ["--title", "Oak ridge survey 2026", "--contributor",
        "Ada Lovelace <ada@example.org>:principalInvestigator", "--contributor",
        "Field Team:contributor", "--data-license", "CC0-1.0", "--media-license", "CC-BY-4.0",
        "--sampling-design", "targeted", "--project-id", "oak-2026",
        "--citation", "Lovelace A. (2026) Oak ridge camera traps."]
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def jpeg(path, color=(80, 90, 100), when=None, lat=None, lon=None, offset=None):
    """A JPEG with the EXIF segment the firmware writes (wildcam.capture.exif)."""
    import hashlib
    import io

    from PIL import Image
    from wildcam.capture import exif

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buf, "JPEG")
    frame = buf.getvalue()
    app1 = exif.segment(when, serial="cam", lat=lat, lon=lon, offset_min=offset)
    data = frame[:2] + app1 + frame[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def card_image(card, rel, device, t, dep=None, event=None, seq=1, of=1, det=DET, tz=120,
               trigger="pir", color=(0, 50, 0)):
    jpg = card / rel
    local = T0 + 0  # EXIF is local time; the tests only read its offset
    h = jpeg(jpg, color, "2026:06:01 02:00:00", 51.12, -0.98, tz)
    side = {"device": device, "file": jpg.name, "sha256": h, "time": t, "clock": "rtc",
            "tz_offset_min": tz, "event": event, "trigger": trigger, "seq": seq, "of": of,
            "detection": det, "det_ms": 400 + 500 * (seq - 1), "firmware": "0.1.0",
            "boot": 1}
    if dep:
        side["deployment"] = dep
    jpg.with_suffix(".json").write_text(json.dumps(side))
    return h


def beat(folder, device, t, up_s, boot, dep=None, reset="pwron", n=0):
    snap = {"sys": {"time": t, "up_s": up_s, "boot": boot, "reset": reset, "fw": "0.1.0"},
            "deploy": dep or {}}
    (folder / device).mkdir(parents=True, exist_ok=True)
    (folder / device / f"{device}-{boot}-events-{n}.json").write_text(json.dumps(
        {"c": t, "d": snap, "k": f"{device}-{boot}-events-{n}", "n": "health", "r": t + 5}))


@pytest.fixture
def src(tmp_path):
    """Two cards (cam-01 before and after a move, cam-02) and a cloud folder (cam-03)."""
    card1, card2, cloud = tmp_path / "cards" / "sd1", tmp_path / "cards" / "sd2", tmp_path / "cloud"
    reg = [{"deploymentID": "cam-01-oak", "locationID": "oak-3", "locationName": "Oak ridge 3",
            "latitude": 51.123456, "longitude": -0.987654, "coordinateUncertainty": 15,
            "deploymentStart": "2026-06-01T01:00:00+02:00",
            "deploymentEnd": "2026-06-01T14:00:00+02:00", "cameraID": "cam-01",
            "cameraHeight": 0.6, "cameraTilt": -10, "cameraHeading": 225, "baitUse": False,
            "featureType": "trailGame", "habitat": "beech forest", "setupBy": "Ada"},
           {"deploymentID": "cam-01-pond", "locationID": "pond", "latitude": 51.2,
            "longitude": -0.9, "deploymentStart": "2026-06-01T14:30:00+02:00",
            "cameraID": "cam-01"},
           {"deploymentID": "cam-02-glade", "locationID": "glade", "latitude": -33.86789,
            "longitude": 151.20987, "deploymentStart": "2026-06-01T00:00:00+10:00",
            "cameraID": "cam-02"}]
    (tmp_path / "deployments.json").write_text(json.dumps(reg))
    # cam-01 on card 1: an event of two images at the oak, one image after the move
    card_image(card1, "DCIM/20260601/020001_B00001_0001.jpg", "cam-01", T0 + 7201,
               "cam-01-oak", "cam-01-1-1", 1, 2)
    card_image(card1, "DCIM/20260601/020002_B00001_0002.jpg", "cam-01", T0 + 7202,
               "cam-01-oak", "cam-01-1-1", 2, 2, color=(0, 60, 0))
    card_image(card1, "DCIM/20260601/130000_B00001_0003.jpg", "cam-01", T0 + 46800,
               None, "cam-01-1-2", color=(9, 9, 9))
    card_image(card1, "DCIM/20260531/220000_B00001_0004.jpg", "cam-01", T0 - 7200,
               None, "cam-01-1-0", color=(5, 5, 5))  # a desk test before the setup
    # cam-02 on card 2: the SAME relative path as cam-01's first image, and a time-lapse
    card_image(card2, "DCIM/20260601/020001_B00001_0001.jpg", "cam-02", T0 + 7201,
               "cam-02-glade", "cam-02-1-1", tz=600, color=(70, 0, 0))
    card_image(card2, "DCIM/20260601/030000_B00001_0002.jpg", "cam-02", T0 + 10800,
               "cam-02-glade", None, det=None, trigger="timelapse", tz=600, color=(0, 0, 70))
    # cam-03 in the cloud: heartbeats all day, no image but one taken with the clock unset
    for k in range(25):
        beat(cloud, "cam-03", T0 + 3600 * k, 3600 * k, 1, n=k)
    h = jpeg(cloud / "cam-03" / "cam-03-B00002-U000100_0001.jpg", (1, 2, 3), None, 47.6, -122.3)
    (cloud / "cam-03" / "cam-03-B00002-U000100_0001.json").write_text(json.dumps(
        {"c": 0, "d": {"trigger": "manual", "event": "cam-03-2-1"}, "h": h,
         "k": "cam-03-B00002-U000100_0001", "n": "detection", "r": T0 + 40000,
         "m": "/sd/DCIM/B00002/U000100_0001.jpg"}))
    return tmp_path, [str(card1), str(card2), str(cloud)]


def export_pkg(tmp_path, sources, *extra, out="pkg"):
    argv = ["camtrapdp", "--out", str(tmp_path / out), "--deployments",
            str(tmp_path / "deployments.json"), *META, *extra]
    for s in sources:
        argv += ["--from", s]
    return export.main(argv), tmp_path / out


def test_package_passes_the_official_profile_and_says_what_is_known(src, capsys):
    tmp_path, sources = src
    rc, pkg = export_pkg(tmp_path, sources)
    assert rc == 0, capsys.readouterr().err
    stats = json.loads(capsys.readouterr().out)
    assert stats["deployments"] == 4 and stats["media"] == 6
    assert stats["left_out"] == {"images taken before the camera's first deployment (setup) "
                                 "time": 1}
    desc = check_package(pkg)  # official profile (jsonschema) + tables (frictionless)
    assert sorted(l["scope"] for l in desc["licenses"]) == ["data", "media"]
    assert desc["contributors"][0] == {"title": "Ada Lovelace", "email": "ada@example.org",
                                       "role": "principalInvestigator"}
    assert desc["project"]["id"] == "oak-2026" and desc["project"]["samplingDesign"] == "targeted"
    assert desc["bibliographicCitation"].startswith("Lovelace A.")
    assert desc["spatial"]["type"] == "Polygon" and desc["taxonomic"] == []
    # deployments: the register's facts, a move is a new deployment, cam-03 from heartbeats
    deps = {d["deploymentID"]: d for d in rows(pkg, "deployments")}
    oak = deps["cam-01-oak"]
    assert (oak["deploymentStart"], oak["deploymentEnd"]) == ("2026-06-01T01:00:00+02:00",
                                                              "2026-06-01T14:00:00+02:00")
    assert (oak["featureType"], oak["cameraHeading"], oak["baitUse"]) == ("trailGame", "225",
                                                                          "false")
    assert deps["cam-01-pond"]["deploymentStart"] == "2026-06-01T14:30:00+02:00"
    assert "effortDays:1.000" in deps["cam-03"]["deploymentTags"]
    assert deps["cam-03"]["timestampIssues"] == "true"
    # media: unique filePaths inside the package, local offsets, EXIF kept
    media = rows(pkg, "media")
    paths = [m["filePath"] for m in media]
    assert len(set(paths)) == len(paths) and all(file_path_ok(p) for p in paths)
    assert all((pkg / p).is_file() for p in paths)
    by_dep = {m["deploymentID"]: m for m in media if m["captureMethod"] == "activityDetection"}
    assert by_dep["cam-02-glade"]["timestamp"] == "2026-06-01T12:00:01+10:00"
    assert by_dep["cam-01-pond"]["timestamp"] == "2026-06-01T15:00:00+02:00"
    assert json.loads(by_dep["cam-01-oak"]["exifData"])["OffsetTimeOriginal"] == "+02:00"
    tl = [m for m in media if m["captureMethod"] == "timeLapse"]
    assert len(tl) == 1 and tl[0]["deploymentID"] == "cam-02-glade"
    # observations: events unclassified by the machine, no image gets the look frame's box
    obs = rows(pkg, "observations")
    ev = [o for o in obs if o["observationLevel"] == "event" and o["eventID"] == "cam-01-1-1"]
    assert len(ev) == 1
    assert (ev[0]["observationType"], ev[0]["classificationMethod"]) == ("unclassified",
                                                                         "machine")
    assert ev[0]["classifiedBy"] == "WildCAM on-board motion detector (firmware 0.1.0)"
    assert (ev[0]["eventStart"], ev[0]["eventEnd"]) == ("2026-06-01T04:00:01+02:00",
                                                        "2026-06-01T04:00:02+02:00")
    assert "lookBox:0.1,0.2,0.3,0.4" in ev[0]["observationTags"]
    assert {o["observationType"] for o in obs} == {"unclassified"}
    assert not any(o["bboxX"] for o in obs)
    for name in ("deployments", "media", "observations"):  # ISO 8601 with offset everywhere
        for r in rows(pkg, name):
            for k in ("deploymentStart", "deploymentEnd", "timestamp", "eventStart", "eventEnd",
                      "classificationTimestamp"):
                assert not r.get(k) or OFFSET.match(r[k]), (name, k, r[k])


def test_the_profile_and_table_schemas_carry_the_official_rules(src, capsys):
    """Each rule the hand-written schemas lacked, broken on purpose, is caught."""
    tmp_path, sources = src
    rc, pkg = export_pkg(tmp_path, sources)
    assert rc == 0
    good = json.loads((pkg / "datapackage.json").read_text())
    assert profile_errors(good) == []

    def broken(**change):
        d = json.loads(json.dumps(good))
        for k, v in change.items():
            if v is None:
                d.pop(k)
            else:
                d[k] = v
        return profile_errors(d)

    assert broken(licenses=[{"name": "CC0-1.0", "scope": "data"}])  # needs data AND media
    assert broken(licenses=[{"name": "CC0-1.0"}, {"name": "CC-BY-4.0", "scope": "media"}])
    assert broken(spatial={"type": "Polygon", "coordinates": [[1, 2]]})  # not GeoJSON
    assert broken(temporal={"start": "2026-06-01T00:00:00Z", "end": "2026-06-02"})  # dates
    assert broken(taxonomic=[{"taxonRank": "species"}])  # scientificName required
    assert broken(resources=good["resources"][:2])  # three Camtrap DP resources
    assert broken(resources=[dict(r, schema="https://example.org/x.json")
                             for r in good["resources"]])  # the version's table schemas
    assert broken(contributors=[{"title": "X", "role": "boss"}])
    assert broken(project=dict(good["project"], samplingDesign="random"))
    assert broken(created=None) and broken(project=None)
    # media table: the official filePath pattern and exifData of type any
    schema = json.loads((ROOT / "tests/host_tools/data/camtrap-dp-1.0/media-table-schema.json")
                        .read_text())
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["filePath"]["constraints"]["pattern"] == r"^(?=^[^./~])(^((?!\.{2}).)*$).*$"
    assert fields["exifData"]["type"] == "any"
    for bad in ("../escape.jpg", "/abs/x.jpg", "./x.jpg", "~/x.jpg", "media/../../x.jpg"):
        assert not file_path_ok(bad)
    media = (pkg / "media.csv").read_text()
    first = rows(pkg, "media")[0]["filePath"]
    (pkg / "media.csv").write_text(media.replace(first, "../" + first, 1))
    report = table_report(pkg)
    assert not report.valid and "constraint" in str(report.flatten(["type"]))
    (pkg / "media.csv").write_text(media)
    deps = json.loads((ROOT / "tests/host_tools/data/camtrap-dp-1.0/deployments-table-schema.json")
                      .read_text())
    units = {f["name"]: f.get("unit") for f in deps["fields"]}
    assert units["cameraHeight"] == "m" and units["cameraHeading"] == "°"


def test_metadata_is_asked_for_not_invented(src, capsys):
    tmp_path, sources = src
    assert export.main(["camtrapdp", "--from", sources[0], "--out", str(tmp_path / "p"),
                        "--deployments", str(tmp_path / "deployments.json"),
                        "--title", "T"]) == 1
    err = capsys.readouterr().err
    assert "needs a contributor, a data license, a media license, the sampling design" in err
    proj = tmp_path / "project.json"
    proj.write_text(json.dumps({
        "title": "From a project file", "contributors": [{"title": "Lab", "role": "publisher"}],
        "licenses": [{"name": "CC0-1.0", "scope": "data"}, {"name": "CC-BY-NC-4.0",
                                                            "scope": "media"}],
        "project": {"title": "Oaks", "samplingDesign": "systematicRandom", "id": "p-1"}}))
    assert export.main(["camtrapdp", "--from", sources[0], "--out", str(tmp_path / "p"),
                        "--deployments", str(tmp_path / "deployments.json"), "--project",
                        str(proj), "--media-license", "CC-BY-4.0"]) == 0
    desc = check_package(tmp_path / "p")
    assert desc["licenses"][1] == {"name": "CC-BY-4.0", "scope": "media"}  # option wins
    assert desc["project"]["title"] == "Oaks" and desc["title"] == "From a project file"


@pytest.mark.parametrize("make", ["missing", "empty", "junk"])
def test_an_empty_or_unreadable_source_is_an_error(tmp_path, capsys, make):
    src = tmp_path / "src"
    if make != "missing":
        src.mkdir()
    if make == "junk":
        (src / "notes.json").write_text("{not json")
        (src / "x.jpg").write_bytes(b"\xff\xd8")
    assert export.main(["camtrapdp", "--from", str(src), "--out", str(tmp_path / "p"),
                        *META]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and (
        "no such folder" in err if make == "missing" else "no WildCAM images or heartbeats" in err)
    assert not (tmp_path / "p" / "datapackage.json").exists()


def test_coarsening_rounds_the_table_and_the_copied_exif(src, capsys):
    tmp_path, sources = src
    rc, pkg = export_pkg(tmp_path, sources[:1], "--coarsen", "0.01")
    assert rc == 0, capsys.readouterr().err
    desc = check_package(pkg)
    assert desc["coordinatePrecision"] == 0.01
    deps = {d["deploymentID"]: d for d in rows(pkg, "deployments")}
    assert (deps["cam-01-oak"]["latitude"], deps["cam-01-oak"]["longitude"]) == ("51.12", "-0.99")
    assert int(deps["cam-01-oak"]["coordinateUncertainty"]) >= 700
    for m in rows(pkg, "media"):
        got = exifgps.read((pkg / m["filePath"]).read_bytes())
        assert round(got["lat"], 4) == 51.12 and "lat" not in json.loads(m["exifData"])


def md_results(path, files):
    """A MegaDetector 1.5 batch file as MegaDetector + a species classifier write it."""
    doc = {"info": {"format_version": "1.5", "detector": "md_v5a.0.0.pt",
                    "detection_completion_time": "2026-06-03 10:00:00",
                    "detector_metadata": {"megadetector_version": "v5a.0.0"}},
           "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
           "classification_categories": {"0": "red fox"},
           "classification_category_descriptions": {
               "0": "uuid;mammalia;carnivora;canidae;vulpes;vulpes;red fox"},
           "images": [
               {"file": files[0], "detections": [
                   {"category": "1", "conf": 0.93, "bbox": [0.1, 0.2, 0.3, 0.4],
                    "classifications": [["0", 0.88]]},
                   {"category": "2", "conf": 0.05, "bbox": [0.5, 0.5, 0.1, 0.1]}]},
               {"file": files[1], "detections": []},
               {"file": files[2], "failure": "Failure image access", "detections": None},
               {"file": files[3], "detections": [
                   {"category": "3", "conf": 0.7, "bbox": [0.0, 0.5, 0.9, 0.6]}]}]}
    path.write_text(json.dumps(doc))


def test_classifier_results_become_animal_human_vehicle_blank_observations(src, capsys):
    tmp_path, sources = src
    # paths as MegaDetector wrote them, run over the parent folder of both cards
    files = ["cards/sd1/DCIM/20260601/020001_B00001_0001.jpg",
             "cards/sd1/DCIM/20260601/020002_B00001_0002.jpg",
             "cards/sd2/DCIM/20260601/020001_B00001_0001.jpg",
             "cards/sd1/DCIM/20260601/130000_B00001_0003.jpg"]
    md_results(tmp_path / "md.json", files)
    sn = tmp_path / "speciesnet.json"
    sn.write_text(json.dumps({"predictions": [
        {"filepath": "/data/sd2/DCIM/20260601/030000_B00001_0002.jpg",
         "prediction": "uuid;mammalia;primates;hominidae;homo;sapiens;human",
         "prediction_score": 0.97, "model_version": "4.0.1a",
         "detections": [{"category": "2", "label": "human", "conf": 0.95,
                         "bbox": [0.2, 0.1, 0.3, 0.8]}]}]}))
    rc, pkg = export_pkg(tmp_path, sources[:2], "--classifications", str(tmp_path / "md.json"),
                         "--classifications", str(sn))
    assert rc == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["classified_images"] == 5
    desc = check_package(pkg)
    assert desc["taxonomic"] == [{"scientificName": "Homo sapiens", "taxonRank": "species"},
                                 {"scientificName": "Vulpes vulpes", "taxonRank": "species"}]
    media = {m["mediaID"]: m for m in rows(pkg, "media")}
    obs = [o for o in rows(pkg, "observations") if o["observationLevel"] == "media"]
    got = {(media[o["mediaID"]]["deploymentID"], media[o["mediaID"]]["fileName"]):
           o for o in obs}
    fox = got[("cam-01-oak", "020001_B00001_0001.jpg")]
    assert (fox["observationType"], fox["scientificName"], fox["count"]) == ("animal",
                                                                            "Vulpes vulpes", "1")
    assert fox["classificationProbability"] == "0.88" and fox["bboxWidth"] == "0.3"
    assert fox["classifiedBy"] == "MegaDetector v5a.0.0" and fox["classificationMethod"] == "machine"
    assert OFFSET.match(fox["classificationTimestamp"])
    assert got[("cam-01-oak", "020002_B00001_0002.jpg")]["observationType"] == "blank"
    assert got[("cam-02-glade", "020001_B00001_0001.jpg")]["observationType"] == "unclassified"
    car = got[("cam-01-pond", "130000_B00001_0003.jpg")]
    assert car["observationType"] == "vehicle" and float(car["bboxHeight"]) == pytest.approx(0.5)
    person = got[("cam-02-glade", "030000_B00001_0002.jpg")]
    assert (person["observationType"], person["scientificName"]) == ("human", "Homo sapiens")
    assert person["classifiedBy"] == "SpeciesNet 4.0.1a"
    # the person below --threshold (0.05) was not kept: one row for the fox image
    assert sum(1 for o in obs if o["mediaID"] == fox["mediaID"]) == 1


def _validate_md(path, base=None):
    from megadetector.postprocessing.validate_batch_results import (
        ValidateBatchResultsOptions, validate_batch_results)

    opts = ValidateBatchResultsOptions()
    opts.check_image_existence = base is not None
    opts.relative_path_base = str(base) if base else None
    return validate_batch_results(str(path), opts)["validation_results"]


def test_megadetector_file_is_valid_and_honest(src, capsys):
    tmp_path, sources = src
    rc, pkg = export_pkg(tmp_path, sources)
    assert rc == 0
    res = _validate_md(pkg / "megadetector.json", pkg)  # every file exists under the package
    assert res["errors"] == [] and res["warnings"] == []
    doc = json.loads((pkg / "megadetector.json").read_text())
    assert doc["info"]["format_version"] == "1.5"
    # when the camera's detector last looked (400 ms before the last event's first image)
    assert doc["info"]["detection_completion_time"] == "2026-06-01 12:59:59"
    media = {m["filePath"] for m in rows(pkg, "media")}
    assert {i["file"] for i in doc["images"]} == media  # the package's own paths
    assert all(i["detections"] is None and i["failure"] for i in doc["images"])
    assert any("400 ms before it" in i["failure"] for i in doc["images"])
    # stand-alone: same paths whatever was exported, media beside the file
    out = tmp_path / "mdonly" / "wildcam.json"
    assert export.main(["megadetector", "--from", sources[1], "--out", str(out)]) == 0
    assert _validate_md(out, out.parent)["errors"] == []
    files = {i["file"] for i in json.loads(out.read_text())["images"]}
    assert files == {"media/cam-02/020001_B00001_0001.jpg", "media/cam-02/030000_B00001_0002.jpg"}


def _camtraptools(*args):
    exe = Path(sys.executable).with_name("camtraptools")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_camtraptools_ingests_the_media_and_imports_the_results(src, tmp_path, capsys):
    tmp, sources = src
    rc, pkg = export_pkg(tmp, sources)
    assert rc == 0
    # ingest: the package's media folder is one folder per deployment, as camtraptools wants
    ct = tmp_path / "ct"
    r = _camtraptools("ingest", pkg / "media", "--out", ct)
    assert r.returncode == 0, r.stderr
    assert "Found 6 images from 4 deployments" in r.stdout or \
        "Found 6 images from 3 deployments" in r.stdout, r.stdout
    # import our MegaDetector file into that package and into ours: every image matches
    r = _camtraptools("import", ct, pkg / "megadetector.json")
    assert r.returncode == 0, r.stderr
    assert "Imported results for 6 of 6 images" in r.stdout, r.stdout
    mine = tmp_path / "mine"
    shutil.copytree(pkg, mine)
    r = _camtraptools("import", mine, mine / "megadetector.json")
    assert r.returncode == 0, r.stderr
    assert "Imported results for 6 of 6 images" in r.stdout
    assert "6 images in the package have no results" not in r.stdout


def test_wildcam_export_help_works():
    r = subprocess.run([sys.executable, "-m", "tools.fleet", "export", "--help"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: wildcam export") and "--classifications" in r.stdout


@pytest.mark.parametrize("battery", [False, True])
def test_a_quiet_day_still_yields_its_deployment_with_its_effort(tmp_path, battery):
    """24 simulated hours, one camera, no animal, no wind: no image at all. The deployment is
    there, from the record the camera reports in its heartbeats, with its effort."""
    out = tmp_path / "sim"
    cmd = [sys.executable, "-m", "host_sim", "--boards", "1", "--hours", "24", "--animals",
           "0", "--wind", "0", "--power-cuts", "0", "--seed", "11", "--out", str(out),
           "--no-report", "--cmd-at", "-1"] + (["--battery"] if battery else
                                               ["--fleet", "mains"])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not list((out / "cam-01" / "sd").rglob("*.jpg"))
    pkg = tmp_path / "pkg"
    assert export.main(["camtrapdp", "--from", str(out / "cloud"), "--from",
                        str(out / "cam-01" / "sd"), "--out", str(pkg), *META]) == 0
    check_package(pkg)
    deps = rows(pkg, "deployments")
    assert len(deps) == 1 and rows(pkg, "media") == []
    d = deps[0]
    assert d["deploymentID"] == "cam-01-sim-20260601" and d["featureType"] == "trailGame"
    assert d["deploymentStart"] == "2026-06-01T00:00:00+00:00"
    days = float(re.search(r"effortDays:([\d.]+)", d["deploymentTags"]).group(1))
    if battery:  # deep sleeps between heartbeats; the last ones wait for the next window
        assert 0.7 < days <= 1.0 and "gaps:0" in d["deploymentTags"]
    else:  # the mid-day update's reboot at 12:00 may take the heartbeat due that second
        assert days > 0.97 and "gaps:0" in d["deploymentTags"]
    assert d["deploymentEnd"] > "2026-06-01T18"


def test_simulated_fleet_output_exports(tmp_path):
    """What `python -m host_sim` writes (cloud folder, SD cards, deployments.json) exports
    and validates; images and heartbeats land in the deployments the cameras reported."""
    out = tmp_path / "sim"
    r = subprocess.run([sys.executable, "-m", "host_sim", "--boards", "2", "--hours", "3",
                        "--seed", "3", "--out", str(out), "--no-report"], capture_output=True,
                       text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    pkg = tmp_path / "pkg"
    argv = ["camtrapdp", "--out", str(pkg), "--deployments", str(out / "deployments.json"),
            *META, "--from", str(out / "cloud")]
    for b in ("cam-01", "cam-02"):
        argv += ["--from", str(out / b / "sd")]
    assert export.main(argv) == 0
    check_package(pkg)
    media = rows(pkg, "media")
    assert media and {m["deploymentID"] for m in media} <= {"cam-01-sim-20260601",
                                                           "cam-02-sim-20260601"}
    assert _validate_md(pkg / "megadetector.json", pkg)["errors"] == []


def test_look_time_follows_the_firmware_that_wrote_the_sidecar():
    """Since the PIR wake photographs first, `det_ms` counts forward from the image to the
    deciding look frame (sidecars with `verdict`); older sidecars counted back."""
    from tools.camtrap.megadetector import document
    from tools.camtrap.sources import look_ms

    assert look_ms({"det_ms": 350, "verdict": "motion"}) == 350
    assert look_ms({"det_ms": 400}) == -400
    assert look_ms({"verdict": "unchecked"}) is None

    class Im:
        detection = {"frame": "QQVGA", "score": 0.9}
        det_ms = 350

    doc = document([({"captureMethod": "activityDetection", "filePath": "m/a.jpg",
                      "_t": 1780315200.0}, Im())], {"0.2.0"})
    assert "350 ms after it" in doc["images"][0]["failure"]
    assert doc["info"]["detection_completion_time"] == "2026-06-01 12:00:00"
