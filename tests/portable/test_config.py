"""Config: schema validation, messages, migrations, secrets, atomic saves (portable)."""

import json

from cutting import CuttingStorage, PowerCut
from portable_support import PrefixStorage, raises, tmpdir

from wildcam.core import schema
from wildcam.core.config import GOOD_PATH, Config, ConfigError


def _board(files=None):
    st = PrefixStorage(tmpdir())
    for path in sorted(files or {}):
        with st.open(path, "wb") as f:
            f.write(files[path].encode() if isinstance(files[path], str) else files[path])
    return st


def _read_json(st, path):
    return json.loads(st.read(path))


def test_no_file_gives_defaults_and_says_what_is_required():
    cfg = Config(_board()).load()
    assert cfg.source == "defaults"
    assert "wifi.ssid: required" in cfg.errors
    assert cfg.get("capture.burst_count") == 3
    assert cfg.get("mqtt.port") == 1883


def test_set_saves_and_reloads_with_text_converted():
    st = _board()
    cfg = Config(st).load()
    cfg.set("wifi.ssid", "forest-net")
    cfg.set("capture.burst_count", "5")
    cfg.set("mqtt.tls", "yes")
    again = Config(st).load()
    assert again.errors == []
    assert again.get("wifi.ssid") == "forest-net"
    assert again.get("capture.burst_count") == 5
    assert again.get("mqtt.tls") is True
    assert _read_json(st, "/config.json")["version"] == schema.VERSION


def test_invalid_value_is_refused_with_a_sentence_and_nothing_changes():
    st = _board({"/config.json": '{"wifi": {"ssid": "a"}, "sync": {"max_queue_mb": 5}}'})
    cfg = Config(st).load()
    before = st.read("/config.json")
    e = raises(ConfigError, cfg.set, "sync.max_queue_mb", 0)
    assert e.errors == ["sync.max_queue_mb: must be 1..1024, got 0"]
    assert cfg.get("sync.max_queue_mb") == 5
    assert st.read("/config.json") == before


def test_messages_a_person_understands():
    cfg = Config(_board()).load()
    cases = [
        ("capture.mode", "sometimes", 'capture.mode: must be one of pir, timelapse, motion, '
                                      'pir+timelapse; got "sometimes"'),
        ("capture.burst_count", "many", 'capture.burst_count: must be a whole number, got "many"'),
        ("device.lat", 95, "device.lat: must be -90..90, got 95"),
        ("wifi.ssid", "", "wifi.ssid: required"),
        ("capture.burts", 4, "capture.burts: unknown key (did you mean capture.burst_count?)"),
    ]
    for key, value, msg in cases:
        e = raises(ConfigError, cfg.set, key, value)
        assert e.errors == [msg], e.errors


def test_update_is_all_or_nothing():
    st = _board()
    cfg = Config(st).load()
    e = raises(ConfigError, cfg.update, {"wifi.ssid": "ok", "mqtt.port": 0, "log.level": "loud"})
    assert len(e.errors) == 2
    assert not cfg.is_set("wifi.ssid")
    assert not st.exists("/config.json")
    cfg.update({"wifi.ssid": "ok", "mqtt.port": 8883})
    assert Config(st).load().get("mqtt.port") == 8883


def test_corrupt_file_boots_on_defaults_and_is_preserved():
    garbage = b'{"wifi": {"ssid": "x"'
    st = _board({"/config.json": garbage})
    cfg = Config(st).load()
    assert cfg.source == "defaults"
    assert cfg.errors[0].startswith("/config.json: not a valid JSON object")
    assert st.read("/config.json") == garbage  # loading never rewrites a broken file
    cfg.set("wifi.ssid", "repaired")
    assert st.read("/config.json.broken") == garbage
    assert Config(st).load().get("wifi.ssid") == "repaired"


def test_last_good_config_is_used_when_the_file_breaks():
    st = _board({"/config.json": '{"wifi": {"ssid": "good-net"}}'})
    cfg = Config(st).load()
    assert cfg.mark_good() is True
    assert cfg.mark_good() is False  # unchanged: not written again
    with st.open("/config.json", "wb") as f:
        f.write(b"\x00\x01 not json")
    again = Config(st).load()
    assert again.source == "last good config"
    assert again.get("wifi.ssid") == "good-net"
    assert st.exists(GOOD_PATH)


def test_version_1_file_is_migrated_and_rewritten():
    st = _board({"/config.json": '{"wifi": {"ssid": "n"}, "capture": {"burst": 4}, '
                                 '"sync": {"max_queue_kb": 3000}}'})
    cfg = Config(st).load()
    assert cfg.errors == []
    assert cfg.get("capture.burst_count") == 4
    assert cfg.get("sync.max_queue_mb") == 3
    assert len(cfg.notes) == 2
    doc = _read_json(st, "/config.json")
    assert doc["version"] == 2
    assert doc["capture"] == {"burst_count": 4}
    assert doc["sync"] == {"max_queue_mb": 3}


