"""The real firmware App booting on simulated boards (CPython, host_sim)."""
import json
from pathlib import Path

import pytest
from PIL import Image

import host_sim
from host_sim import Board, CameraModel, Simulation, WifiModel, scenes
from host_sim.demo import log_tail, provision


@pytest.fixture
def sim():
    s = Simulation()
    yield s
    s.close()


def _board(sim, tmp_path, name="cam-01", **kw):
    kw.setdefault("wifi", WifiModel("sim-forest", "sim-password"))
    b = Board(name, tmp_path, sim=sim, **kw)
    provision(b, burst=3)
    return b


def _jpegs(b):
    return sorted(Path(b.sd.root).rglob("*.jpg"))


def test_pir_from_the_scene_leads_to_a_whole_burst_on_the_sd_card(sim, tmp_path):
    b = _board(sim, tmp_path, scene=scenes.animal(seed=3, start=120))
    b.power_on()
    sim.run_for(600)
    files = _jpegs(b)
    assert len(files) == 3
    for f in files:
        with Image.open(f) as im:
            im.verify()  # a whole JPEG, not a torn one
    assert not list(Path(b.sd.root).rglob("*.part"))
    assert all(f.parent.name == "20260601" for f in files)  # NTP set the clock
    log = "\n".join(log_tail(b, 50))
    assert "WildCAM 0.1.0 on cam-01: boot 1, reset cause pwron, config from file" in log
    assert log.count("I capture: image /sd/DCIM/20260601/") == 3


