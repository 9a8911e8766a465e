"""bench wake's whole-wake arithmetic (bench/wake_whole.py) on made-up runs: the phases of a
PIR wake add up to its busy time and start at the first kept JPEG (after the settle
frames), the look window is what `beyond_window` leaves out, the later imports are all the
wake's less those before its first JPEG, and board seconds are CPU ms x the pystone ratio."""
from pytest import approx

from bench import wake as W
from bench import wake_whole as WW


def _pir(busy, jpegs, looks):
    stamps = [("J", t) for t in jpegs] + [("G", t) for t in looks]
    return {"busy_ms": busy, "stamps": stamps, "cpu_ms": busy + 20.0, "user_ms": busy + 10.0}


def _got():
    settle = [0.5, 0.8][:W.SETTLE]
    pir = [_pir(40.0, settle + [2.0, 5.0, 9.0], [12.0, 20.0, 26.0]),
           _pir(44.0, settle + [2.5, 6.0, 10.0], [13.0, 21.0, 27.0])]
    timer = [{"busy_ms": b, "cpu_ms": b + 20.0, "user_ms": b + 10.0} for b in (13.0, 12.0)]

    def imports(ms):
        return [{"imported_ms": m, "cpu_ms": m + 20.0, "user_ms": m + 10.0,
                 "took": {"wildcam.app": 0.4, "wildcam.capture.detect": 1.0}} for m in ms]

    bare = [{"cpu_ms": c, "user_ms": c - 5.0} for c in (20.0, 22.0)]
    runs = {"bare": bare, "pir": pir, "timer": timer, "imports": imports((8.5, 9.0)),
            "imports_first": imports((1.6, 1.7)), "imports_timer": imports((8.4, 8.8))}
    disc = {"pir": {"frames": 6, "look_frames": 3, "radio": False},
            "timer": {"radio": False}, "first": {}}
    mods = {"pir": ("a",) * 67, "first": ("a",) * 12, "timer": ("a",) * 66}
    return {"runs": runs, "discovery": disc, "modules": mods}


def test_the_phases_add_up_to_the_busy_time_from_the_first_kept_jpeg():
    run = _got()["runs"]["pir"][0]
    p = WW.phases(run)
    assert set(p) == set(WW.PHASES)
    assert abs(sum(p.values()) - run["busy_ms"]) < 1e-9
    assert p["first_jpeg"] == 2.0  # the settle frames before it are not the first kept JPEG
    assert p["window"] == 26.0 - 12.0 and p["to_sleep"] == 40.0 - 26.0


def test_figures_take_the_least_run_beyond_the_bare_driver_and_scale_it():
    res = WW.figures(_got(), scale=200.0, base_ms=1.0)
    assert res["whole_cpu_ms_pir"] == approx(39.0)
    assert res["whole_cpu_ms_timer"] == approx(11.0)
    assert res["whole_cpu_ms_pir_phase_window"] == approx(14.0)
    assert res["whole_cpu_ms_pir_beyond_window"] == approx(39.0 - 14.0)
    assert res["whole_cpu_ms_pir_phase_first_jpeg"] == approx(2.0 - 1.0)
    assert res["import_cpu_ms"] == approx(8.5)
    assert res["import_cpu_ms_rest"] == approx(8.5 - 1.6)
    assert res["whole_cpu_ms_timer_run_rest"] == approx(11.0 - 8.4)
    assert res["whole_board_s_pir"] == approx(39.0 * 200.0 / 1000)
    assert res["whole_board_s_timer"] == approx(11.0 * 200.0 / 1000)
    assert res["import_board_s"] == approx(8.5 * 200.0 / 1000)
    assert res["whole_rusage_cpu_ms_pir"] == approx(60.0 - 20.0)
    assert res["import_top_ms"][0] == ["wildcam.capture.detect", 1.0]
