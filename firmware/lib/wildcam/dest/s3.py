"""S3 / S3-compatible destination (AWS, Wasabi, Backblaze B2, MinIO, R2): SigV4 or presigned.

    s3 = S3Dest(http, "https://s3.eu-west-1.amazonaws.com", "my-traps", "eu-west-1",
                access_key=..., secret_key=..., device="wc-a1b2c3")
    s3p = S3Dest(http, endpoint, bucket, presigner=PresignService(http, url, token))

- One item = one PUT Object. Media: the file streamed in fixed chunks (MediaReader, one
  preallocated buffer) with Content-Length; x-amz-content-sha256 is the SHA-256 the outbox
  recorded at capture time, so the payload is signed without a second pass over the file
  (`unsigned_payload=True` sends UNSIGNED-PAYLOAD instead; without a recorded hash the file
  is hashed first). Items without media become `<key>.json` objects.
- Object metadata: x-amz-meta-* from the item (key, kind, created, sha256) and its sidecar
  (`item.data` top-level scalars), sorted, within S3's 2 KB.
- Object names from `key_template` (wildcam.dest.objstore.object_key):
  "{device}/{date}/{name}.{ext}".
- Path style (`https://endpoint/bucket/key`, MinIO and most S3-compatibles) or virtual-host
  style (`https://bucket.endpoint/key`, AWS).
- `session_token`: temporary credentials (x-amz-security-token).
- Presigned mode (`presigner`): no secret on the board. `presigner(item, object_key)`
  returns the URL to PUT to (or an awaitable of it): e.g. `PresignService`, which asks the
  user's small signing service. The URL must sign only `host`; no metadata headers are sent.
- `sealer` (wildcam.dest.crypt.Sealer): client-side AES-256-CTR; the body is IV + ciphertext
  (size + 16), x-amz-content-sha256 the ciphertext's (one extra read pass, none with
  `unsigned_payload`), the plaintext sha256 stays in the metadata (see wildcam.dest.crypt).
- `has(item)`: HEAD the object (signed mode); True when it exists with the same sha256
  metadata: a repeat after a power cut is skipped.
- Outcomes (wildcam.net.http.check): 2xx done; 408/429/5xx and network trouble -> Retry
  (Retry-After honoured); refused credentials (SignatureDoesNotMatch, InvalidAccessKeyId)
  -> Refused: the item stays queued, the destination waits 10 min; 400/403/404... ->
  Permanent with S3's Code and Message (expired presigned URL: "Request has expired").
  RequestTimeTooSkewed is different: the board clock is wrong, not the item. The
  destination adopts the server's time (ServerTime in the error, else its Date header) and
  raises Retry saying by how much the clock was off; the next attempt signs with the
  corrected time.
"""

from wildcam.dest import objstore as cloud
from wildcam.core.errors import Permanent, Retry
from wildcam.net.httpmsg import check, xml_text
from wildcam.net.url import quote, urlsplit
from wildcam.dest.media import CHUNK, MediaReader, sha256_file
from wildcam.dest import sigv4


