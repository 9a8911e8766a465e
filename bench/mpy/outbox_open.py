# Outbox open cost and RAM under real MicroPython (run by bench/outbox.py with
# host_sim.wasm.run_script; N_ITEMS and REPEATS are substituted there). Two queues are filled,
# with 10 and N_ITEMS pending image items; then for each: the time of one open
# (Outbox(...).open() and pending(), the counts ready), as the median over REPEATS rounds of
# BATCH opens each (the wasm build's ticks advance in whole milliseconds; the rounds
# alternate between the two queues), and the heap an opened outbox holds with its head item
# (gc.mem_alloc() delta). The wasm build collects garbage only when control returns to
# JavaScript, hence the `await asyncio.sleep_ms(0)` in settle().
import asyncio
import gc
import os
import time
from wildcam.queue.outbox import Outbox
from wildcam.core.storage import Storage

class P(Storage):
    def real(self, p):
        return "/tmp/bench" + p

def fill(n):
    box = Outbox(P(), root="/q%d" % n, max_bytes=1 << 40).open()
    for i in range(n):
        box.put("detection", route="media", media="/sd/DCIM/20260601/120000_B00001_%04d.jpg" % i,
                size=60000, sha256="ab" * 32, data={"trigger": "pir", "seq": 1, "of": 3})

async def settle():
    gc.collect()
    await asyncio.sleep_ms(0)
    gc.collect()

os.mkdir("/tmp/bench")
fill(10)
fill(N_ITEMS)
BATCH = 100
held = {}
samples = {10: [], N_ITEMS: []}
for _ in range(REPEATS):
    for n in (10, N_ITEMS):
        t0 = time.ticks_ms()
        for _ in range(BATCH):
            box = Outbox(P(), root="/q%d" % n, max_bytes=1 << 40).open()
            count = box.pending()
        samples[n].append(time.ticks_diff(time.ticks_ms(), t0) * 1000 // BATCH)
        assert count == n
        box = None
open_us = {}
for n in (10, N_ITEMS):
    samples[n].sort()
    open_us[n] = samples[n][len(samples[n]) // 2]
    await settle()
    before = gc.mem_alloc()
    box = Outbox(P(), root="/q%d" % n, max_bytes=1 << 40).open()
    head = box.next()
    await settle()
    held[n] = gc.mem_alloc() - before
    assert box.pending() == n and head is not None
    box = head = None
print("RAM", held[10], held[N_ITEMS])
print("OPEN", open_us[10], open_us[N_ITEMS])
