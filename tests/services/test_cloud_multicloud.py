"""Multi-cloud through the sync engine over a real outbox: S3 (s3rver) and Azure (azurite).

- failover: S3 is stopped mid-run; the remaining images go to Azure; every image is in
  exactly one of the two, nothing dead-lettered, the queue empty.
- replicate: S3 is stopped mid-run and started again; afterwards both hold every image.
"""
import asyncio
import time

import pytest

from wildcam.dest.azure import AzureDest
from wildcam.dest.s3 import S3Dest
from wildcam.net.http import HTTP
from wildcam.queue.outbox import Outbox
from wildcam.core.retry import Breaker
from wildcam.queue.sync import Route, SyncEngine

from .cloudsrv import AZ_CONTAINER
from .cloudutil import make_media, storage

pytestmark = pytest.mark.services


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(m % a if a else m)

    warning = error = debug = info


def _setup(tmp_path, s3, az, mode, n, tag):
    root = str(tmp_path)
    st = storage(root)
    box = Outbox(st, root="/q", now=lambda: int(time.time())).open()
    keys = []
    for i in range(n):
        key = "%s-%03d" % (tag, i)
        path, digest = make_media(root, key + ".jpg", 20_000 + i * 1000, seed=i)
        box.put("detection", route="media", media=path, size=20_000 + i * 1000, sha256=digest,
                key=key)
        keys.append(key)
    tmpl = "{device}/" + tag + "/{name}.{ext}"
    d_s3 = S3Dest(HTTP(timeout_s=2), s3.endpoint, "traps", s3.region, s3.access, s3.secret,
                  device="mc", key_template=tmpl, now=time.time)
    d_az = AzureDest(HTTP(timeout_s=2), az.endpoint, AZ_CONTAINER, account_key=az.key,
                     device="mc", key_template=tmpl, now=time.time)
    wrap = [SyncEngine.wrap(d, breaker=Breaker(threshold=1, base_ms=50, cap_ms=200))
            for d in (d_s3, d_az)]
    eng = SyncEngine(box, [Route("media", ["s3", "azure"], mode)], wrap, Log())
    return box, eng, keys


def in_s3(s3, tag):
    c = s3.boto3()
    out = c.list_objects_v2(Bucket="traps", Prefix="mc/%s/" % tag).get("Contents", [])
    return {o["Key"].rsplit("/", 1)[1][:-4] for o in out}


def in_azure(az, tag):
    c = az.service().get_container_client(AZ_CONTAINER)
    return {b.name.rsplit("/", 1)[1][:-4] for b in c.list_blobs(name_starts_with="mc/%s/" % tag)}


def test_failover_when_s3_stops_mid_run(live_s3, live_azurite, tmp_path):
    box, eng, keys = _setup(tmp_path, live_s3, live_azurite, "failover", 20, "fo")

    async def main():
        for _ in range(6):
            assert await eng.step()
        live_s3.stop()  # the primary cloud goes away mid-run
        end = time.monotonic() + 30
        while box.pending() and time.monotonic() < end:
            await eng.step()

    try:
        asyncio.run(main())
    finally:
        live_s3.start()
    s3_keys, az_keys = in_s3(live_s3, "fo"), in_azure(live_azurite, "fo")
    assert box.pending() == 0
    assert len(s3_keys) == 6 and s3_keys | az_keys == set(keys)
    assert not (s3_keys & az_keys)
    st = eng.stats()
    assert st["dead"] == 0 and st["delivered"] == 20
    assert st["destinations"]["s3"]["failed"] >= 1
    assert st["destinations"]["azure"]["sent"] == 14


def test_replicate_both_hold_every_object_after_an_outage(live_s3, live_azurite, tmp_path):
    box, eng, keys = _setup(tmp_path, live_s3, live_azurite, "replicate", 12, "rep")

    async def main():
        for _ in range(4):
            assert await eng.step()
        live_s3.stop()
        for _ in range(5):  # S3 down: the head item waits for it (Azure already has it)
            await eng.step()
        live_s3.start()
        end = time.monotonic() + 30
        while box.pending() and time.monotonic() < end:
            await eng.step()

    asyncio.run(main())
    assert box.pending() == 0
    assert in_s3(live_s3, "rep") == set(keys)
    assert in_azure(live_azurite, "rep") == set(keys)
    st = eng.stats()
    assert st["dead"] == 0 and st["delivered"] == 12 and st["retried"] >= 1
