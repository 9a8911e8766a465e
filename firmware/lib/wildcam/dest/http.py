"""Plain HTTP(S) destination: PUT or POST each item to the user's own endpoint.

    web = HttpDest(http, "https://traps.example.org/upload/{device}/{date}/{name}.{ext}",
                   token="...", method="PUT", device="wc-a1b2c3")

- The URL is a template (fields of wildcam.dest.objstore.object_key: device, key, kind, name, ext,
  date, created), each field URL-encoded.
- Media: the file streamed in fixed chunks with Content-Length (and, with `expect_over`, an
  `Expect: 100-continue` so a refusal arrives before the body). Items without media: their
  JSON (sorted keys) with Content-Type application/json.
- Headers: `Authorization: Bearer <token>` (a secret), `Idempotency-Key: <item key>` (the
  receiver drops repeats), `X-Content-SHA256`, and `<meta_prefix><name>` for the item's
  metadata (wildcam.dest.objstore.metadata; `meta_prefix=None` sends none), plus fixed `headers`.
- `sealer` (wildcam.dest.crypt.Sealer): client-side AES-256-CTR; the body is IV + ciphertext
  (size + 16), no X-Content-SHA256 (it would need a pass over the file first); the
  plaintext sha256 goes as `<meta_prefix>sha256` (see wildcam.dest.crypt).
- Outcomes: 2xx done; 408/429/5xx and network trouble -> Retry (Retry-After honoured);
  401 (wrong token) -> Refused (the item stays queued); other 4xx (413 too large ...) ->
  Permanent with the server's words.
"""

from wildcam.dest import objstore as cloud
from wildcam.net.httpmsg import check
from wildcam.net.url import quote
from wildcam.dest.media import CHUNK, MediaReader


class HttpDest:
    def __init__(self, http, url_template, token=None, method="PUT", device="cam",
                 headers=None, meta_prefix="X-Meta-", name="http", chunk=CHUNK, sealer=None):
        if method not in ("PUT", "POST"):
            raise ValueError("%s: method must be PUT or POST" % name)
        self.http = http
        self.url_template = cloud.check_template(url_template)
        self.token = token
        self.method = method
        self.device = device
        self.headers = headers or {}
        self.meta_prefix = meta_prefix
        self.name = name
        self._buf = bytearray(chunk)
        self.sealer = sealer  # wildcam.dest.crypt.Sealer: client-side AES-256-CTR (optional)

    def url_of(self, item):
        f = cloud.fields_of(item, self.device)
        out = self.url_template
        for k in cloud.FIELDS:
            tag = "{" + k + "}"
            if tag in out:
                out = out.replace(tag, quote(f[k]))
        return out

    async def send(self, item, storage):
        url = self.url_of(item)
        h = {}
        for k in self.headers:
            h[k] = self.headers[k]
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if item.key:
            h["Idempotency-Key"] = item.key
        if self.meta_prefix:
            pairs = cloud.metadata(item)
            if self.sealer is not None:
                pairs = self.sealer.meta(pairs)
            for k, v in pairs:
                h[self.meta_prefix + k] = v
        reader = [None]
        if item.media:
            media = item.media
            ext = media[media.rfind(".") + 1:] if "." in media else "bin"
            h["Content-Type"] = cloud.content_type(ext)
            if item.sha256:
                h["X-Content-SHA256"] = item.sha256

            def body():  # pyright: ignore[reportRedeclaration]  # the plain chunks, or the sealer's wrapper of them, under one name
                reader[0] = MediaReader(storage, item.media, item.size, item.sha256,  # pyright: ignore[reportCallIssue, reportArgumentType]  # a one-item list is the closure's cell; pyright types it list[None]
                                        buf=self._buf)
                return reader[0].chunks()

            length = item.size
            if not length:
                from wildcam.dest.media import sha256_file

                length, _ = sha256_file(storage, item.media, len(self._buf))
            if self.sealer is not None:  # IV + ciphertext; no up-front hash of it
                body = self.sealer.wrap(body).chunks
                length += 16
                h["Content-Type"] = "application/octet-stream"
                h.pop("X-Content-SHA256", None)
        else:
            data = cloud.item_json(item, self.device)
            h["Content-Type"] = "application/json"
            if self.sealer is not None:
                data = self.sealer.seal(data)
                h["Content-Type"] = "application/octet-stream"

            def body():
                return (data,)

            length = len(data)
        r = await self.http.request(self.method, url, h, body, length)
        if reader[0] is not None and r.status < 300:
            reader[0].verify()
        check(r, "%s %s %s" % (self.name, self.method, url))
        return length
