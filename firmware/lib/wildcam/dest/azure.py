"""Azure Blob Storage destination: Put Blob (BlockBlob) with SharedKey or a SAS token;
Put Block + Put Block List for large files.

    az = AzureDest(http, "https://myacct.blob.core.windows.net", "traps",
                   account_key=KEY_B64, device="wc-a1b2c3")          # SharedKey
    az = AzureDest(http, "https://myacct.blob.core.windows.net", "traps",
                   sas="sv=2022-11-02&sp=cw&sr=c&se=...&sig=...")   # SAS: no account key

- `account_url`: the blob service endpoint, production form (`https://ACCOUNT.blob...`) or
  path style with the account as the first path segment (`http://127.0.0.1:10000/ACCOUNT`,
  Azurite). The SharedKey canonical resource is "/ACCOUNT" + the URL path as sent, so the
  path-style form carries the account twice, as Azurite expects. `host` overrides the Host
  header (e.g. "ACCOUNT.blob.localhost:PORT" to test the production form locally).
- Files up to `single_put_max` (64 MiB, as azure-storage-blob) go in one Put Blob; larger
  ones as blocks of `block_size` (4 MiB) bytes (each a Put Block streamed in fixed chunks,
  ids "%08d" base64) then one Put Block List, whose XML body is generated piece by piece:
  RAM stays flat whatever the size.
- Metadata: x-ms-meta-* from the item and its sidecar (wildcam.dest.objstore.metadata, sorted).
- Outcomes: 2xx done; 408/429/5xx/network -> Retry; 403 AuthenticationFailed (wrong key,
  tampered or expired SAS) or AuthorizationPermissionMismatch -> Refused (the item stays
  queued); 400... -> Permanent with Azure's Code and Message. A 403 whose
  message says the request time is off (`x-ms-date` skew) adopts the server's Date and
  raises Retry instead.
- `sealer` (wildcam.dest.crypt.Sealer): client-side AES-256-CTR; the blob is IV + ciphertext
  (blocks cut from that stream, the counter positioned per block), plaintext sha256 in the
  metadata (see wildcam.dest.crypt).
- `has(item)`: HEAD the blob; True when it exists with the same sha256 metadata.
"""

import binascii

from wildcam.dest import objstore as cloud
from wildcam.core.errors import Permanent, Retry
from wildcam.core.hmac256 import hmac_sha256
from wildcam.net.httpmsg import check, xml_text
from wildcam.net.url import parse_query, quote, split_target, urlsplit
from wildcam.dest.media import CHUNK
import hashlib

VERSION = "2021-08-06"
_SIGNED = ("content-encoding", "content-language", "content-length", "content-md5",
           "content-type", "date", "if-modified-since", "if-match", "if-none-match",
           "if-unmodified-since", "range")


def string_to_sign(method, account, path, query_pairs, headers):
    """SharedKey string-to-sign (versions 2009-09-19 and later). `path`: the URL path as
    sent; `query_pairs`: decoded [(name, value)]; `headers`: {name: value} (any case)."""
    low = {}
    for k in headers:
        low[k.lower()] = str(headers[k])
    lines = [method]
    for name in _SIGNED:
        v = low.get(name, "")
        if name == "content-length" and v == "0":
            v = ""
        lines.append(v)
    for name in sorted(k for k in low if k.startswith("x-ms-")):
        lines.append("%s:%s" % (name, " ".join(low[name].split())))
    res = "/%s%s" % (account, path)
    q = {}
    for k, v in query_pairs:
        k = k.lower()
        q[k] = (q[k] + [v]) if k in q else [v]
    for k in sorted(q):
        res += "\n%s:%s" % (k, ",".join(sorted(q[k])))
    lines.append(res)
    return "\n".join(lines)


def shared_key(account, key_b64, method, path, query_pairs, headers):
    """The Authorization header value: "SharedKey ACCOUNT:<base64 HMAC-SHA256>"."""
    key = binascii.a2b_base64(key_b64)
    sig = hmac_sha256(key, string_to_sign(method, account, path, query_pairs, headers))
    return "SharedKey %s:%s" % (account, binascii.b2a_base64(sig).decode().strip())


def block_id(i):
    return binascii.b2a_base64(b"%08d" % i).decode().strip()


def block_list_parts(n):
    """The Put Block List XML body for blocks 0..n-1, as a list of small strings."""
    parts = ['<?xml version="1.0" encoding="utf-8"?><BlockList>']
    for i in range(n):
        parts.append("<Latest>%s</Latest>" % block_id(i))
    parts.append("</BlockList>")
    return parts


