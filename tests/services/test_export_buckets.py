"""`wildcam export` straight from a bucket (s3rver) and a container (Azurite): objects put
there by the firmware's own S3 / Azure destinations, sealed ones (client-side AES-256-CTR)
decrypted with the device key and checked against their plaintext sha256; the package
passes the official Camtrap DP profile. A wrong or missing key, an empty bucket and an
unreachable endpoint are clear errors with exit status 1."""
import hashlib
import io
import json
import sys
import time
from pathlib import Path

import pytest

from tools import export
from wildcam.dest.azure import AzureDest
from wildcam.dest.crypt import Sealer
from wildcam.dest.s3 import S3Dest
from wildcam.net.http import HTTP

from .cloudsrv import AZ_CONTAINER
from .cloudutil import It, run, storage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host_tools"))
from camtrap_check import check_package, rows  # noqa: E402

pytestmark = pytest.mark.services

KEY_HEX = "8f1c0a2b3d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbccdde"
T0 = 1780279200  # 2026-06-01T02:00:00Z
META = ["--title", "Bucket survey", "--contributor", "Ada <ada@example.org>:contact",
        "--data-license", "CC0-1.0", "--media-license", "CC-BY-4.0", "--sampling-design",
        "opportunistic"]
DEP = {"deploymentID": "wc-enc-oak", "locationID": "oak", "latitude": 51.1,
       "longitude": -0.9, "deploymentStart": "2026-06-01T03:00:00+02:00", "cameraID": "wc-enc"}


def items(root):
    """What a camera queues for one event: two images, the event, a heartbeat."""
    from PIL import Image

    out = []
    det = {"motion": True, "score": 0.8, "bbox": [0.1, 0.1, 0.2, 0.2], "frame": "QQVGA"}
    for i in (1, 2):
        path = f"/sd/DCIM/20260601/020000_B00003_000{i}.jpg"
        buf = io.BytesIO()
        Image.new("RGB", (40, 30), (30 * i, 90, 10)).save(buf, "JPEG")
        real = Path(root + path)
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_bytes(buf.getvalue())
        out.append(It(f"wc-enc-20260601-020000_B00003_000{i}", media=path,
                      size=len(buf.getvalue()), sha256=hashlib.sha256(buf.getvalue()).hexdigest(),
                      data={"event": "wc-enc-3-1", "trigger": "pir", "seq": i, "of": 2,
                            "detection": det, "det_ms": 400 * i}, created=T0 + i))
    out.append(It("wc-enc-3-1-ev", data={"event": "wc-enc-3-1", "trigger": "pir",
                                          "detection": det, "images": 2, "time": T0 + 3},
                  created=T0 + 3))
    for k in range(3):
        out.append(It(f"wc-enc-3-events-{k}", kind="health", created=T0 + 900 * k,
                      data={"sys": {"time": T0 + 900 * k, "up_s": 1800 + 900 * k, "boot": 3,
                                    "reset": "pwron", "fw": "0.1.0"}, "deploy": DEP}))
    return out


def s3dest(s3, prefix, sealer):
    return S3Dest(HTTP(timeout_s=5), s3.endpoint, "traps", s3.region, s3.access, s3.secret,
                  device="wc-enc", now=time.time, sealer=sealer,
                  key_template=prefix + "/{device}/{date}/{name}.{ext}")


@pytest.fixture
def s3env(live_s3, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", live_s3.access)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", live_s3.secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", live_s3.region)
    return live_s3


@pytest.mark.parametrize("sealed", [False, True])
def test_export_straight_from_an_s3_bucket(s3env, tmp_path, capsys, sealed):
    root = str(tmp_path / "board")
    prefix = "run-%d-%d" % (sealed, time.time_ns() % 10**9)
    d = s3dest(s3env, prefix, Sealer(KEY_HEX) if sealed else None)
    for it in items(root):
        run(d.send(it, storage(root)))
    keyfile = tmp_path / "wc-enc.key"
    keyfile.write_text(KEY_HEX + "\n")
    pkg = tmp_path / "pkg"
    argv = ["camtrapdp", "--from", f"s3://traps/{prefix}", "--endpoint-url", s3env.endpoint,
            "--out", str(pkg), *META] + (["--key", f"wc-enc={keyfile}"] if sealed else [])
    assert export.main(argv) == 0, capsys.readouterr().err
    check_package(pkg)
    media = rows(pkg, "media")
    assert len(media) == 2
    for m in media:  # decrypted: the package holds the camera's own bytes
        plain = Path(root + "/sd/DCIM/20260601/" + m["fileName"]).read_bytes()
        assert (pkg / m["filePath"]).read_bytes() == plain
    dep = rows(pkg, "deployments")[0]
    assert dep["deploymentID"] == "wc-enc-oak" and dep["deploymentStart"].endswith("+02:00")
    ev = [o for o in rows(pkg, "observations") if o["observationLevel"] == "event"]
    assert len(ev) == 1 and ev[0]["eventID"] == "wc-enc-3-1"  # sealed: matched by time
    assert ev[0]["classificationProbability"] == "0.8"
    if sealed:  # without the key, or with another one: a clear refusal
        assert export.main(argv[:-2]) == 1
        assert "is encrypted (aes-256-ctr): give the device key" in capsys.readouterr().err
        wrong = ["--key", "wc-enc=" + "00" * 32]
        assert export.main(argv[:-2] + wrong) == 1
        assert "not this key" in capsys.readouterr().err


def test_export_straight_from_an_azure_container(live_azurite, tmp_path, capsys):
    root = str(tmp_path / "board")
    prefix = "az-%d" % (time.time_ns() % 10**9)
    d = AzureDest(HTTP(timeout_s=5), live_azurite.endpoint, AZ_CONTAINER,
                  account_key=live_azurite.key, device="wc-enc", now=time.time,
                  sealer=Sealer(KEY_HEX), key_template=prefix + "/{device}/{date}/{name}.{ext}")
    for it in items(root):
        run(d.send(it, storage(root)))
    keys = tmp_path / "fleet" / "wc-enc"
    keys.mkdir(parents=True)
    (keys / "secrets.json").write_text(json.dumps({"crypt": {"key": KEY_HEX}}))
    pkg = tmp_path / "pkg"
    assert export.main(["camtrapdp", "--from", f"azure://{AZ_CONTAINER}/{prefix}",
                        "--azure-connection-string", live_azurite.connection_string(),
                        "--keys", str(tmp_path / "fleet"), "--out", str(pkg), *META]) == 0, \
        capsys.readouterr().err
    check_package(pkg)
    assert len(rows(pkg, "media")) == 2
    assert "effortDays" in rows(pkg, "deployments")[0]["deploymentTags"]


def test_an_empty_or_unreachable_bucket_is_an_error(s3env, tmp_path, capsys):
    base = ["camtrapdp", "--out", str(tmp_path / "p"), *META]
    assert export.main(base + ["--from", "s3://traps/nothing-here",
                               "--endpoint-url", s3env.endpoint]) == 1
    assert "no WildCAM images or heartbeats in s3://traps/nothing-here" in capsys.readouterr().err
    assert export.main(base + ["--from", "s3://no-such-bucket", "--endpoint-url",
                               s3env.endpoint]) == 1
    assert "NoSuchBucket" in capsys.readouterr().err
    from .conftest import free_port

    assert export.main(base + ["--from", "s3://traps", "--endpoint-url",
                               "http://127.0.0.1:%d" % free_port()]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: s3://traps:") and "Could not connect" in err
