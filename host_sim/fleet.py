"""A simulated fleet day: boards with the real firmware, scripted faults, and the facts
afterwards (`summarise`), compared with the scenes' ground truth.

Faults scripted per board: WiFi outages, one power cut at a random time, and, with
`ota_at`, a signed OTA update published to every board mid-day (the boards install it
into their second slot and confirm it after the health gate).

The fleet is what the field runs (`power="mixed"`, the default): battery cameras (the
modified board, deep sleep between a 06:00 and an 18:00 sync window) and, every third
camera and at least one, a mains camera (always awake, uploading at once); `"mains"` and
`"battery"` make every camera one kind (`power_kinds`).
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from .board import Board
from .energy import EnergyModel
from .hw.wifi import WifiModel
from .scenes import Schedule
from .storage import Filesystem

SSID, PASSWORD = "sim-forest", "sim-password"


def site_config(device: str, burst: int) -> tuple[dict, dict]:
    """The config and secrets a technician would flash onto each camera."""
    config = {
        "version": 2,
        "device": {"id": device, "name": f"Simulated {device}", "site": "host_sim forest",
                   "lat": 47.61, "lon": -122.33},
        "wifi": {"ssid": SSID},
        "capture": {"burst_count": burst, "burst_interval_ms": 500, "quiet_s": 30},
        "sync": {"local_dir": "/cloud"},
        "log": {"level": "info"},
    }
    return config, {"wifi": {"password": PASSWORD}}


def deployment_record(device: str, index: int, wall: float, tz_offset_min: int = 0) -> dict:
    """The record `flash.py deploy --deployment` would write for a simulated camera: each
    camera at its own spot in the simulated forest, set up when the simulation starts."""
    import datetime as dt

    start = dt.datetime.fromtimestamp(int(wall), dt.timezone(dt.timedelta(
        minutes=tz_offset_min))).isoformat()
    return {"deploymentID": f"{device}-sim-{start[:10].replace('-', '')}",
            "locationID": f"sim-{device}", "locationName": f"host_sim forest {device}",
            "latitude": round(47.61 + 0.004 * index, 6), "longitude": -122.33,
            "coordinateUncertainty": 10, "deploymentStart": start, "cameraID": device,
            "cameraModel": "AI-Thinker-ESP32-CAM-OV2640", "cameraHeight": 0.5,
            "cameraTilt": -5, "cameraHeading": 180, "baitUse": False,
            "featureType": "trailGame", "habitat": "mixed forest (simulated)",
            "setupBy": "host_sim"}


def provision(board: Board, burst: int, extra: dict | None = None,
              secrets: dict | None = None, deployment: dict | None = None) -> None:
    """Write config (with dotted-key overrides in `extra`), secrets and, like `flash.py deploy
    --deployment`, the deployment record (/deployment.json; its coordinates go to
    device.lat/lon) to a board's flash."""
    config, sec = site_config(board.name, burst)
    if deployment:
        config["device"]["lat"] = deployment["latitude"]
        config["device"]["lon"] = deployment["longitude"]
    if "cloud" not in board.mounts:  # no shared sink mounted: no local-directory uploads
        config["sync"]["local_dir"] = ""
    for key, value in (extra or {}).items():
        section, leaf = key.split(".")
        config.setdefault(section, {})[leaf] = value
    for key, value in (secrets or {}).items():
        section, leaf = key.split(".")
        sec.setdefault(section, {})[leaf] = value
    root = Path(board.flash.root)
    (root / "config.json").write_text(json.dumps(config, indent=1))
    (root / "secrets.json").write_text(json.dumps(sec))
    if deployment:
        (root / "deployment.json").write_text(json.dumps(deployment, sort_keys=True))


BATTERY_DAY = {"power.mode": "battery", "sync.windows": "06:00-06:30",
               "health.interval_s": 21600}


