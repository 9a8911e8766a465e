"""`python -m bench power`: battery life from an honest standard day, run through the real
App in the simulator, for each board preset, against a baseline measured in the same run.

The day (repeated for DAYS days so the queue reaches steady state; the first day is warm-up
and not counted): 20 animal visits (PIR wakes), 6 h of wind with false PIR pulses, night
from 20:00 to 06:00 (the flash/IR LED lights for night captures), one sync window
(06:00-06:30) that uploads the day's images over TLS, heartbeats every 6 h, deep sleep in
between. The board's energy model (host_sim/energy.py) integrates current by state and
counts the per-event costs the simulator does not spend as time; the same run's state times
and counts are priced with the low, central and high figures (each with its source in
docs/POWER.md), and the battery (7,000 mAh) with usable capacity, self-discharge and a
temperature factor.

Also for the modified board: the same day with an access point that never answers
(`no_network`: what a camera out of range pays; wildcam.net.radiohold).

Reported per preset: battery_days low/central/high, battery_days_floor (the board only
sleeping at its floor), awake_share (charge spent awake or in light sleep / total charge per
day: the part the firmware controls), sleep_ma. Baseline: the same days with the firmware
that does not hold the camera's power-down pin through deep sleep (as before issue 21), so
the gain is a ratio measured in one run.
"""
from __future__ import annotations

import contextlib
import random
import tempfile
from pathlib import Path

from bench.common import write_result

from host_sim import Simulation
from host_sim import constants as C
from host_sim.constants import DEFAULT_EPOCH
from host_sim.energy import AWAKE, CAPACITY_MAH, CENTRAL, HIGH, LOW, PER_EVENT_S, floor_ma
from host_sim.energy import battery_days as energy_days
from host_sim.energy import price as energy_price
from host_sim.fleet import PASSWORD, SSID, battery_board
from host_sim.hw.wifi import WifiModel
from host_sim.netcost import NetModel
from host_sim.scenes.base import Scene
from host_sim.scenes.elements import Animal, Wind
from host_sim.scenes.kinds import daylight

TRIGGERS = 20
WIND_HOURS = 6
DAYS = 4  # day 1 is warm-up; days 2..4 are measured
PRESETS = ("ai-thinker-mod", "ai-thinker")
SEED = 11
HELD_OUT_SEED = 23  # another day's visits and wind: the figures must not hang on one seed
SYNC_WINDOWS = 1  # host_sim.fleet.BATTERY_DAY: 06:00-06:30
# a trail-camera profile a user may choose: one JPEG a trigger, no motion check (every
# trigger kept, wind's too): what the same day costs without the survey defaults' burst of
# 3 and look window. Priced with the default wake's measured boot work (an over-estimate:
# it does fewer saves and imports no detector).
LEAN = {"capture.burst_count": 1, "detect.enabled": False}


def standard_scene(seed: int, days: int) -> Scene:
    rng = random.Random(seed)
    els = []
    for d in range(days):
        base = d * 86400.0
        for _ in range(TRIGGERS):
            els.append(Animal(base + rng.uniform(600, 86400 - 600), size=rng.uniform(0.15, 0.35),
                              speed=rng.uniform(0.08, 0.2), direction=rng.choice((1, -1))))
        for k in range(3):  # 3 windy spells of 2 h: 6 h of wind a day
            s = base + k * 28800.0 + rng.uniform(0, 28800.0 - WIND_HOURS / 3 * 3600)
            els.append(Wind(s, s + WIND_HOURS / 3 * 3600, strength=rng.uniform(0.3, 0.8),
                            false_pir_per_hour=rng.uniform(2, 6), seed=rng.randint(0, 10**6)))
    day = daylight(DEFAULT_EPOCH)
    return Scene(seed, els, brightness=day, ir_level=0.45,
                 noise=lambda t: 2.0 + 12.0 * (1.0 - min(1.0, day(t) / 0.7)))


def _snapshot(b) -> dict:
    b.account_energy()
    e = b.energy
    return {"seconds": dict(e.seconds), "events": dict(e.events),
            "boots": b.generation, "led_s": b.led_on_seconds()}


