"""Client-side AES-256-CTR (wildcam.dest.crypt) through the real servers: upload sealed to s3rver
(SigV4 over the ciphertext's hash, and UNSIGNED-PAYLOAD) and Azurite (one Put Blob, and
Put Block + list with the counter positioned per block), download with boto3 / the Azure
SDK, decrypt with tools/decrypt.py, compare with the original bytes; the plaintext sha256
and the scheme in the metadata, has() still recognising the upload, nothing readable
without the key. The cipher on CPython is host_sim/mpy/cryptolib.py (`cryptography`)."""
import hashlib
import io
import json
import os
import time

import pytest

from tools import decrypt
from wildcam.dest.crypt import Sealer, key_id
from wildcam.dest.azure import AzureDest
from wildcam.dest.s3 import S3Dest
from wildcam.net.http import HTTP

from .cloudsrv import AZ_CONTAINER
from .cloudutil import It, media_item, read_real, run, storage

pytestmark = pytest.mark.services

KEY_HEX = "8f1c0a2b3d4e5f60718293a4b5c6d7e8f9011223344556677889900aabbccdde"


def s3dest(s3, **kw):
    return S3Dest(HTTP(timeout_s=5), s3.endpoint, "traps", s3.region, s3.access, s3.secret,
                  device="wc-enc", now=time.time, sealer=Sealer(KEY_HEX), **kw)


@pytest.mark.parametrize("unsigned", [False, True])
def test_s3_sealed_upload_downloads_and_decrypts(live_s3, tmp_path, unsigned):
    root = str(tmp_path)
    item = media_item(root, "E-%d" % unsigned, 300_001, data={"score": 0.9, "trigger": "pir"})
    d = s3dest(live_s3, unsigned_payload=unsigned)
    assert run(d.send(item, storage(root))) == 300_017
    obj = live_s3.boto3().get_object(Bucket="traps", Key=d.object_key(item))
    blob = obj["Body"].read()
    plain = read_real(root, item.media)
    assert len(blob) == len(plain) + 16 and plain[:64] not in blob
    assert obj["ContentType"] == "application/octet-stream"
    meta = obj["Metadata"]
    assert meta == {"created": str(item.created), "enc": "aes-256-ctr",
                    "enc_key": key_id(bytes.fromhex(KEY_HEX)), "key": item.key,
                    "kind": "detection", "sha256": item.sha256}  # no sidecar scalars
    out = decrypt.decrypt_bytes(KEY_HEX, blob)
    assert out == plain
    decrypt.verify(hashlib.sha256(out).hexdigest(), meta, KEY_HEX)
    assert run(d.has(item)) is True  # the plaintext hash in the metadata still matches
    # a second upload of the same file: a new IV, a different object body
    run(d.send(item, storage(root)))
    again = live_s3.boto3().get_object(Bucket="traps", Key=d.object_key(item))["Body"].read()
    assert again[:16] != blob[:16] and again[16:] != blob[16:]
    assert decrypt.decrypt_bytes(KEY_HEX, again) == plain


def test_s3_sealed_event_json_and_wrong_key_detected(live_s3, tmp_path):
    d = s3dest(live_s3, key_template="{device}/events/{key}.{ext}")
    run(d.send(It("ev-enc", kind="alert", data={"event": "ev-enc", "n": 3}),
               storage(str(tmp_path))))
    blob = live_s3.boto3().get_object(Bucket="traps", Key="wc-enc/events/ev-enc.json")
    meta = blob["Metadata"]
    blob = blob["Body"].read()
    assert b"ev-enc" not in blob
    assert json.loads(decrypt.decrypt_bytes(KEY_HEX, blob))["data"] == {"event": "ev-enc",
                                                                        "n": 3}
    other = os.urandom(32)
    with pytest.raises(ValueError, match="not this key"):
        decrypt.verify("", dict(meta, sha256=None), other)


def test_decrypt_cli_round_trip(live_s3, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "E-cli", 70_000)
    d = s3dest(live_s3)
    run(d.send(item, storage(root)))
    obj = live_s3.boto3().get_object(Bucket="traps", Key=d.object_key(item))
    src = tmp_path / "obj.bin"
    src.write_bytes(obj["Body"].read())
    (tmp_path / "meta.json").write_text(json.dumps(obj["Metadata"]))
    (tmp_path / "k.key").write_text(KEY_HEX + "\n")
    assert decrypt.main(["--key-file", str(tmp_path / "k.key"), "--check-meta",
                         str(tmp_path / "meta.json"), str(src), "-o",
                         str(tmp_path / "out.jpg")]) == 0
    assert (tmp_path / "out.jpg").read_bytes() == read_real(root, item.media)
    with pytest.raises(ValueError, match="sha256"):
        decrypt.main(["--key", KEY_HEX, "--sha256", "0" * 64, str(src), "-o",
                      str(tmp_path / "x")])


@pytest.mark.parametrize("blocks", [False, True])
def test_azure_sealed_put_blob_and_blocks(live_azurite, tmp_path, blocks):
    root = str(tmp_path)
    size = 150_007
    item = media_item(root, "AZ-E-%d" % blocks, size)
    kw = dict(block_size=40_000, single_put_max=50_000) if blocks else {}
    d = AzureDest(HTTP(timeout_s=5), live_azurite.endpoint, AZ_CONTAINER,
                  account_key=live_azurite.key, device="wc-enc", now=time.time,
                  sealer=Sealer(KEY_HEX), **kw)
    assert run(d.send(item, storage(root))) == size + 16
    bc = live_azurite.container().get_blob_client(d.object_key(item))
    props = bc.get_blob_properties()
    assert props.metadata["enc"] == "aes-256-ctr" and props.metadata["sha256"] == item.sha256
    if blocks:
        committed, _ = bc.get_block_list("committed")
        assert [b.size for b in committed] == [40_000] * 3 + [size + 16 - 120_000]
    buf = io.BytesIO()
    n, digest = decrypt.decrypt_stream(KEY_HEX, io.BytesIO(bc.download_blob().readall()), buf)
    assert buf.getvalue() == read_real(root, item.media) and digest == item.sha256
