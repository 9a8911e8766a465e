"""The real App on a simulated board uploading its images to S3 (s3rver verifies SigV4)."""
import json
from pathlib import Path

import boto3
import pytest

from host_sim import Board, Simulation, WifiModel, scenes
from host_sim.demo import provision

from .cloudsrv import S3_ACCESS, S3_BUCKET, S3_SECRET

pytestmark = pytest.mark.services


def test_images_reach_s3_with_their_metadata(tmp_path, live_s3):
    sim = Simulation(io_grace=0.02)
    try:
        b = Board("cam-s3", tmp_path, sim=sim, scene=scenes.animal(seed=3, start=120),
                  wifi=WifiModel("sim-forest", "sim-password"))
        provision(b, burst=2)
        cp = Path(b.flash.root, "config.json")
        cfg = json.loads(cp.read_text())
        cfg["sync"] = {}
        cfg["cloud"] = {"dests": "s3"}
        cfg["s3"] = {"endpoint": live_s3.endpoint, "bucket": S3_BUCKET}
        cp.write_text(json.dumps(cfg))
        sp = Path(b.flash.root, "secrets.json")
        sec = json.loads(sp.read_text())
        sec["s3"] = {"access_key": S3_ACCESS, "secret_key": S3_SECRET}
        sp.write_text(json.dumps(sec))
        b.power_on()
        import time

        end = time.monotonic() + 20
        s3 = boto3.client("s3", endpoint_url=live_s3.endpoint, aws_access_key_id=S3_ACCESS,
                          aws_secret_access_key=S3_SECRET, region_name="us-east-1")
        keys = []
        while time.monotonic() < end:
            sim.run_for(30)
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=S3_BUCKET,
                                                         Prefix="cam-s3/").get("Contents", [])]
            if len([k for k in keys if k.endswith(".jpg")]) >= 2 and \
                    any(k.startswith("cam-s3/events/") for k in keys) and \
                    any(k.startswith("cam-s3/health/") for k in keys):
                break
        jpgs = sorted(k for k in keys if k.endswith(".jpg"))
        assert len(jpgs) == 2
        local = sorted(Path(b.sd.root, "DCIM").rglob("*.jpg"))
        body = s3.get_object(Bucket=S3_BUCKET, Key=jpgs[0])
        assert body["Body"].read() == local[0].read_bytes()
        assert body["Metadata"]  # x-amz-meta-* from the item and its sidecar
        # no MQTT configured: events and health are JSON objects in the same bucket
        ev = [k for k in keys if k.startswith("cam-s3/events/") and k.endswith(".json")]
        hb = [k for k in keys if k.startswith("cam-s3/health/") and k.endswith(".json")]
        assert ev and hb, keys
        doc = json.loads(s3.get_object(Bucket=S3_BUCKET, Key=hb[0])["Body"].read())
        assert doc["kind"] == "health" and doc["device"] == "cam-s3" and doc["data"], doc
    finally:
        sim.close()
