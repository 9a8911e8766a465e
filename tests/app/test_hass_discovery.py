"""Home Assistant discovery documents as HA 2026 expects them (issue 18)."""
import json

from wildcam.manage.remote import Management


class _Mqtt:
    def topic(self, sub):
        return "wildcam/wc-1a2b/" + sub


def _docs(snap):
    m = Management(None, None, None, None, _Mqtt(), None, "wc-1a2b", "0.2.0")
    return {t: json.loads(p) for t, p in m.discovery(snap)}


def test_battery_entities_only_on_a_board_that_has_a_battery():
    battery = {"power": {"battery_v": 3.9, "battery_pct": 71, "temp_c": 20.5}}
    mains = {"power": {"battery_v": None, "battery_pct": None, "temp_c": 20.5}}
    on_battery, on_mains = _docs(battery), _docs(mains)
    assert "homeassistant/sensor/wc-1a2b_battery/config" in on_battery
    assert "homeassistant/sensor/wc-1a2b_battery_pct/config" in on_battery
    assert not [t for t in on_mains if "battery" in t]
    assert set(on_battery) - set(on_mains) == {"homeassistant/sensor/wc-1a2b_battery/config",
                                               "homeassistant/sensor/wc-1a2b_battery_pct/config"}
    for t, d in on_battery.items():
        assert "object_id" not in d, t  # removed in HA 2026.4
        if t.startswith("homeassistant/sensor/"):
            what = t.split("/")[2][len("wc-1a2b_"):]
            assert d["default_entity_id"] == "sensor.wc_1a2b_" + what  # domain.slug
    last = on_battery["homeassistant/sensor/wc-1a2b_last_detection/config"]
    assert last["device_class"] == "timestamp"


def test_last_detection_renders_an_iso_timestamp_or_unknown():
    jinja2 = __import__("pytest").importorskip("jinja2")
    import datetime

    tmpl = _docs(None)["homeassistant/sensor/wc-1a2b_last_detection/config"]["value_template"]
    env = jinja2.Environment()
    # HA's filter (homeassistant.helpers.template.timestamp_custom), for the render check
    env.filters["timestamp_custom"] = lambda v, fmt, local=True: datetime.datetime.fromtimestamp(
        v, datetime.timezone.utc).strftime(fmt)
    render = env.from_string(tmpl).render
    out = render(value_json={"capture": {"last_event": 1780315200}})
    assert out == "2026-06-01T12:00:00+00:00"
    assert datetime.datetime.fromisoformat(out).tzinfo is not None
    assert render(value_json={"capture": {"last_event": None}}) == "None"  # HA: unknown
