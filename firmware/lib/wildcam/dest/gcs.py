"""Google Cloud Storage destination: the XML API with HMAC keys (GOOG4-HMAC-SHA256) or
V4 signed URLs.

    gcs = GCSDest(http, "my-traps", access_id="GOOG1E...", secret="...", device="wc-a1b2c3")
    url = signed_url("my-traps", "cam/0004.jpg", access_id, secret, t=now, expires=900)

GCS's V4 signature is AWS SigV4 with other names: algorithm GOOG4-HMAC-SHA256, key prefix
"GOOG4", scope terminator "goog4_request", service "storage", region "auto" (or the
bucket's location), x-goog-* headers and X-Goog-* query parameters. So this destination is
wildcam.dest.s3.S3Dest with the GOOG flavour of wildcam.dest.sigv4: the same streaming PUT,
metadata (x-goog-meta-*), has() by HEAD, key templates, presigner, clock-skew handling and
outcome mapping.

No local emulator checks these signatures (fake-gcs-server ignores them), so the signer is
tested against AWS's published SigV4 examples (the same code path) and against an
independent CPython implementation of Google's documented steps (tests/portable/
test_sigv4.py, tests/services/test_cloud_gcs.py); docs/CLOUD.md says so.
"""

from wildcam.dest import sigv4
from wildcam.dest.s3 import S3Dest
from wildcam.net.url import quote, urlsplit

ENDPOINT = "https://storage.googleapis.com"


class GCSDest(S3Dest):
    def __init__(self, http, bucket, access_id=None, secret=None, endpoint=ENDPOINT,
                 region="auto", name="gcs", **kw):
        super().__init__(http, endpoint, bucket, region, access_id, secret, name=name,
                         service="storage", flavor=sigv4.GOOG, **kw)


def signed_url(bucket, key, access_id, secret, t, expires=900, method="PUT",
               endpoint=ENDPOINT, region="auto", headers=None):
    """A V4 signed URL (GOOG4-HMAC-SHA256) for one object, path style."""
    scheme, host, port, base = urlsplit(endpoint)
    default = 443 if scheme == "https" else 80
    hostport = host if port == default else "%s:%d" % (host, port)
    path = base.rstrip("/") + "/" + quote(bucket) + "/" + quote(key, "/")
    q = sigv4.presign(method, hostport, path, access_id, secret, region, "storage", t,
                      expires, flavor=sigv4.GOOG, headers=headers)
    return "%s://%s%s?%s" % (scheme, hostport, path, q)