def test_newer_version_keeps_known_keys_and_says_so():
    st = _board({"/config.json": '{"version": 9, "wifi": {"ssid": "n"}, "future": {"x": 1}}'})
    cfg = Config(st).load()
    assert cfg.get("wifi.ssid") == "n"
    assert "newer than this firmware" in cfg.notes[0]
    assert any(e.startswith("future.x: unknown key") for e in cfg.errors)


def test_secrets_are_moved_apart_and_never_shown():
    st = _board({"/config.json": '{"wifi": {"ssid": "n", "password": "hunter2"}}'})
    cfg = Config(st).load()
    assert cfg.secret("wifi.password") == "hunter2"
    assert "hunter2" not in st.read("/config.json").decode()
    assert _read_json(st, "/secrets.json") == {"wifi": {"password": "hunter2"}}
    shown = []
    cfg.show(shown.append)
    assert "hunter2" not in repr(cfg) + "\n".join(shown) + json.dumps(cfg.as_dict())
    assert cfg.as_dict()["wifi"]["password"] == "***"
    raises(KeyError, cfg.get, "wifi.password")


def test_a_bad_secret_is_reported_without_its_value():
    st = _board({"/config.json": '{"wifi": {"ssid": "n"}}', "/secrets.json": '{"wifi": {"password": 12345678}}'})
    cfg = Config(st).load()
    assert cfg.errors == ["wifi.password: must be text, got (hidden); using the default"]


def test_unknown_and_invalid_values_are_kept_in_the_file():
    st = _board({"/config.json": '{"wifi": {"ssid": "n"}, "capture": {"burst_count": 99}, '
                                 '"custom": {"note": "mine"}}'})
    cfg = Config(st).load()
    assert cfg.get("capture.burst_count") == 3  # the default applies
    assert "capture.burst_count: must be 1..10, got 99; using the default" in cfg.errors
    cfg.set("mqtt.host", "broker.local")
    doc = _read_json(st, "/config.json")
    assert doc["custom"] == {"note": "mine"}
    assert doc["capture"]["burst_count"] == 99
    assert len(cfg.validate()) == 2


def test_unchanged_config_is_not_rewritten():
    st = _board()
    cfg = Config(st).load()
    cfg.set("wifi.ssid", "n")
    assert cfg.save() == 0
    cfg.set("wifi.ssid", "n")
    assert cfg.save() == 0


def _cut_save_at_every_byte(old_files, change):
    """Cut power at every unit of a save's budget; the next boot must see old or new."""
    probe = CuttingStorage(tmpdir())
    for path in sorted(old_files):
        with probe.open(path, "wb") as f:
            f.write(old_files[path])
    cfg = Config(probe).load()
    start = probe.used
    cfg.update(change)
    total = probe.used - start
    new_cfg = Config(probe).load()
    assert total > 50
    seen = {"old": 0, "new": 0}
    for budget in range(total):
        st = CuttingStorage(tmpdir())
        for path in sorted(old_files):
            with st.open(path, "wb") as f:
                f.write(old_files[path])
        cfg = Config(st).load()
        st.budget = budget
        try:
            cfg.update(change)
            raise AssertionError("no cut at budget %d" % budget)
        except PowerCut:
            pass
        board = PrefixStorage(st.root)
        booted = Config(board).load()
        assert not board.exists("/config.json.tmp")  # a torn temp never survives a boot
        assert booted.errors == [] or booted.errors == ["wifi.ssid: required"], booted.errors
        for key in sorted(change):
            getter = booted.secret if schema.is_secret(key) else booted.get
            if getter(key) != (new_cfg.secret(key) if schema.is_secret(key) else new_cfg.get(key)):
                seen["old"] += 1
                break
        else:
            seen["new"] += 1
    return seen, total


def test_power_cut_at_every_byte_of_a_save_leaves_old_or_new():
    old = {"/config.json": b'{"version": 2, "wifi": {"ssid": "old-net"}, "capture": {"burst_count": 2}}'}
    seen, total = _cut_save_at_every_byte(old, {"wifi.ssid": "new-net", "capture.burst_count": 7})
    # the rename is the last unit of the budget: any earlier cut leaves the old config whole
    assert seen == {"old": total, "new": 0}


def test_power_cut_during_first_save_on_an_empty_board():
    seen, total = _cut_save_at_every_byte({}, {"wifi.ssid": "first"})
    assert seen == {"old": total, "new": 0}