# the ADC pin each board variant's battery divider is wired to (wildcam.core.presets);
# the stock board has none (the simulated cell is then on GPIO14 for tests that set
# pins.battery_adc themselves)
BATTERY_PIN = {"ai-thinker": 14, "ai-thinker-mod": 33}


def battery_board(sim, workdir, scene, name="cam-b", extra=None,
                  variant="ai-thinker-mod", wifi=None, **board_kw) -> Board:
    """A battery camera (by default the modified board: ~1.5 mA asleep) with a morning sync
    window and 6-hourly heartbeats, uploading to a `cloud` folder under `workdir`; `wifi`:
    its access point (default: one that answers)."""
    cloud = Filesystem("cloud", str(Path(workdir) / "cloud"), 1 << 30)
    b = Board(name, workdir, sim=sim, scene=scene, mounts={"cloud": cloud},
              wifi=wifi or WifiModel(SSID, PASSWORD), energy=EnergyModel(variant=variant),
              battery_pin=BATTERY_PIN[variant], **board_kw)
    cfg = dict(BATTERY_DAY)
    cfg["camera.board"] = variant
    cfg.update(extra or {})
    provision(b, 3, cfg)
    return b


FLEETS = ("mixed", "mains", "battery")
BATTERY_WINDOWS = "06:00-06:30,18:00-18:30"


def power_kinds(fleet: str, n: int) -> list[str]:
    """"battery" or "mains" for each of `n` cameras: `fleet` "mains" or "battery" makes them
    all one kind; "mixed" puts every third camera (cam-03, cam-06, ...) on mains, and the
    last one when fewer than three (one camera alone: mains)."""
    if fleet not in FLEETS:
        raise ValueError("fleet: one of %s" % ", ".join(FLEETS))
    if fleet != "mixed":
        return [fleet] * n
    kinds = ["mains" if i % 3 == 2 else "battery" for i in range(n)]
    if n and "mains" not in kinds:
        kinds[-1] = "mains"
    return kinds


def camera_names(n: int) -> list[str]:
    return [f"cam-{i + 1:02d}" for i in range(n)]


