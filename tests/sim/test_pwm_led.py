"""The flash LED under machine.PWM (the esp32 port's LEDC, docs/FIDELITY.md) and frames lit
by the LED as it was over their exposure; the firmware's capture.led on top of it."""
import asyncio

import pytest

from host_sim import scenes
from host_sim.scenes.base import Scene
from test_camera_driver import on_board  # tests/sim is on sys.path (pytest's prepend mode)


def _dark_scene():
    return Scene(3, [], brightness=0.02, noise=0.0, ir_level=0.6)


def _mean(frame):
    data = bytes(frame)
    return sum(b & 0xFF for b in data) / len(data)


def test_a_pwm_duty_is_the_leds_level_and_its_share_of_the_charge(sim, make_board):
    import machine
    b = make_board(boot_time=0.0)

    async def fw():
        await asyncio.sleep(10)
        pwm = machine.PWM(machine.Pin(4), freq=5000, duty_u16=65535 * 30 // 100)
        await asyncio.sleep(10)
        pwm.deinit()  # ledc_stop and the pad back to its GPIO register (low)
        await asyncio.sleep(5)

    on_board(sim, b, fw, seconds=40)
    levels = [round(lv, 3) for _, lv in b.led_log]
    assert levels == [0, 0.3, 0]
    assert b.led_on_seconds() == pytest.approx(3.0, abs=1e-3)  # 10 s at 30 %
    assert b.energy.seconds["flash_led"] == pytest.approx(3.0, abs=1e-3)


def test_a_new_channel_starts_at_half_duty_and_an_output_pin_takes_the_pad_back(sim, make_board):
    import machine
    b = make_board(boot_time=0.0)

    async def fw():
        pwm = machine.PWM(machine.Pin(4))  # configure_channel: duty = half the resolution
        first = b.led_level()
        machine.Pin(4, machine.Pin.OUT, value=1)  # gpio_output_enable: SIG_GPIO_OUT_IDX
        second = b.led_level()
        pwm.duty_u16(1000)  # the channel runs on, unseen
        third = b.led_level()
        with pytest.raises(ValueError):
            pwm.duty_u16(70000)
        with pytest.raises(ValueError):
            machine.PWM(machine.Pin(2), freq=0)
        return first, second, third

    assert on_board(sim, b, fw) == (pytest.approx(0.5, abs=1e-3), 1.0, 1.0)


def test_a_frame_is_lit_by_the_led_over_its_exposure(sim, make_board):
    """Grayscale QVGA frames (12 fps: ~83 ms each): the LED on for the whole exposure, for
    half of it (switched on half-way), at a 40 % PWM duty, or off."""
    import camera
    import machine
    b = make_board(scene=_dark_scene(), boot_time=0.0)

    async def fw():
        cam = camera.Camera(pixel_format=camera.PixelFormat.GRAYSCALE,
                            frame_size=camera.FrameSize.QVGA, fb_count=1)
        led = machine.Pin(4, machine.Pin.OUT, value=0)
        out = {}
        cam.free_buffer()
        out["off"] = _mean(cam.capture())
        led.value(1)
        cam.free_buffer()
        out["on"] = _mean(cam.capture())
        led.value(0)
        cam.free_buffer()  # the exposure starts now, dark
        await asyncio.sleep_ms(41)
        led.value(1)  # half-way through it
        out["half"] = _mean(cam.capture())
        led.value(0)
        pwm = machine.PWM(machine.Pin(4), freq=5000, duty_u16=65535 * 40 // 100)
        cam.free_buffer()
        out["pwm"] = _mean(cam.capture())
        pwm.deinit()
        return out

    m = on_board(sim, b, fw)
    assert m["off"] < m["pwm"] < m["on"] and m["off"] < m["half"] < m["on"], m
    span = m["on"] - m["off"]
    assert abs((m["half"] - m["off"]) / span - 0.5) < 0.1, m
    assert abs((m["pwm"] - m["off"]) / span - 0.4) < 0.1, m


def test_on_a_chip_with_only_low_speed_ledc_a_pwm_takes_the_cameras_xclk(sim, make_board):
    """ESP32-S3: MicroPython's first PWM channel is low-speed channel 0, the one the camera
    driver's XCLK runs on (esp32-camera target/xclk.c, cnadler86 modcamera.c): no frame
    comes until the camera starts again. On the classic ESP32 the PWM takes the high-speed
    group and the camera goes on."""
    import camera
    import machine

    def run(chip):
        b = make_board(name="cam-" + chip, chip=chip, scene=scenes.empty(2), boot_time=0.0)

        async def fw():
            cam = camera.Camera(pixel_format=camera.PixelFormat.JPEG,
                                frame_size=camera.FrameSize.QVGA)
            pwm = machine.PWM(machine.Pin(4), freq=5000, duty_u16=20000)
            cam.free_buffer()
            during = cam.capture() is not None
            pwm.deinit()
            cam.reconfigure(frame_size=camera.FrameSize.QVGA)  # esp_camera_init again
            cam.free_buffer()
            return during, cam.capture() is not None

        return on_board(sim, b, fw)

    assert run("esp32") == (True, True)
    assert run("esp32s3") == (False, True)


def test_the_firmware_led_dims_by_pwm_only_where_the_preset_allows_it(sim, make_board):
    import machine
    from wildcam.capture.led import Led

    class Log:
        lines: list = []

        def warning(self, *a):
            Log.lines.append(a[0] % a[1:])

    b = make_board(boot_time=0.0)

    async def fw():
        seen = []
        led = Led(4, Log(), pwm_ok=True)
        for pct in (100, 70, 0):
            led.set(pct)
            seen.append(round(b.led_level(), 2))
        plain = Led(4, Log(), pwm_ok=False)
        plain.set(70)  # no PWM allowed: fully on
        seen.append(b.led_level())
        plain.set(0)
        broken = Led(4, Log(), pwm_ok=True)
        keep = machine.PWM
        machine.PWM = None  # a PWM that will not start: fully on, not tried again
        try:
            broken.set(40)
        finally:
            machine.PWM = keep
        seen.append(b.led_level())
        seen.append(broken.pwm_ok)
        broken.set(0)
        return seen

    assert on_board(sim, b, fw) == [1.0, 0.7, 0.0, 1.0, 1.0, False]
    assert any("no PWM" in line for line in Log.lines)


def test_an_instant_sensor_is_lit_by_the_led_as_it_is_at_the_frame(sim, make_board):
    """CameraModel(latency=False) (unit tests of other parts): no exposure time, so the
    frame takes the LED's level at its instant."""
    import camera
    import machine

    from host_sim import CameraModel
    b = make_board(scene=_dark_scene(), boot_time=0.0, camera=CameraModel(latency=False))

    async def fw():
        cam = camera.Camera(pixel_format=camera.PixelFormat.GRAYSCALE,
                            frame_size=camera.FrameSize.QVGA, fb_count=1)
        cam.free_buffer()
        dark = _mean(cam.capture())
        machine.Pin(4, machine.Pin.OUT, value=1)
        cam.free_buffer()
        return dark, _mean(cam.capture())

    dark, lit = on_board(sim, b, fw)
    assert lit > dark + 20, (dark, lit)
