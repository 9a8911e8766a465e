"""host_sim's `camera` module against what the real drivers do (docs/FIDELITY.md): the
cnadler86 driver (src/modcamera.c, src/modcamera_api.c) on the AI_THINKER and the generic
image, and the legacy lemariva driver; plus the chip-aware `esp32` temperature names."""
import asyncio
import errno

import pytest

from host_sim import CameraModel, scenes

AI_THINKER = dict(data_pins=[5, 18, 19, 21, 36, 39, 34, 35], pclk_pin=22, vsync_pin=25,
                  href_pin=23, sda_pin=26, scl_pin=27, xclk_pin=0, powerdown_pin=32)


def on_board(sim, board, fn, seconds=30):
    """Run `fn()` (an async function) as the board's firmware; returns what it returned,
    re-raising what it raised."""
    out = {}

    async def fw(storage):
        try:
            out["value"] = await fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out["error"] = e

    board.power_on(fw)
    sim.run_for(seconds)
    if "error" in out:
        raise out["error"]
    return out.get("value")


def test_frames_are_signed_views_of_the_drivers_buffer(sim, make_board):
    import camera
    b = make_board(scene=scenes.empty(2))

    async def fw():
        cam = camera.Camera(pixel_format=camera.PixelFormat.JPEG,
                            frame_size=camera.FrameSize.QVGA)
        jpeg = cam.capture()
        head = (jpeg.format, jpeg[0], jpeg[1], bytes(jpeg[:2]))
        cam.reconfigure(pixel_format=camera.PixelFormat.GRAYSCALE,
                        frame_size=camera.FrameSize.R96X96)
        gray = cam.capture()
        return head, len(gray), sum(gray), sum(bytes(gray))

    head, n, signed_sum, true_sum = on_board(sim, b, fw)
    assert head == ("b", -1, -40, b"\xff\xd8")  # a JPEG's 0xFF 0xD8 read as -1, -40
    assert n == 96 * 96
    assert true_sum // n > 128 and signed_sum < 0  # a bright frame sums negative


def test_the_buffer_is_reused_and_freed_views_fail(sim, make_board):
    import camera
    b = make_board(scene=scenes.animal(seed=1, start=0.0, speed=0.1))

    async def fw():
        cam = camera.Camera(pixel_format=camera.PixelFormat.GRAYSCALE,
                            frame_size=camera.FrameSize.QQVGA)
        first = cam.capture()
        copy = bytes(first)
        await asyncio.sleep(2)  # the animal moves
        second = cam.capture()
        same = first.obj is second.obj and bytes(first) == bytes(second) != copy
        cam.reconfigure(frame_size=camera.FrameSize.R96X96)
        with pytest.raises(ValueError):
            bytes(first)  # released: on a board it would read freed PSRAM
        return same

    assert on_board(sim, b, fw) is True


def test_capture_blocks_for_the_frame_time_and_free_buffer_lets_asyncio_wait(sim, make_board):
    """README benchmark: JPEG VGA 12.5 fps (80 ms); GRAYSCALE 96x96 12.5 fps."""
    import camera
    b = make_board()
    clock = b.sim.clock

    async def fw():
        cam = camera.Camera(pixel_format=camera.PixelFormat.JPEG,
                            frame_size=camera.FrameSize.VGA)
        first = cam.capture()  # the frame the sensor started after the test frame
        t0 = clock.now
        cam.capture()  # hands the buffer back and blocks until the next frame is whole
        blocked = clock.now - t0
        cam.free_buffer()
        t1 = clock.now
        states = [cam.frame_available()]
        while not cam.frame_available():
            await asyncio.sleep(0.005)
        waited = clock.now - t1
        t2 = clock.now
        cam.capture()
        return len(first) > 1000, blocked, states, waited, clock.now - t2

    ok, blocked, states, waited, last = on_board(sim, b, fw)
    assert ok and blocked == pytest.approx(0.08)
    assert states == [False] and 0.08 <= waited < 0.09 and last == 0.0


