"""How this camera is doing, in one compact dict, and the tasks that report it.

`Health(sources)` merges what each source callable returns (sources are given by the App;
a source that raises is reported as an error string instead of breaking the report).
`heartbeat()` is a supervised task: at boot and every `health.interval_s` it queues a
"health" item in the outbox (durable, priority below detections), logs one compact line,
and calls `publish(snapshot)` (e.g. a retained MQTT status) when given.

`Deployment` is the record `flash.py deploy --deployment` writes beside the config
(/deployment.json: deploymentID, location, coordinates, setup time, camera height ...),
read once on first use and reported in every heartbeat, so the export knows where each
report and image came from and when the camera was moved. `sleep_source(rtc)` reports the
deep-sleep record (sleeps, seconds asleep with the PIR armed and without it).

`Watchdog` feeds `machine.WDT` only while every critical supervised task has made progress
recently, so a task stuck in an await ends in a reset, not a zombie camera; a loop blocked
in a call stops feeding by itself.
"""

import asyncio
import gc
import json
import time

from wildcam.core import clock, jsonutil


def system_source(boot, reset_cause, version, slot="lib"):
    """The system part of the report (closure over boot facts)."""
    started = time.ticks_ms()

    def read():
        gc.collect()
        return {"fw": version, "slot": slot, "boot": boot.boots, "reset": reset_cause,
                "up_s": time.ticks_diff(time.ticks_ms(), started) // 1000,
                "heap_free": gc.mem_free(), "heap_used": gc.mem_alloc(),
                "time": clock.now()}

    return read


class Deployment:
    PATH = "/deployment.json"

    def __init__(self, storage, path=PATH):
        self._st = storage
        self._path = path
        self._doc = None

    def record(self):
        """The deployment dict ({} when the camera was deployed without one). Read on first
        use, so never on the PIR-wake path before the first frame."""
        if self._doc is None:
            try:
                d = json.loads(self._st.read(self._path))
                self._doc = d if isinstance(d, dict) else {"error": "not a JSON object"}
            except OSError:
                self._doc = {}
            except ValueError as e:
                self._doc = {"error": "deployment.json: %s" % e}
        return self._doc

    def id(self):
        return self.record().get("deploymentID")


def sleep_source(rtc):
    """Deep-sleep record from RTC memory (see wildcam.power.Sleeper.account)."""
    return lambda: {"n": rtc.get("sleeps"), "armed_s": rtc.get("armed_s"),
                    "blind_s": rtc.get("blind_s")}


class Health:
    def __init__(self, sources, log):
        self.sources = sources  # {name: () -> dict}
        self.log = log
        self.beats = 0

    def snapshot(self):
        out = {}
        for name in sorted(self.sources):
            try:
                out[name] = self.sources[name]()
            except Exception as e:  # noqa: BLE001 - one broken source must not hide the rest
                out[name] = {"error": "%s: %s" % (type(e).__name__, e)}
        return out

    def line(self, snap):
        """One short log line with the figures people look at first."""
        s = snap.get("sys", {})
        q = snap.get("queue", {})
        p = snap.get("power", {})
        n = snap.get("net", {})
        return "up %ss heap %s free, battery %s V, %s%s C, rssi %s, queue %s, restarts %s" % (
            s.get("up_s"), s.get("heap_free"), p.get("battery_v"),
            "~" if p.get("temp_approx") else "", p.get("temp_c"),
            n.get("rssi"), q.get("pending"), snap.get("tasks", {}).get("restarts"))

    async def heartbeat(self, interval_s, queue, publish=None, alive=None, due=None):
        """Report now and every `interval_s` (supervised task). `due()` false skips a
        report (a battery camera that wakes often reports only when one is due)."""
        while True:
            if due is not None and not due():
                await asyncio.sleep(10)
                if alive:
                    alive()
                continue
            snap = self.snapshot()
            self.beats += 1
            self.log.info("health: %s", self.line(snap))
            queue(snap)
            if publish is not None:
                try:
                    r = publish(snap)
                    if r is not None and hasattr(r, "send"):  # an async publish: await it
                        await r
                except Exception as e:  # noqa: BLE001 - the outbox copy still goes out
                    self.log.info("status not published: %s", e)
            waited = 0
            while waited < interval_s:
                step = min(10, interval_s - waited)
                await asyncio.sleep(step)
                waited += step
                if alive:
                    alive()