class S3Dest:
    def __init__(self, http, endpoint, bucket, region="us-east-1", access_key=None,
                 secret_key=None, session_token=None, path_style=True, device="cam",
                 key_template="{device}/{date}/{name}.{ext}", presigner=None,
                 unsigned_payload=False, now=None, name="s3", chunk=CHUNK, meta=True,
                 service="s3", flavor=None, sealer=None):
        self.http = http
        self.scheme, self.host, self.port, base = urlsplit(endpoint)
        self.base = base.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token
        self.path_style = path_style
        self.device = device
        self.key_template = cloud.check_template(key_template)
        self.presigner = presigner
        if presigner is None and not (access_key and secret_key):
            raise ValueError("%s: needs access_key and secret_key, or a presigner" % name)
        self.unsigned_payload = unsigned_payload
        self.clock = cloud.Clock(now)
        self.name = name
        self.meta = meta
        self.service = service
        self.flavor = flavor or sigv4.AWS
        self._buf = bytearray(chunk)
        self.last_skew_s = 0
        self.sealer = sealer  # wildcam.dest.crypt.Sealer: client-side AES-256-CTR (optional)

    # --- addressing -------------------------------------------------------------------------
    def object_key(self, item):
        return cloud.object_key(self.key_template, item, self.device)

    def _where(self, key):
        """(host header value, encoded path) of an object."""
        host = self.host
        if not self.path_style:
            host = "%s.%s" % (self.bucket, host)
        default = 443 if self.scheme == "https" else 80
        if self.port != default:
            host = "%s:%d" % (host, self.port)
        path = self.base + "/" + quote(key, "/")
        if self.path_style:
            path = self.base + "/" + quote(self.bucket) + "/" + quote(key, "/")
        return host, path

    def url_of(self, key):
        host, path = self._where(key)
        return "%s://%s%s" % (self.scheme, host, path)

    # --- signing ------------------------------------------------------------------------------
    def _signed(self, method, key, headers, payload_hash):
        host, path = self._where(key)
        hdrs = sigv4.sign_headers(method, host, path, [], headers, payload_hash,
                                  self.access_key, self.secret_key, self.region, self.service,
                                  self.clock.time(), self.session_token, self.flavor)
        return "%s://%s%s" % (self.scheme, host, path), hdrs

    def _check(self, resp, what):
        code = xml_text(resp.body, "Code")
        if resp.status == 403 and code == "RequestTimeTooSkewed":
            server = xml_text(resp.body, "ServerTime")
            t = sigv4.parse_stamp(server) if server else None
            if t is None:
                t = cloud.parse_http_date(resp.header("date", ""))
            mine = self.clock.time()
            msg = "%s: RequestTimeTooSkewed: the board clock is off (board %s, server %s)" % (
                what, cloud.http_date(mine), server or resp.header("date"))
            if t is not None:
                self.last_skew_s = self.clock.learn(t)
                msg += "; off by %d s, signing with the server's time from now on (check NTP)" % (
                    t - mine)
            raise Retry(msg, 1000)
        return check(resp, what)

    # --- the destination interface ----------------------------------------------------------
    async def has(self, item):
        if self.presigner is not None or not item.media:
            return False
        key = self.object_key(item)
        url, hdrs = self._signed("HEAD", key, {}, sigv4.EMPTY_SHA256)
        r = await self.http.request("HEAD", url, hdrs)
        if r.status != 200:
            return False
        return not item.sha256 or r.header(self.flavor.header_prefix + "meta-sha256") == \
            item.sha256

    async def send(self, item, storage):
        key = self.object_key(item)
        what = "%s PUT %s" % (self.name, key)
        hp = self.flavor.header_prefix
        headers = {}
        if item.media:
            ext = key[key.rfind(".") + 1:] if "." in key[key.rfind("/") + 1:] else "bin"
            headers["content-type"] = cloud.content_type(ext)
            reader = [None]

            def body():  # pyright: ignore[reportRedeclaration]  # the plain chunks, or the sealer's wrapper of them, under one name
                reader[0] = MediaReader(storage, item.media, item.size, item.sha256,  # pyright: ignore[reportCallIssue, reportArgumentType]  # a one-item list is the closure's cell; pyright types it list[None]
                                        buf=self._buf)
                return reader[0].chunks()

            length = item.size
            if length is None or length == 0:
                length, _ = sha256_file(storage, item.media, len(self._buf))
            if self.sealer is not None:  # IV + ciphertext: its hash needs a first pass
                sealed = self.sealer.wrap(body)
                body = sealed.chunks
                length += 16
                headers["content-type"] = "application/octet-stream"
                payload_hash = sigv4.UNSIGNED if self.unsigned_payload else sealed.sha256()
            else:
                payload_hash = sigv4.UNSIGNED if self.unsigned_payload else item.sha256
            if not payload_hash:
                _, payload_hash = sha256_file(storage, item.media, len(self._buf))
        else:
            data = cloud.item_json(item, self.device)
            headers["content-type"] = "application/json"
            if self.sealer is not None:
                data = self.sealer.seal(data)
                headers["content-type"] = "application/octet-stream"

            def body():
                return (data,)

            reader = None
            length = len(data)
            payload_hash = sigv4.UNSIGNED if self.unsigned_payload else sigv4.sha256_hex(data)
        if self.presigner is not None:
            url = self.presigner(item, key)
            if hasattr(url, "send"):  # a coroutine
                url = await url
            r = await self.http.request("PUT", url, headers, body, length)
        else:
            if self.meta:
                pairs = cloud.metadata(item)
                if self.sealer is not None:
                    pairs = self.sealer.meta(pairs)
                for k, v in pairs:
                    headers[hp + "meta-" + k] = v
            url, hdrs = self._signed("PUT", key, headers, payload_hash)
            r = await self.http.request("PUT", url, hdrs, body, length)
        if reader is not None and reader[0] is not None and r.status < 300:
            reader[0].verify()  # Permanent when the file changed under us
        self._check(r, what)
        return length


class PresignService:
    """Asks the user's signing service for a presigned PUT URL:
    GET <url>?key=<object key>&sha256=<hex> with `Authorization: Bearer <token>`; the
    answer's body is the URL (text). The board then holds no cloud secret at all."""

    def __init__(self, http, url, token=None):
        self.http = http
        self.url = url
        self.token = token

    async def __call__(self, item, key):
        sep = "&" if "?" in self.url else "?"
        url = "%s%skey=%s" % (self.url, sep, quote(key))
        if item.sha256:
            url += "&sha256=" + item.sha256
        hdrs = {"Authorization": "Bearer " + self.token} if self.token else {}
        r = check(await self.http.request("GET", url, hdrs), "presign %s" % key)
        text = r.text().strip()
        if r.truncated or not text.startswith("http"):
            raise Permanent("presign %s: not a URL: %s" % (key, text[:80]))
        return text


def presigned_put_url(endpoint, bucket, key, access_key, secret_key, region, t, expires=900,
                      path_style=True, session_token=None):
    """A presigned PUT URL made where the secret lives (e.g. a fleet tool or a signing
    service; also on a board that has the secret)."""
    scheme, host, port, base = urlsplit(endpoint)
    default = 443 if scheme == "https" else 80
    if not path_style:
        host = "%s.%s" % (bucket, host)
    hostport = host if port == default else "%s:%d" % (host, port)
    path = base.rstrip("/") + ("/" + quote(bucket) if path_style else "") + "/" + quote(key, "/")
    q = sigv4.presign("PUT", hostport, path, access_key, secret_key, region, "s3", t, expires,
                      session_token=session_token)
    return "%s://%s%s?%s" % (scheme, hostport, path, q)
