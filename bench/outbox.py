"""`python -m bench outbox`: the durable outbox against SQLite (WAL, synchronous=FULL).

Measured in one run, same records, one durable transaction per enqueue and per ack:
- enqueue and ack throughput (CPython, host filesystem),
- bytes written per item: ours counted at the Storage layer and by /proc/self/io (wchar);
  SQLite's by /proc/self/io (its WAL frames, checkpoints and database pages),
- RAM per queued item under real MicroPython (wasm build): gc.mem_alloc() with the outbox
  recovered over 10 and over N pending items; the difference divided by the extra items;
- open cost: the median time of `Outbox(...).open()` plus `pending()` (counts ready) with 10
  and with 10,000 pending image items, on CPython and under real MicroPython (wasm); the
  ratio is the figure (opening must not grow with the queue: it runs before the first frame
  of a PIR wake). Script for MicroPython: bench/mpy/outbox_open.py.
"""
from __future__ import annotations

import sqlite3
import tempfile
import time

from bench.common import ROOT, DirStorage, io_written, write_result

from wildcam.queue.outbox import Outbox

SHA = "ab" * 32


def _item(i: int) -> dict:
    return {"kind": "detection", "route": "media", "size": 60000, "sha256": SHA,
            "media": "/sd/DCIM/20260601/120000_B00001_%04d.jpg" % i,
            "data": {"trigger": "pir", "seq": i % 3 + 1, "of": 3}}


def ours(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        st = DirStorage(tmp)
        box = Outbox(st, root="/q", max_bytes=1 << 40).open()
        w0, t0 = io_written(), time.perf_counter()
        for i in range(n):
            box.put(**_item(i))
        t1 = time.perf_counter()
        enq_bytes = st.bytes
        done = 0
        while True:
            item = box.next()
            if item is None:
                break
            box.done(item)
            done += 1
        t2 = time.perf_counter()
        assert done == n
        return {"enqueue_per_s": round(n / (t1 - t0)), "ack_per_s": round(n / (t2 - t1)),
                "flash_bytes_per_item": round(st.bytes / n, 1),
                "enqueue_bytes_per_item": round(enq_bytes / n, 1),
                "wchar_per_item": round((io_written() - w0) / n, 1)}


def sqlite(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(f"{tmp}/outbox.db", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, key TEXT UNIQUE, kind TEXT,"
                    " created INTEGER, media TEXT, size INTEGER, sha256 TEXT, data TEXT)")
        w0, t0 = io_written(), time.perf_counter()
        for i in range(n):
            it = _item(i)
            con.execute("INSERT INTO outbox (key, kind, created, media, size, sha256, data)"
                        " VALUES (?,?,?,?,?,?,?)",
                        (f"cam-1-{i}", it["kind"], 1780315200 + i, it["media"], it["size"],
                         it["sha256"], str(it["data"])))
        t1 = time.perf_counter()
        for (rowid,) in con.execute("SELECT id FROM outbox ORDER BY id").fetchall():
            con.execute("DELETE FROM outbox WHERE id=?", (rowid,))
        t2 = time.perf_counter()
        con.close()
        return {"enqueue_per_s": round(n / (t1 - t0)), "ack_per_s": round(n / (t2 - t1)),
                "bytes_per_item": round((io_written() - w0) / n, 1)}


def open_ms(sizes: tuple, rounds: int = 9, batch: int = 50) -> dict:
    """Median ms of open() + pending() of outboxes holding `sizes` pending image items (the
    same rounds alternate between them, so machine noise hits both alike)."""
    with tempfile.TemporaryDirectory() as tmp:
        st = DirStorage(tmp)
        for n in sizes:
            box = Outbox(st, root="/q%d" % n, max_bytes=1 << 40).open()
            for i in range(n):
                box.put(**_item(i))
        samples: dict = {n: [] for n in sizes}
        for _ in range(rounds):
            for n in sizes:
                t0 = time.perf_counter()
                for _ in range(batch):
                    count = Outbox(st, root="/q%d" % n, max_bytes=1 << 40).open().pending()
                samples[n].append((time.perf_counter() - t0) / batch)
                assert count == n
        return {n: round(sorted(v)[len(v) // 2] * 1000, 3) for n, v in samples.items()}


def micropython_ram_and_open(n: int, repeats: int = 9) -> dict:
    from host_sim import wasm

    code = (ROOT / "bench" / "mpy" / "outbox_open.py").read_text()
    code = code.replace("N_ITEMS", str(n)).replace("REPEATS", str(repeats))
    proc = wasm.run_script(code, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"MicroPython run failed:\n{proc.stdout}\n{proc.stderr}")
    lines = proc.stdout.splitlines()
    ram = [ln for ln in lines if ln.startswith("RAM ")][-1]
    opened = [ln for ln in lines if ln.startswith("OPEN ")][-1]
    small, large = (int(x) for x in ram.split()[1:])
    us_small, us_large = (int(x) for x in opened.split()[1:])
    return {"mpy_heap_outbox_10": small, f"mpy_heap_outbox_{n}": large,
            "ram_bytes_per_extra_item": round(max(0, large - small) / (n - 10), 3),
            "mpy_open_ms_10": round(us_small / 1000, 2), f"mpy_open_ms_{n}": round(us_large / 1000, 2),
            f"mpy_open_ratio_{n}_vs_10": round(us_large / us_small, 3)}


def run(n: int = 2000, ram_items: int = 10000) -> dict:
    o, s = ours(n), sqlite(n)
    result = {"items": n, **o,
              "sqlite_flash_bytes_per_item": s["bytes_per_item"],
              "sqlite_enqueue_per_s": s["enqueue_per_s"], "sqlite_ack_per_s": s["ack_per_s"],
              "flash_bytes_vs_sqlite": round(o["wchar_per_item"] / s["bytes_per_item"], 4)}
    opened = open_ms((10, ram_items))
    small, large = opened[10], opened[ram_items]
    result.update({"open_ms_10": small, f"open_ms_{ram_items}": large,
                   f"open_ratio_{ram_items}_vs_10": round(large / small, 3)})
    result.update(micropython_ram_and_open(ram_items))
    write_result("outbox", result)
    return result
