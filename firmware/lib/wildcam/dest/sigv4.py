"""AWS Signature Version 4, and Google's GOOG4-HMAC-SHA256 (the same scheme, other names).

    hdrs = sign_headers("PUT", "bucket.s3.amazonaws.com", "/cam1/0004.jpg", [], {
        "content-type": "image/jpeg", "x-amz-meta-kind": "detection"}, payload_sha256_hex,
        ACCESS, SECRET, "eu-west-1", "s3", t=unix_seconds)
    # -> the same headers plus host, x-amz-date, x-amz-content-sha256, authorization
    url_query = presign("PUT", host, "/cam1/0004.jpg", ACCESS, SECRET, "eu-west-1", "s3",
                        t, 900)   # X-Amz-...&X-Amz-Signature=...

`path` is the request path already percent-encoded (`http.quote(key, "/")`): S3 and GCS sign
the path as sent, encoded once. Header names are lower-cased and SORTED explicitly (dict
order is not insertion order on MicroPython); values are trimmed with inner runs of spaces
collapsed. The payload hash is the hex SHA-256 of the body (known before sending: the
outbox records each image's SHA-256), or "UNSIGNED-PAYLOAD".

Pure functions over hashlib.sha256 and wildcam.core.hmac256: tests/portable/test_sigv4.py checks
them against AWS's published examples under CPython and MicroPython, and against botocore.
"""

import hashlib
from binascii import hexlify

from wildcam.core.clock import civil_from_days
from wildcam.core.hmac256 import hmac_sha256
from wildcam.net.url import quote

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED = "UNSIGNED-PAYLOAD"


class Flavor:
    def __init__(self, algorithm, key_prefix, terminator, header_prefix, query_prefix):
        self.algorithm = algorithm
        self.key_prefix = key_prefix
        self.terminator = terminator
        self.header_prefix = header_prefix  # "x-amz-" / "x-goog-"
        self.query_prefix = query_prefix  # "X-Amz-" / "X-Goog-"


AWS = Flavor("AWS4-HMAC-SHA256", "AWS4", "aws4_request", "x-amz-", "X-Amz-")
GOOG = Flavor("GOOG4-HMAC-SHA256", "GOOG4", "goog4_request", "x-goog-", "X-Goog-")


def stamp(t):
    """("YYYYMMDDTHHMMSSZ", "YYYYMMDD") for Unix seconds `t` (UTC)."""
    t = int(t)
    y, m, d = civil_from_days(t // 86400)
    s = t % 86400
    date = "%04d%02d%02d" % (y, m, d)
    return "%sT%02d%02d%02dZ" % (date, s // 3600, s // 60 % 60, s % 60), date


def parse_stamp(text):
    """Unix seconds of "YYYYMMDDTHHMMSSZ" or "YYYY-MM-DDTHH:MM:SSZ" (S3 ServerTime), or None."""
    from wildcam.core.clock import days_from_civil

    s = text.replace("-", "").replace(":", "").strip()
    try:
        y, m, d = int(s[0:4]), int(s[4:6]), int(s[6:8])
        hh, mm, ss = int(s[9:11]), int(s[11:13]), int(s[13:15])
    except (ValueError, IndexError):
        return None
    return days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss


def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode()
    return hexlify(hashlib.sha256(data).digest()).decode()


def _trim(v):
    return " ".join(str(v).split())


def canonical_query(pairs):
    """`pairs`: [(name, value)] unencoded. Encoded, sorted by name then value, '&'-joined."""
    enc = sorted((quote(k), quote(v)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


def canonical_request(method, path, query_pairs, headers, payload_hash):
    """(canonical request text, signed header names "a;b;c"). `headers`: {name: value};
    every header given is signed."""
    low = {}
    for k in headers:
        low[k.lower()] = _trim(headers[k])
    names = sorted(low)
    signed = ";".join(names)
    lines = [method, path or "/", canonical_query(query_pairs)]
    for n in names:
        lines.append("%s:%s" % (n, low[n]))
    lines.append("")
    lines.append(signed)
    lines.append(payload_hash)
    return "\n".join(lines), signed


def scope_of(date, region, service, flavor=AWS):
    return "%s/%s/%s/%s" % (date, region, service, flavor.terminator)


def string_to_sign(amzdate, scope, creq, flavor=AWS):
    return "%s\n%s\n%s\n%s" % (flavor.algorithm, amzdate, scope, sha256_hex(creq))


def signing_key(secret, date, region, service, flavor=AWS):
    k = hmac_sha256((flavor.key_prefix + secret).encode(), date)
    k = hmac_sha256(k, region)
    k = hmac_sha256(k, service)
    return hmac_sha256(k, flavor.terminator)


def signature(secret, amzdate, region, service, creq, flavor=AWS):
    date = amzdate[:8]
    sts = string_to_sign(amzdate, scope_of(date, region, service, flavor), creq, flavor)
    return hexlify(hmac_sha256(signing_key(secret, date, region, service, flavor),
                               sts)).decode()


def sign_headers(method, host, path, query_pairs, headers, payload_hash, access_key,
                 secret_key, region, service="s3", t=0, session_token=None, flavor=AWS):
    """A new dict: `headers` + host, <prefix>date, <prefix>content-sha256, the session
    token when given, and authorization. All of them except authorization are signed."""
    amzdate, date = stamp(t)
    hp = flavor.header_prefix
    out = {}
    for k in headers:
        out[k.lower()] = headers[k]
    out["host"] = host
    out[hp + "date"] = amzdate
    out[hp + "content-sha256"] = payload_hash
    if session_token:
        out[hp + "security-token"] = session_token
    creq, signed = canonical_request(method, path, query_pairs, out, payload_hash)
    sig = signature(secret_key, amzdate, region, service, creq, flavor)
    out["authorization"] = "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        flavor.algorithm, access_key, scope_of(date, region, service, flavor), signed, sig)
    return out


def presign(method, host, path, access_key, secret_key, region, service="s3", t=0,
            expires=900, query_pairs=(), session_token=None, flavor=AWS, headers=None):
    """The query string of a presigned (signed) URL: `https://host` + path + "?" + this.
    Signs `host` (and `headers` when given: the uploader must send them as they are)."""
    amzdate, date = stamp(t)
    qp = flavor.query_prefix
    hdrs = {"host": host}
    if headers:
        for k in headers:
            hdrs[k.lower()] = headers[k]
    names = sorted(hdrs)
    pairs = list(query_pairs)
    pairs.append((qp + "Algorithm", flavor.algorithm))
    pairs.append((qp + "Credential", "%s/%s" % (access_key,
                                                scope_of(date, region, service, flavor))))
    pairs.append((qp + "Date", amzdate))
    pairs.append((qp + "Expires", str(int(expires))))
    if session_token:
        pairs.append((qp + "Security-Token", session_token))
    pairs.append((qp + "SignedHeaders", ";".join(names)))
    creq, _ = canonical_request(method, path, pairs, hdrs, UNSIGNED)
    sig = signature(secret_key, amzdate, region, service, creq, flavor)
    return canonical_query(pairs) + "&%sSignature=%s" % (qp, sig)
