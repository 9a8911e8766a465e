"""Board: one simulated ESP32-CAM — its hardware models, persistent folders and life cycle.

Life cycle (a task of the simulation, not of the firmware): boot (bootloader, fresh
SimStorage, `boot_time` of virtual time) -> run `entry(storage)` in a context where
`current_board` is this board -> on a halt (reset, soft reset, WDT, deep sleep, power cut,
crash) cancel every task the firmware created and boot again with the matching reset cause.
RTC time and memory survive everything but a power cut; pins, WLAN and uncommitted NVS are
reset at every boot; flash/SD folders, NVS commits and partitions persist.

A crash (an ordinary exception escaping the entry) is logged and counted; the board reboots
with HARD_RESET after `crash_reboot_delay`, or, when a WDT is running, sits in the REPL
until the WDT resets it. An entry that returns leaves the board idle in the REPL.
"""
from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import contextvars
import hashlib
import os
import traceback
from typing import Callable, Optional

from . import constants as C
from . import stepwatch
from .context import current_board, current_boot
from .energy import BOARDS, EnergyModel
from .errors import BoardHalted, ResetRequest
from .hw.battery import Battery
from .hw import images
from .hw.camera_model import CameraModel
from .hw.esp32_state import NvsStore, OtaState
from .hw.pins import IRQ_FALLING, IRQ_RISING, PinBank
from .hw.rtc import RtcModel
from .hw.wifi import StaState, WifiModel
from .lifecycle import Halt, LifeCycle
from .simulation import Simulation
from .storage import Filesystem


def _first(entry: tuple) -> float:
    return entry[0]


