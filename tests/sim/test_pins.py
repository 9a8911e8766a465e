"""Pins, IRQs and the flash LED of a simulated board (the camera: test_camera_driver.py)."""
import asyncio

import machine

from host_sim import scenes


def test_pir_from_scene_fires_irq_and_wakes_a_threadsafe_flag(sim, make_board):
    """The animal scene drives GPIO 13 high while the animal is in view; the firmware's
    rising-edge handler runs and its ThreadSafeFlag waiter wakes at that virtual time."""
    scene = scenes.animal(seed=3, start=100.0, speed=0.2, size=0.2)  # in view 100..106 s
    board = make_board(scene=scene)
    woke = []

    async def fw(storage):
        flag = asyncio.ThreadSafeFlag()
        pin = machine.Pin(13, machine.Pin.IN, machine.Pin.PULL_DOWN)
        pin.irq(handler=lambda p: flag.set(), trigger=machine.Pin.IRQ_RISING)
        assert pin.value() == 0
        await flag.wait()
        woke.append((asyncio.get_running_loop().time(), pin.value()))

    board.power_on(fw)
    sim.run_for(200)
    assert woke == [(100.0, 1)]
    assert board.pins.get(13).irq_count == 1
    assert not scene.pir(106.0) and board.pins.get(13).level() == 0


def test_irq_handler_exception_is_counted_not_fatal(sim, make_board):
    board = make_board()

    async def fw(storage):
        machine.Pin(12, machine.Pin.IN).irq(lambda p: 1 / 0, trigger=machine.Pin.IRQ_RISING)
        await asyncio.sleep(100)

    board.power_on(fw)
    sim.run_for(1)
    board.drive_pin(12, 1)
    sim.run_for(1)
    assert board.counters["irq_errors"] == 1
    assert board.state == "running"


def test_flash_led_on_time_is_recorded(sim, make_board):
    board = make_board(boot_time=0.0)

    async def fw(storage):
        led = machine.Pin(4, machine.Pin.OUT)
        await asyncio.sleep(10)
        led.on()
        await asyncio.sleep(2.5)
        led.off()

    board.power_on(fw)
    sim.run_for(20)
    assert board.led_log == [(0.0, 0), (10.0, 1), (12.5, 0)]  # from the boot on
    assert board.led_on_seconds() == 2.5


def test_flash_led_is_charged_for_the_time_it_was_lit(sim, make_board):
    """The pin shims report a level after setting it: the seconds before the change are
    charged at the level they had (lit for 2.5 s: 2.5 s of flash_led, not the dark 10 s)."""
    board = make_board(boot_time=0.0)

    async def fw(storage):
        led = machine.Pin(4, machine.Pin.OUT)
        await asyncio.sleep(10)
        board.account_energy()  # something else accounted at this very instant (WiFi, ADC)
        led.on()
        await asyncio.sleep(2.5)
        led.value(1)  # no change: nothing to charge differently
        await asyncio.sleep(1.5)
        led.off()
        await asyncio.sleep(3)

    board.power_on(fw)
    sim.run_for(20)
    board.account_energy()
    assert abs(board.energy.seconds["flash_led"] - 4.0) < 1e-6
    assert abs(board.energy.mah["flash_led"] - 4.0 * board.energy.table["flash_led"] / 3600) < 1e-9