def _delta(a: dict, b: dict) -> dict:
    return {"seconds": {k: v - a["seconds"].get(k, 0.0) for k, v in b["seconds"].items()},
            "events": {k: v - a["events"].get(k, 0) for k, v in b["events"].items()},
            "boots": b["boots"] - a["boots"], "led_s": b["led_s"] - a["led_s"]}


@contextlib.contextmanager
def _without_hold():
    """The baseline firmware: no pad hold before deep sleep (main before issue 21)."""
    import wildcam.core.board

    keep = wildcam.core.board.hold_pins
    wildcam.core.board.hold_pins = lambda pwdn, led: None
    try:
        yield
    finally:
        wildcam.core.board.hold_pins = keep


def simulate(variant: str, seed: int = SEED, days: int = DAYS, hold: bool = True,
             network: bool = True, extra: dict | None = None) -> dict:
    """Per-day state seconds and event counts of days 2..`days` (steady state); `network`
    False: the access point never answers (out of range, switched off); `extra`: config
    keys over the preset's defaults."""
    scene = standard_scene(seed, days)
    wifi = None if network else WifiModel(SSID, PASSWORD, outcome="no_ap")
    with tempfile.TemporaryDirectory() as tmp, Simulation() as sim, \
            (contextlib.nullcontext() if hold else _without_hold()):
        b = battery_board(sim, tmp, scene, name="cam-p", variant=variant, wifi=wifi,
                          extra=extra)
        ledger = _ledger(b)
        b.power_on()
        sim.run_for(86400)
        first = _snapshot(b)
        sim.run_for((days - 1) * 86400)
        d = _delta(first, _snapshot(b))
        images = len(list(Path(b.sd.root, "DCIM").rglob("*.jpg")))
        sent = [p for p in Path(tmp, "cloud", "cam-p").rglob("*") if p.is_file()]
        uploaded = sum(1 for p in sent if p.suffix == ".jpg")
        sent_bytes = sum(p.stat().st_size for p in sent)
        wake_s = _awake_by_wake(b, ledger, first_day_end=86400.0, days=days - 1)
        false_wakes = sum(1 for s, e in scene._pir if s < days * 86400) - TRIGGERS * days
    n = days - 1
    return {"seconds": {k: v / n for k, v in d["seconds"].items()},
            "events": {k: v / n for k, v in d["events"].items()},
            "wakes_per_day": d["boots"] / n, "led_s_per_day": d["led_s"] / n,
            "images_per_day": images / days, "uploaded_per_day": uploaded / days,
            "items_sent_per_day": len(sent) / days, "bytes_sent_per_day": sent_bytes / days,
            "awake_s_by_wake": wake_s,
            "pir_pulses_not_animals_per_day": max(0, false_wakes) / days}


def _ledger(b) -> list:
    """Every charge the board's energy model books, with the virtual time it was booked at:
    (t, "state" or "event", name, seconds or count). A charge for an interval is booked at
    its end, so it falls in the wake (or sleep) it belongs to."""
    rows: list = []
    e = b.energy
    account, count = e.account, e.count

    def booked_account(seconds, state):
        rows.append((round(b.now, 6), "state", state, seconds))  # as Board.log rounds
        return account(seconds, state)

    def booked_count(event, n=1):
        rows.append((round(b.now, 6), "event", event, n))
        return count(event, n)

    e.account, e.count = booked_account, booked_count
    return rows


