"""Pure logic of the cloud destinations, under CPython and real MicroPython: HMAC-SHA256,
SigV4 (AWS's published examples), GOOG4-HMAC-SHA256 (vectors from an independent stdlib
implementation of Google's documented steps), Azure SharedKey strings, URL/query encoding,
key templates, metadata, dates, and the HTTP client over an in-memory stream (chunked and
fixed-length responses, 100-continue, keep-alive, stale connections, bounded bodies)."""

from fakenet import Connector, FakeStream
from portable_support import raises, run

from wildcam.dest import objstore as cloud, sigv4
from wildcam.dest.azure import block_id, block_list_parts, string_to_sign
from wildcam.dest.gcs import signed_url
from wildcam.core.errors import Permanent, Refused, Retry
from wildcam.core.hmac256 import hmac_sha256_hex
from wildcam.net.http import HTTP
from wildcam.net.httpmsg import check, error_text, parse_head, retry_after_ms, xml_text
from wildcam.net.url import parse_query, quote, unquote, urlsplit

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
T_2013 = 1369353600  # 20130524T000000Z, the AWS documentation examples


class It:
    def __init__(self, key, media=None, size=0, sha256=None, kind="detection", data=None,
                 created=0):
        self.key = key
        self.media = media
        self.size = size
        self.sha256 = sha256
        self.kind = kind
        self.data = data
        self.created = created


# --- HMAC ---------------------------------------------------------------------------------
def test_hmac_rfc4231():
    assert hmac_sha256_hex(b"\x0b" * 20, b"Hi There") == \
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?") == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    # case 6: a key longer than the block is hashed first
    assert hmac_sha256_hex(b"\xaa" * 131,
                           b"Test Using Larger Than Block-Size Key - Hash Key First") == \
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


