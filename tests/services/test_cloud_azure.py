"""Azure Blob destination against a real Azurite (npm azurite; SharedKey and SAS verified).

Blobs and metadata are read back with azure-storage-blob.
"""
import time
from datetime import datetime, timedelta, timezone

import pytest

from wildcam.dest.azure import AzureDest, service_sas
from wildcam.core.errors import Refused
from wildcam.net.http import HTTP

from .cloudsrv import AZ_CONTAINER
from .cloudutil import It, media_item, read_real, run, storage

pytestmark = pytest.mark.services


def shared(az, **kw):
    args = dict(account=az.account, account_key=az.key, device="wc-t1", now=time.time)
    args.update(kw)
    return AzureDest(kw.pop("http", None) or HTTP(timeout_s=5), az.endpoint, AZ_CONTAINER,
                     **args)


def sdk_sas(az, permission="cw", expiry_s=300):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        az.account, AZ_CONTAINER, account_key=az.key,
        permission=ContainerSasPermissions(read="r" in permission, write="w" in permission,
                                           create="c" in permission),
        expiry=datetime.now(timezone.utc) + timedelta(seconds=expiry_s))


def blob(az, name):
    return az.service().get_blob_client(AZ_CONTAINER, name)


def test_shared_key_put_blob_bytes_and_metadata(live_azurite, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "A-1", 123_456, data={"score": 0.5, "2nd": "x"})
    d = shared(live_azurite)
    assert run(d.send(item, storage(root))) == 123_456
    b = blob(live_azurite, d.object_key(item))
    assert b.download_blob().readall() == read_real(root, item.media)
    props = b.get_blob_properties()
    assert props.metadata["sha256"] == item.sha256 and props.metadata["score"] == "0.5"
    assert props.metadata["m_2nd"] == "x"
    assert props.content_settings.content_type == "image/jpeg"
    assert props.blob_type == "BlockBlob"
    assert run(d.has(item)) is True


def test_shared_key_production_host_form(live_azurite, tmp_path):
    """Host: ACCOUNT.blob.localhost:PORT: the canonical resource has the account once, as
    against *.blob.core.windows.net."""
    root = str(tmp_path)
    item = media_item(root, "A-2", 5000)
    http = HTTP(timeout_s=5, resolve={"%s.blob.localhost" % live_azurite.account: "127.0.0.1"})
    d = AzureDest(http, "http://%s.blob.localhost:%d" % (live_azurite.account,
                                                         live_azurite.port),
                  AZ_CONTAINER, account_key=live_azurite.key, device="wc-t1", now=time.time)
    assert d.account == live_azurite.account
    run(d.send(item, storage(root)))
    assert blob(live_azurite, d.object_key(item)).download_blob().readall() == \
        read_real(root, item.media)


def test_large_file_put_block_and_block_list(live_azurite, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "A-3", 2_500_000, seed=3)
    d = shared(live_azurite, block_size=1_048_576, single_put_max=1_048_576)
    assert run(d.send(item, storage(root))) == 2_500_000
    b = blob(live_azurite, d.object_key(item))
    assert b.download_blob().readall() == read_real(root, item.media)
    props = b.get_blob_properties()
    assert props.metadata["sha256"] == item.sha256
    assert props.content_settings.content_type == "image/jpeg"
    blocks = b.get_block_list("committed")[0]
    assert [x.size for x in blocks] == [1_048_576, 1_048_576, 402_848]


def test_event_json_blob(live_azurite, tmp_path):
    d = shared(live_azurite, key_template="{device}/events/{key}.{ext}")
    run(d.send(It("ev-1", kind="alert", data={"n": 1}), storage(str(tmp_path))))
    assert b'"ev-1"' in blob(live_azurite, "wc-t1/events/ev-1.json").download_blob().readall()


def test_wrong_key_is_refused(live_azurite, tmp_path):
    import base64

    root = str(tmp_path)
    d = shared(live_azurite, account_key=base64.b64encode(b"x" * 64).decode())
    e = pytest.raises(Refused, run, d.send(media_item(root, "A-4", 1000), storage(root)))
    assert "403" in str(e.value) and "failed to authenticate" in str(e.value)


def test_sas_from_sdk_accepted(live_azurite, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "S-1", 80_000)
    d = AzureDest(HTTP(timeout_s=5), live_azurite.endpoint, AZ_CONTAINER,
                  sas=sdk_sas(live_azurite), device="wc-t1")
    run(d.send(item, storage(root)))
    assert blob(live_azurite, d.object_key(item)).download_blob().readall() == \
        read_real(root, item.media)


def test_sas_from_our_signer_accepted_and_blocks(live_azurite, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "S-2", 300_000)
    sas = service_sas(live_azurite.account, live_azurite.key, AZ_CONTAINER, permissions="cw",
                      expiry=time.time() + 600)
    d = AzureDest(HTTP(timeout_s=5), live_azurite.endpoint, AZ_CONTAINER, sas=sas,
                  device="wc-t1", block_size=131072, single_put_max=131072)
    run(d.send(item, storage(root)))
    assert blob(live_azurite, d.object_key(item)).download_blob().readall() == \
        read_real(root, item.media)


def test_tampered_sas_is_refused(live_azurite, tmp_path):
    root = str(tmp_path)
    sas = sdk_sas(live_azurite)
    i = sas.index("sig=") + 4
    bad = sas[:i] + ("A" if sas[i] != "A" else "B") + sas[i + 1:]
    d = AzureDest(HTTP(timeout_s=5), live_azurite.endpoint, AZ_CONTAINER, sas=bad)
    e = pytest.raises(Refused, run, d.send(media_item(root, "S-3", 1000), storage(root)))
    assert "403" in str(e.value)


def test_expired_sas_is_refused(live_azurite, tmp_path):
    root = str(tmp_path)
    sas = service_sas(live_azurite.account, live_azurite.key, AZ_CONTAINER, permissions="cw",
                      expiry=time.time() - 60)
    d = AzureDest(HTTP(timeout_s=5), live_azurite.endpoint, AZ_CONTAINER, sas=sas)
    e = pytest.raises(Refused, run, d.send(media_item(root, "S-4", 1000), storage(root)))
    assert "403" in str(e.value)


def test_read_only_sas_cannot_write(live_azurite, tmp_path):
    root = str(tmp_path)
    d = AzureDest(HTTP(timeout_s=5), live_azurite.endpoint, AZ_CONTAINER,
                  sas=sdk_sas(live_azurite, permission="r"))
    e = pytest.raises(Refused, run, d.send(media_item(root, "S-5", 1000), storage(root)))
    assert "403" in str(e.value)