def _awake_by_wake(b, ledger: list, first_day_end: float, days: int) -> dict:
    """By what woke the board (the firmware's part), over the measured days: wakes a day,
    mean seconds from boot to deep sleep, and where each wake's charge goes at the central
    figures (mAh a day: awake without and with the radio, the flash LED, the boot and camera
    start charged per event)."""
    names = {C.EXT0_WAKE: "pir", C.TIMER_WAKE: "timer", C.NO_WAKE: "power_on"}
    spans = []
    start = None
    for t, kind, d in b.events:
        if kind == "boot":
            start = (t, names.get(d["wake"], str(d["wake"])))
        elif kind == "deepsleep" and start is not None:
            if t > first_day_end:  # a wake under way at the boundary: its measured part
                spans.append((start[0], t, start[1]))
            start = None
    out: dict = {}
    for t0, t1, kind in spans:
        o = out.setdefault(kind, {"wakes": 0, "awake_s": 0.0, "led_s": 0.0, "mah": {}})
        o["wakes"] += 1
        o["awake_s"] += t1 - t0
    i = 0
    rows = sorted(r for r in ledger if r[0] > first_day_end)
    for t, what, name, amount in rows:
        while i < len(spans) and spans[i][1] < t:
            i += 1
        if i == len(spans) or not spans[i][0] <= t <= spans[i][1]:
            continue  # asleep or off
        o = out[spans[i][2]]
        if what == "state":
            if name.startswith("deep_sleep") or name == "off":
                continue
            if name == "flash_led":
                o["led_s"] += amount
            # light sleep (the firmware's wait for the PIR to fall): the board's own figure
            ma = b.energy.table[name] if name.startswith("light_sleep") else AWAKE[name][CENTRAL]
            mah = amount * ma / 3600
            key = name
        else:
            state = "awake_wifi" if name == "tls" else "awake"
            mah = amount * PER_EVENT_S[name][CENTRAL] * AWAKE[state][CENTRAL] / 3600
            key = "event_" + name
        o["mah"][key] = o["mah"].get(key, 0.0) + mah
    for o in out.values():
        n = o["wakes"]
        o["wakes_per_day"] = round(n / days, 1)
        o["mean_s"] = round(o.pop("awake_s") / n, 2)
        o["led_s_per_wake"] = round(o.pop("led_s") / n, 2)
        o["mah_per_day"] = {k: round(v / days, 3) for k, v in sorted(o.pop("mah").items())}
        o["mah_per_day_total"] = round(sum(o["mah_per_day"].values()), 2)
        o["mah_per_wake"] = round(o["mah_per_day_total"] / (n / days), 4)
        del o["wakes"]
    return out


def network(run: dict, which: int) -> dict:
    """The uploads priced as over TLS: the simulator's battery board sends to a local sink
    (no network), so the window's TLS handshakes and the bytes at the link rate are charged
    here with host_sim.netcost's figures: one kept-alive connection per window (central and
    optimistic), one handshake per item (pessimistic)."""
    m = NetModel()
    handshakes = run["items_sent_per_day"] if which == HIGH else SYNC_WINDOWS
    tls_s = handshakes * (m.tls_cpu_s + 2 * m.rtt_s + PER_EVENT_S["tls"][which])
    send_s = run["bytes_sent_per_day"] / m.tls_bps
    ma = AWAKE["awake_wifi"][which]
    return {"net_tls_handshakes": tls_s * ma / 3600, "net_upload": send_s * ma / 3600}


def price(run: dict, variant: str, which: int, sd_card: bool = True) -> dict:
    """mAh per day by part, with the `which` (LOW/CENTRAL/HIGH) current figures
    (host_sim.energy.price) plus the network as over TLS."""
    parts = energy_price(run["seconds"], run["events"], variant, which, sd_card)
    parts.update(network(run, which))
    return parts


def battery_days(mah_per_day: float, case: int) -> float:
    return energy_days(mah_per_day, case, CAPACITY_MAH)


def figures(run: dict, variant: str, sd_card: bool = True) -> dict:
    # low days = high currents and the pessimistic battery; high days = the reverse
    central = price(run, variant, CENTRAL, sd_card)
    worst, best = price(run, variant, HIGH, sd_card), price(run, variant, LOW, sd_card)
    total = sum(central.values())
    asleep = sum(v for k, v in central.items() if k.startswith("deep_sleep"))
    sleep_s = sum(run["seconds"].get(k, 0) for k in ("deep_sleep", "deep_sleep_cam_on"))
    return {
        "mah_per_day": round(total, 2),
        "battery_days_central": round(battery_days(total, CENTRAL), 1),
        "battery_days_low": round(battery_days(sum(worst.values()), LOW), 1),
        "battery_days_high": round(battery_days(sum(best.values()), HIGH), 1),
        "battery_days_floor": round(battery_days(floor_ma(variant, sd_card) * 24, CENTRAL), 1),
        "awake_share": round((total - asleep) / total, 3),
        "sleep_ma": round(asleep / (sleep_s / 3600), 3) if sleep_s else None,
        "floor_ma": round(floor_ma(variant, sd_card), 3),
        "awake_s_per_day": round(sum(run["seconds"].get(k, 0) for k in ("awake", "awake_wifi")), 1),
        "radio_s_per_day": round(run["seconds"].get("awake_wifi", 0), 1),
        # firmware-chosen, so on the awake side of awake_share (not the sleep floor)
        "light_sleep_s_per_day": round(sum(run["seconds"].get(k, 0) for k in (
            "light_sleep", "light_sleep_cam_on")), 1),
        "mah_per_day_by_part": {k: round(v, 3) for k, v in sorted(central.items()) if v},
    }


