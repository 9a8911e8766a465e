"""`python -m bench drain`: emptying the queue after a 1-hour WiFi outage on a capped link.

The firmware's own outbox (wildcam.queue.outbox.Outbox on a temp folder) and sync engine
(wildcam.queue.sync.SyncEngine) run in virtual time (host_sim.Simulation), so an hour of captures
and the drain afterwards take seconds of real time.

- Outage: for one simulated hour the link is down while a camera keeps working: a burst of 3
  images (40-70 KB each) plus an event record every 20 s, a health report every 5 minutes:
  about 720 queued items.
- Link: a physical model in the destination: it reads each image from the card in 4 KB
  chunks, accounts the bytes, and takes size / bandwidth plus one round trip (`RTT_S`: the
  PUT's response or the MQTT PUBACK) of virtual time. Utilisation therefore measures how well
  the engine keeps the link busy (idle gaps, one round trip per item).
- Separately, the engine's own byte cap (`SyncEngine.wrap(dest, bytes_per_s=...)`, config
  `sync.rate_kbps`) over an instant link: `engine_cap_ratio` = achieved rate / cap, which
  must stay <= 1.0 if the cap holds.
- At the hour the link comes up (the engine is kicked, as `Link.on_up` does on a board);
  the drain ends when the outbox is empty.

Figures: `drain_s` (link up -> queue empty), `link_utilisation` = bytes delivered /
(cap x drain_s), `lost` = items queued but never delivered (dead letters included),
`duplicates` = deliveries of an item beyond its first, for the headline cap (145 KB/s, the
WildCAM_ESP32 anchor's upload rate) and for a slow and a fast link.
"""
from __future__ import annotations

import asyncio
import hashlib
import random
import tempfile

from bench.common import DirStorage, FakeLink, QuietLog, write_result

from host_sim import Simulation
from wildcam.queue.outbox import Outbox
from wildcam.queue.sync import Route, SyncEngine

EPOCH = 1780272000
OUTAGE_S = 3600
BURST_EVERY_S = 20
HEALTH_EVERY_S = 300
RTT_S = 0.05
HEADLINE_BPS = 145 * 1024
CAPS = (32 * 1024, HEADLINE_BPS, 512 * 1024)




class Uplink:
    """A destination that reads what it sends (media from the card) and accounts it."""

    name = "uplink"

    def __init__(self, bytes_per_s=0, rtt_s=RTT_S):
        self.bps = bytes_per_s
        self.rtt = rtt_s
        self.bytes = 0
        self.seen: dict = {}

    async def send(self, item, storage):
        n = 0
        if item.media:
            with storage.open(item.media, "rb") as f:
                while True:
                    chunk = f.read(4096)
                    if not chunk:
                        break
                    n += len(chunk)
            if n != item.size:
                raise OSError("short read %d != %d" % (n, item.size))
        else:
            n = len(repr(item.data)) + 64
        await asyncio.sleep((n / self.bps if self.bps else 0) + self.rtt)
        self.bytes += n
        self.seen[item.key] = self.seen.get(item.key, 0) + 1
        return n


