"""The App with client-side encryption to S3 and health metrics to InfluxDB."""
import json
import time
from pathlib import Path

import boto3
import pytest

from host_sim import Board, Simulation, WifiModel, scenes
from host_sim.demo import provision
from tools.decrypt import decrypt_bytes, parse_key

from .cloudsrv import S3_ACCESS, S3_BUCKET, S3_SECRET
from .influxsrv import ADMIN, ADMIN_PW

pytestmark = pytest.mark.services
KEY_HEX = "11" * 32


def test_encrypted_images_and_influx_metrics(tmp_path, live_s3, live_influx):
    live_influx.query('CREATE DATABASE "traps_app"')
    sim = Simulation(io_grace=0.02)
    try:
        b = Board("cam-x", tmp_path, sim=sim, scene=scenes.animal(seed=3, start=120),
                  wifi=WifiModel("sim-forest", "sim-password"))
        provision(b, burst=2, extra={
            "cloud.dests": "s3", "s3.endpoint": live_s3.endpoint, "s3.bucket": S3_BUCKET,
            "influx.url": live_influx.url, "influx.db": "traps_app", "influx.user": ADMIN,
            "health.interval_s": 60},
            secrets={"s3.access_key": S3_ACCESS, "s3.secret_key": S3_SECRET,
                     "crypt.key": KEY_HEX, "influx.password": ADMIN_PW})
        b.power_on()
        s3 = boto3.client("s3", endpoint_url=live_s3.endpoint, aws_access_key_id=S3_ACCESS,
                          aws_secret_access_key=S3_SECRET, region_name="us-east-1")
        end = time.monotonic() + 30
        jpgs, points = [], []
        while time.monotonic() < end:
            sim.run_for(30)
            objs = s3.list_objects_v2(Bucket=S3_BUCKET, Prefix="cam-x/").get("Contents", [])
            jpgs = [o["Key"] for o in objs if o["Key"].endswith(".jpg")]
            res = live_influx.query('SELECT * FROM "wildcam_health"', db="traps_app")
            series = res["results"][0].get("series", [])
            points = series[0]["values"] if series else []
            if len(jpgs) >= 2 and len(points) >= 2:
                break
    finally:
        sim.close()
    assert len(jpgs) == 2 and len(points) >= 2
    local = sorted(Path(b.sd.root, "DCIM").rglob("*.jpg"))
    blob = s3.get_object(Bucket=S3_BUCKET, Key=sorted(jpgs)[0])["Body"].read()
    assert blob[16:18] != b"\xff\xd8"  # not a JPEG in the bucket: ciphertext
    assert decrypt_bytes(parse_key(KEY_HEX), blob) == local[0].read_bytes()