# --- SigV4: AWS's published examples -------------------------------------------------------
def test_sigv4_get_object_example():
    creq, signed = sigv4.canonical_request(
        "GET", "/test.txt", [], {"Host": "examplebucket.s3.amazonaws.com",
                                 "Range": "bytes=0-9", "x-amz-date": "20130524T000000Z",
                                 "x-amz-content-sha256": sigv4.EMPTY_SHA256},
        sigv4.EMPTY_SHA256)
    assert signed == "host;range;x-amz-content-sha256;x-amz-date"
    assert sigv4.sha256_hex(creq) == \
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    h = sigv4.sign_headers("GET", "examplebucket.s3.amazonaws.com", "/test.txt", [],
                           {"range": "bytes=0-9"}, sigv4.EMPTY_SHA256, AK, SK, "us-east-1",
                           "s3", T_2013)
    assert h["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_sigv4_put_object_example():
    h = sigv4.sign_headers("PUT", "examplebucket.s3.amazonaws.com", "/test%24file.text", [],
                           {"Date": "Fri, 24 May 2013 00:00:00 GMT",
                            "x-amz-storage-class": "REDUCED_REDUNDANCY"},
                           sigv4.sha256_hex("Welcome to Amazon S3."), AK, SK, "us-east-1",
                           "s3", T_2013)
    assert h["x-amz-content-sha256"] == \
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    assert h["authorization"].endswith(
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")


def test_sigv4_presigned_url_example():
    q = sigv4.presign("GET", "examplebucket.s3.amazonaws.com", "/test.txt", AK, SK,
                      "us-east-1", "s3", T_2013, 86400)
    assert q == ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
                 "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
                 "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
                 "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")


def test_sigv4_header_values_trimmed_and_names_sorted_whatever_dict_order():
    a = sigv4.canonical_request("PUT", "/k", [("b", "2"), ("a", "1")],
                                {"X-Amz-Meta-Z": "  two   words ", "host": "h", "A": "x"},
                                "UNSIGNED-PAYLOAD")
    assert a[0] == "PUT\n/k\na=1&b=2\na:x\nhost:h\nx-amz-meta-z:two words\n\na;host;" \
        "x-amz-meta-z\nUNSIGNED-PAYLOAD"


def test_sigv4_session_token_signed():
    h = sigv4.sign_headers("PUT", "h", "/k", [], {}, sigv4.UNSIGNED, AK, SK, "eu-west-1",
                           "s3", T_2013, session_token="tok/+=")
    assert h["x-amz-security-token"] == "tok/+="
    assert "x-amz-security-token" in h["authorization"]


def test_stamps():
    assert sigv4.stamp(T_2013) == ("20130524T000000Z", "20130524")
    assert sigv4.stamp(1717245296) == ("20240601T123456Z", "20240601")
    assert sigv4.parse_stamp("2024-06-01T12:34:56Z") == 1717245296
    assert sigv4.parse_stamp("20240601T123456Z") == 1717245296
    assert sigv4.parse_stamp("garbage") is None
    assert cloud.http_date(T_2013) == "Fri, 24 May 2013 00:00:00 GMT"
    assert cloud.parse_http_date("Sat, 01 Jun 2024 12:34:56 GMT") == 1717245296
    assert cloud.parse_http_date("nonsense") is None


# --- GOOG4-HMAC-SHA256 ------------------------------------------------------------------------
GOOG_ID = "GOOG1EXAMPLEACCESSID"
GOOG_SECRET = "bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ"


def test_goog4_signed_url_vector():
    url = signed_url("my-traps", "wc-1/20240601/B1-0001.jpg", GOOG_ID, GOOG_SECRET,
                     1717245296, 900)
    assert url.startswith("https://storage.googleapis.com/my-traps/wc-1/20240601/B1-0001.jpg?"
                          "X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential="
                          "GOOG1EXAMPLEACCESSID%2F20240601%2Fauto%2Fstorage%2Fgoog4_request&"
                          "X-Goog-Date=20240601T123456Z&X-Goog-Expires=900&"
                          "X-Goog-SignedHeaders=host&X-Goog-Signature=")
    assert url.endswith("9343ab9e7388e6ec2e34701e499398586644670bace4aa479fe730255475731e")


def test_goog4_header_signing_vector():
    h = sigv4.sign_headers("PUT", "storage.googleapis.com", "/my-traps/" + quote("a b.jpg"), [],
                           {"content-type": "image/jpeg", "x-goog-meta-kind": "detection"},
                           sigv4.sha256_hex("hello gcs"), GOOG_ID, GOOG_SECRET, "auto",
                           "storage", 1717245296, flavor=sigv4.GOOG)
    assert h["x-goog-date"] == "20240601T123456Z"
    assert h["authorization"] == (
        "GOOG4-HMAC-SHA256 Credential=GOOG1EXAMPLEACCESSID/20240601/auto/storage/goog4_request, "
        "SignedHeaders=content-type;host;x-goog-content-sha256;x-goog-date;x-goog-meta-kind, "
        "Signature=420909ae2e06d192d04b2a557a98c537858cd65fa9b9622168f648e15bc29e3a")


# --- Azure SharedKey --------------------------------------------------------------------------
def test_azure_string_to_sign_path_style_has_account_twice():
    s = string_to_sign("PUT", "acct", "/acct/traps/wc/a.jpg",
                       [("comp", "block"), ("blockid", "MDAwMDAwMDA=")],
                       {"Content-Length": "10", "Content-Type": "image/jpeg",
                        "x-ms-version": "2021-08-06", "x-ms-date": "Sat, 01 Jun 2024 12:34:56 GMT",
                        "x-ms-meta-b": "2", "x-ms-blob-type": "BlockBlob"})
    assert s == ("PUT\n\n\n10\n\nimage/jpeg\n\n\n\n\n\n\n"
                 "x-ms-blob-type:BlockBlob\nx-ms-date:Sat, 01 Jun 2024 12:34:56 GMT\n"
                 "x-ms-meta-b:2\nx-ms-version:2021-08-06\n"
                 "/acct/acct/traps/wc/a.jpg\nblockid:MDAwMDAwMDA=\ncomp:block")


def test_azure_zero_length_is_empty_and_block_ids_same_length():
    s = string_to_sign("PUT", "a", "/c/b", [], {"Content-Length": "0"})
    assert s.split("\n")[3] == ""
    assert block_id(0) == "MDAwMDAwMDA=" and len(block_id(12345)) == len(block_id(1))
    body = "".join(block_list_parts(2))
    assert body.endswith("<BlockList><Latest>MDAwMDAwMDA=</Latest>"
                         "<Latest>MDAwMDAwMDE=</Latest></BlockList>")


# --- encoding, URLs, responses ----------------------------------------------------------------
def test_quote_unquote_and_urlsplit():
    assert quote("a b/ü~x", "/") == "a%20b/%C3%BC~x"
    assert quote("a+b=c&d") == "a%2Bb%3Dc%26d"
    assert unquote("a%20b%2F%C3%BC") == "a b/ü"
    assert urlsplit("https://Bucket.S3.amazonaws.com/a/b?x=1") == \
        ("https", "bucket.s3.amazonaws.com", 443, "/a/b?x=1")
    assert urlsplit("http://127.0.0.1:9000") == ("http", "127.0.0.1", 9000, "/")
    assert urlsplit("http://h?q") == ("http", "h", 80, "/?q")
    assert urlsplit("http://[::1]:8080/p") == ("http", "::1", 8080, "/p")
    raises(ValueError, urlsplit, "ftp://h/")
    assert parse_query("a=1&b=x%2Fy&c") == [("a", "1"), ("b", "x/y"), ("c", "")]


def test_parse_head_and_errors():
    v, st, reason, h = parse_head(b"HTTP/1.1 503 Slow Down\r\nRetry-After: 7\r\n"
                                  b"Set-X: a\r\nset-x: b\r\n")
    assert (v, st, reason) == ("HTTP/1.1", 503, "Slow Down")
    assert h["set-x"] == "a, b" and retry_after_ms(h) == 7000
    assert retry_after_ms({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 5) == 5
    assert "SSH-2.0-OpenSSH" in str(raises(Retry, parse_head, b"SSH-2.0-OpenSSH\r\n"))
    body = b"<Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message></Error>"
    assert xml_text(body, "Code") == "SignatureDoesNotMatch"

    class R:
        status = 403
        reason = "Forbidden"
        headers = {}

    r = R()
    r.body = body
    assert error_text(r) == "SignatureDoesNotMatch: bad sig"
    e = raises(Refused, check, r, "PUT k")  # credentials: the item stays queued
    assert "SignatureDoesNotMatch" in str(e) and isinstance(e, Retry) and e.after_ms == 600000
    r.body = b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    assert "Request has expired" in str(raises(Permanent, check, r, "PUT k"))
    r.body, r.headers = b"", {"x-ms-error-code": "AuthenticationFailed"}
    assert isinstance(raises(Refused, check, r, "PUT k"), Retry)
    r.status, r.headers = 401, {}
    raises(Refused, check, r, "PUT k")
    # the configured bucket or container does not exist: configuration, the item stays queued
    r.status, r.body = 404, b"<Error><Code>NoSuchBucket</Code><Message>no bucket</Message></Error>"
    assert "NoSuchBucket" in str(raises(Refused, check, r, "PUT k"))
    r.body, r.headers = b"", {"x-ms-error-code": "ContainerNotFound"}
    raises(Refused, check, r, "PUT k")
    r.headers = {"x-ms-error-code": "BlobNotFound"}  # about this item: permanent
    raises(Permanent, check, r, "PUT k")
    r.status = 429
    r.headers = {"retry-after": "3"}
    assert raises(Retry, check, r, "PUT k").after_ms == 3000
    r.status = 500
    assert isinstance(raises(Retry, check, r, "PUT k"), Retry)


def test_object_key_template_and_metadata_sorted():
    it = It("wc-1-B7-0004", media="/sd/DCIM/B7/0004.jpg", size=10, sha256="ab" * 32,
            created=1717245296, data={"score": 0.5, "Box-W": 40, "9x": "ok", "nested": {"a": 1},
                                      "note": "h\u00e9llo\nthere"})
    assert cloud.object_key("{device}/{date}/{name}.{ext}", it, "wc 1") == \
        "wc_1/20240601/0004.jpg"
    assert cloud.object_key("/{kind}/{key}", It("k", media="/sd/k.jpg"), "d") == "detection/k"
    # items without media (events, health: no MQTT configured) have folders of their own
    # with the default template; a template the user chose is kept
    default = "{device}/{date}/{name}.{ext}"
    assert cloud.object_key(default, It("k-ev", kind="event", created=1717245296),
                            "d") == "d/events/20240601/k-ev.json"
    assert cloud.object_key(default, It("h1", kind="health"), "d") == "d/health/nodate/h1.json"
    assert cloud.object_key("/{kind}/{key}", It("k"), "d") == "detection/k"
    raises(ValueError, cloud.check_template, "{device}/{nope}")
    m = cloud.metadata(it)
    names = [k for k, _ in m]
    assert names == sorted(names)
    d = dict(m)
    assert d["box_w"] == "40" and d["m_9x"] == "ok" and d["note"] == "h?llo?there"
    assert d["score"] == "0.5" and d["sha256"] == "ab" * 32 and "nested" not in d
    assert cloud.item_json(It("e", kind="alert", data={"b": 1, "a": 2}), "dev") == \
        b'{"created":null,"data":{"a":2,"b":1},"device":"dev","key":"e","kind":"alert"}'


# --- the HTTP client over an in-memory stream -------------------------------------------------
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: \"x\"\r\n\r\n"


def test_http_put_streams_body_and_reuses_connection():
    s = FakeStream([OK, OK], keep_written=True)
    c = Connector(s)
    http = HTTP(connect=c)
    chunks = [b"a" * 10, b"b" * 5]
    r = run(http.request("PUT", "http://h:81/k", {"X-A": "1"}, lambda: iter(chunks), 15))
    assert r.status == 200 and r.header("etag") == '"x"'
    assert bytes(s.data).startswith(b"PUT /k HTTP/1.1\r\nHost: h:81\r\nX-A: 1\r\n"
                                    b"Content-Length: 15\r\n")
    assert bytes(s.data).endswith(b"\r\n\r\n" + b"a" * 10 + b"b" * 5)
    run(http.request("PUT", "http://h:81/k2", None, b"xyz"))
    assert http.counters["connects"] == 1 and http.counters["reused"] == 1


def test_http_chunked_response_kept_to_max_body_and_rest_discarded():
    body = b"<Error><Code>SlowDown</Code></Error>" + b"." * 3000
    parts = b""
    for i in range(0, len(body), 1000):
        piece = body[i:i + 1000]
        parts += b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n"
    reply = b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n" + parts + b"0\r\n\r\n"
    s = FakeStream([reply, OK])
    http = HTTP(connect=Connector(s), max_body=256)
    r = run(http.request("GET", "http://h/x"))
    assert r.status == 503 and r.truncated and len(r.body) == 256
    assert xml_text(r.body, "Code") == "SlowDown"
    assert run(http.request("GET", "http://h/y")).status == 200  # same connection, in sync


def test_http_expect_continue_refused_early_body_not_sent():
    refused = (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!")
    s = FakeStream([refused], keep_written=True)
    http = HTTP(connect=Connector(s), expect_over=100)
    r = run(http.request("PUT", "http://h/k", None, lambda: iter([b"z" * 1000]), 1000))
    assert r.status == 403 and r.body == b"nope!"
    assert b"Expect: 100-continue" in bytes(s.data) and b"z" not in bytes(s.data)
    assert s.closed


def test_http_expect_continue_then_final():
    s = FakeStream([b"HTTP/1.1 100 Continue\r\n\r\n" + OK], keep_written=True)
    http = HTTP(connect=Connector(s), expect_over=100)
    r = run(http.request("PUT", "http://h/k", None, lambda: iter([b"z" * 1000]), 1000))
    assert r.status == 200 and bytes(s.data).endswith(b"z" * 1000)


def test_http_expect_ignored_by_server_body_sent_after_wait():
    s = FakeStream([OK], keep_written=True, quiet_expect=True)  # silent until the body came
    http = HTTP(connect=Connector(s), expect_over=100, continue_ms=50)
    r = run(http.request("PUT", "http://h/k", None, lambda: iter([b"z" * 200]), 200))
    assert r.status == 200 and bytes(s.data).endswith(b"z" * 200)
    assert s.requests == 1  # one request: the wait did not break the connection


def test_http_stale_keepalive_connection_retried_once_on_a_new_one():
    s1 = FakeStream([OK, b""])  # second request: the server had closed the connection
    s2 = FakeStream([OK])
    c = Connector(s1, s2)
    http = HTTP(connect=c)
    run(http.request("PUT", "http://h/a", None, b"1"))
    r = run(http.request("PUT", "http://h/b", None, lambda: iter([b"22"]), 2))
    assert r.status == 200 and len(c.made) == 2


def test_http_errors_become_retry_and_short_body_is_caught():
    s = FakeStream([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"])
    http = HTTP(connect=Connector(s))
    e = raises(Retry, run, http.request("GET", "http://h/x"))
    assert "OSError" in str(e) or "104" in str(e)

    def refuse(*a):
        raise OSError(111)

    e = raises(Retry, run, HTTP(connect=refuse).request("GET", "http://h/x"))
    assert "cannot connect" in str(e)
    s = FakeStream([OK])
    e = raises(Retry, run, HTTP(connect=Connector(s)).request(
        "PUT", "http://h/x", None, lambda: iter([b"abc"]), 5))
    assert "announced" in str(e)


def test_http_permanent_from_body_passes_through():
    def body():
        raise Permanent("media missing: /sd/x.jpg")
        yield b""  # noqa

    s = FakeStream([OK])
    e = raises(Permanent, run, HTTP(connect=Connector(s)).request(
        "PUT", "http://h/x", None, body, 5))
    assert "media missing" in str(e)


def test_http_connection_close_and_read_until_close():
    s1 = FakeStream([b"HTTP/1.0 200 OK\r\n\r\nhello"])
    s2 = FakeStream([OK])
    c = Connector(s1, s2)
    http = HTTP(connect=c)
    r = run(http.request("GET", "http://h/x"))
    assert r.body == b"hello" and s1.closed
    run(http.request("GET", "http://h/y"))
    assert len(c.made) == 2


def test_http_early_answer_while_sending_is_read_after_the_failed_write():
    refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nbad sig!!"
    s = FakeStream([refused], fail_after=5000)
    http = HTTP(connect=Connector(s))
    r = run(http.request("PUT", "http://h/k", None, lambda: iter([b"z" * 4096] * 4), 16384))
    assert r.status == 403 and r.body == b"bad sig!!" and s.closed
    s = FakeStream([b""], fail_after=5000)  # closed without a word: a network error
    e = raises(Retry, run, HTTP(connect=Connector(s)).request(
        "PUT", "http://h/k", None, lambda: iter([b"z" * 4096] * 4), 16384))
    assert "OSError" in str(e) or "32" in str(e)
