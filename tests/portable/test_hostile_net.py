"""Servers that do not speak HTTP, or speak it too slowly, against the HTTP client and the
OTA download (portable: in-memory streams under the firmware's real Stream).

Found by a hostile-input review (issue 17): a non-HTTP banner, a non-hex chunk size and
`Content-Length: abc` raised a bare ValueError; an https:// OTA URL with `ota.ca` unset
was fetched in the clear; a server sending a byte a second kept an OTA download going for
ever. Each is now an `errors.Retry` quoting (a bounded slice of) what came, a refusal, or
a deadline.
"""

import asyncio

from fakenet import Connector, FakeStream
from portable_support import PrefixStorage, raises, run, tmpdir

from wildcam.core.errors import Retry
from wildcam.net.http import HTTP
from wildcam.net.httpmsg import parse_head
from wildcam.ota import OtaError
from wildcam.ota.fetch import HttpChunks, make_fetch
from wildcam.ota.updater import Updater

ETIMEDOUT = 110
NOT_HTTP = [
    # (what the server sent, the words of the error, bytes of it that must be quoted)
    (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP status line", b"SSH-2.0-OpenSSH_9.6"),
    (b"220 mail.example ESMTP ready\r\n\r\n", "not an HTTP status line", b"220 mail"),
    (b"HTTP/1.1 2OO OK\r\n\r\n", "bad status code", b"2OO"),
    (b"HTTP/1.1\r\n\r\n", "not an HTTP status line", b"HTTP/1.1"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", "bad Content-Length", b"abc"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "bad Content-Length", b"-5"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
     "bad Content-Length", b"5, 7"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size", b"zz"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", "bad chunk size", b"-5"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "bad chunk size", b""),
]


def test_parse_failures_are_retries_quoting_what_came():
    from wildcam.net.httpmsg import QUOTE, content_length

    e = raises(Retry, parse_head, b"SSH-2.0-OpenSSH\r\n")
    assert "SSH-2.0-OpenSSH" in str(e)
    long_banner = b"<html>" + b"x" * 3000
    e = raises(Retry, parse_head, long_banner)
    assert "<html>" in str(e) and len(str(e)) < QUOTE * 4 + 60  # a bounded slice
    assert content_length({}) is None and content_length({"content-length": "12"}) == 12
    for bad in ("abc", "-1", "1e3", " ", "", "9" * 40, "0x10"):
        assert "bad Content-Length" in str(raises(Retry, content_length,
                                                  {"content-length": bad}))


def test_the_http_client_turns_every_malformed_reply_into_a_retry():
    for reply, words, quoted in NOT_HTTP:
        s = FakeStream([reply])
        e = raises(Retry, run, HTTP(connect=Connector(s)).request("GET", "http://h/x"))
        msg = str(e)
        assert "GET h" in msg and words in msg and repr(quoted)[2:-1] in msg, (reply, msg)
        assert s.closed  # out of step: the connection is not kept


def _ota_fetch(reply, **kw):
    s = FakeStream([reply])
    return HttpChunks("http://up.example/m.json", connect=Connector(s), **kw), s


async def _drain(src):
    out = b""
    while True:
        part = await src.next()
        if part is None:
            return out
        out += bytes(part)


def test_the_ota_download_turns_every_malformed_reply_into_a_retry():
    for reply, words, quoted in NOT_HTTP:
        if b"chunked" in reply:
            continue  # an OTA download needs a Content-Length (a chunked reply: OSError)
        src, s = _ota_fetch(reply)
        e = raises(Retry, run, _drain(src))
        assert words in str(e), (reply, str(e))
        assert s.closed
    src, _ = _ota_fetch(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    assert "no Content-Length" in str(raises(OSError, run, _drain(src)))
    src, _ = _ota_fetch(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert run(_drain(src)) == b"hello"


def test_an_https_ota_url_is_never_fetched_without_tls():
    made = []

    async def connect(host, port, timeout_s, tls):
        made.append((host, port, tls))
        raise OSError(111)

    src = HttpChunks("https://up.example/m.json", connect=connect)
    e = raises(OtaError, run, _drain(src))
    assert "ota.ca" in str(e) and "ota.insecure" in str(e) and made == []
    # the updater's fetch gives the same answer, and apply() reports it
    up = Updater(PrefixStorage(tmpdir()), Log(), keys=(), fetch=make_fetch(None))
    r = run(up.apply("https://up.example/m.json"))
    assert r["ok"] is False and "https URL but no TLS context" in r["error"]
    # with a context (ota.ca, or ota.insecure's unverified one) it is used for the connect
    marker = object()
    src = HttpChunks("https://up.example/m.json", tls=marker, connect=connect)
    raises(OSError, run, _drain(src))
    assert made == [("up.example", 443, marker)]


class Drip(FakeStream):
    """A server that sends its reply one byte every `gap_ms`."""

    def __init__(self, reply, gap_ms):
        super().__init__([reply])
        self.gap_ms = gap_ms

    async def readinto(self, buf):
        await asyncio.sleep_ms(self.gap_ms)
        mv = memoryview(buf)
        return await super().readinto(mv[:1])


def test_a_dripping_server_cannot_keep_an_ota_download_going():
    """1 byte per 5 ms is 200 bytes/s: a 4 KB body would take 20 s. The body's deadline
    (timeout plus its length at min_rate) ends it as a resumable OSError, long before."""
    body = b"x" * 4096
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n" + body
    src = HttpChunks("http://up.example/m", connect=Connector(Drip(reply, 0)), timeout_s=2)
    src.min_rate = 1
    assert run(_drain(src)) == body  # a fast server: the whole body (deadline not reached)
    src = HttpChunks("http://up.example/m", connect=Connector(Drip(reply, 5)), timeout_s=0.3)
    src.min_rate = 8192
    e = raises(OSError, run, _drain(src))
    assert e.args[0] == ETIMEDOUT, str(e)  # "deadline passed" (or its last step timed out)


def test_the_head_has_a_deadline_too():
    """A server dripping its head (each byte well inside the step timeout) is cut off at
    2 x timeout_s, not after 2 KB of steps."""
    head = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"p" * 1500 + b"\r\nContent-Length: 1\r\n\r\nx"
    src = HttpChunks("http://up.example/m", connect=Connector(Drip(head, 2)), timeout_s=0.1)
    e = raises(OSError, run, _drain(src))
    assert e.args[0] == ETIMEDOUT, str(e)


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(m % a)

    warning = error = info


class RefusingTls(FakeStream):
    """What MicroPython's ssl does when the server's certificate does not check out: the
    handshake runs inside the first write (or read) and raises ValueError."""

    WHY = "The certificate is not correctly signed by the trusted CA"

    def write(self, buf):
        raise ValueError(self.WHY)

    async def readinto(self, buf):
        raise ValueError(self.WHY)


def test_a_refused_certificate_is_a_retry_not_a_task_crash():
    from wildcam.net.stream import Stream

    for op in ("write", "read"):
        s = Stream(1, tls=object())  # a context: the stream speaks TLS
        s.host = "up.example"
        s._r = s._w = RefusingTls([])
        if op == "write":
            e = raises(OSError, run, s.write(b"GET / HTTP/1.1\r\n\r\n"))
        else:
            e = raises(OSError, run, s.readline(memoryview(bytearray(64))))
        assert e.args[0] == 103 and "TLS with up.example refused" in str(e), str(e)
        assert RefusingTls.WHY in str(e)
    # without TLS a ValueError is a bug of ours, not the server's: it is not disguised
    s = Stream(1)
    s._r = s._w = RefusingTls([])
    raises(ValueError, run, s.write(b"x"))

    async def connect(host, port, timeout_s, tls):
        s = Stream(timeout_s, tls)
        s.host = host
        s._r = s._w = RefusingTls([])
        return s

    e = raises(Retry, run, HTTP(connect=connect, tls=object()).request("GET", "https://h/x"))
    assert "GET h" in str(e) and "TLS with h refused" in str(e), str(e)
    src = HttpChunks("https://up.example/m.json", tls=object(), connect=connect)
    assert "TLS with up.example refused" in str(raises(OSError, run, _drain(src)))