def test_a_frame_that_never_comes_is_none_after_the_drivers_timeout(sim, make_board):
    import camera
    b = make_board(camera=CameraModel(none_at=[3]))  # frame 1: test frame, 2: next, 3: lost

    async def fw():
        cam = camera.Camera(pixel_format=camera.PixelFormat.GRAYSCALE,
                            frame_size=camera.FrameSize.R96X96)
        ok = cam.capture() is not None
        t0 = b.sim.clock.now
        lost = cam.capture()
        return ok, lost, b.sim.clock.now - t0, cam.capture() is not None

    ok, lost, waited, again = on_board(sim, b, fw)
    assert ok and lost is None and waited >= 4.0 and again  # FB_GET_TIMEOUT 4000 ms


def test_constructor_arguments_follow_the_c_constructor(sim, make_board):
    import camera
    b = make_board()

    async def fw():
        C, PF = camera.Camera, camera.PixelFormat
        errs = []
        for kw, exc in ((dict(jpeg_quality=101), ValueError), (dict(jpeg_quality=-1), ValueError),
                        (dict(xclk_freq=41000000), ValueError), (dict(grab_mode=2), ValueError),
                        (dict(pixel_format=9), ValueError), (dict(data_pins=(1,) * 8), TypeError),
                        (dict(data_pins=[1] * 7), ValueError), (dict(colour=1), TypeError)):
            with pytest.raises(exc) as e:
                C(**kw)
            errs.append(str(e.value))
        with pytest.raises(TypeError):
            C(PF.JPEG)  # keyword-only
        cam = C(pixel_format=PF.JPEG, xclk_freq=20, jpeg_quality=0)  # 20 = 20 MHz
        return errs, cam.pixel_format, cam.frame_size, cam.quality, cam.fb_count, cam.grab_mode

    errs, fmt, fs, q, fbc, grab = on_board(sim, b, fw)
    assert errs == ["jpeg quality must be in range 0-100", "jpeg quality must be in range 0-100",
                    "xclk frequency cannot be grather than 40MHz", "Invalid grab_mode",
                    "Invalid pixel_format", "data_pins must be a list or bytearray",
                    "data_pins must have 8 elements", "unexpected keyword argument 'colour'"]
    assert (fmt, fs, q, fbc, grab) == (4, 1, 0, 1, 0)  # defaults: QQVGA, fb 1, WHEN_EMPTY


def test_generic_image_requires_the_pins_and_the_ai_thinker_image_defaults_them(sim,
                                                                             make_board):
    import camera
    generic = make_board("generic", image="generic")
    model = make_board("model", image="ai_thinker")

    async def fw_generic():
        msgs = []
        for missing in ("data_pins", "pclk_pin", "vsync_pin", "href_pin", "xclk_pin"):
            kw = {k: v for k, v in AI_THINKER.items() if k != missing}
            with pytest.raises(TypeError) as e:
                camera.Camera(**kw)
            msgs.append(str(e.value))
        kw = {k: v for k, v in AI_THINKER.items() if k != "sda_pin"}
        with pytest.raises(ValueError) as e:
            camera.Camera(**kw)
        msgs.append(str(e.value))
        cam = camera.Camera(pixel_format=camera.PixelFormat.JPEG, **AI_THINKER)
        return msgs, bytes(cam.capture()[:2])

    async def fw_model():
        return bytes(camera.Camera(pixel_format=camera.PixelFormat.JPEG).capture()[:2])

    msgs, head = on_board(sim, generic, fw_generic)
    assert msgs[:5] == ["'%s' argument required" % k for k in
                        ("data_pins", "pclk_pin", "vsync_pin", "href_pin", "xclk_pin")]
    assert msgs[5] == "Either i2c object or sda_pin/scl_pin must be specified"
    assert head == b"\xff\xd8" and on_board(sim, model, fw_model) == b"\xff\xd8"


