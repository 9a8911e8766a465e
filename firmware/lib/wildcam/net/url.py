"""URLs for the board's HTTP clients: split, percent-encode, query strings, Host headers.

Pure functions (portable tests); the encodings are the ones SigV4, GOOG4 and Azure
SharedKey sign, so a byte out of place here is a refused request there.
"""

_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


def quote(s, safe=""):
    """Percent-encode the UTF-8 bytes of `s` except RFC 3986 unreserved characters and
    `safe` (e.g. "/" for paths). Upper-case hex, as SigV4 / SharedKey require."""
    if isinstance(s, str):
        s = s.encode()
    safe = safe.encode() if isinstance(safe, str) else safe
    out = []
    for b in s:
        if b in _UNRESERVED or b in safe:
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def unquote(s):
    """Decode %XX escapes (and nothing else: '+' stays '+')."""
    if "%" not in s:
        return s
    b = s.encode()
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 37 and i + 2 < len(b):
            out.append(int(b[i + 1:i + 3].decode(), 16))
            i += 3
        else:
            out.append(c)
            i += 1
    return out.decode()


def urlsplit(url):
    """(scheme, host, port, target) of an absolute http(s) URL; target is path?query
    ("/" when empty). Raises ValueError on anything else."""
    i = url.find("://")
    if i < 0:
        raise ValueError("not an absolute URL: %s" % url)
    scheme = url[:i].lower()
    if scheme not in ("http", "https"):
        raise ValueError("unsupported scheme %s" % scheme)
    rest = url[i + 3:]
    j = len(rest)
    for ch in "/?":
        k = rest.find(ch)
        if 0 <= k < j:
            j = k
    hostport = rest[:j]
    target = rest[j:] or "/"
    if target[0] == "?":
        target = "/" + target
    if "@" in hostport:
        raise ValueError("credentials in URLs are not supported")
    port = 443 if scheme == "https" else 80
    if hostport.startswith("["):
        k = hostport.find("]")
        host = hostport[1:k]
        if hostport[k + 1:k + 2] == ":":
            port = int(hostport[k + 2:])
    elif ":" in hostport:
        host, p = hostport.rsplit(":", 1)
        port = int(p)
    else:
        host = hostport
    if not host:
        raise ValueError("no host in URL: %s" % url)
    return scheme, host.lower(), port, target


def split_target(target):
    """(path, query string without '?') of a request target."""
    i = target.find("?")
    if i < 0:
        return target, ""
    return target[:i], target[i + 1:]


def parse_query(qs):
    """[(name, value)] of a query string, decoded, in order."""
    out = []
    if not qs:
        return out
    for part in qs.split("&"):
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
        else:
            k, v = part, ""
        out.append((unquote(k), unquote(v)))
    return out


def host_header(scheme, host, port):
    default = 443 if scheme == "https" else 80
    h = "[%s]" % host if ":" in host else host
    return h if port == default else "%s:%d" % (h, port)
