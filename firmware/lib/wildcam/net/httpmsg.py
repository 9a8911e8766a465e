"""HTTP responses: the parsed head, the kept start of the body, and what they mean.

`check` maps a response to the sync engine's outcome (2xx returned, 408/429/5xx
`errors.Retry` honouring Retry-After, refused credentials `errors.Refused` (a Retry: the
item stays queued), anything else `errors.Permanent`), always quoting the
server's own words (S3/GCS/Azure XML Code and Message, Azure's x-ms-error-code, or the
start of the body) so a person can act on a refusal.
"""

from wildcam.core.errors import Permanent, Refused, Retry

QUOTE = 48  # at most this many characters of what a server sent go into an error


def quote(text):
    """A bounded, printable slice of what a server sent, for an error message."""
    if not isinstance(text, str):
        text = bytes(text).decode("latin-1")
    return repr(text[:QUOTE]) + ("..." if len(text) > QUOTE else "")


def parse_head(data):
    """(version, status, reason, headers) from the bytes of a status line and headers
    (CRLF-separated, the final empty line optional). Header names are lower-cased; repeated
    headers are joined with ", ". Anything that is not HTTP raises Retry quoting it (a
    proxy, a captive portal or a wrong port: worth trying again later)."""
    text = bytes(data).decode("latin-1") if not isinstance(data, str) else data
    lines = text.split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2 or not first[0].startswith("HTTP/"):
        raise Retry("not an HTTP status line: %s" % quote(lines[0]))
    code = first[1]
    if len(code) != 3 or not code.isdigit():
        raise Retry("bad status code %s" % quote(code))
    status = int(code)
    reason = first[2] if len(first) > 2 else ""
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        i = line.find(":")
        if i <= 0:
            continue
        name = line[:i].strip().lower()
        value = line[i + 1:].strip()
        if name in headers:
            headers[name] = headers[name] + ", " + value
        else:
            headers[name] = value
    return first[0], status, reason, headers


def content_length(headers):
    """The Content-Length as an int (None when absent); anything but one decimal number
    (a sign, a second value, hex, 16+ digits) raises Retry quoting it."""
    v = headers.get("content-length")
    if v is None:
        return None
    if not v or len(v) > 15 or not v.isdigit():
        raise Retry("bad Content-Length %s" % quote(v))
    return int(v)


def retry_after_ms(headers, default=0):
    """Retry-After (delta seconds) in ms; an HTTP date or nonsense gives `default`."""
    v = headers.get("retry-after")
    if not v:
        return default
    try:
        return max(0, int(v.strip())) * 1000
    except ValueError:
        return default


def xml_text(body, tag):
    """Text of the first <tag>...</tag> in an XML error body, or None."""
    if not body:
        return None
    s = bytes(body).decode("utf-8", "replace") if not isinstance(body, str) else body
    i = s.find("<%s>" % tag)
    if i < 0:
        return None
    i += len(tag) + 2
    j = s.find("</%s>" % tag, i)
    return s[i:j] if j >= 0 else None


class Response:
    def __init__(self, status, reason, headers, body, truncated=False, version="HTTP/1.1"):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body  # bytes: at most max_body of them
        self.truncated = truncated
        self.version = version

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def ok(self):
        return 200 <= self.status < 300

    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.reason)


# 403 codes that mean "your credentials", not "this item" (S3/GCS, Azure)
AUTH_CODES = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken",
              "TokenRefreshRequired", "AuthenticationFailed", "InvalidAuthenticationInfo",
              "AuthorizationFailure", "AuthorizationPermissionMismatch")


# 404 codes that mean "your bucket/container does not exist": configuration, not the item
WHERE_CODES = ("NoSuchBucket", "ContainerNotFound")


def refused(resp):
    """True when the server refused the credentials (401, or a 403 with an AUTH_CODES
    code) or the configured bucket/container does not exist (404 with a WHERE_CODES code):
    the destination's configuration is wrong, not the item."""
    if resp.status == 401:
        return True
    if resp.status not in (403, 404):
        return False
    code = xml_text(resp.body, "Code") or resp.headers.get("x-ms-error-code")
    return code in (AUTH_CODES if resp.status == 403 else WHERE_CODES)


def check(resp, what, permanent_codes=None):
    """Map a Response to the sync engine's outcome: return it when 2xx; raise Retry for
    408/429/5xx (with Retry-After), Refused for refused credentials and Permanent
    otherwise, with the server's words."""
    if 200 <= resp.status < 300:
        return resp
    detail = error_text(resp)
    msg = "%s: HTTP %d %s" % (what, resp.status, detail)
    if resp.status in (408, 429) or resp.status >= 500:
        raise Retry(msg, retry_after_ms(resp.headers, 0))
    if refused(resp):
        raise Refused(msg)
    raise Permanent(msg)


def error_text(resp):
    """The server's explanation: S3/GCS/Azure XML Code+Message, else the body's start."""
    code = xml_text(resp.body, "Code")
    message = xml_text(resp.body, "Message")
    if code or message:
        return "%s: %s" % (code or resp.reason, (message or "").split("\n")[0])
    azure = resp.headers.get("x-ms-error-code")
    text = resp.body[:200].decode("utf-8", "replace").strip() if resp.body else ""
    if azure:
        return "%s %s" % (azure, text)
    return ("%s %s" % (resp.reason, text)).strip()
