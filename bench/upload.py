"""Upload benchmark: our board HTTP client vs the CPython references on the same servers.

`python -m bench upload` starts s3rver and azurite on loopback (npm packages from
scripts/setup.sh), uploads the same files (1 MB and 10 MB) with
- S3: wildcam.dest.s3.S3Dest (SigV4, payload hash from the outbox record) vs boto3
  `put_object`;
- Azure: wildcam.dest.azure.AzureDest (SharedKey; blocks above 4 MB) vs azure-storage-blob
  `upload_blob`;
and reports throughput (best of ROUNDS, alternating) and the peak traced allocation
(tracemalloc) of each; plus the peak heap of our client under real MicroPython (wasm, over an
in-memory socket) for 100 KB and 1 MB bodies (bench/mpy/upload_heap.py). Targets: peak heap
<= chunk + 8 KB whatever the size; loopback throughput >= 0.8x the reference.
In the same run, our HTTP client beside micropython-lib's urequests under real MicroPython
(bench/clients.py: peak heap on the wasm build and on a 110 KB unix-port heap, stalled
server, TLS), printed side by side.
Writes bench/results/upload.json.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import tempfile
import time
import tracemalloc

from bench import clients
from bench.common import ROOT, Storage, write_result

sys.path.insert(0, str(ROOT / "tests" / "services"))
import cloudsrv  # noqa: E402

SIZES = (1_000_000, 10_000_000)
ROUNDS = 7
CHUNK = 16384  # the board default is 4096 (wildcam.dest.media.CHUNK); see docs/CLOUD.md


class _Dir(Storage):
    def __init__(self, root):
        self.root = root

    def real(self, path):
        return self.root + path


class _Item:
    def __init__(self, key, media, size, sha256):
        self.key, self.media, self.size, self.sha256 = key, media, size, sha256
        self.kind, self.data, self.created = "detection", {"score": 0.9}, int(time.time())


def _files(root):
    os.makedirs(root + "/sd/DCIM/B", exist_ok=True)
    out = []
    for size in SIZES:
        path = "/sd/DCIM/B/f%d.jpg" % size
        data = os.urandom(size)
        with open(root + path, "wb") as f:
            f.write(data)
        out.append(_Item("bench-%d" % size, path, size, hashlib.sha256(data).hexdigest()))
    return out


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _peak(fn):
    """Peak traced allocation of fn(). CPython's asyncio transport reads up to 256 KB per
    recv() into a fresh bytes object (`max_size`), where a board reads into the connection's
    512-byte buffer; that read size is set to 4 KB here, as in tests/services/
    test_cloud_memory.py, so the figure is about the firmware's code (boto3 and the Azure SDK
    use blocking sockets and are unaffected)."""
    from asyncio import selector_events

    saved = selector_events._SelectorSocketTransport.max_size
    selector_events._SelectorSocketTransport.max_size = 4096
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        selector_events._SelectorSocketTransport.max_size = saved


def _race(items, ours, ref):
    """Throughput: best time per file over ROUNDS (sides alternating), untraced (tracemalloc
    slows Python code by its allocation count); peak: one traced run per file and side."""
    ours(items[0])  # warm up: imports, connections, first-call caches
    ref(items[0])
    best = {"ours": [1e9] * len(items), "ref": [1e9] * len(items)}
    for _ in range(ROUNDS):
        for i, it in enumerate(items):
            for side, fn in (("ours", ours), ("ref", ref)):
                best[side][i] = min(best[side][i], _timed(lambda: fn(it)))
    peak = {"ours": max(_peak(lambda: ours(it)) for it in items),
            "ref": max(_peak(lambda: ref(it)) for it in items)}
    total = sum(it.size for it in items)
    mbps = {s: total / sum(best[s]) / 1e6 for s in best}
    return mbps, peak


def s3_figures(items, root):
    from wildcam.dest.s3 import S3Dest
    from wildcam.net.http import HTTP

    srv = cloudsrv.S3rver().start()
    loop = asyncio.new_event_loop()
    try:
        st = _Dir(root)
        dest = S3Dest(HTTP(timeout_s=30), srv.endpoint, "traps", srv.region, srv.access,
                      srv.secret, device="bench", key_template="ours/{name}.{ext}",
                      now=time.time, chunk=CHUNK)
        client = srv.boto3()

        def ours(it):
            loop.run_until_complete(dest.send(it, st))

        def ref(it):
            with open(root + it.media, "rb") as f:
                client.put_object(Bucket="traps", Key="ref/%s.jpg" % it.key, Body=f,
                                  ContentType="image/jpeg", Metadata={"sha256": it.sha256})

        return _race(items, ours, ref)
    finally:
        loop.close()
        srv.stop()


def azure_figures(items, root):
    from wildcam.dest.azure import AzureDest
    from wildcam.net.http import HTTP

    srv = cloudsrv.Azurite().start()
    loop = asyncio.new_event_loop()
    try:
        container = srv.container()
        st = _Dir(root)
        dest = AzureDest(HTTP(timeout_s=30), srv.endpoint, cloudsrv.AZ_CONTAINER,
                         account_key=srv.key, device="bench", key_template="ours/{name}.{ext}",
                         now=time.time, chunk=CHUNK)

        def ours(it):
            loop.run_until_complete(dest.send(it, st))

        def ref(it):
            with open(root + it.media, "rb") as f:
                container.upload_blob("ref/%s.jpg" % it.key, f, length=it.size, overwrite=True,
                                      metadata={"sha256": it.sha256})

        return _race(items, ours, ref)
    finally:
        loop.close()
        srv.stop()


def mpy_heaps(chunk=CHUNK):
    from host_sim import wasm

    code = (ROOT / "bench" / "mpy" / "upload_heap.py").read_text()
    code = code.replace("SIZES", "(102400, 1048576)").replace("CHUNK", str(chunk))
    r = wasm.run_script(code, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("MicroPython run failed:\n%s\n%s" % (r.stdout, r.stderr))
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("PEAK ")][-1]
    a, b = (int(x) for x in line.split()[1:3])
    return a, b


def run() -> dict:
    why = cloudsrv.missing()
    if why:
        raise RuntimeError(why)
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as root:
        items = _files(root)
        s3_mbps, s3_peak = s3_figures(items, root)
        az_mbps, az_peak = azure_figures(items, root)
    h100, h1m = mpy_heaps()
    b100, b1m = mpy_heaps(4096)  # the board's default chunk
    result = {
        "chunk_size": CHUNK,
        "sizes": list(SIZES),
        "rounds": ROUNDS,
        "mpy_peak_heap_100k": h100,
        "mpy_peak_heap_1m": h1m,
        "mpy_heap_target": CHUNK + 8192,
        "mpy_heap_over_chunk_max": max(h100, h1m) - CHUNK,
        "mpy_peak_heap_100k_chunk4k": b100,
        "mpy_peak_heap_1m_chunk4k": b1m,
        "s3_ours_mb_s": round(s3_mbps["ours"], 2),
        "s3_boto3_mb_s": round(s3_mbps["ref"], 2),
        "throughput_ratio_s3": round(s3_mbps["ours"] / s3_mbps["ref"], 3),
        "s3_ours_peak_bytes": s3_peak["ours"],
        "s3_boto3_peak_bytes": s3_peak["ref"],
        "azure_ours_mb_s": round(az_mbps["ours"], 2),
        "azure_sdk_mb_s": round(az_mbps["ref"], 2),
        "throughput_ratio_azure": round(az_mbps["ours"] / az_mbps["ref"], 3),
        "azure_ours_peak_bytes": az_peak["ours"],
        "azure_sdk_peak_bytes": az_peak["ref"],
    }
    result.update(clients.run(CHUNK))
    write_result("upload", result)
    print("\nour client vs urequests under real MicroPython (%d B chunks; bench/clients.py)"
          % CHUNK)
    print(clients.table(result))
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