def test_start_failures_raise_oserror_as_the_driver_does(sim, make_board):
    import camera
    no_sensor = make_board("a", camera=CameraModel(fail_init=True))
    no_psram = make_board("b", psram=False)
    bad_bus = make_board("c")

    def attempt(**kw):
        async def fw():
            with pytest.raises(OSError) as e:
                camera.Camera(pixel_format=camera.PixelFormat.JPEG, **kw)
            return e.value.args
        return fw

    assert on_board(sim, no_sensor, attempt()) == (-261, "ESP_ERR_NOT_FOUND")
    assert on_board(sim, no_psram, attempt()) == (1, "ESP_FAIL")
    wrong = dict(AI_THINKER, data_pins=[1, 2, 3, 4, 5, 6, 7, 8])  # sensor found, no frames
    assert on_board(sim, bad_bus, attempt(**wrong)) == (
        "Failed to capture initial frame. Construct a new object with appropriate "
        "configuration.",)


def test_a_deinitialised_camera_raises_enoent_and_has_no_properties(sim, make_board):
    import camera
    b = make_board()

    async def fw():
        cam = camera.Camera(pixel_format=camera.PixelFormat.JPEG)
        cam.deinit()
        codes = []
        for call in (cam.capture, cam.frame_available, cam.get_quality,
                     lambda: cam.reconfigure(frame_size=camera.FrameSize.VGA),
                     lambda: cam.set_contrast(1)):
            with pytest.raises(OSError) as e:
                call()
            codes.append(e.value.args[0])
        cam.free_buffer()  # no check there
        with pytest.raises(AttributeError):
            cam.quality
        with pytest.raises(AttributeError):
            cam.quality = 50
        fmt = cam.get_pixel_format()
        cam.init()
        return codes, fmt, cam.quality

    codes, fmt, q = on_board(sim, b, fw)
    assert codes == [errno.ENOENT] * 5 and fmt == 4 and q == 85


def test_sensor_settings_are_checked_like_the_ov2640_does(sim, make_board):
    import camera
    b = make_board()

    async def fw():
        cam = camera.Camera(pixel_format=camera.PixelFormat.JPEG)
        msgs = []
        for name, value in (("contrast", 3), ("sharpness", 0), ("wb_mode", 5)):
            with pytest.raises(ValueError) as e:
                setattr(cam, name, value)
            msgs.append(str(e.value))
        with pytest.raises(ValueError) as e:
            cam.sensor_name = "x"
        msgs.append(str(e.value))
        cam.brightness = -2
        cam.agc_gain = 99  # clamped by the sensor, no error
        cam.quality = 90
        return msgs, cam.brightness, cam.agc_gain, cam.quality, cam.sensor_name

    msgs, br, gain, q, name = on_board(sim, b, fw)
    assert msgs == ["Invalid setting for contrast", "Invalid setting for sharpness",
                    "Invalid setting for wb_mode", "read-only property"]
    assert (br, gain, q, name) == (-2, 30, 90, "OV2640")


def test_there_is_one_camera_per_board(sim, make_board):
    import camera
    b = make_board()

    async def fw():
        a = camera.Camera(pixel_format=camera.PixelFormat.JPEG)
        view = a.capture()
        c = camera.Camera(pixel_format=camera.PixelFormat.GRAYSCALE)
        with pytest.raises(ValueError):
            bytes(view)  # the first camera was deinitialised by the second construction
        return a is c, a.pixel_format

    assert on_board(sim, b, fw) == (True, 3)


def test_enum_values_are_the_stubs(sim, make_board):
    import camera
    b = make_board()

    async def fw():
        return ([camera.PixelFormat.RGB565, camera.PixelFormat.GRAYSCALE, camera.PixelFormat.JPEG,
                 camera.PixelFormat.RGB555],
                [camera.FrameSize.R96X96, camera.FrameSize.QQVGA, camera.FrameSize.QVGA,
                 camera.FrameSize.CIF, camera.FrameSize.VGA, camera.FrameSize.UXGA],
                [camera.GrabMode.WHEN_EMPTY, camera.GrabMode.LATEST],
                [camera.GainCeiling.X2, camera.GainCeiling.X128])

    assert on_board(sim, b, fw) == ([0, 3, 4, 8], [0, 1, 6, 8, 10, 15], [0, 1], [0, 6])


