"""The OTA download over real HTTP sockets (wildcam.net.stream + wildcam.net.http helpers), and the
host tool's command line (keygen, sign, publish to a folder)."""
import asyncio
import functools
import hashlib
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from portable_support import PrefixStorage

from tools import ota as tool
from wildcam.ota import boot as ota_boot, manifest
from wildcam.ota.updater import Updater


class Log:
    def __init__(self):
        self.lines = []

    def info(self, *a):
        self.lines.append(a)

    warning = error = info


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves Range requests (206) and, once per file when `drop` is set, closes the
    connection half-way through the body."""
    dropped: set = set()
    drop = False
    ranges = True

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng and self.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.drop and self.path not in self.dropped and len(body) > 2000:
            self.dropped.add(self.path)
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


def serve(root, **attrs):
    handler = type("H", (RangeHandler,), dict(attrs, dropped=set()))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def keys_of(key):
    n = key.public_key().public_numbers().n
    return ((tool.key_id(n), n),)


def _install_over_http(tmp_path, key, build, **attrs):
    www = tmp_path / "www"
    b = www / "v2"
    tree = tmp_path / "tree"
    import shutil
    shutil.copytree(build, tree)
    (tree / "wildcam" / "core" / "version.mpy").unlink()
    (tree / "wildcam" / "core" / "version.py").write_text('VERSION = "0.2.0"\n')
    tool.make_bundle(tree, b, key, "0.2.0", "0.1.0", created=10)
    srv = serve(www, **attrs)
    try:
        (tmp_path / "flash").mkdir()
        st = PrefixStorage(str(tmp_path / "flash"))
        up = Updater(st, Log(), keys=keys_of(key), version="0.1.0", backoff_ms=10)
        url = "http://127.0.0.1:%d/v2/manifest.json" % srv.server_address[1]
        r = asyncio.run(up.apply(url))
    finally:
        srv.shutdown()
    assert r["ok"] and r["reboot"], r
    m = json.loads((b / "manifest.json").read_text())
    for f in m["files"]:
        data = Path(st.real("/slots/a/" + f["path"])).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
    assert ota_boot.load_pointer(st)["state"] == "pending"
    return up


def test_download_over_http_with_ranges_and_broken_connections(tmp_path, ota_key, build):
    up = _install_over_http(tmp_path, ota_key, build, drop=True)
    assert any("resuming" in str(line) for line in up.log.lines)


def test_download_over_http_from_a_server_without_range_support(tmp_path, ota_key, build):
    _install_over_http(tmp_path, ota_key, build, drop=True, ranges=False)


def test_cli_keygen_sign_publish(tmp_path, build):
    module = tmp_path / "ota_key.py"
    module.write_text('"""Keys."""\n\nKEYS = ()\n')
    key = tmp_path / "k" / "ota.pem"
    assert tool.main(["keygen", "--key", str(key), "--module", str(module)]) == 0
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert tool.main(["keygen", "--key", str(key), "--module", str(module)]) == 1  # no overwrite
    ns = {}
    exec(module.read_text(), ns)
    (kid, n), = ns["KEYS"]
    assert kid == tool.key_id(n)
    out = tmp_path / "bundle"
    assert tool.main(["sign", str(build), "--key", str(key), "--version", "0.3.0",
                      "--min-version", "0.1.0", "--out", str(out), "--any-key"]) == 0
    raw = (out / "manifest.json").read_bytes()
    m = manifest.parse(raw, (out / "manifest.json.sig").read_bytes(), ns["KEYS"])
    assert m["version"] == "0.3.0" and all(f["path"].startswith("wildcam/") for f in m["files"])
    assert raw == tool.canonical(json.loads(raw))
    assert tool.main(["publish", str(out), "--to", str(tmp_path / "www" / "0.3.0")]) == 0
    assert (tmp_path / "www" / "0.3.0" / "wildcam" / "app.mpy").exists()
