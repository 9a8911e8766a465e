"""S3 destination against a real S3 server (npm @20minutes/s3rver, SigV4 verified).

Objects and metadata are read back with boto3. A wrong secret, unknown key or tampered
signature is Refused (the item stays queued; the destination waits 10 minutes); an expired
presigned URL must dead-letter (Permanent), never retry forever; a wrong board clock gives
a clear RequestTimeTooSkewed message and the next attempt succeeds with the server's time.
"""
import time

import pytest

from wildcam.dest.s3 import PresignService, S3Dest, presigned_put_url
from wildcam.core.errors import Permanent, Refused, Retry
from wildcam.net.http import HTTP

from .cloudutil import It, media_item, read_real, run, storage

pytestmark = pytest.mark.services


def dest(s3, **kw):
    http = kw.pop("http", None) or HTTP(timeout_s=5)
    args = dict(region=s3.region, access_key=s3.access, secret_key=s3.secret, device="wc-t1",
                now=time.time)
    args.update(kw)
    return S3Dest(http, s3.endpoint, "traps", **args)


def test_put_media_signed_header_object_and_metadata_read_back(live_s3, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "B1-0001", 150_000, data={"score": 0.91, "trigger": "pir",
                                                      "Box-W": 40, "note": "ünïcode"})
    d = dest(live_s3)
    sent = run(d.send(item, storage(root)))
    assert sent == 150_000
    key = d.object_key(item)
    assert key.startswith("wc-t1/") and key.endswith("/B1-0001.jpg")
    obj = live_s3.boto3().get_object(Bucket="traps", Key=key)
    assert obj["Body"].read() == read_real(root, item.media)
    meta = obj["Metadata"]
    assert meta["sha256"] == item.sha256
    assert meta["key"] == "B1-0001" and meta["kind"] == "detection"
    assert meta["score"] == "0.91" and meta["trigger"] == "pir" and meta["box_w"] == "40"
    assert obj["ContentType"] == "image/jpeg"
    # the object is there with the same hash: has() lets the engine skip a re-upload
    assert run(d.has(item)) is True
    other = It("B1-0002", media=item.media, size=item.size, sha256="0" * 64)
    assert run(d.has(other)) is False


def test_event_without_media_becomes_json_object(live_s3, tmp_path):
    import json

    d = dest(live_s3, key_template="{device}/events/{key}.{ext}")
    item = It("ev-7", kind="alert", data={"event": "ev-7", "frames": 3})
    run(d.send(item, storage(str(tmp_path))))
    body = live_s3.boto3().get_object(Bucket="traps", Key="wc-t1/events/ev-7.json")["Body"]
    doc = json.loads(body.read())
    assert doc["key"] == "ev-7" and doc["data"] == {"event": "ev-7", "frames": 3}


def test_unsigned_payload_and_keepalive_reuse(live_s3, tmp_path):
    root = str(tmp_path)
    http = HTTP(timeout_s=5)
    d = dest(live_s3, unsigned_payload=True, http=http)
    for i in range(3):
        run(d.send(media_item(root, "K-%d" % i, 5000 + i, seed=i), storage(root)))
    assert http.counters["connects"] == 1 and http.counters["reused"] == 2


def test_wrong_secret_is_refused_with_server_words(live_s3, tmp_path):
    """Refused (a Retry: the item stays queued, the destination waits), never dead-lettered."""
    root = str(tmp_path)
    d = dest(live_s3, secret_key="not-the-secret")
    e = pytest.raises(Refused, run, d.send(media_item(root, "W-1", 1000), storage(root)))
    assert "SignatureDoesNotMatch" in str(e.value) and "403" in str(e.value)
    assert e.value.after_ms == 600000


def test_unknown_access_key_is_refused(live_s3, tmp_path):
    root = str(tmp_path)
    d = dest(live_s3, access_key="AKIANOBODY")
    e = pytest.raises(Refused, run, d.send(media_item(root, "W-2", 1000), storage(root)))
    assert "InvalidAccessKeyId" in str(e.value)


def test_tampered_signature_is_refused(live_s3, tmp_path):
    root = str(tmp_path)
    d = dest(live_s3)
    real = d._signed

    def tampered(*a):
        url, hdrs = real(*a)
        auth = hdrs["authorization"]
        hdrs["authorization"] = auth[:-1] + ("0" if auth[-1] != "0" else "1")
        return url, hdrs

    d._signed = tampered
    e = pytest.raises(Refused, run, d.send(media_item(root, "T-1", 2000), storage(root)))
    assert "SignatureDoesNotMatch" in str(e.value)