class Fleet:
    def __init__(self, sim, out: Path, boards: int, seed: int, hours: float, *, animals=12,
                 wind=3, burst=3, image="ai_thinker", extra=None, secrets=None, power_cuts=1,
                 battery=False, ota_at=None, power=None, per_board=None):
        """`power`: "mixed" (default), "mains" or "battery" (`battery=True`: "battery");
        `per_board(name)`: dotted config keys and secrets ({}, {}) for one camera (e.g. its
        command key)."""
        self.sim = sim
        self.out = out
        self.seconds = hours * 3600
        self.cloud = Filesystem("cloud", str(out / "cloud"), 1 << 40)
        self.rng = random.Random(seed)
        self.cuts: dict[str, list[float]] = {}
        self.battery: dict[str, list] = {}
        self.power: dict[str, str] = {}  # name -> "battery" | "mains"
        self.boards = []
        self.rollout = None
        if ota_at is not None and ota_at * 3600 < self.seconds:
            from .rollout import Rollout

            self.rollout = Rollout(self.cloud.root, ota_at * 3600)
        days = max(1.0, hours / 24)
        self.deployments = []  # the register a technician's laptop keeps (deployments.json)
        kinds = power_kinds(power or ("battery" if battery else "mixed"), boards)
        for i, name in enumerate(camera_names(boards)):
            battery = kinds[i] == "battery"
            self.power[name] = kinds[i]
            scene = Schedule(seed=seed + i, days=days, animals_per_day=animals,
                             wind_periods=wind)
            outages = [(o * 3600.0 + i * 600, o * 3600.0 + i * 600 + 1800)
                       for o in (3, 11, 19) if o < hours]
            b = Board(name, out, sim=sim, scene=scene, image=image,
                      mounts={"cloud": self.cloud}, wifi=WifiModel(SSID, PASSWORD, outages=outages),
                      energy=EnergyModel(modified_board=battery),
                      battery_pin=BATTERY_PIN["ai-thinker-mod" if battery else "ai-thinker"])
            cfg = dict(extra or {})
            sec = dict(secrets or {})
            if battery:
                cfg.update({"power.mode": "battery", "sync.windows": BATTERY_WINDOWS,
                            "camera.board": "ai-thinker-mod"})
            if self.rollout is not None:
                cfg.update(self.rollout.config())
            if per_board is not None:
                more, more_sec = per_board(name)
                cfg.update(more)
                sec.update(more_sec)
            dep = deployment_record(name, i, sim.wall(), int(cfg.get("time.tz_offset_min", 0)))
            self.deployments.append(dep)
            provision(b, burst, cfg, sec, dep)
            b._demo_outages = outages
            self.cuts[name] = sorted(self.rng.uniform(0.2, 0.8) * self.seconds
                                     for _ in range(power_cuts))
            self.battery[name] = []
            self.boards.append(b)

    def start(self) -> None:
        for b in self.boards:
            b.power_on(self.rollout.entry(b) if self.rollout else None)

    def step(self, until: float) -> None:
        """Advance to `until` seconds of simulated time, cutting power when scheduled."""
        while self.sim.clock.now < until:
            marks = [t for ts in self.cuts.values() for t in ts if t > self.sim.clock.now]
            if self.rollout and not self.rollout.published:
                marks.append(max(self.rollout.at_s, self.sim.clock.now))
            nxt = min(marks + [until])
            self.sim.run_for(nxt - self.sim.clock.now)
            if self.rollout and self.rollout.maybe_publish(self.sim.clock.now):
                for b in self.boards:
                    b.log("ota_published", version=self.rollout.version)
            for b in self.boards:
                if nxt in self.cuts[b.name]:
                    b.cut_power(restore_after=5.0)
                    b.log("powercut_injected")
        for b in self.boards:
            self.battery[b.name].append((round(self.sim.clock.now, 1),
                                         round(b.battery.voltage(), 3)))

    def drain(self, max_s: float = 3 * 3600, step: float = 300, waiting=None) -> None:
        """After the day, let queued items go out (no more faults) before counting, while
        `waiting(board)` (default: images the local sink has not received) is true for
        any board."""
        waiting = waiting or pending
        for b in self.boards:
            b.wifi._outages = []
        end = self.sim.clock.now + max_s
        while self.sim.clock.now < end and any(waiting(b) for b in self.boards):
            self.sim.run_for(step)


def pending(b: Board) -> bool:
    """Images on the card that the sink has not received yet."""
    return bool(set(sd_images(b)) - set(cloud_objects(b)))


def sd_images(b: Board, rejected: bool = False) -> dict:
    """{outbox key: sidecar dict} for every image on the card that is meant for the
    destination; with `rejected`, instead, those a trigger the detector did not confirm kept
    on the card for review (`verdict: rejected`: never uploaded, and neither lost)."""
    out = {}
    dcim = Path(b.sd.root) / "DCIM"
    if not dcim.exists():
        return out
    for jpg in dcim.rglob("*.jpg"):
        side = jpg.with_suffix(".json")
        meta = json.loads(side.read_text()) if side.exists() else {}
        if (meta.get("verdict") == "rejected") != rejected:
            continue
        meta["_file"] = jpg
        out[f"{b.name}-{jpg.parent.name}-{jpg.stem}"] = meta
    return out


def cloud_objects(b: Board) -> dict:
    """{key: object metadata} of the images the sink received from this board."""
    folder = Path(b.mounts["cloud"].root) / b.name
    if not folder.exists():
        return {}
    out = {}
    for jpg in folder.glob("*.jpg"):
        meta = folder / (jpg.stem + ".json")
        out[jpg.stem] = json.loads(meta.read_text()) if meta.exists() else {}
    return out


def _pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(len(s) * p / 100))], 1)