class Board(LifeCycle):
    def __init__(self, name: str, workdir, *, sim: Optional[Simulation] = None, scene=None,
                 sd_capacity: int = 64 * 2**20, flash_capacity: int = 960 * 1024,
                 sd_block: int = 4096, camera_driver: Optional[str] = None,
                 image: Optional[str] = None, chip: str = "esp32",
                 camera: Optional[CameraModel] = None, wifi: Optional[WifiModel] = None,
                 battery: Optional[Battery] = None, psram: bool = True, pir_pin: int = 13,
                 flash_led_pin: int = 4, battery_pin: int = 14, ticks_offset_ms: int = 0,
                 rtc_drift_ppm: float = 0.0, boot_time: float = 0.5,
                 crash_reboot_delay: float = 1.0, temperature_c: float = 22.0,
                 cpu_freq: int = 240_000_000, mounts: Optional[dict] = None,
                 energy: Optional[EnergyModel] = None, net=None) -> None:
        sim = sim or Simulation.current()
        if sim is None:
            raise RuntimeError("Board needs a Simulation: pass sim= or create it inside "
                               "host_sim.run()")
        self.sim = sim
        sim.boards.append(self)
        self.name = name
        self.dir = os.path.join(str(workdir), name)
        self.flash = Filesystem("flash", os.path.join(self.dir, "flash"), flash_capacity,
                                kind="lfs", block_size=4096)
        self.sd = Filesystem("sd", os.path.join(self.dir, "sd"), sd_capacity, kind="fat",
                             block_size=sd_block)
        self.scene = scene
        self.mounts = dict(mounts or {})  # extra Filesystems, e.g. {"cloud": shared sink}
        self.rtc = RtcModel(sim.clock, rtc_drift_ppm)
        self.pins = PinBank()
        self.wifi = wifi or WifiModel()
        self.wifi.clock = sim.clock
        self.sta = StaState(self.wifi)
        self.battery = battery or Battery()
        self.energy = energy or EnergyModel()
        if net is not None:  # else the simulation's model (host_sim/netcost.py)
            self.net = net
        # which MicroPython image is flashed (and so which camera driver) and which chip
        if image is None:
            legacy = camera_driver == "lemariva" or (camera is not None and camera_driver is None
                                                     and camera.driver == "lemariva")
            image = "lemariva" if legacy else "ai_thinker"
        self.image = images.image(image)
        if camera_driver is not None and camera_driver != self.image.driver:
            raise ValueError("camera_driver=%r does not match image %r (driver %s)"
                             % (camera_driver, image, self.image.driver))
        self.chip = images.check_chip(chip)
        self.camera = camera or CameraModel(self.image.driver)
        self.camera.driver = self.image.driver
        self.nvs = NvsStore(os.path.join(self.dir, "nvs.json"))
        self.ota = OtaState(os.path.join(self.dir, "partitions"))
        self.pir_pin, self.flash_led_pin, self.battery_pin = pir_pin, flash_led_pin, battery_pin
        self.ticks_offset_ms = ticks_offset_ms
        self.boot_time = boot_time
        self.crash_reboot_delay = crash_reboot_delay
        self.temperature_c = temperature_c
        self.cpu_freq = cpu_freq
        self.psram = psram
        self.heap_size = 4_000_000 if psram else 110_000
        self.heap_used = 32_000
        self.unique_id = b"\x24\x6f\x28" + hashlib.sha256(name.encode()).digest()[:3]
        self.counters: collections.Counter = collections.Counter()
        self.events: collections.deque = collections.deque(maxlen=20_000)
        self.led_log: list = []          # (t, level) of the flash LED pin
        self.pwm: dict = {}              # gpio -> {"freq", "duty_u16", "active", "routed"}
        self.xclk_lost = False           # a PWM took the camera's LEDC channel (not classic)
        self.ext0 = None                 # (gpio, level) armed for the next deep sleep
        self.deep_sleep_hold = False     # esp32.gpio_deep_sleep_hold(); lost with power
        self._sleep_pads = (True, False)  # (camera powered, LED lit) of the current sleep
        self._lit = 0.0                  # the flash LED's level since the last accounting
        self.ext1 = None                 # (gpios, level)
        self.wdt: Optional[dict] = None
        self.generation = 0
        self.reset_cause = C.PWRON_RESET
        self.wake_reason = C.NO_WAKE
        self.boot_at = 0.0
        self.state = "off"
        self.storage = None
        self._init_lifecycle()

    # --- time -------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.sim.clock.now

    def wall(self) -> float:
        """True UTC time (what NTP would say), not this board's RTC."""
        return self.sim.clock.wall()

    def uptime_us(self) -> int:
        return int((self.now - self.boot_at) * 1_000_000) + self.ticks_offset_ms * 1000

    # --- reporting ------------------------------------------------------------------------------
    def log(self, kind: str, **detail) -> None:
        self.events.append((round(self.now, 6), kind, detail))

    def events_of(self, kind: str) -> list:
        return [e for e in self.events if e[1] == kind]

    def led_on_seconds(self) -> float:
        """Seconds the flash LED was lit, weighted by its level (a PWM duty of 35 % for 2 s
        counts 0.7 s): the LED's charge is this times its full current."""
        total, at, level = 0.0, 0.0, 0.0
        for t, lv in self.led_log:
            total += (t - at) * level
            at, level = t, lv
        return total + (self.now - at) * level

    def led_share(self, t0: float, t1: float) -> float:
        """The LED's mean level over [t0, t1] (a frame's exposure; 0 off .. 1 fully on)."""
        log = self.led_log
        i = bisect.bisect_right(log, t0, key=_first)
        level = log[i - 1][1] if i else 0.0
        if t1 <= t0:
            return level
        lit, at = 0.0, t0
        while i < len(log) and log[i][0] < t1:
            lit += (log[i][0] - at) * level
            at, level = log[i]
            i += 1
        return (lit + (t1 - at) * level) / (t1 - t0)

    def report(self) -> dict:
        self.account_energy()
        return {"name": self.name, "state": self.state, "boots": self.generation,
                "counters": dict(self.counters), "reset_cause": self.reset_cause,
                "storage": {fs.name: dict(fs.counters, used=fs.used, capacity=fs.capacity)
                            for fs in (self.flash, self.sd)},
                "battery_v": round(self.battery.voltage(), 3),
                "battery_used_mah": round(self.battery.used_mah, 3),
                "energy": self.energy.report(),
                "led_on_s": round(self.led_on_seconds(), 3),
                "camera": {"captures": self.camera.captures,
                           "failed": self.camera.failed_captures},
                "chip": self.chip, "image": self.image.name}

    # --- simulated resources ---------------------------------------------------------------
    def heap_alloc(self) -> int:
        return min(self.heap_used, self.heap_size)

    def heap_free(self) -> int:
        return self.heap_size - self.heap_alloc()

    def note_led(self, level: float) -> None:
        """Log the LED's level from now (a pin write, a reset, a sleep, power gone)."""
        if not self.led_log or self.led_log[-1][1] != level:
            self.led_log.append((self.now, level))

    def led_level(self) -> float:
        """The flash LED's light now, 0..1: the pad's output level, or the duty of the PWM
        whose LEDC channel drives the pad (machine.PWM; host_sim/mpy/machine.py)."""
        rec = self.pwm.get(self.flash_led_pin)
        if rec is not None and rec.get("routed"):
            return rec["duty_u16"] / 65535 if rec.get("active") else 0.0
        return float(self.pins.get(self.flash_led_pin).level())

    def ir_on(self) -> bool:
        return self.led_level() > 0

    def die_temperature_c(self) -> float:
        """The chip's own temperature: ambient plus self-heating while it runs."""
        return self.temperature_c + (9 if self.state == "running" else 0)

    @contextlib.contextmanager
    def active(self):
        """Make this board current for synchronous code (tests, REPL-like use)."""
        t1 = current_board.set(self)
        t2 = current_boot.set(-1)
        try:
            yield self
        finally:
            current_boot.reset(t2)
            current_board.reset(t1)

    # --- pins -------------------------------------------------------------------------------------
    def drive_pin(self, gpio: int, level: int) -> None:
        """The outside world drives `gpio` (e.g. the PIR output). Fires the firmware's IRQ
        handler synchronously on a matching edge and wakes a deep sleep armed on it."""
        st = self.pins.get(gpio)
        old = st.level()
        st.driven = 1 if level else 0
        new = st.level()
        if new == old:
            return
        if self.state == "sleeping":
            self._check_wake()
            return
        edge = IRQ_RISING if new else IRQ_FALLING
        if st.handler is not None and st.trigger & edge and self.state in ("running", "idle"):
            st.irq_count += 1
            self.run_in_boot(st.handler, st.pin_obj, what="irq")

    def run_in_boot(self, fn: Callable, *args, what: str = "callback"):
        """Call fn(*args) as firmware of the current boot (IRQ handlers, schedule())."""
        ctx = self._boot_ctx.copy() if self._boot_ctx is not None else contextvars.copy_context()
        try:
            return ctx.run(fn, *args)
        except BoardHalted:
            return None
        except Exception as exc:  # as MicroPython: print it, keep running
            self.counters[what + "_errors"] += 1
            self.log(what + "_error", error=repr(exc),
                     traceback="".join(traceback.format_exception(exc)))
            return None

    def output_changed(self, gpio: int, level: int) -> None:
        """Called by the pin shims after an output's level was set: the time since the last
        accounting is charged at the level it had then (`_lit`), not at the new one."""
        if gpio == self.flash_led_pin:
            self.account_energy()  # the time before the change at the old current
            self.note_led(self.led_level())  # the pad's level or the duty of its PWM

    # --- light sleep ------------------------------------------------------------------------------
    def light_sleep(self, ms: Optional[int]) -> int:
        """machine.lightsleep(ms): the whole board pauses (the world clock moves, as for any
        blocking call) until the timer (`ms`; None: none) or the ext0/ext1 wake configured
        for it (esp32.wake_on_ext0/ext1; level-triggered, as in deep sleep) — the PIR
        following this board's scene meanwhile — or the watchdog, which keeps counting.
        Charged as "light_sleep" with the pads as deep sleep would leave them. Returns the
        wake reason (machine.wake_reason() says it from now on)."""
        self.account_energy()  # the awake time before it
        self._sleep_pads = self.sleep_pads()
        end = None if ms is None else self.now + ms / 1000
        woke = self._light_wake(end)
        t, reason = woke if woke is not None else (end, C.TIMER_WAKE)
        w = self.wdt
        bite = w["last"] + w["timeout"] if w is not None else None
        if bite is not None and (t is None or bite < t):
            t, reason = bite, None
        if t is None:  # no wake will ever come: the board hangs until power goes
            self.log("lightsleep_forever")
            self.request_halt(Halt("off"))
            raise BoardHalted("machine.lightsleep() without a wake source")
        awake, self.state = self.state, "light_sleep"
        self.log("lightsleep", ms=ms, ext0=self.ext0, ext1=self.ext1,
                 camera_powered=self._sleep_pads[0])
        t0 = self.now
        self.sim.clock.advance_to(t)
        stepwatch.note_asleep(self.now - t0)  # asleep, not a step holding the loop
        self.account_energy()
        self.state = awake
        self._scene_pir(t)
        if reason is None:
            self.log("wdt_expired", since_feed=self.now - w["last"], in_light_sleep=True)
            self.request_halt(Halt("wdt"))
            raise ResetRequest("watchdog in machine.lightsleep()")
        self.wake_reason = reason
        self.log("lightsleep_wake", reason=reason)
        return reason

    def _light_wake(self, end: Optional[float]):
        """(time, EXT0_WAKE/EXT1_WAKE) of the first pin wake before `end`, or None."""
        t = self.now
        while True:
            self._scene_pir(t)
            reason = self.pin_wake()
            if reason is not None:
                return t, reason
            nxt = self.scene.next_pir_change(t) if self.scene is not None else None
            if nxt is None or (end is not None and nxt > end):
                return None
            t = max(t, nxt)

    def _scene_pir(self, t: float) -> None:
        """The PIR pin at the scene's level of time `t`, without IRQs (during and right
        after a light sleep: the scene task catches up once the loop runs again)."""
        if self.scene is not None:
            self.pins.get(self.pir_pin).driven = 1 if self.scene.pir(t) else 0

    # --- watchdog -------------------------------------------------------------------------------
    def wdt_start(self, timeout_ms: int) -> None:
        if self.wdt is None:
            self.wdt = {"timeout": timeout_ms / 1000, "last": self.now, "handle": None}
            self.log("wdt_start", timeout_ms=timeout_ms)
        else:
            self.wdt["timeout"] = timeout_ms / 1000
        self.wdt_feed()
        self._wdt_arm()

    def wdt_feed(self) -> None:
        if self.wdt is not None:
            self.wdt["last"] = self.now

    def _wdt_arm(self) -> None:
        w = self.wdt
        if w["handle"] is not None:
            w["handle"].cancel()
        w["handle"] = self.sim.loop.call_at(w["last"] + w["timeout"], self._wdt_check)

    def _wdt_check(self) -> None:
        w = self.wdt
        if w is None:
            return
        w["handle"] = None
        if self.now - w["last"] >= w["timeout"] - 1e-9:
            self.log("wdt_expired", since_feed=self.now - w["last"])
            self.request_halt(Halt("wdt"))
        else:
            self._wdt_arm()

    def wdt_stop(self) -> None:
        if self.wdt is not None and self.wdt["handle"] is not None:
            self.wdt["handle"].cancel()
        self.wdt = None

    # --- energy -------------------------------------------------------------------------------------
    def camera_held_off(self, pwdn: int) -> bool:
        """True when the camera's power-down pad is still held high (a hold from the last
        sleep never released): the driver's power-up write does not reach the pad, the
        sensor stays powered down and the SCCB probe finds nothing (ESP_ERR_NOT_FOUND)."""
        if pwdn is None or pwdn < 0:
            return False
        st = self.pins.get(pwdn)
        return st.held is not None and st.level() == 1

    def sleep_pads(self) -> tuple:
        """(camera powered?, flash LED lit?) in deep sleep, from the pads as they will be:
        the camera is powered down only when the variant's power-down pad is held at its
        power-down level through deep sleep (host_sim/hw/pins.py)."""
        row = BOARDS[self.energy.variant]
        keep = self.deep_sleep_hold or self.chip != "esp32"  # digital pads: see esp32.py
        cam_off = self.pins.get(row["pwdn"]).sleep_level(keep) == row["pwdn_level"]
        led_on = self.pins.get(self.flash_led_pin).sleep_level(keep) == 1
        return (not cam_off, led_on)

    def account_energy(self) -> None:
        dt = self.now - self._energy_at
        self._energy_at = self.now
        if dt <= 0:
            self._lit = self.led_level()  # a change at the instant of the last accounting
            return
        b, e = self.battery, self.energy
        if self.state == "light_sleep":  # the pads as in deep sleep; a lit LED as awake
            mah = e.account(dt, "light_sleep_cam_on" if self._sleep_pads[0] else "light_sleep")
            if self._sleep_pads[1]:
                mah += e.account(dt, "flash_led")
        elif self.state == "sleeping":
            cam_powered, led_on = self._sleep_pads
            mah = e.account(dt, "deep_sleep_cam_on" if cam_powered else "deep_sleep")
            if led_on:
                mah += e.account(dt, "deep_sleep_led_on")
        elif self.state in ("running", "idle", "booting"):
            mah = e.account(dt, "awake_wifi" if self.sta.active else "awake")
            if self._lit:  # a PWM-dimmed LED draws its duty's share of the full current
                mah += e.account(dt * self._lit, "flash_led")
        else:
            mah = e.account(dt, "off")
        self._lit = self.led_level()  # from now on (a pin change accounts first: output_changed)
        b.draw_mah(mah)