def one_run(bytes_per_s: int, seed: int = 5, rtt_s: float = RTT_S,
            engine_cap: bool = False) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp, Simulation() as sim:
        st = DirStorage(tmp)
        st.makedirs("/sd/DCIM/20260601")
        box = Outbox(st, root="/sd/outbox", max_bytes=1 << 40,
                     now=lambda: EPOCH + int(sim.now), key_prefix="cam-d-").open()
        link = FakeLink(up=False)
        if engine_cap:  # instant link, the engine's byte cap does the pacing
            up = Uplink(0, 0.0)
            dest = SyncEngine.wrap(up, bytes_per_s=bytes_per_s)
        else:
            up = Uplink(bytes_per_s, rtt_s)
            dest = up
        eng = SyncEngine(box, [Route("media", ["uplink"]), Route("events", ["uplink"]),
                               Route("default", ["uplink"])], [dest], QuietLog(), link=link,
                         now=lambda: EPOCH + int(sim.now))
        keys = []

        async def camera():
            t = 0
            n = 0
            while t < OUTAGE_S:
                for i in range(3):
                    n += 1
                    size = rng.randint(40_000, 70_000)
                    path = "/sd/DCIM/20260601/%06d_B00001_%04d.jpg" % (t, n)
                    data = rng.randbytes(size)
                    with st.open(path, "wb") as f:
                        f.write(data)
                    key = "img-%d" % n
                    box.put("detection", route="media", media=path, size=size,
                            sha256=hashlib.sha256(data).hexdigest(), key=key,
                            data={"trigger": "pir", "seq": i + 1, "of": 3})
                    keys.append(key)
                box.put("detection", route="events", data={"event": t, "score": 0.8},
                        key="ev-%d" % t)
                keys.append("ev-%d" % t)
                if t % HEALTH_EVERY_S == 0:
                    box.put("health", route="events", data={"heap": 90000, "t": t},
                            key="hb-%d" % t)
                    keys.append("hb-%d" % t)
                eng.kick()
                await asyncio.sleep(BURST_EVERY_S)
                t += BURST_EVERY_S

        async def main():
            runner = asyncio.ensure_future(eng.run())
            await camera()
            queued = box.pending()
            queued_bytes = box.pending_bytes()
            link.is_up = True
            eng.kick()
            t0 = sim.now
            while box.pending():
                await asyncio.sleep(0.05)
            drain = sim.now - t0
            runner.cancel()
            try:
                await runner
            except asyncio.CancelledError:
                pass
            return queued, queued_bytes, drain

        queued, queued_bytes, drain = sim.run(main())
        stats = eng.stats()
        seen = up.seen
        lost = len([k for k in keys if k not in seen])
        dup = sum(c - 1 for c in seen.values())
    return {"bytes_per_s": bytes_per_s, "queued_items": queued, "queued_bytes": queued_bytes,
            "delivered": stats["delivered"], "dead": stats["dead"], "retried": stats["retried"],
            "lost": lost + stats["dead"], "duplicates": dup, "drain_s": round(drain, 1),
            "bytes_sent": up.bytes,
            "link_utilisation": round(up.bytes / (bytes_per_s * drain), 3) if drain else None}


def run() -> dict:
    runs = {c: one_run(c) for c in CAPS}
    head = runs[HEADLINE_BPS]
    no_rtt = one_run(HEADLINE_BPS, rtt_s=0.0)
    cap = one_run(HEADLINE_BPS, engine_cap=True)
    result = {"outage_s": OUTAGE_S, "rtt_s": RTT_S, "cap_bytes_per_s": HEADLINE_BPS,
              "link_utilisation_rtt0": no_rtt["link_utilisation"],
              "engine_cap_ratio": cap["link_utilisation"], "engine_cap_drain_s": cap["drain_s"],
              "queued_items": head["queued_items"], "queued_bytes": head["queued_bytes"],
              "drain_s": head["drain_s"], "link_utilisation": head["link_utilisation"],
              "lost": max(r["lost"] for r in runs.values()),
              "duplicates": sum(r["duplicates"] for r in runs.values()),
              "by_cap": {str(c): {k: r[k] for k in ("drain_s", "link_utilisation", "lost",
                                                     "duplicates", "retried")}
                         for c, r in runs.items()}}
    write_result("drain", result)
    print(f"  without round trips: utilisation {no_rtt['link_utilisation']}; engine byte cap "
          f"alone: achieved/cap = {cap['link_utilisation']} (must be <= 1.0)")
    for c, r in runs.items():
        print(f"  cap {c // 1024:4d} KB/s: {r['queued_items']} items "
              f"({r['queued_bytes'] // 1024} KB) drained in {r['drain_s']} s, "
              f"utilisation {r['link_utilisation']}, lost {r['lost']}, dup {r['duplicates']}")
    return result
