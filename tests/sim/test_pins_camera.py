import asyncio

import machine
import pytest

from host_sim import CameraModel, scenes


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


def _capture_twice(board, sim, fmt="GRAYSCALE", size="QQVGA"):
    import camera
    out = {}

    async def fw(storage):
        cam = camera.Camera(pixel_format=getattr(camera.PixelFormat, fmt),
                            frame_size=getattr(camera.FrameSize, size))
        first = cam.capture()
        out["first_copy"] = bytes(first)
        await asyncio.sleep(2)          # the animal moves
        second = cam.capture()
        out["first_after"] = bytes(first)
        out["second"] = bytes(second)
        out["same_buffer"] = first.obj is second.obj
        cam.reconfigure(frame_size=camera.FrameSize.R96X96)
        try:
            bytes(first)
            out["after_reconfigure"] = "readable"
        except ValueError:
            out["after_reconfigure"] = "released"

    board.power_on(fw)
    sim.run_for(10)
    return out


def test_capture_returns_a_reused_buffer_that_the_next_capture_overwrites(sim, make_board):
    board = make_board(scene=scenes.animal(seed=1, start=0.0, speed=0.1))
    out = _capture_twice(board, sim)
    assert len(out["first_copy"]) == 160 * 120           # raw grayscale w*h
    assert out["first_copy"] != out["second"]             # the scene changed
    assert out["same_buffer"]
    assert out["first_after"] == out["second"]            # a kept view shows the NEW frame
    assert out["after_reconfigure"] == "released"         # use after free is caught


def test_jpeg_frames_are_real_jpegs(sim, make_board):
    board = make_board(scene=scenes.animal(seed=1, start=0.0))
    out = _capture_twice(board, sim, fmt="JPEG", size="QVGA")
    from io import BytesIO

    from PIL import Image
    img = Image.open(BytesIO(out["second"]))
    assert img.format == "JPEG" and img.size == (320, 240)


def test_scripted_capture_failures_and_init_failure(sim, make_board):
    import camera
    ok_board = make_board("ok", camera=CameraModel(none_every=3))
    bad_board = make_board("bad", camera=CameraModel(fail_init=True))
    results = {}

    async def fw_ok(storage):
        cam = camera.Camera(pixel_format=camera.PixelFormat.GRAYSCALE,
                            frame_size=camera.FrameSize.R96X96)
        results["ok"] = [cam.capture() is None for _ in range(6)]

    async def fw_bad(storage):
        with pytest.raises(OSError):
            camera.Camera()
        results["bad"] = True

    ok_board.power_on(fw_ok)
    bad_board.power_on(fw_bad)
    sim.run_for(5)
    assert results["ok"] == [False, False, True, False, False, True]
    assert results["bad"] is True


def test_legacy_driver_api_and_per_board_dispatch(sim, make_board):
    """The same shared `camera` module shows each board the API of its flashed driver."""
    import camera
    legacy = make_board("old", camera_driver="lemariva", scene=scenes.empty(2))
    modern = make_board("new", camera_driver="cnadler86")
    seen = {}

    async def fw_old(storage):
        seen["old_has_Camera"] = hasattr(camera, "Camera")
        assert camera.capture() is False  # not initialised
        assert camera.init(0, format=camera.JPEG, framesize=camera.FRAME_QVGA) is True
        camera.quality(10)
        frame = camera.capture()
        seen["old_frame"] = (type(frame), frame[:2])
        camera.deinit()
        assert camera.init(0, format=camera.GRAYSCALE, framesize=camera.FRAME_96X96)
        seen["old_gray_len"] = len(camera.capture())

    async def fw_new(storage):
        seen["new_has_Camera"] = hasattr(camera, "Camera")
        seen["new_has_init"] = hasattr(camera, "init")

    legacy.power_on(fw_old)
    modern.power_on(fw_new)
    sim.run_for(5)
    assert seen["old_has_Camera"] is False
    assert seen["old_frame"] == (bytes, b"\xff\xd8")
    assert seen["old_gray_len"] == 96 * 96
    assert seen["new_has_Camera"] is True and seen["new_has_init"] is False


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
    assert board.led_log == [(10.0, 1), (12.5, 0)]
    assert board.led_on_seconds() == 2.5