def test_images_carry_exif_and_a_sidecar(sim, tmp_path):
    import piexif

    b = _board(sim, tmp_path, scene=scenes.animal(seed=3, start=120))
    cfg = json.loads(Path(b.flash.root, "config.json").read_text())
    cfg["device"].update({"lat": -1.2921, "lon": 36.8219})
    Path(b.flash.root, "config.json").write_text(json.dumps(cfg))
    b.power_on()
    sim.run_for(600)
    first = _jpegs(b)[0]
    ex = piexif.load(str(first))
    assert ex["0th"][piexif.ImageIFD.Make] == b"WildCAM"
    taken = ex["Exif"][piexif.ExifIFD.DateTimeOriginal].decode()
    assert taken.startswith("2026:06:01 00:02:")
    assert ex["Exif"][piexif.ExifIFD.BodySerialNumber] == b"cam-01"
    assert ex["GPS"][piexif.GPSIFD.GPSLatitudeRef] == b"S"
    side = json.loads(first.with_suffix(".json").read_text())
    assert side["device"] == "cam-01" and side["firmware"] == "0.1.0"
    assert side["clock"] == "rtc" and side["time_iso"].startswith("2026-06-01T00:02:")
    assert side["trigger"] == "pir" and (side["seq"], side["of"]) == (1, 3)
    assert side["event"] == "cam-01-1-1" and side["size"] == first.stat().st_size
    import hashlib
    assert side["sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert side["ambient"] > 40 and side["flash"] is False  # a bright scene: no flash LED
    assert "temp_c" in side and "battery_v" in side


def test_an_unset_clock_never_names_folders_1970(sim, tmp_path):
    b = _board(sim, tmp_path, scene=scenes.animal(seed=3, start=120),
               wifi=WifiModel("elsewhere", "x"))  # no NTP: the clock stays unset
    b.power_on()
    sim.run_for(600)
    files = _jpegs(b)
    assert len(files) == 3
    assert all(f.parent.name == "B00001" and f.name.startswith("U") for f in files)
    side = json.loads(files[0].with_suffix(".json").read_text())
    # uptime counts from the firmware's start, a moment after power-on (PIR at 120 s)
    assert side["clock"] == "unset" and side["time"] is None and side["uptime_s"] >= 119
    import piexif
    assert piexif.ImageIFD.DateTime not in piexif.load(str(files[0]))["0th"]


def test_a_stored_image_never_changes_after_the_next_capture(sim, tmp_path):
    b = _board(sim, tmp_path, scene=scenes.animal(seed=4, start=60, speed=0.05))
    b.power_on()
    sim.run_for(300)
    files = _jpegs(b)
    assert len(files) == 3
    first = files[0].read_bytes()
    sim.run_for(10)
    assert files[0].read_bytes() == first
    assert len({f.read_bytes() for f in files}) == 3  # three different frames


def test_legacy_driver_works_behind_the_same_adapter(sim, tmp_path):
    b = _board(sim, tmp_path, scene=scenes.animal(seed=5, start=60), camera_driver="lemariva")
    b.power_on()
    sim.run_for(300)
    assert len(_jpegs(b)) == 3


def test_a_broken_camera_is_logged_and_the_board_keeps_running(sim, tmp_path):
    b = _board(sim, tmp_path, scene=scenes.animal(seed=6, start=10),
               camera=CameraModel(fail_init=True))
    b.power_on()
    sim.run_for(3600)
    log = "\n".join(log_tail(b, 100))
    assert "W capture: capture 1/3 failed: camera sensor not found: check the ribbon " \
        "cable and camera.board/camera.pins" in log
    assert b.generation == 1 and b.counters.get("crashes", 0) == 0


@pytest.mark.parametrize("image", ["ai_thinker", "generic", "lemariva"])
def test_every_firmware_image_stores_whole_jpegs_with_exif_and_true_light(sim, tmp_path,
                                                                          image):
    """The same firmware on each MicroPython image the simulator models: the generic image
    gets its required pins from the board preset; cnadler86's signed frames still give a
    JPEG with EXIF and an ambient level 0..255 (a bright scene: no flash)."""
    import piexif

    b = _board(sim, tmp_path, scene=scenes.animal(seed=3, start=120), image=image)
    b.power_on()
    sim.run_for(600)
    files = _jpegs(b)
    assert len(files) == 3, "\n".join(log_tail(b, 40))
    for f in files:
        assert piexif.load(str(f))["0th"][piexif.ImageIFD.Make] == b"WildCAM"
        side = json.loads(f.with_suffix(".json").read_text())
        assert 40 < side["ambient"] <= 255 and side["flash"] is False
    assert b.led_on_seconds() == 0.0
    # the classic ESP32 has raw_temperature only: converted, and marked approximate
    assert side["temp_approx"] is True and 20 < side["temp_c"] < 45


def test_an_s3_board_reports_its_calibrated_temperature(sim, tmp_path):
    b = _board(sim, tmp_path, scene=scenes.animal(seed=3, start=120), chip="esp32s3")
    b.power_on()
    sim.run_for(600)
    side = json.loads(_jpegs(b)[0].with_suffix(".json").read_text())
    assert side["temp_c"] == 31 and "temp_approx" not in side  # 22 C air + 9 C running


def test_a_board_without_psram_says_so_in_plain_words_and_keeps_its_network(sim, tmp_path):
    b = _board(sim, tmp_path, scene=scenes.animal(seed=3, start=120), psram=False)
    b.power_on()
    sim.run_for(600)
    log = "\n".join(log_tail(b, 60))
    assert "E app: this board has no PSRAM (or the firmware image does not enable it): " \
        "the camera driver keeps its frame buffers there, so the camera stays off" in log
    assert "WiFi sim-forest up" in log and not _jpegs(b)
    assert b.camera.inits == 0 and b.counters.get("crashes", 0) == 0


def test_the_generic_image_refuses_a_camera_without_pins(sim, tmp_path):
    import camera

    b = Board("g", tmp_path, sim=sim, image="generic")
    seen = {}

    async def fw(storage):
        with pytest.raises(TypeError) as e:
            camera.Camera(pixel_format=camera.PixelFormat.JPEG)
        seen["msg"] = str(e.value)

    b.power_on(fw)
    sim.run_for(2)
    assert seen["msg"] == "'data_pins' argument required"


def test_a_crash_loop_ends_in_safe_mode_not_a_dead_camera(sim, tmp_path, monkeypatch):
    from wildcam.capture.service import CaptureService

    def broken(self):
        raise RuntimeError("bad build")

    monkeypatch.setattr(CaptureService, "attach_pir", broken)
    b = _board(sim, tmp_path, scene=scenes.animal(seed=6, start=10))
    b.power_on()
    sim.run_for(3600)
    log = "\n".join(log_tail(b, 400))
    assert "E sup: task capture crashed\nTraceback" in log
    assert "RuntimeError: bad build" in log
    assert "task capture keeps failing (8 restarts): escalating" in log
    assert "SAFE MODE" in log
    assert "boot 5, reset cause hard, config from file, SAFE MODE" in log
    assert b.generation == 5  # four crashed boots, then safe mode
    sim.run_for(3600)
    assert b.generation == 5  # safe mode holds: no more resets
    state = json.loads(Path(b.flash.root, "state", "boot.json").read_text())
    assert state == {"boots": 5, "unstable": 5}  # it stays until someone leaves it
    assert not Path(b.flash.root, "config.good.json").exists()


def test_config_save_survives_a_power_cut_at_every_byte(tmp_path):
    """Cut power at each byte of `config.set` on a simulated board's flash; every boot
    afterwards reads either the old or the new config, never a broken one."""
    from host_sim import SimStorage, PowerCut
    from host_sim.storage import Filesystem
    from wildcam.core.config import Config

    def fresh(root):
        flash = Filesystem("flash", str(root / "flash"), 960 * 1024)
        sd = Filesystem("sd", str(root / "sd"), 1 << 20, kind="fat")
        return SimStorage(flash, sd)

    base = tmp_path / "probe"
    st = fresh(base)
    Config(st).load().update({"wifi.ssid": "old-net", "capture.burst_count": 2})
    before = st.bytes_written
    Config(st).load().update({"wifi.ssid": "new-net", "capture.burst_count": 7})
    total = st.bytes_written - before
    assert total > 50
    outcomes = set()
    for cut in range(total + 1):
        root = tmp_path / ("c%d" % cut)
        st = fresh(root)
        Config(st).load().update({"wifi.ssid": "old-net", "capture.burst_count": 2})
        st.cut_after_bytes = st.bytes_written + cut
        try:
            Config(st).load().update({"wifi.ssid": "new-net", "capture.burst_count": 7})
        except PowerCut:
            pass
        cfg = Config(fresh(root)).load()
        assert cfg.errors == [], (cut, cfg.errors)
        outcomes.add((cfg.get("wifi.ssid"), cfg.get("capture.burst_count")))
    # SimStorage dies right after byte N, so the rename (the commit point) never happens in
    # a cut run: every boot reads the old config whole; the uncut probe above got the new one
    assert outcomes == {("old-net", 2)}
    assert Config(fresh(base)).load().get("wifi.ssid") == "new-net"


def test_main_job_command_runs_and_reports(tmp_path):
    from host_sim.demo import main

    out = tmp_path / "out"
    assert main(["--fleet", "mains", "--boards", "2", "--hours", "14", "--ota-at", "6",
                 "--cmd-at", "-1", "--out", str(out), "--log-lines", "0"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [b["name"] for b in summary["boards"]] == ["cam-01", "cam-02"]
    assert [b["power"] for b in summary["boards"]] == ["mains", "mains"]
    for b in summary["boards"]:
        # power-on, one injected power cut, and the restart into the signed update
        assert b["crashes"] == 0 and b["boots"] == 3
        # the second copy goes to the SD card when the flash has no room for it (docs/OTA.md)
        assert b["firmware"] == {"version": "0.2.0", "slot": b["firmware"]["slot"],
                                 "state": "confirmed", "rollout": "0.2.0",
                                 "published_at_s": 21600.0}
        assert b["firmware"]["slot"] in ("a", "sa")
        assert b["image_count"] > 0 and b["image_count"] % 3 == 0  # whole bursts
        assert b["lost"] == 0 and b["delivered"] == b["image_count"]  # outages, cut: nothing lost
        assert b["duplicates"] == 0 or b["duplicates"] < b["delivered"]
        assert b["true_triggers"] + b["false_triggers"] == b["events"]
        assert b["missed_visits"] <= 1
        kinds = {e["kind"] for e in b["timeline"]}
        assert {"boot", "pir", "image", "upload", "outage", "powercut", "ota"} <= kinds
        img = b["images"][0]
        assert (out / img["file"]).exists() and img["uploaded"] is True
        # the burst starts the moment the PIR fires (the simulated PIR sees an animal just
        # before it enters the view): its burst shows it
        assert any(i["truth"] for i in b["images"][:3])
    assert (out / "report.html").exists()
