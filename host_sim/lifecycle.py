"""The boot/halt/reboot cycle of a Board (mixed into Board; kept apart to stay readable)."""
from __future__ import annotations

import asyncio
import contextvars
import traceback
import weakref
from dataclasses import dataclass
from typing import Callable, Optional

from . import constants as C
from .context import current_board, current_boot
from .errors import BoardHalted
from .hw.wifi import StaState
from .storage import SimStorage

_CAUSE_NAMES = {C.PWRON_RESET: "PWRON_RESET", C.HARD_RESET: "HARD_RESET",
                C.WDT_RESET: "WDT_RESET", C.DEEPSLEEP_RESET: "DEEPSLEEP_RESET",
                C.SOFT_RESET: "SOFT_RESET"}


@dataclass
class Halt:
    """Why a boot ended. kind: reset | soft | wdt | deepsleep | powercut | off | crash."""
    kind: str
    ms: Optional[int] = None
    restore_after: float = 0.0


def default_entry(storage):
    import wildcam.app  # the firmware's composition root
    return wildcam.app.App(storage).run()


class LifeCycle:
    def _init_lifecycle(self) -> None:
        self.tasks: "weakref.WeakSet[asyncio.Task]" = weakref.WeakSet()
        self._runner: Optional[asyncio.Task] = None
        self._scene_task: Optional[asyncio.Task] = None
        self._halt: Optional[asyncio.Future] = None
        self._wake: Optional[asyncio.Future] = None
        self._boot_ctx: Optional[contextvars.Context] = None
        self._pending_cut: Optional[dict] = None
        self._energy_at = self.now
        self._closing = False
        self._boot_waiters: list = []

    # --- public control --------------------------------------------------------------------------
    def power_on(self, entry: Optional[Callable] = None) -> None:
        """Start the board: `entry(storage)` must return the firmware coroutine (default:
        wildcam.app.App(storage).run()). Idempotent while the board is on."""
        if self._runner is not None and not self._runner.done():
            return
        loop = self.sim.loop
        clean = contextvars.Context()  # life-cycle tasks belong to no board
        self._runner = loop.create_task(self._life(entry or default_entry), context=clean)
        if self.scene is not None and (self._scene_task is None or self._scene_task.done()):
            self._scene_task = loop.create_task(self._drive_scene(), context=clean)

    def power_off(self) -> None:
        """Switch off (RTC lost); power_on() starts it again."""
        self.request_halt(Halt("off"))

    def cut_power(self, after_bytes: Optional[int] = None, after_ops: Optional[int] = None,
                  restore_after: float = 0.0) -> None:
        """Cut power now (no arguments) or after the given number of storage bytes/ops of
        the running boot (or the next boot when the board is not running). Power returns
        `restore_after` virtual seconds later and the board boots with PWRON_RESET."""
        if after_bytes is None and after_ops is None:
            self.request_halt(Halt("powercut", restore_after=restore_after))
            return
        st = self.storage
        if st is not None and self.state in ("running", "idle", "booting") and not st.dead:
            st.cut_after_bytes = None if after_bytes is None else st.bytes_written + after_bytes
            st.cut_after_ops = None if after_ops is None else st.ops + after_ops
            self._cut_restore = restore_after
        else:
            self._pending_cut = {"bytes": after_bytes, "ops": after_ops,
                                 "restore": restore_after}

    def request_halt(self, halt: Halt) -> None:
        """End the current boot (first request wins). Safe to call from anywhere."""
        if self._halt is not None and not self._halt.done():
            self._halt.set_result(halt)
        elif halt.kind in ("off", "powercut") and self.state == "sleeping" and self._wake:
            if not self._wake.done():
                self._wake.set_result(halt)

    def adopt_task(self, task: asyncio.Task) -> None:
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        """Retrieve every firmware task's outcome: halts are expected; an ordinary exception
        nobody awaited is counted and logged (`task_errors`), as MicroPython prints it."""
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, BoardHalted) and not task.get_name() == "main":
            self.counters["task_errors"] += 1
            self.log("task_error", task=task.get_name(), error=repr(exc),
                     traceback="".join(traceback.format_exception(exc)))

    async def wait_boots(self, n: int, timeout: float = 3600.0) -> bool:
        """Wait (virtual time) until the board has booted `n` times in total."""
        end = self.now + timeout
        while self.generation < n and self.now < end:
            await asyncio.sleep(min(1.0, end - self.now))
        return self.generation >= n

    # --- the cycle ---------------------------------------------------------------------------------
    async def _life(self, entry: Callable) -> None:
        cause, wake = C.PWRON_RESET, C.NO_WAKE
        try:
            while True:
                halt = await self._one_boot(entry, cause, wake)
                self.log("halt", reason=halt.kind)
                self.counters["halt_" + halt.kind] += 1
                await self._stop_tasks()
                nxt = await self._after(halt)
                if nxt is None:
                    return
                cause, wake = nxt
        finally:
            self.account_energy()
            self.state = "off"
            self._halt = None
            if not self._closing:
                await self._stop_tasks()

    async def _one_boot(self, entry: Callable, cause: int, wake: int) -> Halt:
        loop = self.sim.loop
        self.account_energy()
        self.generation += 1
        self.boot_at = self.now
        self.reset_cause, self.wake_reason = cause, wake
        if cause == C.PWRON_RESET:
            self.rtc.power_on()  # the RTC starts at 2000-01-01 when power comes
        self.counters["boots"] += 1
        self.counters[_CAUSE_NAMES[cause]] += 1
        self.pins.reset(power_loss=cause == C.PWRON_RESET)  # pad holds survive the rest
        self.pwm.clear()  # a reset stops the LEDC peripheral: no PWM survives it
        self.xclk_lost = False
        self._lit = self.led_level()  # the LED pad as the reset left it
        self.note_led(self._lit)
        if cause == C.PWRON_RESET:
            self.deep_sleep_hold = False
        self.sta = StaState(self.wifi)
        self.nvs.drop_pending()
        self.ext0 = self.ext1 = None
        running = self.ota.bootloader()
        self.log("boot", cause=_CAUSE_NAMES[cause], wake=wake, partition=running,
                 rolled_back=self.ota.rolled_back)
        if self.ota.rolled_back:
            self.counters["ota_rollbacks"] += 1
        self._halt = loop.create_future()
        self._cut_restore = 0.0
        cut = self._pending_cut or {}
        self._pending_cut = None
        self._cut_restore = cut.get("restore", 0.0)
        self.storage = SimStorage(self.flash, self.sd, cut_after_bytes=cut.get("bytes"),
                                  cut_after_ops=cut.get("ops"), on_cut=self._on_storage_cut,
                                  mounts=self.mounts)
        self.state = "booting"
        await asyncio.wait({self._halt}, timeout=self.boot_time)
        if self._halt.done():
            return self._halt.result()
        # boot, imports and the firmware's work beyond boot_time (host_sim/energy.py)
        self.energy.count("boot_pir" if self.wake_reason == C.EXT0_WAKE else "boot")
        ctx = contextvars.copy_context()
        ctx.run(current_board.set, self)
        ctx.run(current_boot.set, self.generation)
        self._boot_ctx = ctx
        self.account_energy()
        self.state = "running"
        try:
            coro = ctx.run(entry, self.storage)
            main = loop.create_task(coro, name="main", context=ctx.copy())
        except BoardHalted:
            return await self._halt
        except Exception as exc:
            return await self._crashed(exc)
        await asyncio.wait({main, self._halt}, return_when=asyncio.FIRST_COMPLETED)
        if self._halt.done():
            return self._halt.result()
        exc = None if main.cancelled() else main.exception()
        if exc is None or isinstance(exc, BoardHalted):
            self.log("main_returned")
            self.account_energy()
            self.state = "idle"
            return await self._halt
        return await self._crashed(exc)

    async def _crashed(self, exc: BaseException) -> Halt:
        self.counters["crashes"] += 1
        self.log("crash", error=repr(exc), traceback="".join(traceback.format_exception(exc)))
        self.account_energy()
        self.state = "idle"
        if self.wdt is not None:
            return await self._halt  # sits in the REPL until the watchdog bites
        await asyncio.wait({self._halt}, timeout=self.crash_reboot_delay)
        return self._halt.result() if self._halt.done() else Halt("crash")

    def _on_storage_cut(self) -> None:
        self.request_halt(Halt("powercut", restore_after=self._cut_restore))

    async def _stop_tasks(self) -> None:
        """Cancel every task of the finished boot; give them a few turns to unwind."""
        self._boot_ctx = None
        me = asyncio.current_task()
        for _ in range(20):
            alive = [t for t in list(self.tasks) if not t.done() and t is not me]
            if not alive:
                break
            for t in alive:
                t.cancel()
            await asyncio.sleep(0)
        else:
            self.counters["zombie_tasks"] += len(alive)
            self.log("zombie_tasks", count=len(alive))
        for t in list(self.tasks):  # retrieve results so asyncio does not warn
            if t.done() and not t.cancelled():
                t.exception()
        self.tasks = type(self.tasks)()

    async def _after(self, halt: Halt):
        self.account_energy()
        k = halt.kind
        if k in ("off", "powercut"):
            self.wdt_stop()
            self.rtc.power_on()
            self.state = "off"
            self.note_led(0.0)
            if k == "off":
                return None
            self.counters["power_cuts"] += 1
            if halt.restore_after > 0:
                await asyncio.sleep(halt.restore_after)
            return C.PWRON_RESET, C.NO_WAKE
        if k == "soft":
            return C.SOFT_RESET, C.NO_WAKE   # the esp32 WDT keeps running over a soft reset
        self.wdt_stop()
        if k in ("reset", "crash"):
            return C.HARD_RESET, C.NO_WAKE
        if k == "wdt":
            return C.WDT_RESET, C.NO_WAKE
        if k == "deepsleep":
            return await self._deep_sleep(halt.ms)
        raise ValueError("unknown halt %r" % k)

    async def _deep_sleep(self, ms: Optional[int]):
        self.state = "sleeping"
        self._sleep_pads = self.sleep_pads()
        self.note_led(1.0 if self._sleep_pads[1] else 0.0)  # only a held pad stays lit
        self._wake = self.sim.loop.create_future()
        self.log("deepsleep", ms=ms, ext0=self.ext0, ext1=self.ext1,
                 camera_powered=self._sleep_pads[0], led_on=self._sleep_pads[1])
        self._check_wake()
        timeout = ms / 1000 if ms else None
        await asyncio.wait({self._wake}, timeout=timeout)
        self.account_energy()
        result = self._wake.result() if self._wake.done() else C.TIMER_WAKE
        self._wake = None
        if isinstance(result, Halt):  # power went away while asleep
            return await self._after(result)
        return C.DEEPSLEEP_RESET, result

    def _check_wake(self) -> None:
        """Level-triggered ext0/ext1 wake, as the ESP32 RTC controller does."""
        w = self._wake
        if w is None or w.done():
            return
        reason = self.pin_wake()
        if reason is not None:
            w.set_result(reason)

    def pin_wake(self) -> Optional[int]:
        """EXT0_WAKE / EXT1_WAKE when the configured pin wake's level holds now, else None."""
        if self.ext0 is not None:
            gpio, level = self.ext0
            if self.pins.get(gpio).level() == (1 if level else 0):
                return C.EXT0_WAKE
        if self.ext1 is not None:
            gpios, any_high = self.ext1
            levels = [self.pins.get(g).level() for g in gpios]
            if (any_high and any(levels)) or (not any_high and levels and not any(levels)):
                return C.EXT1_WAKE
        return None

    async def _drive_scene(self) -> None:
        """Drive the PIR pin from the scene, sleeping until its next change."""
        scene = self.scene
        self.drive_pin(self.pir_pin, scene.pir(self.now))
        while True:
            nxt = scene.next_pir_change(self.now)
            if nxt is None:
                return
            await asyncio.sleep(max(0.0, nxt - self.now))
            # late when a blocking call (a light sleep) held the loop: the level of now
            self.drive_pin(self.pir_pin, scene.pir(max(nxt, self.now)))