def test_clock_skew_clear_error_then_server_time(live_s3, tmp_path):
    root = str(tmp_path)
    d = dest(live_s3, now=lambda: time.time() - 3600)  # the board is an hour behind
    item = media_item(root, "S-1", 3000)
    e = pytest.raises(Retry, run, d.send(item, storage(root)))
    msg = str(e.value)
    assert "RequestTimeTooSkewed" in msg and "clock" in msg and "off by 3" in msg
    assert abs(d.last_skew_s - 3600) < 60
    assert run(d.send(item, storage(root))) == 3000  # signed with the corrected time
    assert live_s3.boto3().head_object(Bucket="traps", Key=d.object_key(item))


def test_presigned_url_put_no_secret_on_board(live_s3, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "P-1", 70_000)
    s3 = live_s3.boto3()

    def presigner(it, key):  # what a signing service does, with boto3 as the reference
        return s3.generate_presigned_url("put_object", Params={"Bucket": "traps", "Key": key},
                                         ExpiresIn=300)

    d = S3Dest(HTTP(timeout_s=5), live_s3.endpoint, "traps", presigner=presigner,
               device="wc-t1")
    assert run(d.send(item, storage(root))) == 70_000
    got = s3.get_object(Bucket="traps", Key=d.object_key(item))["Body"].read()
    assert got == read_real(root, item.media)


def test_presigned_url_made_by_our_signer(live_s3, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "P-2", 9000)

    def presigner(it, key):
        return presigned_put_url(live_s3.endpoint, "traps", key, live_s3.access,
                                 live_s3.secret, live_s3.region, time.time(), 60)

    d = S3Dest(HTTP(timeout_s=5), live_s3.endpoint, "traps", presigner=presigner,
               device="wc-t1")
    run(d.send(item, storage(root)))
    assert live_s3.boto3().head_object(Bucket="traps", Key=d.object_key(item))


def test_expired_presigned_url_is_permanent(live_s3, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "P-3", 4000)

    def presigner(it, key):  # signed two minutes ago, valid for one
        return presigned_put_url(live_s3.endpoint, "traps", key, live_s3.access,
                                 live_s3.secret, live_s3.region, time.time() - 120, 60)

    d = S3Dest(HTTP(timeout_s=5), live_s3.endpoint, "traps", presigner=presigner)
    e = pytest.raises(Permanent, run, d.send(item, storage(root)))
    assert "expired" in str(e.value)


def test_presign_service_over_http(live_s3, tmp_path):
    """The board asks a signing service (bearer token) for the URL, then PUTs to it."""
    import http.server
    import threading
    from urllib.parse import parse_qs, urlparse

    s3 = live_s3.boto3()
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            q = parse_qs(urlparse(self.path).query)
            seen.append((q, self.headers.get("Authorization")))
            if self.headers.get("Authorization") != "Bearer tok-1":
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            url = s3.generate_presigned_url("put_object", Params={
                "Bucket": "traps", "Key": q["key"][0]}, ExpiresIn=60).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(url)))
            self.end_headers()
            self.wfile.write(url)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        root = str(tmp_path)
        item = media_item(root, "P-4", 12_345)
        http = HTTP(timeout_s=5)
        svc = "http://127.0.0.1:%d/presign" % srv.server_address[1]
        d = S3Dest(http, live_s3.endpoint, "traps", presigner=PresignService(http, svc, "tok-1"),
                   device="wc-t1")
        run(d.send(item, storage(root)))
        assert seen[0][0]["sha256"] == [item.sha256]
        assert s3.head_object(Bucket="traps", Key=d.object_key(item))["ContentLength"] == 12_345
        bad = S3Dest(http, live_s3.endpoint, "traps",
                     presigner=PresignService(http, svc, "wrong"))
        pytest.raises(Refused, run, bad.send(item, storage(root)))
    finally:
        srv.shutdown()


def test_server_down_is_retry(tmp_path):
    from .cloudsrv import free_port

    root = str(tmp_path)
    d = S3Dest(HTTP(timeout_s=2), "http://127.0.0.1:%d" % free_port(), "traps",
               access_key="a", secret_key="b", now=time.time)
    e = pytest.raises(Retry, run, d.send(media_item(root, "D-1", 100), storage(root)))
    assert "connect" in str(e.value)


def test_changed_media_is_permanent(live_s3, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "C-1", 5000)
    item.sha256 = "ab" * 32  # the outbox recorded another hash: the file changed
    d = dest(live_s3, unsigned_payload=True)
    e = pytest.raises(Permanent, run, d.send(item, storage(root)))
    assert "changed" in str(e.value)