class Watchdog:
    def __init__(self, sup, log, timeout_ms=60000, stale_ms=45000, feed_ms=5000, wdt=None):
        self.sup = sup
        self.log = log
        self.timeout_ms = timeout_ms
        self.stale_ms = stale_ms
        self.feed_ms = feed_ms
        self._wdt = wdt
        self.feeds = 0
        self.withheld = None

    async def run(self):
        """Feed while all critical tasks are alive (supervised task)."""
        if self._wdt is None:
            import machine

            self._wdt = machine.WDT(timeout=self.timeout_ms)
        while True:
            stale = self.sup.stale(self.stale_ms)
            if stale:
                if self.withheld != stale:
                    self.withheld = stale
                    self.log.error("no progress from %s: letting the watchdog reset",
                                   ", ".join(stale))
            else:
                self.withheld = None
                self._wdt.feed()
                self.feeds += 1
            await asyncio.sleep_ms(self.feed_ms)


# --- Home Assistant MQTT discovery ----------------------------------------------------------
SENSORS = (  # (what, name, template, unit, device class, (source, field) it needs or None)
    ("battery", "Battery", "{{ value_json.power.battery_v }}", "V", "voltage",
     ("power", "battery_v")),
    ("battery_pct", "Battery level", "{{ value_json.power.battery_pct }}", "%", "battery",
     ("power", "battery_pct")),
    ("temperature", "Temperature", "{{ value_json.power.temp_c }}", "°C", "temperature", None),
    ("rssi", "WiFi signal", "{{ value_json.net.rssi }}", "dBm", "signal_strength", None),
    ("queue", "Upload queue", "{{ value_json.queue.pending }}", "items", None, None),
    ("last_detection", "Last detection",
     "{{ value_json.capture.last_event | timestamp_custom('%Y-%m-%dT%H:%M:%S+00:00', false) "
     "if value_json.capture.last_event else 'None' }}", None, "timestamp", None),
    ("state", "State", "{{ value_json.sleep.state }}", None, "enum", ("sleep", "n")),
    ("next_wake", "Next wake",
     "{{ value_json.sleep.radio_at | timestamp_custom('%Y-%m-%dT%H:%M:%S+00:00', false) "
     "if value_json.sleep.radio_at else 'None' }}", None, "timestamp", ("sleep", "n")),
)
# the status topic carries online / offline (the last will) / asleep (a battery camera's deep
# sleep by design, published before it): asleep counts as available
AVAILABLE = "{{ 'online' if value == 'asleep' else value }}"


def hass_discovery(device, version, topic, snap=None):
    """Home Assistant MQTT discovery documents: [(topic, payload)], retained. As HA 2026
    expects: `default_entity_id` ("sensor.<device slug>_<what>"; `object_id` was deprecated
    in 2025.10 and stops working in 2026.4); a sensor this board never has a value for
    (battery on a mains board, sleep on a mains board: none in `snap`, the health snapshot)
    is not announced; times are ISO 8601 with `device_class: timestamp`; a value not known
    yet renders "None", which HA's MQTT sensor takes as unknown. A battery camera asleep is
    shown available, its State sensor "asleep" and its Next wake the next wake that brings
    its radio up (`sleep.radio_at`: its next sync window; an alert may come sooner), with
    `availability` through a value_template mapping the status `asleep` to available.
    `topic(sub)` is the device's topic for `sub`."""
    dev = {"identifiers": [device], "name": "WildCAM %s" % device,
           "manufacturer": "WildCAM", "model": "ESP32-CAM", "sw_version": version}
    state = topic("state")
    avail = [{"topic": topic("status"), "payload_available": "online",
              "payload_not_available": "offline", "value_template": AVAILABLE}]
    slug = "".join(c if "a" <= c <= "z" or "0" <= c <= "9" else "_" for c in device.lower())
    out = []
    for obj, name, tmpl, unit, cls, need in SENSORS:
        if need and snap is not None and (snap.get(need[0]) or {}).get(need[1]) is None:
            continue
        cfg = {"name": name, "unique_id": "%s_%s" % (device, obj),
               "default_entity_id": "sensor.%s_%s" % (slug, obj), "state_topic": state,
               "value_template": tmpl, "availability": avail, "device": dev}
        if unit:
            cfg["unit_of_measurement"] = unit
        if cls:
            cfg["device_class"] = cls
        if cls == "enum":
            cfg["options"] = ["awake", "asleep"]
        out.append(("homeassistant/sensor/%s_%s/config" % (device, obj), jsonutil.dumps(cfg)))
    cam = {"name": "Last image", "unique_id": "%s_camera" % device, "topic": topic("thumb"),
           "availability": avail, "device": dev}
    out.append(("homeassistant/camera/%s/config" % device, jsonutil.dumps(cam)))
    return out
