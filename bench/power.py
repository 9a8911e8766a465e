"""`python -m bench power`: a standard battery day in the simulator, through the real App.

The day: 20 animal visits (PIR wakes) spread over 24 h, one 30-minute sync window
(06:00-06:30) in which the day's images and health reports are uploaded, heartbeats every
6 h, deep sleep in between. The board's energy model (host_sim.energy) integrates current
by state; we report mAh/day, the battery life on a 7,000 mAh pack for the modified board
(1.4 mA deep sleep) and the stock board (4.4 mA) from the same run's state times, and
which states dominate.
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

from bench.common import write_result

from host_sim import Simulation
from host_sim.fleet import battery_board
from host_sim.energy import MODIFIED_SLEEP_MA, STOCK_SLEEP_MA
from host_sim.scenes.base import Scene
from host_sim.scenes.elements import Animal

CAPACITY_MAH = 7000
TRIGGERS = 20


def standard_day(seed: int = 11, extra: dict | None = None) -> dict:
    rng = random.Random(seed)
    starts = sorted(rng.uniform(600, 86400 - 600) for _ in range(TRIGGERS))
    scene = Scene(seed, [Animal(t, size=rng.uniform(0.15, 0.35), speed=rng.uniform(0.08, 0.2))
                         for t in starts])
    with tempfile.TemporaryDirectory() as tmp, Simulation() as sim:
        b = battery_board(sim, tmp, scene, name="cam-p", extra=extra)
        b.power_on()
        sim.run_for(86400)
        b.account_energy()
        e = b.energy
        images = len(list(Path(b.sd.root, "DCIM").rglob("*.jpg")))
        uploaded = len(list(Path(tmp, "cloud", "cam-p").glob("*.jpg")))
        seconds = dict(e.seconds)
        report = e.report()
    mah = report["total_mah"]
    stock = mah + seconds.get("deep_sleep", 0) * (STOCK_SLEEP_MA - MODIFIED_SLEEP_MA) / 3600
    shares = {k: v["share"] for k, v in report["by_state"].items()}
    return {"mah_per_day": round(mah, 2), "battery_days": round(CAPACITY_MAH / mah, 1),
            "mah_per_day_stock_board": round(stock, 2),
            "battery_days_stock_board": round(CAPACITY_MAH / stock, 1),
            "capacity_mah": CAPACITY_MAH, "triggers": TRIGGERS, "images": images,
            "uploaded_same_day": uploaded,
            "awake_s": round(seconds.get("awake", 0) + seconds.get("awake_wifi", 0), 1),
            "radio_s": round(seconds.get("awake_wifi", 0), 1),
            "sleep_s": round(seconds.get("deep_sleep", 0), 1),
            "share_by_state": shares,
            "dominant_state": max(shares, key=shares.get) if shares else None}


LEAN = {"detect.fps": 8, "capture.burst_interval_ms": 250}


def run() -> dict:
    result = standard_day()
    lean = standard_day(extra=LEAN)  # the same day with the leanest sensible settings
    result["lean_settings"] = LEAN
    result["battery_days_lean"] = lean["battery_days"]
    result["mah_per_day_lean"] = lean["mah_per_day"]
    write_result("power", result)
    return result
