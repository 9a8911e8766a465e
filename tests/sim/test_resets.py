import asyncio

import esp32
import machine


def test_wdt_resets_a_board_that_stops_feeding(sim, make_board):
    board = make_board(boot_time=0.5)
    causes = []

    async def fw(storage):
        causes.append(machine.reset_cause())
        wdt = machine.WDT(timeout=5000)
        for _ in range(3):
            await asyncio.sleep(2)
            wdt.feed()
        await asyncio.sleep(3600)  # hangs without feeding

    board.power_on(fw)
    sim.run_for(15)
    assert causes == [machine.PWRON_RESET, machine.WDT_RESET]
    wdt_halts = board.events_of("wdt_expired")
    assert len(wdt_halts) == 1
    assert wdt_halts[0][0] == 0.5 + 6 + 5  # last feed at 6.5 s after power-on, +5 s
    assert board.counters["WDT_RESET"] == 1


def test_fed_wdt_never_resets(sim, make_board):
    board = make_board()

    async def fw(storage):
        wdt = machine.WDT(timeout=2000)
        while True:
            await asyncio.sleep(1.5)
            wdt.feed()

    board.power_on(fw)
    sim.run_for(6 * 3600)
    assert board.generation == 1 and board.counters["WDT_RESET"] == 0


def test_deepsleep_with_ext0_wake_keeps_rtc_memory_and_sets_causes(sim, make_board):
    board = make_board()
    boots = []

    async def fw(storage):
        rtc = machine.RTC()
        boots.append((machine.reset_cause(), machine.wake_reason(), rtc.memory()))
        if machine.reset_cause() == machine.PWRON_RESET:
            rtc.datetime((2026, 6, 1, 0, 12, 0, 0, 0))
            rtc.memory(b"state:42")
            pir = machine.Pin(13, machine.Pin.IN)
            esp32.wake_on_ext0(pir, esp32.WAKEUP_ANY_HIGH)
            machine.deepsleep(3_600_000)
        boots.append(rtc.datetime()[4:6])
        await asyncio.sleep(1)

    board.power_on(fw)
    sim.run_for(60)
    assert board.state == "sleeping"
    board.drive_pin(13, 1)  # the PIR fires during the sleep
    sim.run_for(5)
    assert boots[0] == (machine.PWRON_RESET, 0, b"")
    assert boots[1] == (machine.DEEPSLEEP_RESET, machine.EXT0_WAKE, b"state:42")
    assert boots[2] == (12, 1)  # RTC kept running through the sleep (60.5 s later)


def test_deepsleep_timer_wake(sim, make_board):
    board = make_board(boot_time=0.0)

    async def fw(storage):
        if machine.reset_cause() != machine.DEEPSLEEP_RESET:
            machine.deepsleep(10_000)
        await asyncio.sleep(1000)

    board.power_on(fw)
    sim.run_for(30)
    boot2 = board.events_of("boot")[1]
    assert boot2[0] == 10.0 and boot2[2]["wake"] == machine.TIMER_WAKE


def test_power_cut_loses_rtc_and_memory_reset_keeps_them(sim, make_board):
    board = make_board()
    seen = []

    async def fw(storage):
        rtc = machine.RTC()
        seen.append((machine.reset_cause(), rtc.datetime()[0], rtc.memory()))
        if len(seen) == 1:
            rtc.datetime((2026, 6, 1, 0, 0, 0, 0, 0))
            rtc.memory(b"x")
            machine.reset()
        await asyncio.sleep(3600)

    board.power_on(fw)
    sim.run_for(10)
    board.cut_power(restore_after=30)
    sim.run_for(60)
    assert seen == [(machine.PWRON_RESET, 2000, b""), (machine.HARD_RESET, 2026, b"x"),
                    (machine.PWRON_RESET, 2000, b"")]
    assert board.counters["power_cuts"] == 1


def test_crash_is_counted_and_reboots(sim, make_board):
    board = make_board(crash_reboot_delay=1.0)

    async def fw(storage):
        raise RuntimeError("boom")

    board.power_on(fw)
    sim.run_for(10)
    assert board.counters["crashes"] >= 5
    assert board.reset_cause == machine.HARD_RESET
    assert "RuntimeError: boom" in board.events_of("crash")[0][2]["traceback"]


def test_reset_cancels_every_task_of_the_boot(sim, make_board):
    board = make_board()
    ticks = []

    async def worker():
        while True:
            await asyncio.sleep(1)
            ticks.append(board.generation)

    async def fw(storage):
        asyncio.create_task(worker())
        await asyncio.sleep(3.2)
        if board.generation == 1:
            machine.soft_reset()
        await asyncio.sleep(100)

    board.power_on(fw)
    sim.run_for(8)
    assert board.reset_cause == machine.SOFT_RESET
    assert 1 in ticks and 2 in ticks
    # no worker of boot 1 kept running after boot 2 started
    first_two = ticks.index(2)
    assert all(g == 2 for g in ticks[first_two:])