def test_legacy_driver_raises_wants_psram_for_vga_and_returns_bytes(sim, make_board):
    import camera
    legacy = make_board("old", image="lemariva", scene=scenes.empty(2))
    broken = make_board("broken", image="lemariva", camera=CameraModel(fail_init=True))
    modern = make_board("new")

    async def fw_old():
        seen = {"has_Camera": hasattr(camera, "Camera"), "before": camera.capture()}
        with pytest.raises(OSError) as e:  # JPEG VGA in DRAM (the default): no room
            camera.init(0, format=camera.JPEG, framesize=camera.FRAME_VGA)
        seen["dram"] = e.value.args
        assert camera.init(0, format=camera.JPEG, framesize=camera.FRAME_VGA,
                           fb_location=camera.PSRAM) is True
        with pytest.raises(OSError):
            camera.init(0, format=camera.JPEG, fb_location=camera.PSRAM)  # already running
        assert camera.capture() is False  # ... and that tore the camera down
        camera.init(0, format=camera.JPEG, framesize=camera.FRAME_CIF)  # CIF fits DRAM
        frame = camera.capture()
        seen["frame"] = (type(frame), frame[:2])
        camera.deinit()
        camera.init(0, format=camera.GRAYSCALE, framesize=camera.FRAME_96X96,
                    fb_location=camera.PSRAM)
        seen["gray"] = len(camera.capture())
        seen["consts"] = (camera.JPEG, camera.GRAYSCALE, camera.PSRAM, camera.DRAM,
                          camera.FRAME_VGA, camera.FRAME_CIF)
        return seen

    async def fw_broken():
        with pytest.raises(OSError) as e:
            camera.init(0, format=camera.JPEG, fb_location=camera.PSRAM)
        return e.value.args

    async def fw_new():
        return hasattr(camera, "Camera"), hasattr(camera, "init")

    seen = on_board(sim, legacy, fw_old)
    assert seen["has_Camera"] is False and seen["before"] is False
    assert seen["dram"] == ("Camera Init Failed",)
    assert seen["frame"] == (bytes, b"\xff\xd8") and seen["gray"] == 96 * 96
    assert seen["consts"] == (4, 3, 0, 1, 8, 6)  # esp32-camera v2.0.5 enum values
    assert on_board(sim, broken, fw_broken) == ("Camera Init Failed",)
    assert on_board(sim, modern, fw_new) == (True, False)


def test_legacy_driver_hands_out_the_old_frame_after_a_pause(sim, make_board):
    """WHEN_EMPTY with one buffer: the sensor refills right after a capture, so a capture
    made much later gets that older frame at once (esp_camera.h)."""
    import camera
    b = make_board(image="lemariva")
    clock = b.sim.clock

    async def fw():
        camera.init(0, format=camera.JPEG, framesize=camera.FRAME_QVGA, fb_location=camera.PSRAM)
        camera.capture()
        await asyncio.sleep(1)
        t0 = clock.now
        camera.capture()  # waited in the buffer since just after the last capture
        stale = clock.now - t0
        t1 = clock.now
        camera.capture()  # a new one: one frame time at xclk 10 MHz (half of 25 fps)
        return stale, clock.now - t1

    stale, fresh = on_board(sim, b, fw)
    assert stale == 0.0 and fresh == pytest.approx(0.08)


@pytest.mark.parametrize("chip,has_raw,has_mcu", [("esp32", True, False),
                                                  ("esp32s3", False, True),
                                                  ("esp32c3", False, True)])