class RangeReader:
    """Reads byte ranges of a media file into one preallocated buffer, hashing the file once
    in order even when a range is sent again (a retried block)."""

    def __init__(self, storage, path, size, sha256, buf):
        self.st = storage
        self.path = path
        self.size = size
        self.sha256 = sha256
        self._buf = buf
        self._mv = memoryview(buf)
        self._hash = hashlib.sha256()
        self.hashed = 0

    def chunks(self, off, n):
        try:
            f = self.st.open(self.path, "rb")
        except OSError as e:
            raise Permanent("media missing: %s (%s)" % (self.path, e))
        try:
            f.seek(off)
            left = n
            while left > 0:
                got = f.readinto(self._mv[:min(left, len(self._buf))])
                if not got:
                    raise Permanent("media %s is shorter than %d bytes" % (self.path,
                                                                           off + n))
                part = self._mv[:got]
                if off == self.hashed:
                    self._hash.update(part)
                    self.hashed += got
                off += got
                left -= got
                yield part
        finally:
            f.close()

    def verify(self):
        digest = binascii.hexlify(self._hash.digest()).decode()
        if self.hashed != self.size:
            raise Permanent("media %s: %d of %d bytes read" % (self.path, self.hashed,
                                                               self.size))
        if self.sha256 and digest != self.sha256:
            raise Permanent("media %s changed (sha256 %s, expected %s)" % (
                self.path, digest[:12], self.sha256[:12]))
        return digest


