"""machine.lightsleep on a simulated board: the ext0/ext1 wake configured for it ends it early
(ports/esp32/modmachine.c machine_sleep_helper), machine.wake_reason() says what woke it, and
the time is charged at the light-sleep current with the pads as deep sleep would leave them."""
import asyncio

import esp32
import machine

from host_sim.energy import CENTRAL, light_sleep_ma
from host_sim.scenes.base import Scene


class PirUntil(Scene):
    """A scene whose PIR output is high from 0 until `until` (nothing else)."""

    def __init__(self, until):
        super().__init__(1, [])
        self._edges = [0.0, until]


def _run(sim, board, body, seconds=120):
    out = {}

    async def fw(storage):
        out.update(body())
        await asyncio.sleep(3600)

    board.power_on(fw)
    sim.run_for(seconds)
    return out


def test_ext0_on_low_ends_the_light_sleep_when_the_pir_falls(sim, make_board):
    board = make_board(boot_time=0.5, scene=PirUntil(12.5))

    def body():
        machine.Pin(32, machine.Pin.OUT, value=1, hold=True)  # camera powered down, held
        pir = machine.Pin(13, machine.Pin.IN)
        high = pir.value()
        esp32.wake_on_ext0(pir, esp32.WAKEUP_ALL_LOW)
        t0 = board.now
        machine.lightsleep(30_000)
        return {"high": high, "slept": board.now - t0, "why": machine.wake_reason(),
                "after": pir.value()}

    out = _run(sim, board, body)
    assert out["high"] == 1 and out["after"] == 0
    assert out["why"] == machine.EXT0_WAKE
    assert abs(out["slept"] - 12.0) < 1e-6  # woke when the PIR fell, not after 30 s
    e = board.energy
    assert abs(e.seconds["light_sleep"] - 12.0) < 1e-6 and e.seconds["light_sleep_cam_on"] == 0
    assert e.table["light_sleep"] == light_sleep_ma("ai-thinker", False, True, CENTRAL)
    assert e.seconds["deep_sleep"] == 0  # light sleep is not the deep-sleep floor


def test_the_timer_ends_it_when_the_pin_never_reaches_the_level(sim, make_board):
    board = make_board(boot_time=0.5, scene=PirUntil(1000.0))

    def body():
        esp32.wake_on_ext0(machine.Pin(13, machine.Pin.IN), esp32.WAKEUP_ALL_LOW)
        t0 = board.now
        machine.lightsleep(5_000)
        return {"slept": board.now - t0, "why": machine.wake_reason()}

    out = _run(sim, board, body)
    assert abs(out["slept"] - 5.0) < 1e-6 and out["why"] == machine.TIMER_WAKE
    # PWDN not held: the camera stays powered, as it would in deep sleep
    assert abs(board.energy.seconds["light_sleep_cam_on"] - 5.0) < 1e-6


def test_a_level_already_reached_wakes_at_once_and_ext1_counts_too(sim, make_board):
    board = make_board(boot_time=0.5, scene=PirUntil(1000.0))

    def body():
        esp32.wake_on_ext1((machine.Pin(13, machine.Pin.IN),), esp32.WAKEUP_ANY_HIGH)
        t0 = board.now
        machine.lightsleep(5_000)
        return {"slept": board.now - t0, "why": machine.wake_reason()}

    out = _run(sim, board, body)
    assert out["slept"] == 0 and out["why"] == machine.EXT1_WAKE


def test_the_watchdog_keeps_counting_in_light_sleep(sim, make_board):
    board = make_board(boot_time=0.5, scene=PirUntil(1000.0))
    causes = []

    async def fw(storage):
        causes.append(machine.reset_cause())
        if len(causes) == 1:
            machine.WDT(timeout=10_000)
            esp32.wake_on_ext0(machine.Pin(13, machine.Pin.IN), esp32.WAKEUP_ALL_LOW)
            machine.lightsleep(60_000)
        await asyncio.sleep(3600)

    board.power_on(fw)
    sim.run_for(30)
    assert causes == [machine.PWRON_RESET, machine.WDT_RESET]
    assert board.events_of("wdt_expired")[0][0] == 10.5


def test_a_light_sleep_is_not_a_step_that_holds_the_loop(sim, make_board):
    """The board is asleep, every task with it (the Sleeper quiesced them): the step watch
    counts the step's own virtual time (the pin writes, the ext0 set-up), not the 20 s."""
    board = make_board(boot_time=0.5, scene=PirUntil(20.0))

    def body():
        esp32.wake_on_ext0(machine.Pin(13, machine.Pin.IN), esp32.WAKEUP_ALL_LOW)
        t0 = board.now
        machine.lightsleep(30000)
        return {"slept": board.now - t0}

    out = _run(sim, board, body)
    assert 19 < out["slept"] < 20.5
    assert sim.watch.max_virt_ms < 1000, sim.watch.report()
