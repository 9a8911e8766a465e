"""Plain HTTP destination against a real (threaded stdlib) HTTP server: bearer token,
templated URL, streamed body, metadata headers, outcome mapping."""
import hashlib
import http.server
import json
import threading

import pytest

from wildcam.dest.http import HttpDest
from wildcam.core.errors import Permanent, Refused, Retry
from wildcam.net.http import HTTP

from .cloudutil import It, media_item, read_real, run, storage

pytestmark = pytest.mark.services


@pytest.fixture
def web():
    got = []
    plan = []  # statuses to answer before 201s

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            got.append((self.command, self.path, dict(self.headers), body))
            status = plan.pop(0) if plan else (201 if self.headers.get("Authorization") ==
                                               "Bearer tok" else 401)
            text = b"token rejected" if status == 401 else b"busy" if status == 503 else b""
            self.send_response(status)
            if status == 503:
                self.send_header("Retry-After", "9")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        do_PUT = do_POST = _any

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.got = got
    srv.plan = plan
    srv.url = "http://127.0.0.1:%d" % srv.server_address[1]
    yield srv
    srv.shutdown()


def test_put_media_with_bearer_and_templated_url(web, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "H-1", 200_000, data={"score": 0.7})
    d = HttpDest(HTTP(timeout_s=5), web.url + "/up/{device}/{kind}/{name}.{ext}", token="tok",
                 device="wc 1")
    assert run(d.send(item, storage(root))) == 200_000
    method, path, headers, body = web.got[-1]
    assert method == "PUT" and path == "/up/wc_1/detection/H-1.jpg"
    assert body == read_real(root, item.media)
    assert headers["Idempotency-Key"] == "H-1" and headers["X-Meta-score"] == "0.7"
    assert headers["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
    assert headers["Content-Type"] == "image/jpeg"


def test_post_event_json(web, tmp_path):
    d = HttpDest(HTTP(timeout_s=5), web.url + "/events", token="tok", method="POST",
                 meta_prefix=None)
    run(d.send(It("ev-9", kind="alert", data={"n": 2}), storage(str(tmp_path))))
    method, path, headers, body = web.got[-1]
    assert method == "POST" and json.loads(body)["key"] == "ev-9"
    assert not any(k.startswith("X-Meta-") for k in headers)


def test_wrong_token_refused_and_503_retry_after(web, tmp_path):
    root = str(tmp_path)
    item = media_item(root, "H-2", 1000)
    bad = HttpDest(HTTP(timeout_s=5), web.url + "/up/{name}", token="nope")
    e = pytest.raises(Refused, run, bad.send(item, storage(root)))
    assert "401" in str(e.value) and "token rejected" in str(e.value)
    web.plan.append(503)
    good = HttpDest(HTTP(timeout_s=5), web.url + "/up/{name}", token="tok")
    e = pytest.raises(Retry, run, good.send(item, storage(root)))
    assert e.value.after_ms == 9000 and "busy" in str(e.value)
    assert run(good.send(item, storage(root))) == 1000


def test_sealed_put_body_is_iv_and_ciphertext(web, tmp_path):
    from tools.decrypt import decrypt_bytes
    from wildcam.dest.crypt import Sealer

    root = str(tmp_path)
    item = media_item(root, "H-E", 50_000, data={"score": 0.7})
    key = "11" * 32
    d = HttpDest(HTTP(timeout_s=5), web.url + "/up/{name}.{ext}", token="tok",
                 sealer=Sealer(key))
    assert run(d.send(item, storage(root))) == 50_016
    method, path, headers, body = web.got[-1]
    assert decrypt_bytes(key, body) == read_real(root, item.media)
    assert headers["Content-Type"] == "application/octet-stream"
    assert "X-Content-SHA256" not in headers and "X-Meta-score" not in headers
    assert headers["X-Meta-sha256"] == item.sha256 and headers["X-Meta-enc"] == "aes-256-ctr"
