"""The capture path, frame -> EXIF -> SD file -> sidecar, through the real CaptureService and
camera adapter, with a driver stub that returns SIGNED memoryviews like the cnadler86
driver (camstub.py). Portable: runs under CPython, the wasm MicroPython gate and the native
unix port (tests/test_portable_unix.py)."""

import asyncio
import hashlib
import json
import struct
import sys
from binascii import hexlify

import camstub
from portable_support import PrefixStorage, tmpdir

from wildcam.capture.cam import Camera
from wildcam.capture.detect import MotionDetector
from wildcam.capture.service import CaptureService
from wildcam.core import presets
from wildcam.core.config import Config

BRIGHT = 200   # a daylight grey level: -56 as a signed byte
JPEG_BODY = bytes(range(256)) * 30  # every byte value, half of them "negative"
WHEN = (2026, 6, 1, 0, 12, 30, 5, 0)  # RTC.datetime(): 2026-06-01 12:30:05 UTC


class Log:
    def __init__(self):
        self.lines = []

    def info(self, m, *a):
        self.lines.append(m % a)

    warning = error = debug = info


class RTC:
    def datetime(self, *a):
        return WHEN


class Pin:
    OUT = 3
    driven = []

    def __init__(self, gpio, mode=-1, value=None):
        self.gpio = gpio

    def value(self, v=None):
        Pin.driven.append((self.gpio, v))


class PWM:
    """machine.PWM on the LED pin: the duties it was given (None: deinit)."""
    duties = []

    def __init__(self, pin, freq=5000, duty_u16=0):
        self.gpio = pin.gpio
        PWM.duties.append((self.gpio, duty_u16))

    def duty_u16(self, v):
        PWM.duties.append((self.gpio, v))

    def deinit(self):
        PWM.duties.append((self.gpio, None))


class FakeMachine:
    """What clock.now() reads (RTC) and the flash LED pin (it must stay off by day)."""
    RTC = RTC
    Pin = Pin
    PWM = PWM


def _frames(fmt, fs, n):
    if fmt == camstub.PixelFormat.JPEG:
        return b"\xff\xd8" + JPEG_BODY + bytes([n & 255]) + b"\xff\xd9"
    w, h = (96, 96) if fs == camstub.FrameSize.R96X96 else (160, 120)
    frame = bytearray(bytes([BRIGHT]) * (w * h))
    if n > 3:  # a dark animal walks in from the left, 12 px per frame
        x0 = min(w - 40, (n - 3) * 12)
        for y in range(40, 80):
            frame[y * w + x0:y * w + x0 + 32] = b"\x1e" * 32
    return bytes(frame)


def _setup(extra=None):
    st = PrefixStorage(tmpdir())
    st.makedirs("/sd")
    doc = {"version": 2, "wifi": {"ssid": "x"}, "device": {"lat": 47.5, "lon": -122.25},
           "capture": {"burst_count": 3, "burst_interval_ms": 100}}
    for k, v in (extra or {}).items():
        sec, leaf = k.split(".")
        doc.setdefault(sec, {})[leaf] = v
    st.write_atomic("/config.json", json.dumps(doc).encode())
    camstub.frames = _frames
    camstub.fail_at = ()
    camstub.count[0] = 0
    del camstub.shots[:]
    del Pin.driven[:]
    del PWM.duties[:]
    del camstub.made[:]
    if not hasattr(asyncio, "ThreadSafeFlag"):  # the wasm build lacks it; a board has it
        asyncio.ThreadSafeFlag = asyncio.Event
    sys.modules["machine"] = FakeMachine
    return st, Config(st).load()


def _done():
    del sys.modules["machine"]  # CPython: back to host_sim's shim on the next import


def _service(st, cfg, log, detector=None):
    cam = Camera(log, frame_size="VGA", quality=85, driver=camstub,
                 pins=presets.from_config(cfg))
    return cam, CaptureService(cfg, st, cam, log, 7, "cam-p", detector=detector)


def _check_image(st, path, meta_event):
    data = st.read(path)
    assert data[:4] == b"\xff\xd8\xff\xe1"  # SOI, then the APP1 segment we inserted
    seg_len = struct.unpack(">H", data[4:6])[0]
    assert data[6:12] == b"Exif\x00\x00"
    body = data[4 + seg_len:]
    assert body[:len(JPEG_BODY)] == JPEG_BODY  # the frame's bytes, unchanged after APP1
    assert b"2026:06:01 12:30:05\x00" in data[:4 + seg_len]  # DateTimeOriginal
    side = json.loads(st.read(path[:-4] + ".json"))
    assert side["size"] == len(data)
    assert side["sha256"] == hexlify(hashlib.sha256(data).digest()).decode()
    assert side["event"] == meta_event and side["clock"] == "rtc"
    assert side["time_iso"] == "2026-06-01T12:30:05Z"
    return side