class AzureDest:
    def __init__(self, http, account_url, container, account=None, account_key=None,
                 sas=None, host=None, device="cam", key_template="{device}/{date}/{name}.{ext}",
                 now=None, name="azure", chunk=CHUNK, block_size=4194304,
                 single_put_max=67108864, meta=True, sealer=None):
        self.http = http
        self.scheme, self.netloc, self.port, base = urlsplit(account_url)
        self.base = base.rstrip("/")
        if account is None:
            account = self.base.strip("/") if self.base else self.netloc.split(".")[0]
        self.account = account
        self.container = container
        self.account_key = account_key
        self.sas = sas.lstrip("?") if sas else None
        if not (account_key or self.sas):
            raise ValueError("%s: needs account_key (SharedKey) or sas" % name)
        self.host = host
        self.device = device
        self.key_template = cloud.check_template(key_template)
        self.clock = cloud.Clock(now)
        self.name = name
        self.block_size = max(block_size, chunk)
        self.single_put_max = single_put_max
        self.meta = meta
        self._buf = bytearray(chunk)
        self.sealer = sealer  # wildcam.dest.crypt.Sealer: client-side AES-256-CTR (optional)

    def object_key(self, item):
        return cloud.object_key(self.key_template, item, self.device)

    # --- requests -----------------------------------------------------------------------------
    def _request_parts(self, method, blob, query, headers, length):
        """(url, headers) of a signed (SharedKey) or SAS request; `query`: [(k, v)]."""
        path = "%s/%s/%s" % (self.base, quote(self.container), quote(blob, "/"))
        h = {}
        for k in headers:
            h[k] = headers[k]
        h["x-ms-version"] = VERSION
        qs = "&".join("%s=%s" % (quote(k), quote(v)) for k, v in query)
        if self.sas:
            qs = (qs + "&" + self.sas) if qs else self.sas
        default = 443 if self.scheme == "https" else 80
        netloc = self.netloc if self.port == default else "%s:%d" % (self.netloc, self.port)
        url = "%s://%s%s%s" % (self.scheme, netloc, path, ("?" + qs) if qs else "")
        if self.host:
            h["Host"] = self.host
        if not self.sas:
            h["x-ms-date"] = cloud.http_date(self.clock.time())
            if length is not None:
                h["Content-Length"] = str(length)
            _, q = split_target(url[url.find(path):])
            h["Authorization"] = shared_key(self.account, self.account_key, method, path,
                                            parse_query(q), h)
        return url, h

    def _check(self, resp, what):
        if resp.status == 403 and not self.sas:
            msg = xml_text(resp.body, "Message") or ""
            server = cloud.parse_http_date(resp.header("date", ""))
            mine = self.clock.time()
            if server is not None and abs(server - mine) > 900 and (
                    "x-ms-date" in msg or "time" in msg.lower()):
                self.clock.learn(server)
                raise Retry("%s: request time off by %d s (board %s, server %s): signing "
                            "with the server's time from now on (check NTP)" % (
                                what, server - mine, cloud.http_date(mine),
                                resp.header("date")), 1000)
        return check(resp, what)

    async def _put(self, blob, query, headers, body, length, what):
        url, h = self._request_parts("PUT", blob, query, headers, length)
        r = await self.http.request("PUT", url, h, body, length)
        return self._check(r, what)

    # --- the destination interface -------------------------------------------------------
    async def has(self, item):
        if not item.media:
            return False
        url, h = self._request_parts("HEAD", self.object_key(item), [], {}, None)
        r = await self.http.request("HEAD", url, h)
        if r.status != 200:
            return False
        return not item.sha256 or r.header("x-ms-meta-sha256") == item.sha256

    async def send(self, item, storage):
        blob = self.object_key(item)
        what = "%s PUT %s" % (self.name, blob)
        headers = {"x-ms-blob-type": "BlockBlob"}
        if self.meta:
            pairs = cloud.metadata(item)
            if self.sealer is not None:
                pairs = self.sealer.meta(pairs)
            for k, v in pairs:
                headers["x-ms-meta-" + k] = v
        if not item.media:
            data = cloud.item_json(item, self.device)
            headers["Content-Type"] = "application/json"
            if self.sealer is not None:
                data = self.sealer.seal(data)
                headers["Content-Type"] = "application/octet-stream"
            await self._put(blob, [], headers, lambda: (data,), len(data), what)
            return len(data)
        ext = blob[blob.rfind(".") + 1:] if "." in blob[blob.rfind("/") + 1:] else "bin"
        ctype = cloud.content_type(ext)
        size = item.size
        if not size:
            from wildcam.dest.media import sha256_file

            size, _ = sha256_file(storage, item.media, len(self._buf))
        rd = RangeReader(storage, item.media, size, item.sha256, self._buf)
        src, total = rd, size
        if self.sealer is not None:  # ranges of IV + ciphertext over the file's ranges
            src, total = self.sealer.ranges(rd), size + 16
            ctype = "application/octet-stream"
        if total <= self.single_put_max:
            headers["Content-Type"] = ctype
            await self._put(blob, [], headers, lambda: src.chunks(0, total), total, what)
            rd.verify()
            return total
        # large: blocks, then the list (which carries the type and metadata)
        n = (total + self.block_size - 1) // self.block_size
        for i in range(n):
            off = i * self.block_size
            ln = min(self.block_size, total - off)
            await self._put(blob, [("comp", "block"), ("blockid", block_id(i))], {},
                            _ranged(src, off, ln), ln, "%s block %d/%d" % (what, i + 1, n))
        rd.verify()  # before committing: a changed file must not become a blob
        parts = block_list_parts(n)
        length = sum(len(p) for p in parts)
        headers.pop("x-ms-blob-type")
        headers["x-ms-blob-content-type"] = ctype
        headers["Content-Type"] = "application/xml"
        await self._put(blob, [("comp", "blocklist")], headers,
                        lambda: (p.encode() for p in parts), length, what + " block list")
        return total


def _ranged(rd, off, n):
    return lambda: rd.chunks(off, n)


def service_sas(account, key_b64, container, blob=None, permissions="cw", expiry=None,
                start=None, version="2020-12-06", protocol=None):
    """A service SAS token (query string) for a container (or one blob), signed with the
    account key: for a fleet tool handing SAS tokens to boards. `expiry`/`start`: Unix s."""
    se = _iso(expiry)
    st = _iso(start) if start else ""
    resource = "/blob/%s/%s%s" % (account, container, ("/" + blob) if blob else "")
    sr = "b" if blob else "c"
    # version 2020-12-06 field order: sp st se canonicalizedResource si sip spr sv sr
    # snapshot-time encryption-scope rscc rscd rsce rscl rsct
    fields = [permissions, st, se, resource, "", "", protocol or "", version, sr, "", "",
              "", "", "", "", ""]
    sig = hmac_sha256(binascii.a2b_base64(key_b64), "\n".join(fields))
    q = [("sv", version), ("sr", sr), ("sp", permissions), ("se", se)]
    if st:
        q.append(("st", st))
    if protocol:
        q.append(("spr", protocol))
    q.append(("sig", binascii.b2a_base64(sig).decode().strip()))
    return "&".join("%s=%s" % (k, quote(v)) for k, v in q)


def _iso(t):
    from wildcam.core.clock import iso

    return iso(int(t))