def test_esp32_temperature_names_follow_the_chip(sim, make_board, chip, has_raw, has_mcu):
    import esp32
    b = make_board(chip=chip, temperature_c=22.0)

    async def fw():
        return (hasattr(esp32, "raw_temperature"), hasattr(esp32, "mcu_temperature"),
                esp32.raw_temperature() if has_raw else esp32.mcu_temperature())

    raw, mcu, value = on_board(sim, b, fw)
    assert (raw, mcu) == (has_raw, has_mcu)
    assert value == (87 if has_raw else 31)  # 31 C die (22 C air, running): 87.8 F


def test_the_adapter_waits_for_frames_without_blocking_the_loop(sim, make_board):
    """wildcam.capture.cam on the maintained driver: while a VGA JPEG (80 ms) is on its way
    other tasks run; on the legacy driver the capture blocks them."""
    from wildcam.capture.cam import Camera

    class Log:
        def warning(self, *a):
            pass

    def run(board):
        async def fw():
            ticks = []

            async def ticker():
                while True:
                    ticks.append(board.sim.clock.now)
                    await asyncio.sleep(0.005)

            cam = Camera(Log(), frame_size="VGA")
            cam.configure()
            t = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            n0 = len(ticks)
            frame = await cam.capture()
            n = len(ticks) - n0
            t.cancel()
            return bytes(frame[:2]), n
        return on_board(sim, board, fw)

    head, ticks = run(make_board("new"))
    # the ticker ran through the wait (VGA JPEG, two frame buffers: 25 fps, 40 ms = 8 ticks)
    assert head == b"\xff\xd8" and ticks >= 6
    head, ticks = run(make_board("old", image="lemariva"))
    assert head == b"\xff\xd8" and ticks <= 1


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, msg, *a):
        self.lines.append(msg % a)

    warning = info


def _noisy(noise):
    from host_sim.scenes.texture import Backdrop
    from host_sim.scenes.wild import WildScene
    return WildScene(Backdrop(3), animals=[], seed=3, noise=noise)


def test_a_jpeg_too_large_for_the_buffer_is_taken_again_smaller(sim, make_board):
    """A noisy scene at VGA quality 85 makes a JPEG larger than the driver's w*h/5 buffer
    (the driver drops it: None); the adapter lowers the quality and gets the picture."""
    from wildcam.capture.cam import QUALITY_MIN, Camera
    b = make_board(scene=_noisy(16.0))
    log = _Log()

    async def fw():
        cam = Camera(log, frame_size="VGA", quality=85)
        frame = await cam.capture()
        return len(frame), cam.q, cam.quality_drops, cam.errors

    n, q, drops, errors = on_board(sim, b, fw)
    assert n <= 640 * 480 // 5 and q < 85 and q >= QUALITY_MIN and drops >= 1
    assert any("quality lowered" in line for line in log.lines)


def test_the_quality_comes_back_after_good_frames(sim, make_board):
    from wildcam.capture.cam import QUALITY_BACK, Camera
    b = make_board(scene=_noisy(2.0))  # a quiet scene: every JPEG fits

    async def fw():
        cam = Camera(_Log(), frame_size="VGA", quality=85)
        await cam.capture()
        cam.q = 70  # as after a drop
        for _ in range(QUALITY_BACK):
            await cam.capture()
        return cam.q, cam._cam.quality

    q, sensor_q = on_board(sim, b, fw, seconds=60)
    assert q == 85 and sensor_q == 85


def test_the_first_capture_starts_the_sensor_once(sim, make_board):
    """Constructing the driver starts the sensor; the first JPEG needs no second start (a
    reconfigure is a full deinit and init on the cnadler86 driver: ~0.6 s and its charge)."""
    from wildcam.capture.cam import Camera
    b = make_board(scene=_noisy(2.0))

    async def fw():
        cam = Camera(_Log(), frame_size="VGA", quality=85)
        await cam.capture()
        await cam.capture()
        return b.camera.inits

    assert on_board(sim, b, fw) == 1