def run() -> dict:
    result: dict = {"capacity_mah": CAPACITY_MAH, "triggers_per_day": TRIGGERS,
                    "wind_hours_per_day": WIND_HOURS, "days_measured": DAYS - 1,
                    "presets": {}}
    for variant in PRESETS:
        sim_run = simulate(variant)
        base_run = simulate(variant, hold=False)
        f = figures(sim_run, variant)
        base = figures(base_run, variant)
        f.update({k: round(v, 1) for k, v in sim_run.items() if not isinstance(v, dict)})
        f["awake_s_by_wake"] = sim_run["awake_s_by_wake"]
        f["events_per_day"] = {k: round(v, 1) for k, v in sim_run["events"].items()}
        f["baseline_without_hold"] = {k: base[k] for k in (
            "battery_days_central", "battery_days_low", "battery_days_high", "sleep_ma",
            "awake_share", "mah_per_day")}
        no_sd = figures(sim_run, variant, sd_card=False)  # the same run priced without a card
        f["without_sd_card"] = {k: no_sd[k] for k in (
            "battery_days_central", "battery_days_low", "battery_days_high", "floor_ma")}
        f["gain_vs_baseline"] = round(f["battery_days_central"] /
                                      base["battery_days_central"], 2)
        result["presets"][variant] = f
    mod = result["presets"]["ai-thinker-mod"]
    other = figures(simulate("ai-thinker-mod", seed=HELD_OUT_SEED), "ai-thinker-mod")
    mod["held_out_seed"] = {"seed": HELD_OUT_SEED, **{k: other[k] for k in (
        "battery_days_central", "battery_days_low", "battery_days_high", "awake_share")}}
    cut = figures(simulate("ai-thinker-mod", network=False), "ai-thinker-mod")
    mod["no_network"] = {k: cut[k] for k in (  # the same day, the access point never there
        "battery_days_central", "battery_days_low", "battery_days_high", "awake_share",
        "mah_per_day", "radio_s_per_day")}
    lean_run = simulate("ai-thinker-mod", extra=LEAN)
    lean = figures(lean_run, "ai-thinker-mod")
    mod["lean_profile"] = {"config": LEAN, "images_per_day": round(lean_run["images_per_day"], 1),
                           **{k: lean[k] for k in (
                               "battery_days_central", "battery_days_low", "battery_days_high",
                               "awake_share", "mah_per_day", "mah_per_day_by_part")}}
    for k in ("battery_days_central", "battery_days_low", "battery_days_high", "awake_share",
              "sleep_ma", "battery_days_floor", "mah_per_day", "gain_vs_baseline"):
        result[k] = mod[k]  # the headline keys: the modified board
    result["central_vs_floor"] = round(mod["battery_days_central"] / mod["battery_days_floor"], 3)
    result["battery_days_central_no_network"] = mod["no_network"]["battery_days_central"]
    result["battery_days_central_lean"] = mod["lean_profile"]["battery_days_central"]
    result["awake_share_lean"] = mod["lean_profile"]["awake_share"]
    result["central_vs_floor_lean"] = round(mod["lean_profile"]["battery_days_central"] /
                                            mod["battery_days_floor"], 3)
    stock = result["presets"]["ai-thinker"]
    for k in ("battery_days_central", "battery_days_low", "battery_days_high"):
        result[k + "_stock"] = stock[k]
    write_result("power", result)
    return result
