# Network behaviour of both clients on the native unix MicroPython port (real sockets to
# loopback servers that bench/upload.py starts). One CASE per process: urequests has no
# timeout, so a stalled server can hold it forever and bench/upload.py kills it.
# bench/upload.py prepends  CASE = "..."; PORT = n; CA = "path"; TIMEOUT = s
#   stall-urequests   PUT 1 KB to a server that accepts, reads and never answers
#   stall-ours        the same with our client (timeout_s = TIMEOUT)
#   tls-urequests     GET https:// as installed (PyPI 0.9.1 imports `ussl`)
#   tls-urequests-ussl  the same with `ussl` = `ssl`, as firmware <= 1.22 provided it
#   tls-ours-wrongca  our client trusting an unrelated CA (must refuse)
#   tls-ours          our client trusting the CA that signed the server (must work)
# Prints "START" before the request and "RESULT ..." when it returns or raises.
import sys
import time


def since(t0):
    return time.ticks_diff(time.ticks_ms(), t0)


def outcome(t0, fn):
    print("START")
    try:
        r = fn()
        print("RESULT status %d after %d ms" % (r.status_code if hasattr(r, "status_code")
                                                else r.status, since(t0)))
    except Exception as e:  # noqa: BLE001 - the exception is the finding
        msg = " ".join(str(e).split())  # mbedtls messages come wrapped in newlines
        print("RESULT %s: %s after %d ms" % (type(e).__name__, msg, since(t0)))


def ours(url, ca=None, body=None):
    import asyncio
    from wildcam.net.http import HTTP
    from wildcam.net.stream import tls_context

    http = HTTP(timeout_s=TIMEOUT, tls=tls_context(ca) if ca else None)
    coro = http.request("PUT" if body else "GET", url, {"Content-Type": "image/jpeg"},
                        body=body)
    return asyncio.run(coro)


def case():
    t0 = time.ticks_ms()
    if CASE == "stall-urequests":
        import urequests
        outcome(t0, lambda: urequests.put("http://127.0.0.1:%d/x.jpg" % PORT, data=b"x" * 1024))
    elif CASE == "stall-ours":
        outcome(t0, lambda: ours("http://127.0.0.1:%d/x.jpg" % PORT, body=b"x" * 1024))
    elif CASE.startswith("tls-urequests"):
        if CASE.endswith("-ussl"):
            import ssl
            sys.modules["ussl"] = ssl
        import urequests
        outcome(t0, lambda: urequests.get("https://127.0.0.1:%d/" % PORT))
    elif CASE.startswith("tls-ours"):
        outcome(t0, lambda: ours("https://127.0.0.1:%d/" % PORT, ca=CA))
    else:
        raise ValueError(CASE)


case()