def test_signed_frames_become_whole_jpegs_with_exif_and_a_true_ambient_level():
    st, cfg = _setup()
    log = Log()
    try:
        cam, svc = _service(st, cfg, log)
        paths = asyncio.run(svc.event("manual"))
    finally:
        _done()
    assert len(paths) == 3, log.lines
    assert all(p.startswith("/sd/DCIM/20260601/123005_B00007_") for p in paths)
    for i, p in enumerate(paths):
        side = _check_image(st, p, "cam-p-7-1")
        assert side["ambient"] == BRIGHT and side["flash"] is False, (side, log.lines)
        assert (side["seq"], side["of"]) == (i + 1, 3)
    assert not [n for n in st.listdir("/sd/DCIM/20260601") if n.endswith(".part")]
    # the pins of the board preset went to the driver, explicitly and as a list
    kw = camstub.made[0]
    assert kw["data_pins"] == [5, 18, 19, 21, 36, 39, 34, 35] and kw["pclk_pin"] == 22
    assert kw["sda_pin"] == 26 and kw["powerdown_pin"] == 32 and kw["xclk_freq"] == 20000000
    assert svc.counters["images"] == 3 and cam.errors == 0
    assert [v for _, v in Pin.driven if v] == []  # the LED never went on


def test_the_detector_sees_unsigned_frames_and_confirms_the_animal():
    st, cfg = _setup({"detect.fps": 10, "detect.frames": 12})
    log = Log()
    det = MotionDetector(160, 120, threshold=cfg.get("detect.threshold"),
                         min_area=cfg.get("detect.min_area"), confirm=cfg.get("detect.confirm"))
    try:
        cam, svc = _service(st, cfg, log, detector=det)
        paths = asyncio.run(svc.event("pir"))
    finally:
        _done()
    assert len(paths) == 3, log.lines
    side = json.loads(st.read(paths[0][:-4] + ".json"))
    # the frames after the burst judge it (and give the light: the animal is in them)
    assert 150 < side["ambient"] <= BRIGHT and side["detection"]["motion"] is True
    assert side["trigger"] == "pir" and side["verdict"] == "motion"
    assert side["det_ms"] > 0  # the deciding frame came after the image
    # no light level known: the LED lit the burst fully, the look frames at detect.led_pct
    # by PWM (released before the pad is an output again), then off
    assert side["flash"] is True and PWM.duties == [(4, 70 * 65535 // 100), (4, None)]
    assert [v for _, v in Pin.driven] == [1, 0, 0], Pin.driven
    assert camstub.shots[:4] == ["jpeg", "jpeg", "jpeg", "jpeg"], camstub.shots  # test frame,
    # then the burst: photographed before any grayscale look


def test_a_lost_frame_is_retried_and_a_deinitialised_camera_is_enoent():
    st, cfg = _setup()
    log = Log()
    try:
        cam, svc = _service(st, cfg, log)
        camstub.fail_at = (3,)  # 1: test frame, 2: the look, 3: first JPEG -> lost
        paths = asyncio.run(svc.event("manual"))
        drv = cam._cam
        cam.deinit()
        try:
            drv.capture()
            err = None
        except OSError as e:
            err = e.args[0]
    finally:
        _done()
    assert len(paths) == 3 and cam.errors == 1 and cam.reinits == 1
    assert err == 2  # OSError(ENOENT), as the driver's check_init raises


def test_the_frame_wait_yields_to_other_tasks():
    st, cfg = _setup()
    log = Log()
    ticks = []

    async def main(cam):
        async def ticker():
            while True:
                ticks.append(1)
                await asyncio.sleep_ms(1)

        t = asyncio.create_task(ticker())
        await asyncio.sleep_ms(0)
        before = len(ticks)
        cam.configure()
        await cam.capture()
        await cam.capture()
        t.cancel()
        return len(ticks) - before

    try:
        cam, svc = _service(st, cfg, log)
        ran = asyncio.run(main(cam))
    finally:
        _done()
    assert ran >= 2  # the ticker ran while capture() waited for frame_available()


def test_the_pending_marker_keeps_an_earlier_boots_burst_until_it_is_handed_over():
    """A burst waits in /sd/DCIM/pending.json for its verdict. A reset before the verdict
    leaves it; the next boot's own burst joins the marker instead of replacing it, and
    `take_pending` hands over only the earlier boot's images, never this boot's own."""
    from wildcam.capture.store import PENDING, Store
    st, cfg = _setup()
    try:
        log = Log()
        st.makedirs("/sd/DCIM")
        for p in ("/sd/DCIM/a1.jpg", "/sd/DCIM/a2.jpg", "/sd/DCIM/b1.jpg"):
            st.write_atomic(p, b"\xff\xd8jpeg\xff\xd9")
            st.write_atomic(p[:-4] + ".json", b'{"event": "e"}')
        one = Store(cfg, st, log, 1, "cam-p")
        one.mark_pending([("/sd/DCIM/a1.jpg", 8, "h1"), ("/sd/DCIM/a2.jpg", 8, "h2")])
        # reset: boot 2 is a PIR wake that photographs before it recovers anything
        two = Store(cfg, st, log, 2, "cam-p")
        two.mark_pending([("/sd/DCIM/b1.jpg", 8, "h3")])
        assert [e[0] for e in json.loads(st.read(PENDING))] == [
            "/sd/DCIM/a1.jpg", "/sd/DCIM/a2.jpg", "/sd/DCIM/b1.jpg"]
        got = two.take_pending()
        assert [g[0] for g in got] == ["/sd/DCIM/a1.jpg", "/sd/DCIM/a2.jpg"]
        assert got[0][3] == {"event": "e"}
        assert [e[0] for e in json.loads(st.read(PENDING))] == ["/sd/DCIM/b1.jpg"]
        two.clear_pending()  # its verdict came: handed over
        assert not st.exists(PENDING)
        assert Store(cfg, st, log, 3, "cam-p").take_pending() == []
    finally:
        _done()
